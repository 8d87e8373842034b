"""The adversarial train step shared by the GANs of this package, as a keras.Model base.

A subclass says how a batch becomes generated videos (`generate`) and registers what the
generator (and the discriminator) pay beyond the adversarial loss as terms (hooks.py:
`add_generator_term`, `add_discriminator_penalty`); the base does the rest, as in the
original Torch code:
  1. the generated parts (a dict with "video") in training mode, recorded on G's tape;
  2. D step on the real batch and the fake batch, run as separate batches (separate
     BatchNorm statistics), loss BCE(real->1) + BCE(fake->0), plus the D penalties;
  3. G step with the non-saturating loss (or the recipe's), plus the G terms;
  4. with several replicas, BatchNorm moving statistics are averaged over replicas;
  5. the step counter `step` advances.
The G forward of step 1 is recorded once and reused in step 3 (the original also reuses
the same fake batch), which saves a generator forward pass per step. The adversarial loss
is the pair `adversarial_loss` (losses.AdversarialLoss, the paper's non-saturating BCE).

`g_step` says which D the G step differentiates through:
  * "paper" (the default): the original's form (main.lua reuses `netD.output` and calls
    `updateGradInput`): the one D forward on the fake batch of the D step serves both
    updates, so G's gradient goes through D's pre-update weights (and the same BatchNorm
    batch statistics); both gradients are taken before either update is applied. One D
    forward per step less (docs/performance.md has the measured difference,
    docs/faithfulness.md why it is the default);
  * "updated_d": a third D forward on the fake batch after the D update (G against the
    updated D).
Both forms apply the G terms and the D penalties the same way.

The task's `recipe` (recipe.Recipe; all off = the paper's) adds what the paper predates,
in both forms: another adversarial loss (`hinge`), the R1 penalty (registered as a D
penalty when the task is made), DiffAugment (augment.py: the real and the fake batch are
transformed before every D forward of the train step, D's step and G's, differentiably;
not in `test_step`) and an exponential moving average of G's weights (`generator_ema`,
updated after each G step: trainable weights averaged, then the average run once in
training mode on the step's generator input (`generator_input`) so that its BatchNorm
statistics are its own, those of the averaged weights; then the BatchNorm sync, which
covers the average's statistics too; `inference_generator` is what sampling uses).
G's own statistics with the averaged weights gave washed-out, motionless samples
(docs/recipes.md).

`step` is the task's own variable (not an optimizer's `iterations`, which a float16
loss-scale optimizer does not advance on skipped steps): subclasses name their noise with
it, lazy penalties read it and checkpoints are numbered by it.

Under MultiWorkerMirroredStrategy the logs are returned as rank-1 tensors of one value
(the workaround of keras-team/keras#20585: Keras reduces logs there with axis=0, which
fails on scalars); callbacks read them with `float(np.ravel(v)[0])`.
"""
from __future__ import annotations

import dataclasses

import keras
import tensorflow as tf

from vgan_tf.tasks import augment as augment_lib
from vgan_tf.tasks import hooks
from vgan_tf.tasks import losses
from vgan_tf.tasks.recipe import DEFAULT_LOSS, Recipe
from vgan_tf.tasks.regularizers import R1Penalty

G_STEPS = ("updated_d", "paper")
DEFAULT_G_STEP = "paper"
LOSS_NAMES = ("d_loss", "g_loss")
ACCURACY_NAMES = ("d_real_acc", "d_fake_acc")
AUGMENT_STREAMS = {"real": 0, "fake": 1, "generated": 2}
"""Which batch of a step an augmentation draw is for: the real batch and the fake batch of
D's step, and the fake batch of G's step through the updated D (g_step="updated_d")."""


def paper_adam(learning_rate: float = 2e-4, beta_1: float = 0.5, name=None):
    """Adam as in the paper: lr 2e-4, beta1 0.5, beta2 0.999, eps 1e-8."""
    return keras.optimizers.Adam(learning_rate=learning_rate, beta_1=beta_1, beta_2=0.999,
                                 epsilon=1e-8, name=name)


@dataclasses.dataclass(frozen=True)
class StepOutputs:
    """What a step leaves for its logs: D's logits of the real batch and of the fake batch
    (D's loss), those of the fake batch G's loss saw, and the terms' values (G terms, D
    penalties, in registration order)."""

    real_logits: tf.Tensor
    fake_logits: tf.Tensor
    gen_logits: tf.Tensor
    g_terms: tuple = ()
    d_terms: tuple = ()


class AdversarialTask(keras.Model):
    """A generator and a discriminator trained adversarially with `fit`.

    Args:
      generator: the network trained to fool D (anything with `video_shape` and
        `trainable_variables`; `generate` says how it is called).
      discriminator: a Discriminator for the same video shape.
      g_step: "paper" (default) or "updated_d" (see the module docstring).
      recipe: a recipe.Recipe or its config dict (default: the paper's); with ema_decay
        the generator must be rebuildable from its get_config.

    Subclasses implement `generate(real, training)` and register their terms in
    `__init__`. Logged: d_loss, g_loss, the terms' metric_names (G terms, then D
    penalties, in registration order), d_real_acc, d_fake_acc.
    """

    adversarial_loss: losses.AdversarialLoss = losses.NON_SATURATING
    seed: int = 0  # base seed of the augmentation draws (VideoGAN: its noise seed)

    def __init__(self, generator, discriminator, g_step=DEFAULT_G_STEP, recipe=None,
                 **kwargs):
        super().__init__(**kwargs)
        if g_step not in G_STEPS:
            raise ValueError(f"g_step must be one of {G_STEPS}, got {g_step!r}")
        self.g_step = g_step
        self.recipe = Recipe() if recipe is None else Recipe.from_config(recipe)
        if tuple(generator.video_shape) != tuple(discriminator.video_shape):
            raise ValueError(
                f"generator makes videos of shape {generator.video_shape} but the "
                f"discriminator expects {discriminator.video_shape}")
        self.generator = generator
        self.discriminator = discriminator
        if not discriminator.built:
            discriminator.build((None,) + tuple(discriminator.video_shape))
        self._generator_terms = ()
        self._discriminator_penalties = ()
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self.metric_names}
        self.step = self.add_weight(shape=(), dtype="int64", initializer="zeros",
                                    trainable=False, aggregation="only_first_replica",
                                    name="step")
        self.g_optimizer = None
        self.d_optimizer = None
        self._apply_recipe()
        self.built = True

    def _apply_recipe(self):
        """The recipe's loss, R1 penalty and G average (called once, in __init__)."""
        if self.recipe.loss != DEFAULT_LOSS:  # else the class's pair (the paper's)
            self.adversarial_loss = losses.LOSSES[self.recipe.loss]
        if self.recipe.r1_gamma > 0:
            self.add_discriminator_penalty(R1Penalty(self.recipe.r1_gamma,
                                                     self.recipe.r1_every))
        self.generator_ema = (averaged_copy(self.generator) if self.recipe.ema_decay > 0
                              else None)

    @property
    def inference_generator(self):
        """The network that samples, TensorBoard pictures and the final .keras file use:
        the EMA copy of G with recipe.ema_decay, else G itself."""
        return self.generator if self.generator_ema is None else self.generator_ema

    def augment_videos(self, videos, stream: str, replica=None, step=None):
        """`videos` under the recipe's DiffAugment policies (unchanged without any), drawn
        for (seed, step, replica, AUGMENT_STREAMS[stream]); replica and step default to
        the current replica and `self.step` (passing them gives the draw a replica made
        at a step, as for the noise)."""
        if not self.recipe.augment:
            return videos
        replica = current_replica() if replica is None else replica
        step = self.step if step is None else step
        seed = augment_lib.stream_seed(self.seed, step, replica, AUGMENT_STREAMS[stream])
        return augment_lib.augment(videos, self.recipe.augment, seed)

    def update_average(self, real):
        """generator_ema <- decay * generator_ema + (1 - decay) * G for trainable weights;
        then the average runs once in training mode on `generator_input(real)` (its output
        unused), which moves its BatchNorm statistics towards those of its own weights.
        Every replica updates its own copy from the same (mirrored) weights; the
        statistics are averaged over replicas afterwards (_sync_batch_statistics)."""
        if self.generator_ema is None:
            return
        decay = self.recipe.ema_decay
        for average, weight in zip(self.generator_ema.weights, self.generator.weights):
            if weight.trainable:
                average.assign(decay * average.value + (1.0 - decay) * weight.value)
        self.generator_ema.generate_parts(self.generator_input(real), training=True)

    @property
    def metric_names(self) -> tuple:
        names = LOSS_NAMES
        for term in self.generator_terms + self.discriminator_penalties:
            names += tuple(term.metric_names)
        return names + ACCURACY_NAMES

    # -- the hooks -----------------------------------------------------------------------
    @property
    def generator_terms(self) -> tuple:
        return tuple(self._generator_terms)

    @property
    def discriminator_penalties(self) -> tuple:
        return tuple(self._discriminator_penalties)

    def add_generator_term(self, term: hooks.GeneratorTerm):
        """Adds `term(parts, real)` to G's loss from the next traced step on.

        Register before `fit` (or compile again after) and inside the strategy scope the
        task was built in (its metrics are made here). Terms registered from outside a
        subclass are not part of get_config: whoever rebuilds the task registers them.
        """
        self._check_new_term(term)
        self._generator_terms = self.generator_terms + (term,)
        self._make_trackers()

    def add_discriminator_penalty(self, penalty: hooks.DiscriminatorPenalty):
        """Adds `penalty(RealBatch)` to D's loss; same rules as `add_generator_term`."""
        self._check_new_term(penalty)
        self._discriminator_penalties = self.discriminator_penalties + (penalty,)
        self._make_trackers()

    def _check_new_term(self, term):
        if (getattr(self, "train_function", None) is not None
                or getattr(self, "test_function", None) is not None):
            raise ValueError("register terms before fit/evaluate (or compile again first)")
        clash = set(term.metric_names) & set(self.metric_names)
        if clash or len(set(term.metric_names)) != len(term.metric_names):
            raise ValueError(f"{type(term).__name__} logs {tuple(term.metric_names)}, "
                             f"a name already logged: {sorted(clash)}")

    def _make_trackers(self):
        """One Mean per metric name, in metric_names order (keeps the existing ones)."""
        old = dict(self.trackers)
        self.trackers = {name: old.get(name) or keras.metrics.Mean(name=name)
                         for name in self.metric_names}

    def generator_penalty(self, parts, real):
        """The sum of the G terms' replica-scaled losses for these parts, or None."""
        values = [value for value in self._generator_values(parts, real)
                  if value.loss is not None]
        if not values:
            return None
        return hooks.add_losses(values[0].loss, values[1:])

    def _generator_values(self, parts, real) -> tuple:
        return tuple(term(parts, real) for term in self.generator_terms)

    # -- Keras plumbing ------------------------------------------------------------------
    def compile(self, g_optimizer=None, d_optimizer=None, **kwargs):
        """Sets both optimizers (default: the paper's Adam) and builds their state.

        Building the optimizers here matters: without it, checkpoint restores and
        BackupAndRestore silently drop their slots and restart `iterations` at 0.
        Extra kwargs (jit_compile, steps_per_execution, ...) go to keras.Model.compile;
        jit_compile defaults to False because XLA is much slower on CPU for this model
        (docs/performance.md).
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

    def generator_input(self, real):
        """What G is given for the real batch `real` at this step (VideoGAN: the step's
        noise; the predictor: the clips' first frames); the EMA copy of G is run on it.
        Tasks with a recipe's ema_decay define it."""
        raise TypeError(f"{type(self).__name__} must define generator_input(real) to keep "
                        f"an average of G (ema_decay)")

    # -- training ------------------------------------------------------------------------
    def train_step(self, data):
        real = real_videos(data)
        if self.g_step == "paper":
            outputs = self.paper_step(real)
        else:
            outputs = self.updated_d_step(real)
        self.update_average(real)
        self._sync_batch_statistics()
        self.step.assign_add(1)
        return self._logs(outputs)

    def paper_step(self, real) -> StepOutputs:
        """Both updates from one D forward on the fake batch (the original's form).

        G's gradient is that of the non-saturating loss (+ G terms) through D's weights
        before this step's D update; both gradients are computed before either update is
        applied.
        """
        d_vars = self.discriminator.trainable_variables
        g_vars = self.generator.trainable_variables
        with tf.GradientTape() as g_tape:
            parts = self.generate(real, training=True)
            with tf.GradientTape() as d_tape:
                real_logits, fake_logits, d_loss, d_terms = self._discriminator_loss(
                    real, parts["video"])
                d_loss_scaled = _scale_loss(self.d_optimizer, d_loss)
            g_loss, g_terms = self._generator_loss(fake_logits, parts, real)
            g_loss_scaled = _scale_loss(self.g_optimizer, g_loss)
        d_grads = d_tape.gradient(d_loss_scaled, d_vars)
        g_grads = g_tape.gradient(g_loss_scaled, g_vars)
        self.d_optimizer.apply_gradients(zip(d_grads, d_vars))
        self.g_optimizer.apply_gradients(zip(g_grads, g_vars))
        return StepOutputs(real_logits, fake_logits, fake_logits, g_terms, d_terms)

    def updated_d_step(self, real) -> StepOutputs:
        """The D update, then the G update through the updated D (g_step="updated_d")."""
        with tf.GradientTape() as g_tape:
            parts = self.generate(real, training=True)
        real_logits, fake_logits, d_terms = self.discriminator_step(real, parts["video"])
        gen_logits, g_terms = self.generator_step(g_tape, parts, real)
        return StepOutputs(real_logits, fake_logits, gen_logits, g_terms, d_terms)

    def discriminator_step(self, real, fake):
        """One D update on the real and the fake batch (separate batches), D penalties
        included; returns both batches' logits and the penalties' values."""
        d_vars = self.discriminator.trainable_variables
        with tf.GradientTape() as d_tape:
            real_logits, fake_logits, d_loss, d_terms = self._discriminator_loss(
                real, tf.stop_gradient(fake))
            d_loss_scaled = _scale_loss(self.d_optimizer, d_loss)
        self.d_optimizer.apply_gradients(zip(d_tape.gradient(d_loss_scaled, d_vars), d_vars))
        return real_logits, fake_logits, d_terms

    def generator_step(self, g_tape, parts, real):
        """One G update: the non-saturating loss of D(parts["video"]) plus the G terms,
        computed on the tape that recorded `parts`; returns D's logits of the fake batch
        and the terms' values."""
        with g_tape:
            gen_logits = self.discriminator(
                self.augment_videos(parts["video"], "generated"), training=True)
            g_loss, g_terms = self._generator_loss(gen_logits, parts, real)
            g_loss_scaled = _scale_loss(self.g_optimizer, g_loss)
        g_vars = self.generator.trainable_variables
        self.g_optimizer.apply_gradients(zip(g_tape.gradient(g_loss_scaled, g_vars), g_vars))
        return gen_logits, g_terms

    def _discriminator_loss(self, real, fake):
        """On D's tape: D's logits of `real` and `fake` (training mode) and D's loss, the
        adversarial one plus the D penalties; returns (real_logits, fake_logits, loss,
        the penalties' values). With the recipe's augmentation D sees both batches
        augmented (the D penalties see the augmented real videos)."""
        real_logits, batch = self._real_forward(self.augment_videos(real, "real"),
                                                training=True)
        fake_logits = self.discriminator(self.augment_videos(fake, "fake"), training=True)
        d_loss = losses.discriminator_loss(real_logits, fake_logits, self.adversarial_loss)
        d_terms = self._penalty_values(batch)
        return real_logits, fake_logits, hooks.add_losses(d_loss, d_terms), d_terms

    def _generator_loss(self, gen_logits, parts, real):
        """On G's tape: the adversarial G loss plus the G terms, and the terms' values."""
        g_loss = losses.generator_loss(gen_logits, self.adversarial_loss)
        g_terms = self._generator_values(parts, real)
        return hooks.add_losses(g_loss, g_terms), g_terms

    def _real_forward(self, real, training):
        """D's logits of the real batch, and the RealBatch the D penalties see (None
        without penalties: then no input gradient is recorded)."""
        if not self.discriminator_penalties:
            return self.discriminator(real, training=training), None
        with tf.GradientTape(persistent=True) as input_tape:
            input_tape.watch(real)
            logits = self.discriminator(real, training=training)
            total = tf.reduce_sum(logits)
        batch = hooks.RealBatch(
            videos=real, logits=logits, input_gradients=lambda: input_tape.gradient(total, real),
            step=tf.convert_to_tensor(self.step), training=training)
        return logits, batch

    def _penalty_values(self, batch) -> tuple:
        if batch is None:
            return ()
        return tuple(penalty(batch) for penalty in self.discriminator_penalties)

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
        networks = [self.generator, self.discriminator]
        if self.generator_ema is not None:
            networks.append(self.generator_ema)
        stats = [v for network in networks for v in network.non_trainable_variables
                 if "float" in str(v.dtype)]
        if not stats:
            return
        means = context.all_reduce(tf.distribute.ReduceOp.MEAN,
                                   [tf.identity(v.value) for v in stats])
        for variable, mean in zip(stats, means):
            variable.assign(mean)

    def _logs(self, outputs: StepOutputs):
        """Plain per-replica means (not the replica-scaled losses used for gradients)."""
        self.trackers["d_loss"].update_state(hooks.add_logged(losses.discriminator_loss_mean(
            outputs.real_logits, outputs.fake_logits, self.adversarial_loss), outputs.d_terms))
        self.trackers["g_loss"].update_state(hooks.add_logged(losses.generator_loss_mean(
            outputs.gen_logits, self.adversarial_loss), outputs.g_terms))
        terms = self.generator_terms + self.discriminator_penalties
        for term, value in zip(terms, outputs.g_terms + outputs.d_terms):
            if set(value.metrics) != set(term.metric_names):
                raise ValueError(f"{type(term).__name__} logged {sorted(value.metrics)}, "
                                 f"not its metric_names {term.metric_names}")
            weight = None if isinstance(value.weight, float) and value.weight == 1.0 else (
                value.weight)
            for name, metric in value.metrics.items():
                self.trackers[name].update_state(metric, sample_weight=weight)
        self.trackers["d_real_acc"].update_state(
            tf.reduce_mean(tf.cast(outputs.real_logits > 0, tf.float32)))
        self.trackers["d_fake_acc"].update_state(
            tf.reduce_mean(tf.cast(outputs.fake_logits < 0, tf.float32)))
        return _as_logs({name: tracker.result() for name, tracker in self.trackers.items()})

    def test_step(self, data):
        """Evaluates D on real data and on fresh fakes without updating anything (the
        terms are evaluated too, D penalties with RealBatch.training False)."""
        real = real_videos(data)
        parts = self.generate(real, training=False)
        real_logits, batch = self._real_forward(real, training=False)
        fake_logits = self.discriminator(parts["video"], training=False)
        return self._logs(StepOutputs(real_logits, fake_logits, fake_logits,
                                      self._generator_values(parts, real),
                                      self._penalty_values(batch)))

    # -- serialization -------------------------------------------------------------------
    def get_config(self):
        config = super().get_config()
        config.update(
            generator=keras.saving.serialize_keras_object(self.generator),
            discriminator=keras.saving.serialize_keras_object(self.discriminator),
            g_step=self.g_step,
        )
        if not self.recipe.is_paper:  # a paper task's config is as before recipes
            config["recipe"] = self.recipe.to_config()
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


def current_replica():
    """The id of the replica running this code (0 outside a replica context)."""
    context = tf.distribute.get_replica_context()
    return context.replica_id_in_sync_group if context is not None else 0


def averaged_copy(generator):
    """A non-trainable copy of `generator` (rebuilt from its get_config, named
    <name>_ema) holding the same weights: the start of its moving average."""
    copy = type(generator).from_config(dict(generator.get_config(),
                                            name=f"{generator.name}_ema"))
    if not copy.built or len(copy.weights) != len(generator.weights):
        raise ValueError(f"ema_decay: {type(generator).__name__} rebuilt from its config "
                         f"does not hold the same weights as the generator")
    copy.trainable = False
    for layer in copy._flatten_layers():
        if isinstance(layer, keras.layers.BatchNormalization):
            # Updates its own statistics in training mode (Keras 3 BatchNormalization
            # does only when trainable); the copy itself stays non-trainable: no
            # trainable weights, and no optimizer sees it.
            layer.trainable = True
    for average, weight in zip(copy.weights, generator.weights):
        average.assign(weight.value)
    return copy


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
