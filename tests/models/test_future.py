"""Future prediction networks: parameter parity with the original, shapes, the layer
plan, initialisation, round trips, precision."""
import keras
import numpy as np
import pytest

from tests import helpers
from vgan_tf.models import (ConditionalTwoStreamGenerator, Discriminator, FrameEncoder,
                            FuturePredictor)


def count(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_weights)


def tiny_predictor(tiny, **kwargs):
    return FuturePredictor(tiny.frames, tiny.size, tiny.base_width, **kwargs)


@pytest.fixture(scope="module")
def paper_predictor():
    return FuturePredictor()


@pytest.mark.slow
def test_parameter_parity_with_the_original(paper_predictor):
    assert count(FrameEncoder()) == 11_021_696
    assert count(paper_predictor) == 68_216_455
    assert count(paper_predictor.find_layer("encoder")) == 11_021_696
    assert count(ConditionalTwoStreamGenerator()) == 68_216_455 - 11_021_696
    assert count(Discriminator(base_width=128)) == 44_103_041  # widened, one logit


def test_paper_shapes(paper_predictor):
    p = paper_predictor
    image = np.random.default_rng(0).uniform(-1, 1, (1, 64, 64, 3)).astype("float32")
    parts = p.generate_parts(image, training=False)
    assert parts["video"].shape == (1, 32, 64, 64, 3)
    assert parts["foreground"].shape == (1, 32, 64, 64, 3)
    assert parts["mask"].shape == (1, 32, 64, 64, 1)
    assert parts["background"].shape == (1, 64, 64, 3)
    assert p.encode(image).shape == (1, 4, 4, 1024)
    assert p.find_layer("fg_relu0").output.shape == (None, 2, 4, 4, 1024)
    assert p.find_layer("fg_relu3").output.shape == (None, 16, 32, 32, 128)
    assert p.find_layer("bg_relu2").output.shape == (None, 32, 32, 128)
    spec = p.compute_output_spec(keras.KerasTensor((2, 64, 64, 3)))
    assert tuple(spec.shape) == (2, 32, 64, 64, 3) and spec.dtype == "float32"


def test_layer_plan_is_the_originals(paper_predictor):
    p = paper_predictor
    convs = [p.find_layer(f"enc_conv{i}") for i in range(4)]
    assert [c.filters for c in convs] == [128, 256, 512, 1024]
    assert all(c.kernel_size == (4, 4) and c.strides == (2, 2) for c in convs)
    names = p.layer_names()
    assert "enc_bn0" not in names and {"enc_bn1", "enc_bn2", "enc_bn3"} <= set(names)
    assert p.find_layer("enc_bn1").epsilon == 1e-3
    first = p.find_layer("fg_up0")
    assert (first.filters, first.kernel_size, first.strides, first.padding) == (
        1024, (2, 1, 1), (1, 1, 1), "valid")
    assert [p.find_layer(f"fg_up{i}").filters for i in (1, 2, 3)] == [512, 256, 128]
    assert [p.find_layer(f"bg_up{i}").filters for i in (0, 1, 2)] == [512, 256, 128]
    assert p.find_layer("bg_bn0").epsilon == p.find_layer("fg_bn0").epsilon == 1e-5
    assert p.find_layer("fg_out").filters == 3 and p.find_layer("mask_out").filters == 1


def test_initialisation_is_the_papers(paper_predictor):
    kernel = paper_predictor.find_layer("enc_conv3").kernel.numpy()
    assert kernel.std() == pytest.approx(0.01, rel=0.05)
    assert not paper_predictor.find_layer("enc_conv3").bias.numpy().any()
    gamma = paper_predictor.find_layer("fg_bn1").gamma.numpy()
    assert gamma.mean() == pytest.approx(1.0, abs=0.01)
    assert gamma.std() == pytest.approx(0.02, rel=0.2)


def test_tiny_outputs_compose_the_two_streams(tiny):
    p = tiny_predictor(tiny)
    image = np.random.default_rng(1).uniform(-1, 1, (3, 16, 16, 3)).astype("float32")
    parts = p.generate_parts(image, training=False)
    v, m, f, b = (parts[k].numpy() for k in ("video", "mask", "foreground", "background"))
    assert v.shape == (3, 8, 16, 16, 3) and m.shape == (3, 8, 16, 16, 1)
    assert b.shape == (3, 16, 16, 3)
    assert np.all((m >= 0) & (m <= 1)) and np.all(np.abs(v) <= 1)
    np.testing.assert_allclose(v, m * f + (1 - m) * b[:, None], atol=1e-6)
    np.testing.assert_allclose(p(image, training=False), v, atol=1e-6)
    # Deterministic and conditional: the same image gives the same video, another differs.
    np.testing.assert_array_equal(p(image, training=False), v)
    # (outputs are tiny at the paper's init: compare relative to their scale)
    other = p(image[::-1], training=False).numpy()
    assert np.abs(other - v).max() > 0.1 * np.abs(v).max() > 0


def test_predictor_is_encoder_then_generator(tiny):
    p = tiny_predictor(tiny)
    encoder = FrameEncoder(tiny.size, tiny.base_width)
    generator = ConditionalTwoStreamGenerator(tiny.frames, tiny.size, tiny.base_width)
    encoder.set_weights(p.find_layer("encoder").get_weights())
    generator.set_weights([w for s in ("fg_stream", "fg_head", "mask_head", "bg_stream")
                           for w in p.find_layer(s).get_weights()])
    image = np.random.default_rng(2).uniform(-1, 1, (2, 16, 16, 3)).astype("float32")
    code = encoder(image, training=False)
    assert code.shape == (2, 4, 4, 2 * tiny.base_width)
    np.testing.assert_allclose(generator(code, training=False), p(image, training=False),
                               atol=1e-6)


@pytest.mark.parametrize("kwargs,match", [
    (dict(frames=8, size=20, base_width=8), "size must be 4 \\* 2\\*\\*n"),
    (dict(frames=6, size=16, base_width=8), "frames must be a multiple of 4"),
    (dict(frames=8, size=16, base_width=0), "base_width"),
])
def test_impossible_sizes_are_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FuturePredictor(**kwargs)


def test_encoder_rejects_impossible_sizes():
    with pytest.raises(ValueError, match="size must be"):
        FrameEncoder(size=4)


def test_smallest_size_builds():
    p = FuturePredictor(frames=2, size=8, base_width=4)
    assert p(np.zeros((1, 8, 8, 3), "float32")).shape == (1, 2, 8, 8, 3)


def test_round_trips(tiny, tmp_path):
    p = tiny_predictor(tiny, name="predictor")
    clone = helpers.run_serialization_test(p)
    assert clone.video_shape == p.video_shape
    image = np.random.default_rng(3).uniform(-1, 1, (2, 16, 16, 3)).astype("float32")
    helpers.run_model_saving_test(p, image, tmp_path)
    helpers.run_serialization_test(FrameEncoder(tiny.size, tiny.base_width))


def test_checkpoint_holds_every_weight(tiny, tmp_path):
    image = np.random.default_rng(4).uniform(-1, 1, (2, 16, 16, 3)).astype("float32")
    helpers.run_checkpoint_test(tiny_predictor(tiny), lambda: tiny_predictor(tiny), tmp_path,
                                train_inputs=image)


def test_mixed_precision_keeps_float32_outputs(tiny):
    image = np.zeros((2, 16, 16, 3), "float32")
    helpers.run_precision_test(lambda: tiny_predictor(tiny), image)
