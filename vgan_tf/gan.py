"""VideoGAN: the paper's adversarial training as a keras.Model with a custom train_step.

One train step, as in the original Torch code:
  1. draw z per replica (stateless, folded with the step and the replica id, so every
     replica's noise differs and a resumed run draws the same noise at the same step);
  2. G(z) in training mode;
  3. D step on the real batch and the fake batch, run as separate batches (separate
     BatchNorm statistics), loss BCE(real->1) + BCE(fake->0);
  4. G step with the non-saturating loss against the updated D, plus the mask prior
     weight * mean(|m|) for generators that have a mask;
  5. with several replicas, BatchNorm moving statistics are averaged over replicas.
The G forward of step 2 is recorded once and reused in step 4 (the original also reuses
the same fake batch), which saves a generator forward pass per step.

The step counter `gan.step` is the GAN's own variable (not an optimizer's `iterations`,
which a float16 loss-scale optimizer does not advance on skipped steps): it names the
noise of a step and the checkpoint number.

Under MultiWorkerMirroredStrategy the logs are returned as rank-1 tensors of one value
(the workaround of keras-team/keras#20585: Keras reduces logs there with axis=0, which
fails on scalars); callbacks read them with `float(np.ravel(v)[0])`.

Usage:
    gan = VideoGAN(TwoStreamGenerator(), Discriminator())
    gan.compile()                       # Adam(2e-4, beta_1=0.5) for both, as in the paper
    gan.fit(videos_dataset, epochs=...)  # batches [batch, frames, size, size, 3] in [-1, 1]
"""
from __future__ import annotations

import keras
import tensorflow as tf

from vgan_tf import losses

METRIC_NAMES = ("d_loss", "g_loss", "mask_mean", "d_real_acc", "d_fake_acc")


def paper_adam(learning_rate: float = 2e-4, beta_1: float = 0.5, name=None):
    """Adam as in the paper: lr 2e-4, beta1 0.5, beta2 0.999, eps 1e-8."""
    return keras.optimizers.Adam(learning_rate=learning_rate, beta_1=beta_1, beta_2=0.999,
                                 epsilon=1e-8, name=name)


@keras.saving.register_keras_serializable(package="vgan_tf")
class VideoGAN(keras.Model):
    """A generator and a discriminator trained adversarially with `fit`.

    Args:
      generator: a TwoStreamGenerator or OneStreamGenerator (anything with `latent_dim`,
        `video_shape` and `generate_parts(z, training)`).
      discriminator: a Discriminator for the same video shape.
      mask_weight: weight of the L1 mask prior (0.1 in the paper); ignored for generators
        without a mask.
      seed: base seed of the training noise.
    """

    def __init__(self, generator, discriminator, mask_weight=losses.MASK_PRIOR_WEIGHT,
                 seed=0, **kwargs):
        super().__init__(**kwargs)
        if tuple(generator.video_shape) != tuple(discriminator.video_shape):
            raise ValueError(
                f"generator makes videos of shape {generator.video_shape} but the "
                f"discriminator expects {discriminator.video_shape}")
        if mask_weight < 0:
            raise ValueError(f"mask_weight must be >= 0, got {mask_weight}")
        self.generator = generator
        self.discriminator = discriminator
        self.mask_weight = float(mask_weight)
        self.seed = int(seed)
        if not generator.built:
            generator.build((None, generator.latent_dim))
        if not discriminator.built:
            discriminator.build((None,) + tuple(discriminator.video_shape))
        self.trackers = {name: keras.metrics.Mean(name=name) for name in METRIC_NAMES}
        self.step = self.add_weight(shape=(), dtype="int64", initializer="zeros",
                                    trainable=False, aggregation="only_first_replica",
                                    name="step")
        self.g_optimizer = None
        self.d_optimizer = None
        self.built = True

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

    # -- training ------------------------------------------------------------------------
    def draw_latents(self, batch_size, replica=None, step=None):
        """Training noise: [batch, latent] N(0,1), a function of (seed, step, replica).

        replica and step default to the current replica and `self.step`; passing them
        gives the noise a given replica drew (or will draw) at a given step, which is how a
        single-device reference of a distributed step is built.
        """
        if replica is None:
            context = tf.distribute.get_replica_context()
            replica = context.replica_id_in_sync_group if context is not None else 0
        step = self.step if step is None else step
        seed = tf.stack([tf.constant(self.seed, tf.int64),
                         tf.cast(tf.convert_to_tensor(step), tf.int64)])
        seed = tf.random.experimental.stateless_fold_in(seed, tf.cast(replica, tf.int64))
        return tf.random.stateless_normal(
            [batch_size, self.generator.latent_dim], seed=seed, dtype=tf.float32)

    def train_step(self, data):
        real = data[0] if isinstance(data, (tuple, list)) else data
        real = tf.cast(real, tf.float32)
        z = self.draw_latents(tf.shape(real)[0])

        with tf.GradientTape() as g_tape:
            parts = self.generator.generate_parts(z, training=True)
            fake = parts["video"]

        d_vars = self.discriminator.trainable_variables
        with tf.GradientTape() as d_tape:
            real_logits = self.discriminator(real, training=True)
            fake_logits = self.discriminator(tf.stop_gradient(fake), training=True)
            d_loss = losses.discriminator_loss(real_logits, fake_logits)
            d_loss_scaled = _scale_loss(self.d_optimizer, d_loss)
        self.d_optimizer.apply_gradients(zip(d_tape.gradient(d_loss_scaled, d_vars), d_vars))

        with g_tape:
            gen_logits = self.discriminator(fake, training=True)
            g_loss = losses.generator_loss(gen_logits)
            mask = parts.get("mask")
            if mask is not None and self.mask_weight > 0:
                g_loss += losses.mask_prior(mask, self.mask_weight)
            g_loss_scaled = _scale_loss(self.g_optimizer, g_loss)
        g_vars = self.generator.trainable_variables
        self.g_optimizer.apply_gradients(zip(g_tape.gradient(g_loss_scaled, g_vars), g_vars))
        self._sync_batch_statistics()
        self.step.assign_add(1)

        return _as_logs(self._update_metrics(real_logits, fake_logits, gen_logits, mask))

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

    def _update_metrics(self, real_logits, fake_logits, gen_logits, mask):
        """Plain per-replica means (not the replica-scaled losses used for gradients)."""
        g_loss = losses.generator_loss_mean(gen_logits)
        mask_mean = tf.constant(0.0)
        if mask is not None:
            mask_mean = tf.reduce_mean(losses.mask_l1_per_example(mask))
            g_loss += self.mask_weight * mask_mean
        values = {
            "d_loss": losses.discriminator_loss_mean(real_logits, fake_logits),
            "g_loss": g_loss,
            "mask_mean": mask_mean,
            "d_real_acc": tf.reduce_mean(tf.cast(real_logits > 0, tf.float32)),
            "d_fake_acc": tf.reduce_mean(tf.cast(fake_logits < 0, tf.float32)),
        }
        for name, value in values.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def test_step(self, data):
        """Evaluates D on real data and on fresh fakes without updating anything."""
        real = data[0] if isinstance(data, (tuple, list)) else data
        real = tf.cast(real, tf.float32)
        z = self.draw_latents(tf.shape(real)[0])
        parts = self.generator.generate_parts(z, training=False)
        real_logits = self.discriminator(real, training=False)
        fake_logits = self.discriminator(parts["video"], training=False)
        return _as_logs(
            self._update_metrics(real_logits, fake_logits, fake_logits, parts.get("mask")))

    # -- serialization -------------------------------------------------------------------
    def get_config(self):
        config = super().get_config()
        config.update(
            generator=keras.saving.serialize_keras_object(self.generator),
            discriminator=keras.saving.serialize_keras_object(self.discriminator),
            mask_weight=self.mask_weight,
            seed=self.seed,
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
