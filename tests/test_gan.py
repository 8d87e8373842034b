"""VideoGAN: the train step, the losses, fit, saving with optimizer state, sampling."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from tests import helpers
from vgan_tf import losses, sampling
from vgan_tf.gan import VideoGAN
from vgan_tf.models import Discriminator, OneStreamGenerator, TwoStreamGenerator


def make_gan(tiny, generator_cls=TwoStreamGenerator, **kwargs):
    g = generator_cls(tiny.frames, tiny.size, tiny.latent_dim, tiny.base_width)
    d = Discriminator(tiny.frames, tiny.size, tiny.base_width)
    return VideoGAN(g, d, **kwargs)


def real_batch(tiny, n=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (n, tiny.frames, tiny.size, tiny.size, 3)).astype("float32")


def snapshot(model):
    return [v.numpy().copy() for v in model.trainable_variables]


def changed(before, model):
    return max(float(np.abs(a - v.numpy()).max()) for a, v in zip(before, model.trainable_variables))


@pytest.mark.parametrize("generator_cls", [TwoStreamGenerator, OneStreamGenerator])
def test_train_step_updates_both_networks(tiny, generator_cls):
    gan = make_gan(tiny, generator_cls)
    gan.compile()
    g0, d0 = snapshot(gan.generator), snapshot(gan.discriminator)
    logs = gan.train_step(tf.constant(real_batch(tiny)))
    assert changed(g0, gan.generator) > 0
    assert changed(d0, gan.discriminator) > 0
    for name in ("d_loss", "g_loss", "mask_mean", "d_real_acc", "d_fake_acc"):
        assert np.isfinite(float(logs[name])), name
    # At initialisation D is near chance: each BCE term is near log(2).
    assert float(logs["d_loss"]) == pytest.approx(2 * np.log(2), abs=0.1)
    assert int(gan.d_optimizer.iterations) == int(gan.g_optimizer.iterations) == 1
    if generator_cls is OneStreamGenerator:
        assert float(logs["mask_mean"]) == 0.0


def test_discriminator_step_matches_manual_gradient(tiny):
    """D sees real and fake as separate batches; loss BCE(real,1) + BCE(fake,0)."""
    gan = make_gan(tiny)
    gan.compile(g_optimizer=keras.optimizers.SGD(0.0), d_optimizer=keras.optimizers.SGD(0.5))
    d_ref = Discriminator.from_config(gan.discriminator.get_config())
    d_ref.build((None,) + gan.discriminator.video_shape)
    d_ref.set_weights(gan.discriminator.get_weights())
    real = tf.constant(real_batch(tiny))
    z = gan.draw_latents(4)  # the noise of step 0
    g_ref = TwoStreamGenerator.from_config(gan.generator.get_config())
    g_ref.build((None, tiny.latent_dim))
    g_ref.set_weights(gan.generator.get_weights())
    fake = g_ref(z, training=True)
    with tf.GradientTape() as tape:
        bce = keras.losses.BinaryCrossentropy(from_logits=True)
        r, f = d_ref(real, training=True), d_ref(fake, training=True)
        loss = bce(tf.ones_like(r), r) + bce(tf.zeros_like(f), f)
    grads = tape.gradient(loss, d_ref.trainable_variables)
    expected = [v.numpy() - 0.5 * g.numpy() for v, g in zip(d_ref.trainable_variables, grads)]
    g_before = snapshot(gan.generator)
    gan.train_step(real)
    for want, got in zip(expected, gan.discriminator.trainable_variables):
        np.testing.assert_allclose(got.numpy(), want, atol=2e-6)
    assert changed(g_before, gan.generator) == 0.0  # lr 0 for G


def test_noise_depends_on_seed_and_step(tiny):
    gan = make_gan(tiny, seed=3)
    gan.compile()
    a = gan.draw_latents(4).numpy()
    np.testing.assert_array_equal(a, gan.draw_latents(4).numpy())
    gan.train_step(tf.constant(real_batch(tiny)))
    assert not np.allclose(a, gan.draw_latents(4).numpy())
    other = make_gan(tiny, seed=4)
    other.compile()
    assert not np.allclose(a, other.draw_latents(4).numpy())
    assert a.std() == pytest.approx(1.0, abs=0.3)


def test_mask_prior_value():
    mask = tf.constant(np.full((2, 4, 8, 8, 1), 0.3, "float32"))
    assert float(losses.mask_prior(mask)) == pytest.approx(0.1 * 0.3)
    rng = np.random.default_rng(0)
    m = rng.uniform(0, 1, (3, 4, 8, 8, 1)).astype("float32")
    # An average over all mask values, not a sum and not over weights.
    assert float(losses.mask_prior(tf.constant(m), 0.1)) == pytest.approx(0.1 * m.mean(), rel=1e-5)
    assert float(losses.mask_prior(tf.constant(m), 0.0)) == 0.0


def test_g_loss_includes_mask_prior(tiny):
    x = tf.constant(real_batch(tiny))
    values = {}
    for weight in (0.0, 5.0):
        keras.utils.set_random_seed(7)
        gan = make_gan(tiny, mask_weight=weight)
        gan.compile(g_optimizer=keras.optimizers.SGD(0.0), d_optimizer=keras.optimizers.SGD(0.0))
        logs = gan.train_step(x)
        values[weight] = (float(logs["g_loss"]), float(logs["mask_mean"]))
    (g0, m0), (g5, m5) = values[0.0], values[5.0]
    assert m0 == pytest.approx(m5)
    assert g5 - g0 == pytest.approx(5.0 * m0, rel=1e-4)


def test_mask_prior_pushes_mask_down(tiny):
    x = tf.constant(real_batch(tiny))
    means = {}
    for weight in (0.0, 50.0):
        keras.utils.set_random_seed(11)
        gan = make_gan(tiny, mask_weight=weight)
        gan.compile(g_optimizer=keras.optimizers.Adam(0.01),
                    d_optimizer=keras.optimizers.SGD(0.0))
        for _ in range(5):
            gan.train_step(x)
        z = sampling.latents_for_seeds(np.arange(4), tiny.latent_dim)
        means[weight] = float(np.mean(gan.generator.generate_parts(z)["mask"]))
    assert means[50.0] < means[0.0] - 0.05


def test_fit_runs_and_reports_metrics(tiny):
    gan = make_gan(tiny)
    gan.compile()
    data = tf.data.Dataset.from_tensor_slices(real_batch(tiny, 8)).batch(4, drop_remainder=True)
    history = gan.fit(data, epochs=2, verbose=0)
    assert set(history.history) == {"d_loss", "g_loss", "mask_mean", "d_real_acc", "d_fake_acc"}
    assert len(history.history["d_loss"]) == 2
    assert all(np.isfinite(v) for vs in history.history.values() for v in vs)
    assert int(gan.g_optimizer.iterations) == 4
    labelled = tf.data.Dataset.from_tensor_slices(
        (real_batch(tiny, 8), np.arange(8))).batch(4)
    gan.fit(labelled, epochs=1, verbose=0)  # (video, label) batches are accepted too
    assert int(gan.g_optimizer.iterations) == 6


def test_mismatched_shapes_rejected(tiny):
    g = TwoStreamGenerator(tiny.frames, tiny.size, tiny.latent_dim, tiny.base_width)
    d = Discriminator(2 * tiny.frames, tiny.size, tiny.base_width)
    with pytest.raises(ValueError, match="discriminator expects"):
        VideoGAN(g, d)


def test_save_and_load_keeps_optimizer_state(tiny, tmp_path):
    gan = make_gan(tiny, seed=5, mask_weight=0.2)
    gan.compile()
    for seed in range(3):
        gan.train_step(tf.constant(real_batch(tiny, seed=seed)))
    helpers.run_serialization_test(gan)
    path = str(tmp_path / "gan.keras")
    gan.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert loaded.seed == 5 and loaded.mask_weight == 0.2
    for name in ("g_optimizer", "d_optimizer"):
        a, b = getattr(gan, name), getattr(loaded, name)
        assert int(b.iterations) == 3
        assert len(a.variables) == len(b.variables) > 10
        for va, vb in zip(a.variables, b.variables):
            np.testing.assert_array_equal(va.numpy(), vb.numpy())
    # The next step of both is the same step (same noise, same optimizer moments).
    x = tf.constant(real_batch(tiny, seed=9))
    gan.train_step(x)
    loaded.train_step(x)
    for va, vb in zip(gan.generator.weights, loaded.generator.weights):
        np.testing.assert_allclose(va.numpy(), vb.numpy(), atol=1e-5)


def test_sampling_is_deterministic_per_seed(tiny):
    g = TwoStreamGenerator(tiny.frames, tiny.size, tiny.latent_dim, tiny.base_width)
    a = sampling.sample(g, 4, seed=10)
    assert a.shape == (4, 8, 16, 16, 3)
    np.testing.assert_array_equal(a, sampling.sample(g, 4, seed=10))
    # Video i is the video of seed 10 + i, whatever the batch it is made in.
    np.testing.assert_allclose(sampling.sample(g, 2, seed=12, batch_size=1), a[2:], atol=1e-6)
    assert not np.allclose(a[0], a[1])
    parts = sampling.sample(g, 2, seed=10, parts=True)
    np.testing.assert_allclose(parts["video"], a[:2], atol=1e-6)
    assert parts["mask"].shape == (2, 8, 16, 16, 1)
    with pytest.raises(ValueError, match="num must be at least 1"):
        sampling.sample(g, 0)
