"""The paper's generators: shapes, parameter parity, initialisation, round trips."""
import keras
import numpy as np
import pytest

from tests import helpers
from vgan_tf.models import OneStreamGenerator, TwoStreamGenerator

GENERATORS = [TwoStreamGenerator, OneStreamGenerator]


def count(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_weights)


def tiny_generator(cls, tiny, **kwargs):
    return cls(tiny.frames, tiny.size, tiny.latent_dim, tiny.base_width, **kwargs)


@pytest.fixture(scope="module")
def paper_generator():
    return TwoStreamGenerator()


def test_paper_parameter_parity(paper_generator):
    assert count(paper_generator) == 16_245_383


def test_paper_shapes(paper_generator):
    g = paper_generator
    out = g.compute_output_spec(keras.KerasTensor((2, 100)))
    assert tuple(out.shape) == (2, 32, 64, 64, 3) and out.dtype == "float32"
    parts = g.generate_parts(np.random.randn(1, 100).astype("float32"), training=False)
    assert parts["video"].shape == (1, 32, 64, 64, 3)
    assert parts["foreground"].shape == (1, 32, 64, 64, 3)
    assert parts["mask"].shape == (1, 32, 64, 64, 1)
    assert parts["background"].shape == (1, 64, 64, 3)
    # The 3-D stream ends at half the output size in time and space, width 64.
    assert g.find_layer("fg_relu3").output.shape == (None, 16, 32, 32, 64)
    assert g.find_layer("bg_relu3").output.shape == (None, 32, 32, 64)


def test_one_stream_is_foreground_stream_alone(paper_generator):
    g = OneStreamGenerator()
    mask_head = 64 * 1 * 64 + 1
    background = count(paper_generator) - count(g) - mask_head
    assert background == 3_577_667  # the 2-D stream of the paper
    assert g(np.zeros((1, 100), "float32")).shape == (1, 32, 64, 64, 3)
    assert g.layer_names() == paper_generator.layer_names()[:len(g.layer_names())]


def test_streams_differ_only_in_rank(paper_generator):
    """fg and bg streams: the same layer plan, 3-D transposed convs versus 2-D ones."""
    g = paper_generator
    for i in range(4):
        fg, bg = g.find_layer(f"fg_up{i}"), g.find_layer(f"bg_up{i}")
        assert isinstance(fg, keras.layers.Conv3DTranspose)
        assert isinstance(bg, keras.layers.Conv2DTranspose)
        assert fg.filters == bg.filters == 512 // 2 ** i
        assert fg.kernel_size[1:] == bg.kernel_size == (4, 4)
        assert fg.strides[1:] == bg.strides
    assert g.find_layer("fg_up0").kernel_size == (2, 4, 4)
    assert g.find_layer("fg_up0").padding == g.find_layer("bg_up0").padding == "valid"


@pytest.mark.parametrize("cls", GENERATORS)
def test_tiny_generator_outputs(cls, tiny):
    g = tiny_generator(cls, tiny)
    z = np.random.randn(3, tiny.latent_dim).astype("float32")
    parts = g.generate_parts(z, training=False)
    video = parts["video"].numpy()
    assert video.shape == (3, 8, 16, 16, 3)
    assert video.dtype == np.float32
    assert np.all(np.abs(video) <= 1.0)
    np.testing.assert_allclose(g(z, training=False), video, atol=1e-6)
    if cls is TwoStreamGenerator:
        m, f, b = (parts[k].numpy() for k in ("mask", "foreground", "background"))
        assert m.shape == (3, 8, 16, 16, 1) and b.shape == (3, 16, 16, 3)
        assert np.all((m >= 0) & (m <= 1))
        np.testing.assert_allclose(video, m * f + (1 - m) * b[:, None], atol=1e-6)
        # Small initial weights and zero biases: the mask starts near 0.5.
        assert abs(m.mean() - 0.5) < 0.02
    else:
        assert set(parts) == {"video"}


@pytest.mark.parametrize("frames,size", [(16, 64), (32, 32), (4, 8), (64, 128)])
def test_other_legal_sizes(frames, size):
    g = TwoStreamGenerator(frames, size, latent_dim=4, base_width=2)
    assert g(np.zeros((1, 4), "float32")).shape == (1, frames, size, size, 3)
    assert g.video_shape == (frames, size, size, 3) and g.latent_dim == 4


@pytest.mark.parametrize("kwargs,needle", [
    (dict(size=48), "size must be 4 * 2**n"),
    (dict(size=4), "size must be 4 * 2**n"),
    (dict(frames=12), "frames must be a multiple of 16"),
    (dict(frames=0), "frames must be a positive integer"),
    (dict(latent_dim=-3), "latent_dim must be a positive integer"),
    (dict(latent_dim=True), "latent_dim must be a positive integer"),
    (dict(base_width=2.5), "base_width must be a positive integer"),
])
@pytest.mark.parametrize("cls", GENERATORS)
def test_impossible_sizes_rejected(cls, kwargs, needle):
    with pytest.raises(ValueError, match=needle.replace("*", r"\*")):
        cls(**kwargs)


def test_paper_initialisation(paper_generator):
    g = paper_generator
    kernels = [v for v in g.weights if v.path.endswith("kernel")]
    biases = [v for v in g.weights if v.path.endswith("bias")]
    gammas = [v for v in g.weights if v.path.endswith("gamma")]
    betas = [v for v in g.weights if v.path.endswith("beta")]
    assert len(kernels) == 11 and len(gammas) == 8
    weights = np.concatenate([v.numpy().ravel() for v in kernels])
    assert abs(weights.mean()) < 1e-3
    assert weights.std() == pytest.approx(0.01, rel=0.02)
    gamma = np.concatenate([v.numpy().ravel() for v in gammas])
    assert gamma.mean() == pytest.approx(1.0, abs=3e-3)
    assert gamma.std() == pytest.approx(0.02, rel=0.1)
    assert all(not np.any(v.numpy()) for v in biases + betas)


def test_batch_norm_settings(paper_generator):
    g = paper_generator
    bns = [g.find_layer(f"{stream}_bn{i}") for stream in ("fg", "bg") for i in range(4)]
    assert all(isinstance(bn, keras.layers.BatchNormalization) for bn in bns)
    assert {bn.epsilon for bn in bns} == {1e-5}
    assert {bn.momentum for bn in bns} == {0.9}  # Torch's momentum 0.1


@pytest.mark.parametrize("cls", GENERATORS)
def test_generator_round_trips(cls, tiny, tmp_path):
    g = tiny_generator(cls, tiny, name="gen")
    clone = helpers.run_serialization_test(g)
    assert clone.sizes == g.sizes
    z = np.random.randn(2, tiny.latent_dim).astype("float32")
    loaded = helpers.run_model_saving_test(g, z, tmp_path)
    for name in ("video", "mask", "background"):
        if name in g.generate_parts(z):
            np.testing.assert_allclose(loaded.generate_parts(z)[name],
                                       g.generate_parts(z)[name], atol=1e-6)


@pytest.mark.parametrize("cls", GENERATORS)
def test_checkpoint_tracks_every_weight(cls, tiny, tmp_path):
    g = tiny_generator(cls, tiny)
    z = np.random.randn(4, tiny.latent_dim).astype("float32")
    before = g.find_layer("fg_bn1").moving_mean.numpy().copy()
    clone = helpers.run_checkpoint_test(g, lambda: tiny_generator(cls, tiny), tmp_path,
                                        train_inputs=z)
    # The training-mode pass moved the BatchNorm statistics, and the clone has them.
    moved = clone.find_layer("fg_bn1").moving_mean.numpy()
    assert np.abs(moved - before).max() > 0
    np.testing.assert_allclose(clone(z, training=False), g(z, training=False), atol=1e-6)


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
@pytest.mark.parametrize("cls", GENERATORS)
def test_mixed_precision(cls, policy, tiny):
    z = np.random.randn(2, tiny.latent_dim).astype("float32")
    g = helpers.run_precision_test(lambda: tiny_generator(cls, tiny), z, policy)
    compute = keras.DTypePolicy(policy).compute_dtype
    parts = g.generate_parts(z)
    assert {str(v.dtype.name) for v in parts.values()} == {"float32"}
    assert g.activations(z, ["fg_up1"])["fg_up1"].dtype.name == compute
