"""The adversarial train step shared by the GANs of this package, as a keras.Model base.

A subclass says how a batch becomes generated videos (`generate`) and what the generator
pays beyond the adversarial loss (`generator_penalty`); the base does the rest, as in the
original Torch code:
  1. the generated parts (a dict with "video") in training mode, recorded on G's tape;
  2. D step on the real batch and the fake batch, run as separate batches (separate
     BatchNorm statistics), loss BCE(real->1) + BCE(fake->0);
  3. G step with the non-saturating loss, plus the penalty;
  4. with several replicas, BatchNorm moving statistics are averaged over replicas;
  5. the step counter `step` advances.
The G forward of step 1 is recorded once and reused in step 3 (the original also reuses
the same fake batch), which saves a generator forward pass per step.

`g_step` says which D the G step differentiates through:
  * "paper" (the default): the original's form (main.lua reuses `netD.output` and calls
    `updateGradInput`): the one D forward on the fake batch of the D step serves both
    updates, so G's gradient goes through D's pre-update weights (and the same BatchNorm
    batch statistics); both gradients are taken before either update is applied. One D
    forward per step less (docs/performance.md has the measured difference,
    docs/faithfulness.md why it is the default);
  * "updated_d": a third D forward on the fake batch after the D update (G against the
    updated D).

`step` is the task's own variable (not an optimizer's `iterations`, which a float16
loss-scale optimizer does not advance on skipped steps): subclasses name their noise with
it and checkpoints are numbered by it.

Under MultiWorkerMirroredStrategy the logs are returned as rank-1 tensors of one value
(the workaround of keras-team/keras#20585: Keras reduces logs there with axis=0, which
fails on scalars); callbacks read them with `float(np.ravel(v)[0])`.
"""
from __future__ import annotations

import keras
import tensorflow as tf

from vgan_tf.tasks import losses

G_STEPS = ("updated_d", "paper")
DEFAULT_G_STEP = "paper"


def paper_adam(learning_rate: float = 2e-4, beta_1: float = 0.5, name=None):
    """Adam as in the paper: lr 2e-4, beta1 0.5, beta2 0.999, eps 1e-8."""
    return keras.optimizers.Adam(learning_rate=learning_rate, beta_1=beta_1, beta_2=0.999,
                                 epsilon=1e-8, name=name)


class AdversarialTask(keras.Model):
    """A generator and a discriminator trained adversarially with `fit`.

    Args:
      generator: the network trained to fool D (anything with `video_shape` and
        `trainable_variables`; `generate` says how it is called).
      discriminator: a Discriminator for the same video shape.
      g_step: "paper" (default) or "updated_d" (see the module docstring).

    Subclasses implement `generate(real, training)` and may override
    `generator_penalty(parts, real)` and `penalty_logs(parts, real)`, and extend
    `penalty_metric_names` (logged between g_loss and the D accuracies).
    """

    penalty_metric_names = ()

    def __init__(self, generator, discriminator, g_step=DEFAULT_G_STEP, **kwargs):
        super().__init__(**kwargs)
        if g_step not in G_STEPS:
            raise ValueError(f"g_step must be one of {G_STEPS}, got {g_step!r}")
        self.g_step = g_step
        if tuple(generator.video_shape) != tuple(discriminator.video_shape):
            raise ValueError(
                f"generator makes videos of shape {generator.video_shape} but the "
                f"discriminator expects {discriminator.video_shape}")
        self.generator = generator
        self.discriminator = discriminator
        if not discriminator.built:
            discriminator.build((None,) + tuple(discriminator.video_shape))
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self.metric_names}
        self.step = self.add_weight(shape=(), dtype="int64", initializer="zeros",
                                    trainable=False, aggregation="only_first_replica",
                                    name="step")
        self.g_optimizer = None
        self.d_optimizer = None
        self.built = True

    @property
    def metric_names(self) -> tuple:
        return ("d_loss", "g_loss") + tuple(self.penalty_metric_names) + (
            "d_real_acc", "d_fake_acc")

    # -- Keras plumbing ------------------------------------------------------------------
    def compile(self, g_optimizer=None, d_optimizer=None, **kwargs):
        """Sets both optimizers (default: the paper's Adam) and builds their state.

        Building the optimizers here matters: without it, checkpoint restores and
        BackupAndRestore silently drop their slots and restart `iterations` at 0.
        Extra kwargs (jit_compile, steps_per_execution, ...) go to keras.Model.compile;
        jit_compile defaults to False because XLA is ~100x slower on CPU for this model.
        """
        kwargs.setdefault("jit_compile", False)
        kwargs.pop("optimizer", None)
        super().compile(optimizer=None, **kwargs)
        self.g_optimizer = g_optimizer or paper_adam(name="g_adam")
        self.d_optimizer = d_optimizer or paper_adam(name="d_adam")
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, videos, training=False):
        """D's logits for a batch of videos: what `fit` traces to build the model."""
        return self.discriminator(videos, training=training)

    # -- what subclasses define ----------------------------------------------------------
    def generate(self, real, training):
        """The generated parts for the real batch `real`: a dict with "video". Every task
        defines it (VideoGAN: G(z) for fresh noise)."""
        raise TypeError(f"{type(self).__name__} must define generate(real, training)")

    def generator_penalty(self, parts, real):
        """A replica-scaled loss added to G's adversarial loss, or None."""
        return None

    def penalty_logs(self, parts, real) -> tuple:
        """(its part of the logged g_loss, {name: value} for penalty_metric_names):
        plain per-replica means."""
        return None, {}

    # -- training ------------------------------------------------------------------------
    def train_step(self, data):
        real = real_videos(data)
        if self.g_step == "paper":
            parts, real_logits, fake_logits = self.paper_step(real)
            gen_logits = fake_logits
        else:
            with tf.GradientTape() as g_tape:
                parts = self.generate(real, training=True)
                fake = parts["video"]
            real_logits, fake_logits = self.discriminator_step(real, fake)
            gen_logits = self.generator_step(g_tape, fake, lambda: self.generator_penalty(
                parts, real))
        self._sync_batch_statistics()
        self.step.assign_add(1)
        return self._logs(real_logits, fake_logits, gen_logits, parts, real)

    def paper_step(self, real):
        """Both updates from one D forward on the fake batch (the original's form).

        G's gradient is that of the non-saturating loss (+ penalty) through D's weights
        before this step's D update; both gradients are computed before either update is
        applied. Returns (parts, real_logits, fake_logits).
        """
        d_vars = self.discriminator.trainable_variables
        g_vars = self.generator.trainable_variables
        with tf.GradientTape() as g_tape:
            parts = self.generate(real, training=True)
            fake = parts["video"]
            with tf.GradientTape() as d_tape:
                real_logits = self.discriminator(real, training=True)
                fake_logits = self.discriminator(fake, training=True)
                d_loss = losses.discriminator_loss(real_logits, fake_logits)
                d_loss_scaled = _scale_loss(self.d_optimizer, d_loss)
            g_loss = losses.generator_loss(fake_logits)
            extra = self.generator_penalty(parts, real)
            if extra is not None:
                g_loss += extra
            g_loss_scaled = _scale_loss(self.g_optimizer, g_loss)
        d_grads = d_tape.gradient(d_loss_scaled, d_vars)
        g_grads = g_tape.gradient(g_loss_scaled, g_vars)
        self.d_optimizer.apply_gradients(zip(d_grads, d_vars))
        self.g_optimizer.apply_gradients(zip(g_grads, g_vars))
        return parts, real_logits, fake_logits

    def discriminator_step(self, real, fake):
        """One D update on the real and the fake batch (separate batches); returns both
        batches' logits."""
        d_vars = self.discriminator.trainable_variables
        with tf.GradientTape() as d_tape:
            real_logits = self.discriminator(real, training=True)
            fake_logits = self.discriminator(tf.stop_gradient(fake), training=True)
            d_loss = losses.discriminator_loss(real_logits, fake_logits)
            d_loss_scaled = _scale_loss(self.d_optimizer, d_loss)
        self.d_optimizer.apply_gradients(zip(d_tape.gradient(d_loss_scaled, d_vars), d_vars))
        return real_logits, fake_logits

    def generator_step(self, g_tape, fake, penalty=None):
        """One G update: the non-saturating loss of D(fake) (+ penalty(), computed on the
        tape that recorded `fake`); returns D's logits of `fake`."""
        with g_tape:
            gen_logits = self.discriminator(fake, training=True)
            g_loss = losses.generator_loss(gen_logits)
            extra = penalty() if penalty is not None else None
            if extra is not None:
                g_loss += extra
            g_loss_scaled = _scale_loss(self.g_optimizer, g_loss)
        g_vars = self.generator.trainable_variables
        self.g_optimizer.apply_gradients(zip(g_tape.gradient(g_loss_scaled, g_vars), g_vars))
        return gen_logits

    def _sync_batch_statistics(self):
        """Averages BatchNorm moving statistics over replicas (no-op with one replica).

        Keras 3 creates them as MirroredVariables with aggregation NONE and each replica
        updates only its own copy, so the copies drift apart (measured: replica 0 and 1
        held different moving means after one step) and the checkpoint and the exported
        generator would keep replica 0's alone. Averaging after each update gives the
        statistics of the whole global batch, as Keras 2's MEAN aggregation did.
        """
        context = tf.distribute.get_replica_context()
        if context is None or context.num_replicas_in_sync == 1:
            return
        stats = [v for v in self.generator.non_trainable_variables
                 + self.discriminator.non_trainable_variables if "float" in str(v.dtype)]
        if not stats:
            return
        means = context.all_reduce(tf.distribute.ReduceOp.MEAN,
                                   [tf.identity(v.value) for v in stats])
        for variable, mean in zip(stats, means):
            variable.assign(mean)

    def _logs(self, real_logits, fake_logits, gen_logits, parts, real):
        """Plain per-replica means (not the replica-scaled losses used for gradients)."""
        g_loss = losses.generator_loss_mean(gen_logits)
        penalty, extra = self.penalty_logs(parts, real)
        if penalty is not None:
            g_loss += penalty
        values = {"d_loss": losses.discriminator_loss_mean(real_logits, fake_logits),
                  "g_loss": g_loss}
        values.update(extra)
        values.update(
            d_real_acc=tf.reduce_mean(tf.cast(real_logits > 0, tf.float32)),
            d_fake_acc=tf.reduce_mean(tf.cast(fake_logits < 0, tf.float32)))
        for name, value in values.items():
            self.trackers[name].update_state(value)
        return _as_logs({name: tracker.result() for name, tracker in self.trackers.items()})

    def test_step(self, data):
        """Evaluates D on real data and on fresh fakes without updating anything."""
        real = real_videos(data)
        parts = self.generate(real, training=False)
        real_logits = self.discriminator(real, training=False)
        fake_logits = self.discriminator(parts["video"], training=False)
        return self._logs(real_logits, fake_logits, fake_logits, parts, real)

    # -- serialization -------------------------------------------------------------------
    def get_config(self):
        config = super().get_config()
        config.update(
            generator=keras.saving.serialize_keras_object(self.generator),
            discriminator=keras.saving.serialize_keras_object(self.discriminator),
            g_step=self.g_step,
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["discriminator"] = keras.saving.deserialize_keras_object(
            config["discriminator"])
        return cls(**config)

    def get_compile_config(self):
        if self.g_optimizer is None:
            return None
        return {
            "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer),
            "d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
        }

    def compile_from_config(self, config):
        self.compile(
            g_optimizer=keras.saving.deserialize_keras_object(config["g_optimizer"]),
            d_optimizer=keras.saving.deserialize_keras_object(config["d_optimizer"]),
        )


def real_videos(data):
    """The videos of a batch (`video` or `(video, label, ...)`) as float32."""
    real = data[0] if isinstance(data, (tuple, list)) else data
    return tf.cast(real, tf.float32)


def _scale_loss(optimizer, loss):
    """The loss to differentiate: scaled by a float16 LossScaleOptimizer, else itself."""
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer.scale_loss(loss)
    return loss


def _as_logs(values):
    """Scalar logs, or rank-1 logs under MultiWorkerMirroredStrategy (keras#20585)."""
    if isinstance(tf.distribute.get_strategy(),
                  tf.distribute.MultiWorkerMirroredStrategy):
        return {name: tf.reshape(value, [1]) for name, value in values.items()}
    return values
