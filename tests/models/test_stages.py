"""Networks as keras.Sequential stages: summaries, lookup and activations by layer name."""
import io

import keras
import numpy as np
import pytest

from vgan_tf.models import Discriminator, OneStreamGenerator, TwoStreamGenerator


def summary_text(model):
    out = io.StringIO()
    model.summary(expand_nested=True, print_fn=lambda line, **_: out.write(line + "\n"),
                  line_length=120)
    return out.getvalue()


@pytest.fixture
def two_stream(tiny):
    return TwoStreamGenerator(tiny.frames, tiny.size, tiny.latent_dim, tiny.base_width)


@pytest.fixture
def discriminator(tiny):
    return Discriminator(tiny.frames, tiny.size, tiny.base_width)


def test_summary_lists_every_layer(two_stream, discriminator):
    for model in (two_stream, discriminator):
        text = summary_text(model)
        for name in model.layer_names():
            assert f" {name} (" in text, name
        params = sum(int(np.prod(v.shape)) for v in model.weights)
        assert f"Total params: {params:,}" in text


def test_layer_names_keep_the_paper_plan(two_stream, discriminator):
    names = two_stream.layer_names()
    for i in range(2):
        for kind in ("up", "bn", "relu"):
            assert f"fg_{kind}{i}" in names and f"bg_{kind}{i}" in names
    assert {"fg_out", "fg_tanh", "mask_out", "mask_sigmoid", "bg_out", "bg_tanh"} <= set(names)
    assert len(names) == len(set(names))
    assert discriminator.layer_names() == [
        "d_conv0", "d_lrelu0", "d_conv1", "d_bn1", "d_lrelu1", "d_logit", "d_flatten"]


def test_find_layer_across_stages(two_stream):
    up1 = two_stream.find_layer("fg_up1")
    assert isinstance(up1, keras.layers.Conv3DTranspose) and up1.name == "fg_up1"
    assert up1 in two_stream.foreground_stream.layers
    assert two_stream.find_layer("bg_out") in two_stream.background_stream.layers
    assert two_stream.find_layer("mask_head") is two_stream.mask_head  # stages too
    with pytest.raises(ValueError, match="no layer named 'fg_up9'"):
        two_stream.find_layer("fg_up9")


def test_activations_are_those_of_the_forward_pass(two_stream, tiny):
    z = np.random.default_rng(0).normal(size=(2, tiny.latent_dim)).astype("float32")
    names = ["fg_relu1", "fg_tanh", "mask_sigmoid", "bg_tanh", "bg_up0"]
    acts = two_stream.activations(z, names)
    assert list(acts) == names
    parts = two_stream.generate_parts(z, training=False)
    np.testing.assert_allclose(acts["fg_tanh"], parts["foreground"], atol=1e-6)
    np.testing.assert_allclose(acts["mask_sigmoid"], parts["mask"], atol=1e-6)
    np.testing.assert_allclose(acts["bg_tanh"], parts["background"], atol=1e-6)
    assert acts["fg_relu1"].shape == (2, 4, 8, 8, 8) and np.all(acts["fg_relu1"] >= 0)
    # fg_out applied to fg_relu1 gives the foreground before its tanh.
    pre = two_stream.find_layer("fg_out")(acts["fg_relu1"])
    np.testing.assert_allclose(np.tanh(pre), parts["foreground"], atol=1e-6)
    assert acts["bg_up0"].shape == (2, 4, 4, 16)


def test_activations_follow_training_mode(two_stream, tiny):
    z = np.random.default_rng(1).normal(size=(4, tiny.latent_dim)).astype("float32")
    train = two_stream.activations(z, ["fg_bn0"], training=True)["fg_bn0"].numpy()
    infer = two_stream.activations(z, ["fg_bn0"], training=False)["fg_bn0"].numpy()
    # Batch statistics in training mode: each channel is normalised over the batch.
    assert np.abs(train.mean(axis=(0, 1, 2, 3))
                  - two_stream.find_layer("fg_bn0").beta.numpy()).max() < 1e-4
    assert not np.allclose(train, infer, atol=1e-3)


def test_discriminator_activations(discriminator, tiny):
    x = np.random.default_rng(2).uniform(-1, 1, (2, 8, 16, 16, 3)).astype("float32")
    acts = discriminator.activations(x, ["d_lrelu1", "d_logit", "d_features"])
    np.testing.assert_allclose(acts["d_lrelu1"], discriminator.features(x), atol=1e-6)
    np.testing.assert_allclose(acts["d_features"], acts["d_lrelu1"], atol=1e-6)
    np.testing.assert_allclose(np.reshape(acts["d_logit"], (2, 1)), discriminator(x),
                               atol=1e-6)


def test_unknown_activation_name_rejected(tiny):
    g = OneStreamGenerator(tiny.frames, tiny.size, tiny.latent_dim, tiny.base_width)
    with pytest.raises(ValueError, match="no layer named 'mask_out'"):
        g.activations(np.zeros((1, tiny.latent_dim), "float32"), ["mask_out"])
