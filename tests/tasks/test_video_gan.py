"""VideoGAN: the train step, fit, noise, saving with optimizer state, precision, sampling."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from tests import helpers
from vgan_tf import sampling
from vgan_tf.tasks import VideoGAN, paper_adam
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
    return max(float(np.abs(a - v.numpy()).max())
               for a, v in zip(before, model.trainable_variables))


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
    d_ref.set_weights(gan.discriminator.get_weights())
    real = tf.constant(real_batch(tiny))
    z = gan.draw_latents(4)  # the noise of step 0
    g_ref = TwoStreamGenerator.from_config(gan.generator.get_config())
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




def _sgd_and_reference_copies(gan, tiny):
    """Compiles gan with SGD(0.5) for both networks; returns a real batch, copies of D and
    G with the same weights, and the BCE on logits (for gradients computed by hand)."""
    gan.compile(g_optimizer=keras.optimizers.SGD(0.5), d_optimizer=keras.optimizers.SGD(0.5))
    d_ref = Discriminator.from_config(gan.discriminator.get_config())
    d_ref.set_weights(gan.discriminator.get_weights())
    g_ref = TwoStreamGenerator.from_config(gan.generator.get_config())
    g_ref.set_weights(gan.generator.get_weights())
    return (tf.constant(real_batch(tiny)), d_ref, g_ref,
            keras.losses.BinaryCrossentropy(from_logits=True))

def test_generator_step_matches_manual_gradient(tiny):
    """G's loss is the non-saturating BCE(D(G(z)) -> 1) against the UPDATED D, plus the
    mask prior, differentiated through the forward pass recorded before the D step
    (g_step="updated_d")."""
    gan = make_gan(tiny, mask_weight=0.3, g_step="updated_d")
    real, d_ref, g_ref, bce = _sgd_and_reference_copies(gan, tiny)
    with tf.GradientTape() as g_tape:
        parts = g_ref.generate_parts(gan.draw_latents(4), training=True)
    with tf.GradientTape() as d_tape:
        r, f = d_ref(real, training=True), d_ref(parts["video"], training=True)
        d_loss = bce(tf.ones_like(r), r) + bce(tf.zeros_like(f), f)
    for v, g in zip(d_ref.trainable_variables, d_tape.gradient(d_loss, d_ref.trainable_variables)):
        v.assign_sub(0.5 * g)
    with g_tape:
        logits = d_ref(parts["video"], training=True)
        g_loss = bce(tf.ones_like(logits), logits) + 0.3 * tf.reduce_mean(parts["mask"])
    grads = g_tape.gradient(g_loss, g_ref.trainable_variables)
    expected = [v.numpy() - 0.5 * g.numpy() for v, g in zip(g_ref.trainable_variables, grads)]
    logs = gan.train_step(real)
    for want, got in zip(expected, gan.generator.trainable_variables):
        np.testing.assert_allclose(got.numpy(), want, atol=2e-6)
    assert float(logs["g_loss"]) == pytest.approx(float(g_loss), rel=1e-5)
    assert int(gan.step.numpy()) == 1

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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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


def test_registered_names():
    for cls in (VideoGAN, TwoStreamGenerator, OneStreamGenerator, Discriminator):
        assert keras.saving.get_registered_name(cls) == f"vgan_tf>{cls.__name__}"
        assert keras.saving.get_registered_object(f"vgan_tf>{cls.__name__}") is cls


def test_compile_builds_separate_paper_optimizers(tiny):
    gan = make_gan(tiny)
    gan.compile()
    assert gan.g_optimizer is not gan.d_optimizer
    for optimizer, model in ((gan.g_optimizer, gan.generator),
                             (gan.d_optimizer, gan.discriminator)):
        config = optimizer.get_config()
        assert (config["learning_rate"], config["beta_1"], config["beta_2"],
                config["epsilon"]) == pytest.approx((2e-4, 0.5, 0.999, 1e-8))
        # State exists before the first step (2 moments per variable + iterations, lr).
        assert len(optimizer.variables) == 2 * len(model.trainable_variables) + 2
    assert gan.get_compile_config()["g_optimizer"]["config"]["name"] == "g_adam"
    custom = paper_adam(1e-3, 0.9, name="x")
    assert (float(custom.learning_rate.numpy()), custom.beta_1) == pytest.approx((1e-3, 0.9))


def test_float16_losses_are_scaled(tiny):
    """Under mixed_float16 with LossScaleOptimizers, the D update equals the float32 one
    (a loss that was not scaled would move the weights by 1/scale as much)."""
    deltas = {}
    for policy in ("float32", "mixed_float16"):
        keras.utils.set_random_seed(5)
        previous = keras.config.dtype_policy()
        keras.config.set_dtype_policy(policy)
        try:
            gan = make_gan(tiny)
        finally:
            keras.config.set_dtype_policy(previous)
        wrap = ((lambda o: keras.optimizers.LossScaleOptimizer(o)) if policy != "float32"
                else (lambda o: o))
        gan.compile(g_optimizer=wrap(keras.optimizers.SGD(0.5)),
                    d_optimizer=wrap(keras.optimizers.SGD(0.5)))
        before = snapshot(gan.discriminator)
        logs = gan.train_step(tf.constant(real_batch(tiny)))
        assert all(np.isfinite(float(v)) for v in logs.values())
        deltas[policy] = np.concatenate([(v.numpy() - b).ravel() for b, v in zip(
            before, gan.discriminator.trainable_variables)])
    ratio = np.linalg.norm(deltas["mixed_float16"]) / np.linalg.norm(deltas["float32"])
    assert ratio == pytest.approx(1.0, abs=0.05)


def test_evaluate_updates_nothing(tiny):
    gan = make_gan(tiny)
    gan.compile()
    g0, d0 = snapshot(gan.generator), snapshot(gan.discriminator)
    stats = [v.numpy().copy() for v in gan.discriminator.non_trainable_variables]
    logs = gan.evaluate(tf.data.Dataset.from_tensors(real_batch(tiny)), verbose=0,
                        return_dict=True)
    assert set(logs) == {"d_loss", "g_loss", "mask_mean", "d_real_acc", "d_fake_acc"}
    assert changed(g0, gan.generator) == changed(d0, gan.discriminator) == 0.0
    for a, v in zip(stats, gan.discriminator.non_trainable_variables):
        np.testing.assert_array_equal(a, v.numpy())
    assert int(gan.step.numpy()) == 0


def test_paper_g_step_differentiates_through_the_pre_update_discriminator(tiny):
    """g_step="paper": one D forward on the fake batch serves both updates; D's update is
    the usual D gradient and G's gradient is that of the G loss (+ mask prior) through
    D's weights BEFORE this step's D update."""
    gan = make_gan(tiny, mask_weight=0.3, g_step="paper")
    real, d_ref, g_ref, bce = _sgd_and_reference_copies(gan, tiny)
    with tf.GradientTape() as g_tape:
        parts = g_ref.generate_parts(gan.draw_latents(4), training=True)
        logits = d_ref(parts["video"], training=True)
        g_loss = bce(tf.ones_like(logits), logits) + 0.3 * tf.reduce_mean(parts["mask"])
    g_grads = g_tape.gradient(g_loss, g_ref.trainable_variables)
    with tf.GradientTape() as d_tape:
        r = d_ref(real, training=True)
        f = d_ref(tf.stop_gradient(parts["video"]), training=True)
        d_loss = bce(tf.ones_like(r), r) + bce(tf.zeros_like(f), f)
    d_grads = d_tape.gradient(d_loss, d_ref.trainable_variables)
    logs = gan.train_step(real)
    for v, g, got in zip(g_ref.trainable_variables, g_grads, gan.generator.trainable_variables):
        np.testing.assert_allclose(got.numpy(), v.numpy() - 0.5 * g.numpy(), atol=2e-6)
    for v, g, got in zip(d_ref.trainable_variables, d_grads,
                         gan.discriminator.trainable_variables):
        np.testing.assert_allclose(got.numpy(), v.numpy() - 0.5 * g.numpy(), atol=2e-6)
    assert float(logs["g_loss"]) == pytest.approx(float(g_loss), rel=1e-5)
    assert int(gan.step.numpy()) == 1


def test_paper_and_updated_d_g_steps_differ_only_in_g(tiny):
    """Same start, same data and noise: D's update is the same in both forms, G's is not
    (the forms differ in which D the G gradient goes through)."""
    real = tf.constant(real_batch(tiny))
    results = {}
    for g_step in ("updated_d", "paper"):
        keras.utils.set_random_seed(5)
        gan = make_gan(tiny, g_step=g_step)
        gan.compile(g_optimizer=keras.optimizers.SGD(0.5),
                    d_optimizer=keras.optimizers.SGD(0.5))
        gan.train_step(real)
        results[g_step] = (snapshot(gan.generator), snapshot(gan.discriminator))
    (g_new, d_new), (g_paper, d_paper) = results["updated_d"], results["paper"]
    for a, b in zip(d_new, d_paper):
        np.testing.assert_allclose(a, b, atol=2e-6)
    assert max(float(np.abs(a - b).max()) for a, b in zip(g_new, g_paper)) > 1e-5


def test_g_step_is_validated_and_kept_in_the_config(tiny):
    with pytest.raises(ValueError, match="g_step"):
        make_gan(tiny, g_step="fast")
    gan = make_gan(tiny, g_step="paper")
    assert VideoGAN.from_config(gan.get_config()).g_step == "paper"
