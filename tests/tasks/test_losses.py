"""The losses of the paper: values (their replica scaling is pinned by the mirrored
equivalence test in test_strategy.py)."""
import numpy as np
import pytest
import tensorflow as tf

from vgan_tf.tasks import losses


def bce(logits, target):
    logits = np.asarray(logits, np.float64)
    return np.mean(np.maximum(logits, 0) - logits * target + np.log1p(np.exp(-np.abs(logits))))


def test_adversarial_losses_are_binary_cross_entropies():
    real = np.array([[2.0], [-1.0], [0.5]], np.float32)
    fake = np.array([[-3.0], [0.0], [1.5]], np.float32)
    want_d = bce(real, 1.0) + bce(fake, 0.0)
    assert float(losses.discriminator_loss(real, fake)) == pytest.approx(want_d, rel=1e-6)
    assert float(losses.discriminator_loss_mean(real, fake)) == pytest.approx(want_d, rel=1e-6)
    assert float(losses.generator_loss(fake)) == pytest.approx(bce(fake, 1.0), rel=1e-6)
    assert float(losses.generator_loss_mean(fake)) == pytest.approx(bce(fake, 1.0), rel=1e-6)
    # Non-saturating: a confident D (very negative fake logits) still gives G a gradient.
    logits = tf.constant([[-20.0]])
    with tf.GradientTape() as tape:
        tape.watch(logits)
        loss = losses.generator_loss(logits)
    assert float(tape.gradient(loss, logits)[0, 0]) == pytest.approx(-1.0, abs=1e-6)


def test_mask_prior_value():
    mask = tf.constant(np.full((2, 4, 8, 8, 1), 0.3, "float32"))
    assert float(losses.mask_prior(mask)) == pytest.approx(0.1 * 0.3)
    rng = np.random.default_rng(0)
    m = rng.uniform(0, 1, (3, 4, 8, 8, 1)).astype("float32")
    # An average over all mask values, not a sum and not over weights.
    assert float(losses.mask_prior(tf.constant(m), 0.1)) == pytest.approx(0.1 * m.mean(), rel=1e-5)
    assert float(losses.mask_prior(tf.constant(m), 0.0)) == 0.0
    np.testing.assert_allclose(losses.mask_l1_per_example(m), m.reshape(3, -1).mean(1),
                               rtol=1e-6)



def test_hinge_losses():
    """The second pair (--loss=hinge): D max(0, 1 - real) + max(0, 1 + fake), each a mean
    over its batch; G -mean(fake). Its G gradient does not vanish for a confident D."""
    real = np.array([[2.0], [-1.0], [0.5]], np.float32)
    fake = np.array([[-3.0], [0.0], [1.5]], np.float32)
    want_d = np.mean(np.maximum(0, 1 - real)) + np.mean(np.maximum(0, 1 + fake))
    assert want_d == pytest.approx((0 + 2 + 0.5) / 3 + (0 + 1 + 2.5) / 3)
    for reduce in (losses.discriminator_loss, losses.discriminator_loss_mean):
        assert float(reduce(real, fake, losses.HINGE)) == pytest.approx(want_d, rel=1e-6)
    for reduce in (losses.generator_loss, losses.generator_loss_mean):
        assert float(reduce(fake, losses.HINGE)) == pytest.approx(-fake.mean(), rel=1e-6)
    assert losses.LOSSES == {"nonsaturating": losses.NON_SATURATING, "hinge": losses.HINGE}
    logits = tf.constant([[-20.0], [3.0]])
    with tf.GradientTape() as tape:
        tape.watch(logits)
        loss = losses.generator_loss(logits, losses.HINGE)
    np.testing.assert_allclose(tape.gradient(loss, logits), [[-0.5], [-0.5]])
