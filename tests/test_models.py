"""Shapes, parameter parity, initialisation and round trips of the paper's networks."""
import keras
import numpy as np
import pytest

from tests import helpers
from vgan_tf import config as config_lib
from vgan_tf.models import Discriminator, OneStreamGenerator, TwoStreamGenerator


def count(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_weights)


def built(model, shape):
    model.build(shape)
    return model


@pytest.fixture(scope="module")
def paper_models():
    g = built(TwoStreamGenerator(), (None, 100))
    d = built(Discriminator(), (None, 32, 64, 64, 3))
    return g, d


def test_paper_parameter_parity(paper_models):
    g, d = paper_models
    assert count(g) == 16_245_383
    assert count(d) == 11_041_473


def test_paper_shapes_symbolic(paper_models):
    g, d = paper_models
    z = keras.KerasTensor((2, 100))
    out = g.compute_output_spec(z)
    assert tuple(out.shape) == (2, 32, 64, 64, 3)
    assert d.feature_shape == (2, 4, 4, 512)
    assert tuple(d.compute_output_spec(keras.KerasTensor((2, 32, 64, 64, 3))).shape) == (2, 1)


def test_paper_generator_runs_once(paper_models):
    g, d = paper_models
    parts = g.generate_parts(np.random.randn(1, 100).astype("float32"), training=False)
    assert parts["video"].shape == (1, 32, 64, 64, 3)
    assert parts["foreground"].shape == (1, 32, 64, 64, 3)
    assert parts["mask"].shape == (1, 32, 64, 64, 1)
    assert parts["background"].shape == (1, 64, 64, 3)
    assert d.features(parts["video"]).shape == (1, 2, 4, 4, 512)


def test_one_stream_is_foreground_stream_alone():
    g = built(OneStreamGenerator(), (None, 100))
    two = built(TwoStreamGenerator(), (None, 100))
    mask_head = 64 * 1 * 64 + 1
    background = count(two) - count(g) - mask_head
    assert background == 3_577_667  # the 2-D stream of the paper
    video = g(np.zeros((1, 100), "float32"))
    assert video.shape == (1, 32, 64, 64, 3)


@pytest.mark.parametrize("cls", [TwoStreamGenerator, OneStreamGenerator])
def test_tiny_generator_outputs(cls, tiny):
    g = cls(tiny.frames, tiny.size, tiny.latent_dim, tiny.base_width)
    z = np.random.randn(3, tiny.latent_dim).astype("float32")
    parts = g.generate_parts(z, training=False)
    video = parts["video"].numpy()
    assert video.shape == (3, 8, 16, 16, 3)
    assert video.dtype == np.float32
    assert np.all(np.abs(video) <= 1.0)
    if cls is TwoStreamGenerator:
        m, f, b = (parts[k].numpy() for k in ("mask", "foreground", "background"))
        assert m.shape == (3, 8, 16, 16, 1) and b.shape == (3, 16, 16, 3)
        assert np.all((m >= 0) & (m <= 1))
        np.testing.assert_allclose(video, m * f + (1 - m) * b[:, None], atol=1e-6)
        # Small initial weights and zero biases: the mask starts near 0.5.
        assert abs(m.mean() - 0.5) < 0.02


def test_tiny_discriminator(tiny):
    d = Discriminator(tiny.frames, tiny.size, tiny.base_width)
    x = np.random.uniform(-1, 1, (2, 8, 16, 16, 3)).astype("float32")
    assert d(x).shape == (2, 1)
    assert d.features(x).shape == (2,) + d.feature_shape == (2, 2, 4, 4, 16)


@pytest.mark.parametrize("frames,size", [(16, 64), (32, 32), (4, 8), (64, 128)])
def test_other_legal_sizes(frames, size):
    g = TwoStreamGenerator(frames, size, latent_dim=4, base_width=2)
    d = Discriminator(frames, size, base_width=2)
    video = g(np.zeros((1, 4), "float32"))
    assert video.shape == (1, frames, size, size, 3)
    assert d(video).shape == (1, 1)


@pytest.mark.parametrize("kwargs,needle", [
    (dict(size=48), "size must be 4 * 2**n"),
    (dict(size=4), "size must be 4 * 2**n"),
    (dict(frames=12), "frames must be a multiple of 16"),
    (dict(frames=0), "frames must be a positive integer"),
    (dict(latent_dim=-3), "latent_dim must be a positive integer"),
    (dict(base_width=2.5), "base_width must be a positive integer"),
])
def test_impossible_sizes_rejected(kwargs, needle):
    with pytest.raises(ValueError, match=needle.replace("*", r"\*")):
        TwoStreamGenerator(**kwargs)
    with pytest.raises(ValueError):
        config_lib.NetworkSizes(**kwargs)


def test_paper_initialisation(paper_models):
    g, d = paper_models
    conv = [v for m in (g, d) for v in m.weights if v.path.endswith("kernel")]
    biases = [v for m in (g, d) for v in m.weights if v.path.endswith("bias")]
    gammas = [v for m in (g, d) for v in m.weights if v.path.endswith("gamma")]
    betas = [v for m in (g, d) for v in m.weights if v.path.endswith("beta")]
    assert len(conv) == 11 + 5 and len(gammas) == 8 + 3
    weights = np.concatenate([v.numpy().ravel() for v in conv])
    assert abs(weights.mean()) < 1e-3
    assert weights.std() == pytest.approx(0.01, rel=0.02)
    gamma = np.concatenate([v.numpy().ravel() for v in gammas])
    assert gamma.mean() == pytest.approx(1.0, abs=3e-3)
    assert gamma.std() == pytest.approx(0.02, rel=0.1)
    assert all(not np.any(v.numpy()) for v in biases + betas)


def test_batch_norm_settings(paper_models):
    g, d = paper_models
    g_bn = [l for l in g._flatten_layers() if isinstance(l, keras.layers.BatchNormalization)]
    d_bn = [l for l in d._flatten_layers() if isinstance(l, keras.layers.BatchNormalization)]
    assert {l.epsilon for l in g_bn} == {1e-5} and len(g_bn) == 8
    assert {l.epsilon for l in d_bn} == {1e-3} and len(d_bn) == 3
    assert {l.momentum for l in g_bn + d_bn} == {0.9}


@pytest.mark.parametrize("cls", [TwoStreamGenerator, OneStreamGenerator])
def test_generator_round_trips(cls, tiny, tmp_path):
    g = cls(tiny.frames, tiny.size, tiny.latent_dim, tiny.base_width, name="gen")
    clone = helpers.run_serialization_test(g)
    assert clone.sizes == g.sizes
    z = np.random.randn(2, tiny.latent_dim).astype("float32")
    helpers.run_model_saving_test(g, z, tmp_path)


def test_discriminator_round_trips(tiny, tmp_path):
    d = Discriminator(tiny.frames, tiny.size, tiny.base_width)
    helpers.run_serialization_test(d)
    x = np.random.uniform(-1, 1, (2, 8, 16, 16, 3)).astype("float32")
    loaded = helpers.run_model_saving_test(d, x, tmp_path)
    np.testing.assert_allclose(loaded.features(x, training=False), d.features(x, training=False),
                               atol=1e-6)
