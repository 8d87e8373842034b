"""The paper's discriminator: shapes, parity, features, round trips, precision."""
import keras
import numpy as np
import pytest

from tests import helpers
from vgan_tf.models import Discriminator


def count(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_weights)


def tiny_discriminator(tiny, **kwargs):
    return Discriminator(tiny.frames, tiny.size, tiny.base_width, **kwargs)


def videos(tiny, n=2, seed=0):
    return np.random.default_rng(seed).uniform(
        -1, 1, (n, tiny.frames, tiny.size, tiny.size, 3)).astype("float32")


@pytest.fixture(scope="module")
def paper_discriminator():
    return Discriminator()


def test_paper_parameter_parity(paper_discriminator):
    assert count(paper_discriminator) == 11_041_473


def test_paper_shapes(paper_discriminator):
    d = paper_discriminator
    assert d.feature_shape == (2, 4, 4, 512)
    spec = d.compute_output_spec(keras.KerasTensor((2, 32, 64, 64, 3)))
    assert tuple(spec.shape) == (2, 1) and spec.dtype == "float32"
    x = np.zeros((1, 32, 64, 64, 3), "float32")
    assert d.features(x).shape == (1, 2, 4, 4, 512)
    assert d(x).shape == (1, 1)


def test_paper_layer_plan(paper_discriminator):
    d = paper_discriminator
    assert [d.find_layer(f"d_conv{i}").filters for i in range(4)] == [64, 128, 256, 512]
    assert d.find_layer("d_logit").kernel_size == (2, 4, 4)
    bns = [d.find_layer(f"d_bn{i}") for i in (1, 2, 3)]
    assert {bn.epsilon for bn in bns} == {1e-3} and {bn.momentum for bn in bns} == {0.9}
    assert "d_bn0" not in d.layer_names()  # no BatchNorm after the first conv
    assert {d.find_layer(f"d_lrelu{i}").negative_slope for i in range(4)} == {0.2}


def test_paper_initialisation(paper_discriminator):
    kernels = [v for v in paper_discriminator.weights if v.path.endswith("kernel")]
    assert len(kernels) == 5
    weights = np.concatenate([v.numpy().ravel() for v in kernels])
    assert weights.std() == pytest.approx(0.01, rel=0.02)
    assert all(not np.any(v.numpy()) for v in paper_discriminator.weights
               if v.path.endswith(("bias", "beta")))


def test_tiny_discriminator(tiny):
    d = tiny_discriminator(tiny)
    x = videos(tiny)
    logits = d(x)
    assert logits.shape == (2, 1) and logits.dtype.name == "float32"
    features = d.features(x)
    assert features.shape == (2,) + d.feature_shape == (2, 2, 4, 4, 16)
    # The logit is the head applied to the features.
    np.testing.assert_allclose(d.logit_head(features), logits, atol=1e-6)


@pytest.mark.parametrize("frames,size", [(16, 64), (32, 32), (4, 8), (64, 128)])
def test_other_legal_sizes(frames, size):
    d = Discriminator(frames, size, base_width=2)
    assert d(np.zeros((1, frames, size, size, 3), "float32")).shape == (1, 1)


@pytest.mark.parametrize("kwargs,needle", [
    (dict(size=48), "size must be 4 * 2**n"),
    (dict(frames=12), "frames must be a multiple of 16"),
    (dict(frames=-1), "frames must be a positive integer"),
    (dict(base_width=0), "base_width must be a positive integer"),
])
def test_impossible_sizes_rejected(kwargs, needle):
    with pytest.raises(ValueError, match=needle.replace("*", r"\*")):
        Discriminator(**kwargs)


def test_no_latent_size():
    """D's config and plan come from (frames, size, base_width) alone."""
    d = Discriminator(8, 16, 8)
    assert set(d.get_config()) == {"name", "trainable", "dtype", "frames", "size",
                                   "base_width"}
    assert not hasattr(d, "latent_dim")


def test_discriminator_round_trips(tiny, tmp_path):
    d = tiny_discriminator(tiny)
    helpers.run_serialization_test(d)
    x = videos(tiny)
    loaded = helpers.run_model_saving_test(d, x, tmp_path)
    np.testing.assert_allclose(loaded.features(x, training=False),
                               d.features(x, training=False), atol=1e-6)


def test_checkpoint_tracks_every_weight(tiny, tmp_path):
    d = tiny_discriminator(tiny)
    clone = helpers.run_checkpoint_test(d, lambda: tiny_discriminator(tiny), tmp_path,
                                        train_inputs=videos(tiny, 4))
    assert np.abs(clone.find_layer("d_bn1").moving_variance.numpy() - 1).max() > 0


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision(policy, tiny):
    d = helpers.run_precision_test(lambda: tiny_discriminator(tiny), videos(tiny), policy)
    assert d.features(videos(tiny)).dtype.name == keras.DTypePolicy(policy).compute_dtype


# -- spectral normalisation (--spectral_norm; not the paper's) ---------------------------

def _wrapped(d):
    return [d.find_layer(name) for name in d.layer_names() if "conv" in name or "logit" in name]


@pytest.mark.slow
def test_spectral_norm_bounds_every_kernel_the_forward_uses(tiny):
    """With spectral_norm every convolution (d_logit included) runs with kernel / sigma:
    after training calls (the power iteration's u converges) the largest singular value of
    each reshaped kernel the forward uses is 1 (the estimate never exceeds the true value,
    so >= 1), and the layer's output is the plain convolution with that kernel."""
    from vgan_tf.models.blocks import SpectralNorm
    d = tiny_discriminator(tiny, spectral_norm=True)
    layers = _wrapped(d)
    assert [layer.name for layer in layers] == ["d_conv0", "d_conv1", "d_logit"]
    assert all(isinstance(layer, SpectralNorm) for layer in layers)
    x = videos(tiny, 4)
    for _ in range(60):
        d(x, training=True)
    for layer in layers:
        raw = layer.layer.kernel.numpy()
        kernel = layer.normalized_kernel().numpy()
        top = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
        assert 1 - 1e-4 <= top <= 1.05, (layer.name, top)
        # the stored kernel itself is far from unit norm (N(0, 0.01) weights)
        assert np.linalg.svd(raw.reshape(-1, raw.shape[-1]), compute_uv=False)[0] < 0.9
    conv = layers[1]
    inputs = d.activations(x, ["d_lrelu0"])["d_lrelu0"]
    want = keras.ops.conv(inputs, conv.normalized_kernel(), strides=2, padding="same")
    np.testing.assert_allclose(conv(inputs), want + conv.layer.bias.numpy(), atol=1e-5)
    # The stored kernel is not overwritten by training calls (only u is updated).
    before = conv.layer.kernel.numpy().copy()
    d(x, training=True)
    np.testing.assert_array_equal(conv.layer.kernel.numpy(), before)


def test_spectral_norm_gradient_passes_through_sigma(tiny):
    """d/dW of f(W / sigma(W)) includes sigma's dependence on W (u, v held fixed): it
    differs from the gradient with sigma held constant."""
    import tensorflow as tf
    d = tiny_discriminator(tiny, spectral_norm=True)
    x = videos(tiny, 4)
    for _ in range(20):
        d(x, training=True)
    layer = d.find_layer("d_conv0")
    kernel = layer.layer.kernel
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(layer(x) ** 2)
    through = tape.gradient(total, kernel.value)
    sigma = float(layer.sigma())
    with tf.GradientTape() as tape:
        tape.watch(kernel.value)
        out = keras.ops.conv(x, kernel.value / sigma, strides=2, padding="same")
        total = tf.reduce_sum((out + layer.layer.bias) ** 2)
    held = tape.gradient(total, kernel.value)
    assert through is not None
    assert float(tf.reduce_max(tf.abs(through - held))) > 1e-3 * float(
        tf.reduce_max(tf.abs(held)))


def test_spectral_norm_keeps_names_and_round_trips(tiny, tmp_path):
    """Same layer names as the plain D; the config says spectral_norm only when on (the
    paper's D config is unchanged); .keras files and checkpoints keep every weight, u
    included; a training step of the wrapped D runs under mixed precision."""
    plain = tiny_discriminator(tiny)
    d = tiny_discriminator(tiny, spectral_norm=True)
    assert d.layer_names() == plain.layer_names()
    assert "spectral_norm" not in plain.get_config() and d.get_config()["spectral_norm"]
    assert len(d.weights) == len(plain.weights) + 3  # one u per convolution
    assert count(d) == count(plain)
    helpers.run_serialization_test(d)
    x = videos(tiny)
    d(x, training=True)
    loaded = helpers.run_model_saving_test(d, x, tmp_path)
    assert loaded.spectral_norm
    helpers.run_checkpoint_test(d, lambda: tiny_discriminator(tiny, spectral_norm=True),
                                tmp_path, train_inputs=videos(tiny, 4))
    helpers.run_precision_test(lambda: tiny_discriminator(tiny, spectral_norm=True), x)
    assert keras.saving.get_registered_name(type(d.find_layer("d_conv1"))) == (
        "vgan_tf>SpectralNorm")
