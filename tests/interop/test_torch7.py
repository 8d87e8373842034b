"""Importing main.lua's networks: the Keras models reproduce an independent numpy forward
pass of the Torch weights (inference mode) to 1e-4, and a changed tree is refused with
the module path named."""
from __future__ import annotations

import os

import keras
import numpy as np
import pytest

from tests.interop import reference, torch_nets
from tests.interop import t7_writer as w
from vgan_tf import config as config_lib
from vgan_tf.interop import t7, torch7
from vgan_tf.models import Discriminator, TwoStreamGenerator

TOL = 1e-4
FULL = config_lib.NetworkSizes()  # the paper's: 32x64x64, z 100, widths 512..64


def _write_generator(tmp_path, sizes, name="net.t7", **kwargs):
    weights = torch_nets.generator_weights(sizes)
    path = str(tmp_path / name)
    w.save(path, torch_nets.generator_tree(sizes, weights, **kwargs))
    return path, weights


def _write_discriminator(tmp_path, layout, name="netD.t7", **kwargs):
    weights = torch_nets.discriminator_weights(layout)
    path = str(tmp_path / name)
    w.save(path, torch_nets.discriminator_tree(layout, weights, **kwargs))
    return path, weights


def _check_generator(model, weights, sizes, batch):
    z = np.random.default_rng(5).normal(size=(batch, sizes.latent_dim)).astype(np.float32)
    expected = reference.generator(weights, z, len(sizes.layout.widths))
    parts = model.generate_parts(z, training=False)
    errors = {}
    for name, value in expected.items():
        got = np.asarray(parts[name])
        np.testing.assert_allclose(got, reference.to_channels_last(value), atol=TOL,
                                   rtol=0, err_msg=name)
        errors[name] = float(np.abs(got - reference.to_channels_last(value)).max())
    assert np.asarray(parts["video"]).std() > 0.1  # not a saturated, constant output
    return errors


def _check_discriminator(model, weights, layout, batch):
    video = np.random.default_rng(6).uniform(
        -1, 1, (batch, 3, layout.frames, layout.size, layout.size))
    two = reference.discriminator(weights, video, len(layout.widths))
    logit = np.asarray(model(reference.to_channels_last(video).astype(np.float32),
                             training=False))
    assert logit.shape == (batch, 1)
    np.testing.assert_allclose(logit[:, 0], two[:, 0] - two[:, 1], atol=TOL, rtol=0)
    softmax_real = np.exp(two[:, 0]) / np.exp(two).sum(axis=1)
    np.testing.assert_allclose(1 / (1 + np.exp(-logit[:, 0])), softmax_real, atol=TOL)
    assert ((logit[:, 0] > 0) == (two[:, 0] > two[:, 1])).all()
    return float(np.abs(logit[:, 0] - (two[:, 0] - two[:, 1])).max())


VARIANTS = [dict(cudnn=False, type_name="Float", flat=True),
            dict(cudnn=True, type_name="Cuda", flat=True),
            dict(cudnn=True, type_name="Float", flat=False),
            dict(cudnn=False, type_name="Double", flat=False)]


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: "-".join(map(str, v.values())))
def test_a_tiny_generator_matches_the_reference(variant, tmp_path):
    sizes = config_lib.TINY
    path, weights = _write_generator(tmp_path, sizes, **variant)
    model = torch7.load_model(path)
    assert isinstance(model, TwoStreamGenerator)
    assert (model.sizes.frames, model.sizes.size, model.latent_dim,
            model.sizes.base_width) == (sizes.frames, sizes.size, sizes.latent_dim,
                                        sizes.base_width)
    _check_generator(model, weights, sizes, batch=3)


@pytest.mark.parametrize("variant", VARIANTS[:2], ids=["nn-Float", "cudnn-Cuda"])
def test_a_tiny_discriminator_matches_the_reference(variant, tmp_path):
    layout = config_lib.TINY.layout
    path, weights = _write_discriminator(tmp_path, layout, **variant)
    model = torch7.load_model(path)
    assert isinstance(model, Discriminator)
    _check_discriminator(model, weights, layout, batch=4)


@pytest.mark.slow
def test_full_size_generator_imports_exactly(tmp_path):
    path, weights = _write_generator(tmp_path, FULL, cudnn=True, type_name="Cuda")
    assert os.path.getsize(path) > 2 * 4 * 16_000_000  # weights and their gradients
    model = torch7.load_model(path)
    assert model.count_params() == sum(
        a.size for p in weights.values() for a in p.values())
    kernel, bias = model.find_layer("fg_up1").get_weights()
    np.testing.assert_array_equal(
        kernel, np.transpose(weights["fg_up1"]["weight"], (2, 3, 4, 1, 0)))
    np.testing.assert_array_equal(bias, weights["fg_up1"]["bias"])
    kernel, _ = model.find_layer("bg_out").get_weights()
    np.testing.assert_array_equal(kernel, np.transpose(weights["bg_out"]["weight"],
                                                       (2, 3, 1, 0)))
    gamma, beta, mean, var = model.find_layer("fg_bn3").get_weights()
    np.testing.assert_array_equal(var, weights["fg_bn3"]["running_var"])
    _check_generator(model, weights, FULL, batch=1)


@pytest.mark.slow
def test_full_size_discriminator_imports(tmp_path):
    layout = FULL.layout
    path, weights = _write_discriminator(tmp_path, layout, cudnn=True, type_name="Cuda")
    model = torch7.load_model(path)
    # one logit instead of two: the last conv loses one output channel's weights
    assert model.count_params() == sum(
        a.size for p in weights.values() for a in p.values()) - (
        weights["d_logit"]["weight"][0].size + 1)
    _check_discriminator(model, weights, layout, batch=1)


def test_a_flipped_kernel_would_be_caught(tmp_path):
    """The reference comparison is sensitive to the kernel orientation."""
    sizes = config_lib.TINY
    path, weights = _write_generator(tmp_path, sizes)
    model = torch7.load_model(path)
    layer = model.find_layer("fg_up1")
    kernel, bias = layer.get_weights()
    layer.set_weights([kernel[::-1, ::-1, ::-1], bias])
    with pytest.raises(AssertionError):
        _check_generator(model, weights, sizes, batch=2)


def test_old_formats_import_as_nn_loads_them(tmp_path):
    """BN files with running_std (class version 1) and VolumetricFullConvolution files
    from before its adj fields (weight [out, in, ...], padding pT/pW/pH)."""
    sizes = config_lib.TINY
    path, weights = _write_generator(tmp_path, sizes, running_std=True, old_full_conv=True)
    tree = t7.read_t7(path)
    static_bn = tree.fields["modules"][1].fields["modules"][2].fields["modules"][3]
    assert "running_std" in static_bn.fields and "running_var" not in static_bn.fields
    _check_generator(torch7.model_from_tree(tree), weights, sizes, batch=2)


def _tree(tmp_path, **kwargs):
    path, _ = _write_generator(tmp_path, config_lib.TINY, **kwargs)
    return t7.read_t7(path)


def _at(tree, *indices):
    node = tree
    for i in indices:
        node = node.fields["modules"][i]
    return node


def test_a_changed_layer_is_refused_with_its_path(tmp_path):
    tree = _tree(tmp_path)
    video = _at(tree, 1, 1).fields["modules"]
    video[3] = t7.T7Object("nn.ReLU", {})  # the first BN of the 3-D stream
    with pytest.raises(torch7.StructureError) as error:
        torch7.model_from_tree(tree)
    assert str(error.value) == (
        "modules[1].modules[1].modules[3]: expected VolumetricBatchNormalization, "
        "found nn.ReLU")


@pytest.mark.parametrize("change,needle", [
    (lambda t: _at(t, 1, 2, 5).fields.update(padW=0),
     "modules[1].modules[2].modules[5]: SpatialFullConvolution padW: expected 1, found 0"),
    (lambda t: _at(t, 1, 2, 3).fields.update(eps=1e-3),
     "modules[1].modules[2].modules[3]: SpatialBatchNormalization eps: expected 1e-05"),
    (lambda t: _at(t, 3, 2, 1, 1, 2).fields.update(nfeatures=4),
     "modules[3].modules[2].modules[1].modules[1].modules[2]: Replicate nfeatures"),
    (lambda t: _at(t, 1, 1, 8, 2).fields["modules"].pop(3),
     "modules[1].modules[1].modules[8].modules[2].modules[3]: expected a module, "
     "found nothing"),
    (lambda t: _at(t, 1, 2).fields["modules"].update({10: t7.T7Object("nn.Tanh", {})}),
     "modules[1].modules[2].modules[10]: expected nothing (the end of the Sequential), "
     "found nn.Tanh"),
    (lambda t: _at(t, 1, 1, 2).fields.update(
        weight=np.zeros((1, 2, 3), np.float32)),
     "modules[1].modules[1].modules[2]: VolumetricFullConvolution weight: expected shape"),
])
def test_other_changes_are_refused_with_their_path(change, needle, tmp_path):
    tree = _tree(tmp_path, cudnn=True)
    change(tree)
    with pytest.raises(torch7.StructureError) as error:
        torch7.model_from_tree(tree)
    assert str(error.value).startswith(needle), str(error.value)


def test_a_discriminator_with_another_slope_is_refused(tmp_path):
    path, _ = _write_discriminator(tmp_path, config_lib.TINY.layout)
    tree = t7.read_t7(path)
    tree.fields["modules"][2].fields["negval"] = 0.1
    with pytest.raises(torch7.StructureError,
                       match=r"^modules\[2\]: LeakyReLU negval: expected 0.2, found 0.1"):
        torch7.model_from_tree(tree)
    with pytest.raises(torch7.StructureError, match=r"^modules\[1\]: expected ConcatTable"):
        torch7.model_from_tree(t7.read_t7(path), torch7.GENERATOR)
    with pytest.raises(torch7.StructureError, match="expected a VideoGAN generator"):
        torch7.model_from_tree(t7.T7Object("nn.Linear", {}))


@pytest.mark.slow
def test_convert_saves_a_keras_file_and_exports(tmp_path):
    sizes = config_lib.TINY
    path, weights = _write_generator(tmp_path, sizes, cudnn=True, type_name="Cuda")
    out = str(tmp_path / "out" / "golf.keras")
    done = torch7.convert(path, out, export_base=str(tmp_path / "export"),
                          model_name="golf")
    assert done.kind == torch7.GENERATOR and done.keras_path == out
    assert done.config == dict(frames=8, size=16, latent_dim=16, base_width=8)
    assert done.export_path == str(tmp_path / "export" / "golf" / "1")
    assert os.path.exists(os.path.join(done.export_path, "saved_model.pb"))
    assert sorted(os.listdir(tmp_path / "out")) == ["golf.keras"]  # no temporary left
    loaded = keras.saving.load_model(out, safe_mode=True)
    _check_generator(loaded, weights, sizes, batch=2)

    d_path, _ = _write_discriminator(tmp_path, sizes.layout)
    with pytest.raises(ValueError, match="only generators are exported"):
        torch7.convert(d_path, str(tmp_path / "d.keras"), export_base=str(tmp_path / "e"))
    assert not os.path.exists(tmp_path / "d.keras")
    assert torch7.convert(d_path, str(tmp_path / "d.keras")).kind == torch7.DISCRIMINATOR


@pytest.mark.parametrize("change,needle", [
    # mixed keys (once a TypeError in sorted), an infinite size (once an OverflowError)
    (lambda t: _at(t, 1, 1).fields["modules"].update({"x": 1}),
     "modules[1].modules[1]: a Sequential without a list of modules"),
    (lambda t: _at(t, 1, 1, 2).fields.update(kT=float("inf")),
     "modules[1].modules[1].modules[2]: VolumetricFullConvolution kT: expected a positive"),
    (lambda t: _at(t, 1, 1, 2).fields.update(nInputPlane=float("nan")),
     "modules[1].modules[1].modules[2]: VolumetricFullConvolution nInputPlane: expected a "
     "positive integer, found nan"),
    (lambda t: _at(t, 1, 2, 3).fields.update(eps=float("nan")),  # once passed as equal
     "modules[1].modules[2].modules[3]: SpatialBatchNormalization eps: expected 1e-05, "
     "found nan"),
    (lambda t: _at(t, 1, 2, 3).fields["weight"].__setitem__(0, np.inf),
     "modules[1].modules[2].modules[3]: SpatialBatchNormalization weight: values that are "
     "not finite"),
    (lambda t: _at(t, 1, 2, 2).fields.update(weight=_at(t, 1, 2, 2).fields["weight"].astype(
        np.float64) * 1e300),  # finite in float64, infinite as float32
     "modules[1].modules[2].modules[2]: SpatialFullConvolution weight: values that are not"),
    (lambda t: _at(t, 1, 1).fields["modules"].update(
        {i: t7.T7Object("nn.ReLU", {}) for i in range(9, 3 * 13 + 3)}),
     "modules[1].modules[1]: 13 blocks of (convolution, batch norm, activation): a VideoGAN "
     "has 1 to 12"),
])
def test_malformed_fields_are_refused_as_structure_errors(change, needle, tmp_path):
    tree = _tree(tmp_path)
    change(tree)
    with pytest.raises(torch7.StructureError) as error:
        torch7.match_tree(tree)
    assert str(error.value).startswith(needle), str(error.value)
    assert isinstance(error.value, t7.T7FormatError)


def test_a_running_std_of_zero_is_refused(tmp_path):
    path, _ = _write_generator(tmp_path, config_lib.TINY, running_std=True)
    tree = t7.read_t7(path)
    _at(tree, 1, 2, 3).fields["running_std"][:] = 0  # variance std**-2 - eps: infinite
    with pytest.raises(torch7.StructureError, match="running_std: values that are not"):
        torch7.match_tree(tree)


def test_match_tree_collects_the_weights_without_building_a_model(tmp_path):
    sizes = config_lib.TINY
    path, weights = _write_generator(tmp_path, sizes)
    with open(path, "rb") as handle:
        matched = torch7.match_t7(handle.read(), "net.t7")
    assert matched.kind == torch7.GENERATOR and matched.sizes == sizes
    kernel, bias = matched.weights["bg_out"]
    np.testing.assert_array_equal(kernel, np.transpose(weights["bg_out"]["weight"],
                                                       (2, 3, 1, 0)))
    assert len(matched.weights) == 2 * 2 * len(sizes.layout.widths) + 3
    with pytest.raises(t7.T7FormatError, match=r"^half.t7: .*end of"):
        torch7.match_t7(open(path, "rb").read()[:5000], "half.t7")
