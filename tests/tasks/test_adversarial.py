"""AdversarialTask: the shared D step, G step and logs hosting a task other than VideoGAN.

The toy task below is shaped like the coming future prediction (a generator conditioned
on the first real frame, an L1 penalty on the first generated frame, no mask), so these
tests pin what such a task gets from the base without writing its own train step.
"""
import keras
import numpy as np
import pytest
import tensorflow as tf

from tests import helpers
from vgan_tf.models import Discriminator, TwoStreamGenerator
from vgan_tf.tasks import AdversarialTask, VideoGAN
from vgan_tf.tasks import losses
from vgan_tf.tasks.hooks import TermValue


class Animator(keras.Model):
    """First frame [b, s, s, 3] -> video [b, t, s, s, 3] (a stand-in conditional G)."""

    def __init__(self, frames, size, **kwargs):
        super().__init__(**kwargs)
        self.video_shape = (frames, size, size, 3)
        self.net = keras.Sequential([
            keras.Input((size, size, 3)), keras.layers.Flatten(),
            keras.layers.Dense(frames * size * size * 3, activation="tanh"),
            keras.layers.Reshape(self.video_shape)])
        self.built = True

    def call(self, image, training=None):
        return self.net(image, training=training)


class FirstFrameL1Term:
    """A G term: weight * mean |first generated frame - first real frame|, logged as l1."""

    metric_names = ("l1",)

    def __init__(self, weight):
        self.weight = weight

    def __call__(self, parts, real):
        diff = tf.abs(parts["video"][:, 0] - real[:, 0])
        per_example = tf.reduce_mean(tf.reshape(diff, [tf.shape(diff)[0], -1]), axis=1)
        l1 = tf.reduce_mean(per_example)
        return TermValue(loss=self.weight * tf.nn.compute_average_loss(per_example),
                         logged=self.weight * l1, metrics={"l1": l1})


class FirstFrameTask(AdversarialTask):
    def __init__(self, generator, discriminator, weight=10.0, **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        self.add_generator_term(FirstFrameL1Term(weight))

    def generate(self, real, training):
        return {"video": self.generator(real[:, 0], training=training)}


def make_task(tiny, **kwargs):
    return FirstFrameTask(Animator(tiny.frames, tiny.size),
                          Discriminator(tiny.frames, tiny.size, tiny.base_width), **kwargs)


def clips(tiny, n=4, seed=0):
    return np.random.default_rng(seed).uniform(
        -1, 1, (n, tiny.frames, tiny.size, tiny.size, 3)).astype("float32")


def test_metric_names_put_penalties_between_g_loss_and_accuracies(tiny):
    assert make_task(tiny).metric_names == ("d_loss", "g_loss", "l1", "d_real_acc",
                                            "d_fake_acc")
    video_gan = VideoGAN(TwoStreamGenerator(tiny.frames, tiny.size, tiny.latent_dim,
                                            tiny.base_width),
                         Discriminator(tiny.frames, tiny.size, tiny.base_width))
    assert video_gan.metric_names == ("d_loss", "g_loss", "mask_mean", "d_real_acc",
                                      "d_fake_acc")


def test_shared_step_trains_a_conditional_task(tiny):
    task = make_task(tiny)
    task.compile(g_optimizer=keras.optimizers.SGD(0.05), d_optimizer=keras.optimizers.SGD(0.01))
    x = tf.constant(clips(tiny))
    g0 = [v.numpy().copy() for v in task.generator.trainable_variables]
    d0 = [v.numpy().copy() for v in task.discriminator.trainable_variables]
    first = task.train_step(x)
    for _ in range(5):
        logs = task.train_step(x)
    assert float(logs["l1"]) < 0.9 * float(first["l1"])  # the penalty is trained on
    for before, model in ((g0, task.generator), (d0, task.discriminator)):
        assert max(float(np.abs(b - v.numpy()).max())
                   for b, v in zip(before, model.trainable_variables)) > 0
    assert int(task.step.numpy()) == 6
    assert int(task.g_optimizer.iterations) == int(task.d_optimizer.iterations) == 6
    assert set(logs) == set(task.metric_names)


def test_g_loss_log_is_adversarial_plus_penalty(tiny):
    task = make_task(tiny, weight=3.0)
    task.compile(g_optimizer=keras.optimizers.SGD(0.0), d_optimizer=keras.optimizers.SGD(0.0))
    x = tf.constant(clips(tiny))
    parts = task.generate(x, training=True)
    logs = task.train_step(x)
    gen_logits = task.discriminator(parts["video"], training=True)
    l1 = float(np.mean(np.abs(parts["video"][:, 0].numpy() - x[:, 0].numpy())))
    assert float(logs["l1"]) == pytest.approx(l1, rel=1e-5)
    assert float(logs["g_loss"]) == pytest.approx(
        float(losses.generator_loss_mean(gen_logits)) + 3.0 * l1, rel=1e-4)


def test_base_requires_matching_video_shapes(tiny):
    with pytest.raises(ValueError, match="discriminator expects"):
        FirstFrameTask(Animator(tiny.frames, tiny.size),
                       Discriminator(2 * tiny.frames, tiny.size, tiny.base_width))


@pytest.mark.slow
def test_fit_and_compile_config_round_trip(tiny, tmp_path):
    task = make_task(tiny)
    task.compile(g_optimizer=keras.optimizers.Adam(1e-3, name="g"),
                 d_optimizer=keras.optimizers.SGD(0.1, name="d"))
    history = task.fit(tf.data.Dataset.from_tensor_slices(clips(tiny, 8)).batch(4), epochs=1,
                       verbose=0)
    assert set(history.history) == set(task.metric_names)
    config = task.get_compile_config()
    other = make_task(tiny)
    other.compile_from_config(config)
    assert type(other.g_optimizer) is keras.optimizers.Adam and other.g_optimizer.name == "g"
    assert type(other.d_optimizer) is keras.optimizers.SGD
    assert len(other.g_optimizer.variables) == len(task.g_optimizer.variables)


def test_video_gan_config_keys(tiny):
    gan = VideoGAN(TwoStreamGenerator(tiny.frames, tiny.size, tiny.latent_dim,
                                      tiny.base_width),
                   Discriminator(tiny.frames, tiny.size, tiny.base_width),
                   mask_weight=0.2, seed=9, g_step="updated_d")
    clone = helpers.run_serialization_test(gan)
    assert (clone.mask_weight, clone.seed, clone.g_step) == (0.2, 9, "updated_d")
    assert set(gan.get_config()) == {"name", "trainable", "dtype", "generator",
                                     "discriminator", "g_step", "mask_weight", "seed"}


class StepProbe:
    """A D penalty that adds nothing to D's loss: it logs the step it saw (counted on even
    steps only) and adds 0.5 to the logged d_loss."""

    metric_names = ("probe",)

    def __init__(self):
        self.seen = []

    def __call__(self, batch):
        self.seen.append(batch.training)
        even = tf.cast(tf.equal(batch.step % 2, 0), tf.float32)
        return TermValue(loss=None, logged=tf.constant(0.5),
                         metrics={"probe": tf.cast(batch.step, tf.float32)}, weight=even)


@pytest.mark.slow
def test_d_penalties_log_after_g_terms_with_their_step_weights(tiny):
    task = make_task(tiny)
    probe = StepProbe()
    task.add_discriminator_penalty(probe)
    assert task.metric_names == ("d_loss", "g_loss", "l1", "probe", "d_real_acc",
                                 "d_fake_acc")
    assert list(task.trackers) == list(task.metric_names)
    task.compile(g_optimizer=keras.optimizers.SGD(0.0), d_optimizer=keras.optimizers.SGD(0.0))
    x = tf.constant(clips(tiny))
    for _ in range(4):
        logs = task.train_step(x)
    assert list(logs) == list(task.metric_names)
    assert float(logs["probe"]) == pytest.approx(1.0)  # steps 0 and 2 count, 1 and 3 not
    # The logged d_loss is the adversarial one plus the penalty's logged part.
    parts = task.generate(x, training=True)
    task.trackers["d_loss"].reset_state()
    logs = task.train_step(x)
    adversarial = losses.discriminator_loss_mean(
        task.discriminator(x, training=True), task.discriminator(parts["video"], training=True))
    assert float(logs["d_loss"]) == pytest.approx(float(adversarial) + 0.5, rel=1e-5)
    history = task.fit(tf.data.Dataset.from_tensors(x), epochs=1, verbose=0).history
    assert set(history) == set(task.metric_names)
    task.evaluate(tf.data.Dataset.from_tensors(x), verbose=0)
    assert probe.seen[0] is True and probe.seen[-1] is False  # evaluation: training False


class NamedTerm:
    def __init__(self, declared, returned):
        self.metric_names = declared
        self.returned = returned

    def __call__(self, parts, real):
        return TermValue(loss=None, metrics={name: tf.constant(0.0) for name in self.returned})


@pytest.mark.slow
def test_registration_refuses_logged_names_and_a_traced_step(tiny):
    task = make_task(tiny)
    for names in (("l1",), ("d_loss",), ("x", "x")):
        with pytest.raises(ValueError, match="already logged"):
            task.add_generator_term(NamedTerm(names, names))
    task.compile(g_optimizer=keras.optimizers.SGD(0.0), d_optimizer=keras.optimizers.SGD(0.0))
    task.fit(tf.data.Dataset.from_tensors(clips(tiny)), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="before fit"):
        task.add_generator_term(NamedTerm(("x",), ("x",)))
    task.compile(g_optimizer=keras.optimizers.SGD(0.0), d_optimizer=keras.optimizers.SGD(0.0))
    task.add_generator_term(NamedTerm(("x",), ("y",)))  # a fresh compile allows it
    with pytest.raises(ValueError, match="not its metric_names"):
        task.train_step(tf.constant(clips(tiny)))
