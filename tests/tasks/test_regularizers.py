"""The terms of regularizers.py on the hooks of the adversarial task: R1 against a hand
computation on a tiny discriminator, its effect on D's update only, its lazy interval.
(Its replica scaling is pinned by the mirrored equivalence test in test_strategy.py; the
mask prior by test_video_gan.py.)"""
import keras
import numpy as np
import pytest
import tensorflow as tf

from vgan_tf.models import TwoStreamGenerator
from vgan_tf.tasks import VideoGAN
from vgan_tf.tasks import losses
from vgan_tf.tasks.hooks import RealBatch
from vgan_tf.tasks.regularizers import MaskPrior, R1Penalty

LR = 0.1


class QuadraticCritic(keras.Model):
    """D(x) = sum(a * x^2) over each video: grad_x D = 2 a x, so ||grad||^2 = 4 sum(a^2 x^2)
    and d/da of mean_b ||grad_b||^2 is 8 a mean_b(x_b^2)."""

    def __init__(self, video_shape, **kwargs):
        super().__init__(**kwargs)
        self.video_shape = tuple(video_shape)
        self.a = self.add_weight(shape=self.video_shape, name="a",
                                 initializer=keras.initializers.RandomNormal(stddev=0.01))
        self.built = True

    def call(self, videos, training=None):
        axes = list(range(1, len(self.video_shape) + 1))
        return tf.reduce_sum(self.a * tf.square(videos), axis=axes)[:, None]


def make_gan(tiny, penalty=None, g_step="paper"):
    gan = VideoGAN(TwoStreamGenerator(tiny.frames, tiny.size, tiny.latent_dim, tiny.base_width),
                   QuadraticCritic((tiny.frames, tiny.size, tiny.size, 3)), g_step=g_step)
    if penalty is not None:
        gan.add_discriminator_penalty(penalty)
    gan.compile(g_optimizer=keras.optimizers.SGD(LR), d_optimizer=keras.optimizers.SGD(LR))
    return gan


def real_batch(tiny, n=4, seed=0):
    return tf.constant(np.random.default_rng(seed).uniform(
        -1, 1, (n, tiny.frames, tiny.size, tiny.size, 3)).astype("float32"))


def copy_weights(source, target):
    target.generator.set_weights(source.generator.get_weights())
    target.discriminator.set_weights(source.discriminator.get_weights())
    target.step.assign(source.step)


def r1_gradient(a, x):
    """d/da of mean_b ||grad_x D(x_b)||^2 for the quadratic critic, by hand."""
    return 8.0 * a * np.mean(np.square(x), axis=0)


def test_r1_value_is_half_gamma_times_the_mean_squared_input_gradient(tiny):
    critic = QuadraticCritic((tiny.frames, tiny.size, tiny.size, 3))
    x = real_batch(tiny)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        logits = critic(x)
        total = tf.reduce_sum(logits)
    a, xs = critic.a.numpy(), x.numpy()
    norms = 4.0 * np.sum(np.square(a[None] * xs).reshape(4, -1), axis=1)  # per example
    calls = []

    def input_gradients():
        calls.append(1)
        return tape.gradient(total, x)

    # (every, step, training, the factor of gamma / 2 * E||grad||^2 in the loss)
    for every, step, training, want in ((1, 5, True, 1.0), (4, 8, True, 4.0),
                                        (4, 6, True, 0.0), (4, 6, False, 4.0)):
        del calls[:]
        value = R1Penalty(gamma=3.0, every=every)(RealBatch(
            videos=x, logits=logits, input_gradients=input_gradients,
            step=tf.constant(step, tf.int64), training=training))
        assert float(value.loss) == pytest.approx(want * 1.5 * norms.mean(), rel=1e-5)
        assert float(value.weight) == (1.0 if want else 0.0)
        assert len(calls) == (1 if want else 0)  # no input gradient on a skipped step
        if want:
            assert float(value.metrics["r1"]) == pytest.approx(norms.mean(), rel=1e-5)


def test_r1_arguments_are_checked():
    for kwargs in ({"gamma": -1.0}, {"gamma": 1.0, "every": 0}, {"gamma": 1.0, "every": 1.5}):
        with pytest.raises(ValueError, match="R1"):
            R1Penalty(**kwargs)
    assert R1Penalty(2, every=4) == R1Penalty(2.0, 4)
    with pytest.raises(ValueError, match="mask_weight"):
        MaskPrior(-0.1)


@pytest.mark.parametrize("g_step", ["paper", "updated_d"])
def test_r1_changes_the_d_update_only(tiny, g_step):
    """The same step with and without R1(gamma): D's updates differ by lr * gamma/2 * the
    hand-computed gradient of the penalty; G's loss has no R1 in it (paper: G's update is
    the same; updated_d: G's update is the one through the D updated with R1)."""
    gamma = 2.0
    with_r1 = make_gan(tiny, R1Penalty(gamma), g_step)
    plain = make_gan(tiny, None, g_step)
    copy_weights(with_r1, plain)
    a0 = with_r1.discriminator.a.numpy()
    g0 = [v.numpy() for v in with_r1.generator.trainable_variables]
    x = real_batch(tiny)
    logs = with_r1.train_step(x)
    plain.train_step(x)
    np.testing.assert_allclose(
        with_r1.discriminator.a.numpy() - plain.discriminator.a.numpy(),
        -LR * gamma / 2 * r1_gradient(a0, x.numpy()), rtol=1e-4, atol=1e-8)
    assert float(logs["r1"]) > 0
    if g_step == "paper":
        for a, b in zip(with_r1.generator.trainable_variables,
                        plain.generator.trainable_variables):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
        return
    # updated_d: G's update is the plain non-saturating + mask prior gradient through the
    # D that R1 helped update.
    reference = make_gan(tiny, None, g_step)
    reference.discriminator.set_weights(with_r1.discriminator.get_weights())
    for v, value in zip(reference.generator.trainable_variables, g0):
        v.assign(value)
    with tf.GradientTape() as tape:
        parts = reference.generator.generate_parts(reference.draw_latents(4), training=True)
        loss = (losses.generator_loss_mean(reference.discriminator(parts["video"]))
                + reference.mask_weight * tf.reduce_mean(parts["mask"]))
    grads = tape.gradient(loss, reference.generator.trainable_variables)
    for v, g, got in zip(reference.generator.trainable_variables, grads,
                         with_r1.generator.trainable_variables):
        np.testing.assert_allclose(got.numpy(), v.numpy() - LR * g.numpy(), atol=2e-6)


@pytest.mark.parametrize("compiled", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_lazy_r1_runs_every_nth_step_with_gamma_times_n(tiny, compiled):
    """every=3: on steps 0 and 3 D's update carries gamma*3/2 * the penalty's gradient, on
    the others it is the plain update; `r1` averages over steps 0 and 3 only. Eager and
    in a tf.function (the interval is a tf.cond on the step there)."""
    gamma, every = 2.0, 3
    with_r1 = make_gan(tiny, R1Penalty(gamma, every=every))
    plain = make_gan(tiny)
    steps = [tf.function(gan.train_step) if compiled else gan.train_step
             for gan in (with_r1, plain)]
    r1_values = []
    for step in range(6):
        copy_weights(with_r1, plain)
        a0 = with_r1.discriminator.a.numpy()
        x = real_batch(tiny, seed=step)
        logs = steps[0](x)
        steps[1](x)
        active = step % every == 0
        want = -LR * gamma * every / 2 * r1_gradient(a0, x.numpy()) if active else 0.0
        np.testing.assert_allclose(
            with_r1.discriminator.a.numpy() - plain.discriminator.a.numpy(), want + 0 * a0,
            rtol=1e-4, atol=1e-8, err_msg=f"step {step}")
        if active:
            r1_values.append(4.0 * np.sum(np.square(a0[None] * x.numpy()).reshape(4, -1),
                                          axis=1).mean())
    assert int(with_r1.step.numpy()) == 6
    assert float(logs["r1"]) == pytest.approx(np.mean(r1_values), rel=1e-5)
