"""The exported network: BatchNorm folded, transposed heads as forward convolutions, bf16.

Each is compared with the trained Keras model at tiny size, with BatchNorm statistics
and affine weights that are not the identity (a fold that ignored one would show)."""
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from vgan_tf import config, export, sampling
from vgan_tf.export import inference
from vgan_tf.models import FuturePredictor, OneStreamGenerator, TwoStreamGenerator
from vgan_tf.serving import api

SIZES = config.TINY
BN_OPS = {"FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3", "BatchNormWithGlobalNormalization"}


def _spread(model, inputs, seed=0):
    """BN statistics from one training-mode pass, then perturbed gamma/beta/statistics,
    and a larger output kernel: outputs that span most of [-1, 1]."""
    rng = np.random.default_rng(seed)
    norms = [layer for stage in model.layers for layer in stage.layers
             if isinstance(layer, keras.layers.BatchNormalization)]
    for norm in norms:
        norm.momentum = 0.0
    model.generate_parts(inputs, training=True)
    for norm in norms:
        norm.momentum = 0.9
        for var, low, high in ((norm.gamma, 0.5, 1.5), (norm.moving_variance, 0.8, 1.25)):
            var.assign(var.numpy() * rng.uniform(low, high, var.shape))
        norm.beta.assign(rng.normal(0.0, 0.2, norm.beta.shape))
        norm.moving_mean.assign(norm.moving_mean.numpy() + rng.normal(0, 0.1,
                                                                      norm.moving_mean.shape))
    for stage in model.layers:
        for layer in stage.layers:
            if layer.name in ("fg_out", "mask_out", "bg_out"):
                layer.kernel.assign(layer.kernel.numpy() * 20.0)
                layer.bias.assign(rng.normal(0.0, 0.1, layer.bias.shape))
    return model


@pytest.fixture(scope="module")
def spread_generator():
    model = TwoStreamGenerator(SIZES.frames, SIZES.size, SIZES.latent_dim, SIZES.base_width)
    z = sampling.latents_for_seeds(np.arange(16, dtype=np.int64), SIZES.latent_dim)
    return _spread(model, z)


def _latents(n=6):
    return sampling.latents_for_seeds(np.arange(100, 100 + n, dtype=np.int64),
                                      SIZES.latent_dim)


@pytest.mark.parametrize("subpixel_channels", [0, inference.SUBPIXEL_CHANNELS, 10 ** 6])
def test_folded_network_matches_the_model(spread_generator, subpixel_channels):
    z = _latents()
    expected = spread_generator.generate_parts(z, training=False)
    network = inference.inference_network(spread_generator, "fp32", True, subpixel_channels)
    steps = len(spread_generator.layout.widths)
    assert [pair[1:] for pair in network.folded] == [
        (f"fg_up{i}", f"fg_bn{i}") for i in range(steps)] + [
        (f"bg_up{i}", f"bg_bn{i}") for i in range(steps)]
    got = network.generate_parts(z)
    for name in ("video", "mask", "background"):
        assert got[name].dtype == tf.float32
        np.testing.assert_allclose(got[name], expected[name], atol=2e-5, rtol=0, err_msg=name)
    assert float(tf.math.reduce_std(expected["video"])) > 0.2  # not a flat, easy output


def test_subpixel_rewrite_is_the_transposed_convolution():
    for layer_class, shape in ((keras.layers.Conv2DTranspose, (2, 3, 5, 6)),
                               (keras.layers.Conv3DTranspose, (2, 3, 4, 5, 6))):
        layer = layer_class(3, 4, strides=2, padding="same", bias_initializer="ones")
        x = tf.random.stateless_normal(shape, seed=[1, 2])
        expected = layer(x)
        assert inference.is_subpixel_convertible(layer)
        got = inference.subpixel_transposed_conv(
            x, inference.subpixel_kernel(layer.kernel.numpy()), 3) + layer.bias
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
    valid = keras.layers.Conv3DTranspose(3, (2, 4, 4), strides=1, padding="valid")
    valid.build((None, 1, 1, 1, 4))
    assert not inference.is_subpixel_convertible(valid)


def test_which_layers_are_rewritten(spread_generator):
    network = inference.inference_network(spread_generator)
    assert sorted(network.subpixel_kernels) == ["bg_stream/bg_out", "fg_head/fg_out",
                                                "mask_head/mask_out"]
    everything = inference.inference_network(spread_generator, subpixel_channels=10 ** 6)
    steps = len(spread_generator.layout.widths)  # the first up-steps are k(t,4,4) s1
    assert len(everything.subpixel_kernels) == 3 + 2 * (steps - 1)
    assert network.fused_heads == (("fg_head", "mask_head"),)
    assert inference.inference_network(spread_generator, fuse_heads=False).fused_heads == ()
    assert inference.inference_network(spread_generator, subpixel_channels=0).fused_heads == ()


def _conv_ops(network, z) -> int:
    graph = tf.function(network.generate_parts).get_concrete_function(z).graph
    return sum(op.type in ("Conv3D", "Conv2D", "Conv3DBackpropInputV2",
                           "Conv2DBackpropInput") for op in graph.get_operations())


@pytest.mark.parametrize("precision", inference.PRECISIONS)
def test_fused_heads_run_one_convolution_with_the_same_outputs(spread_generator, precision):
    z = _latents()
    fused, apart = (inference.inference_network(spread_generator, precision, fuse_heads=f)
                    for f in (True, False))
    assert _conv_ops(fused, z) == _conv_ops(apart, z) - 1
    got, expected = fused.generate_parts(z), apart.generate_parts(z)
    for name in ("video", "mask", "foreground", "background"):
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)


def test_fused_heads_given_different_inputs_run_apart(spread_generator):
    network = inference.inference_network(spread_generator)
    apart = inference.inference_network(spread_generator, fuse_heads=False)
    stage = network.network.get_layer
    shape = [2] + list(stage("fg_head").inputs[0].shape[1:])
    first, second = (tf.random.stateless_normal(shape, [5, s]) for s in (1, 2))
    fg = network.run_stage(stage("fg_head"), first)
    mask = network.run_stage(stage("mask_head"), second)  # not the fused call's input
    np.testing.assert_array_equal(fg, apart.run_stage(apart.network.get_layer("fg_head"), first))
    np.testing.assert_array_equal(mask, apart.run_stage(apart.network.get_layer("mask_head"),
                                                        second))


def test_predictor_and_one_stream_fold_exactly():
    predictor = FuturePredictor(SIZES.frames, SIZES.size, SIZES.base_width)
    images = tf.random.stateless_uniform([4, SIZES.size, SIZES.size, 3], [3, 4], -1.0, 1.0)
    predictor(images[:1], training=False)
    _spread(predictor, images)
    network = inference.inference_network(predictor)
    assert ("encoder", "enc_conv1", "enc_bn1") in network.folded  # Conv2D kernels too
    assert network.fused_heads == (("fg_head", "mask_head"),)
    got, expected = network.generate_parts(images), predictor.generate_parts(images,
                                                                               training=False)
    # float rounding, amplified by the deeper encoder and the 20x output kernels
    np.testing.assert_allclose(got["video"], expected["video"], atol=2e-4, rtol=0)
    one = OneStreamGenerator(SIZES.frames, SIZES.size, SIZES.latent_dim, SIZES.base_width)
    one(np.zeros([1, SIZES.latent_dim], np.float32))
    np.testing.assert_allclose(inference.inference_network(one).generate_parts(_latents())
                               ["video"], one(_latents(), training=False), atol=1e-6, rtol=0)


def test_the_trained_model_is_left_alone(spread_generator):
    before = [w.numpy().copy() for w in spread_generator.weights]
    inference.inference_network(spread_generator, "bf16")
    for old, new in zip(before, spread_generator.weights):
        np.testing.assert_array_equal(old, new.numpy())
        assert new.dtype == "float32"


def _signature_nodes(path, signature=api.SERVING_DEFAULT) -> list:
    """Every node the served signature runs (its graph and the functions it calls; the
    SavedModel also holds the Keras layers' own traced calls, which serving never runs)."""
    graph = tf.saved_model.load(path).signatures[signature].graph.as_graph_def()
    return list(graph.node) + [n for f in graph.library.function for n in f.node_def]


def _batch_norm_nodes(nodes) -> int:
    return sum(n.op in BN_OPS or n.op == "Rsqrt" or "batchnorm" in n.name.lower()
               for n in nodes)


@pytest.fixture(scope="module")
def exports(spread_generator, tmp_path_factory):
    base = str(tmp_path_factory.mktemp("precision"))
    paths = {p: export.export_generator(spread_generator, base, model_name=p,
                                        warmup_batch_sizes=(), precision=p)
             for p in inference.PRECISIONS}
    paths["unfolded"] = export.export_generator(spread_generator, base, model_name="unfolded",
                                                warmup_batch_sizes=(), fold_batch_norm=False)
    return paths


@pytest.mark.slow
def test_exported_graph_has_no_batch_norm(exports):
    for precision in inference.PRECISIONS:
        for signature in (api.SERVING_DEFAULT, api.GENERATE_FLOAT):
            assert _batch_norm_nodes(_signature_nodes(exports[precision], signature)) == 0
    assert _batch_norm_nodes(_signature_nodes(exports["unfolded"])) > 0  # it can fail
    casts = [n for n in _signature_nodes(exports["bf16"]) if n.op == "Cast"
             and "ReadVariableOp" in "".join(n.input)]
    assert casts == []  # bf16 kernels are stored as bf16: no per-call weight casts


@pytest.mark.slow
def test_bf16_export_keeps_dtypes_and_stays_within_pinned_levels(exports,
                                                                 spread_generator):
    fp32, bf16 = (tf.saved_model.load(exports[p]) for p in ("fp32", "bf16"))
    def stored_dtypes(path):
        reader = tf.train.load_checkpoint(os.path.join(path, "variables", "variables"))
        return {d for n, d in reader.get_variable_to_dtype_map().items()
                if "kernel" in n or "subpixel" in n}

    assert stored_dtypes(exports["bf16"]) == {tf.bfloat16}
    assert stored_dtypes(exports["fp32"]) == {tf.float32}
    for name in api.GENERATOR_SIGNATURES:
        a, b = fp32.signatures[name], bf16.signatures[name]
        assert a.structured_outputs.keys() == b.structured_outputs.keys()
        for key, spec in a.structured_outputs.items():
            assert b.structured_outputs[key].dtype == spec.dtype, (name, key)
    seeds = tf.constant(np.arange(32, dtype=np.int64))
    want, got = (m.signatures[api.SERVING_DEFAULT](seed=seeds) for m in (fp32, bf16))
    video = np.abs(want["video"].numpy().astype(int) - got["video"].numpy().astype(int))
    # measured at this size: p99 2 levels, 96% within 1 level, max 6 (tiny bf16 network)
    assert np.percentile(video, 50) <= 1
    assert np.percentile(video, 99) <= 3
    assert np.mean(video <= 2) >= 0.98
    assert video.max() <= 10
    assert np.std(want["video"].numpy()) > 40  # the outputs span the pixel range
    floats = [m.signatures[api.GENERATE_FLOAT](z=_latents(8)) for m in (fp32, bf16)]
    for name in ("video", "mask", "background"):
        assert floats[1][name].dtype == tf.float32
        np.testing.assert_allclose(floats[1][name], floats[0][name], atol=0.06, rtol=0)
    np.testing.assert_allclose(  # and the fp32 export is the Keras model
        floats[0]["video"], spread_generator.generate_parts(_latents(8),
                                                            training=False)["video"],
        atol=2e-5, rtol=0)


def test_unknown_precision_is_refused(spread_generator, tmp_path):
    with pytest.raises(ValueError, match="precision must be one of fp32, bf16"):
        export.export_generator(spread_generator, str(tmp_path), precision="fp16")
    assert not os.listdir(tmp_path)


def _with_head_forms(model):
    """The same generator built with depth_to_space_heads=True, the same weights."""
    fast = TwoStreamGenerator(SIZES.frames, SIZES.size, SIZES.latent_dim, SIZES.base_width,
                              depth_to_space_heads=True)
    fast.set_weights(model.get_weights())
    assert fast.find_layer("fg_out").depth_to_space
    return fast


@pytest.mark.slow
@pytest.mark.parametrize("precision", inference.PRECISIONS)
@pytest.mark.parametrize("subpixel_channels", [0, inference.SUBPIXEL_CHANNELS])
def test_a_generator_built_with_the_head_forms_exports_the_same(
        spread_generator, precision, subpixel_channels):
    z = _latents()
    plain, fast = (inference.inference_network(model, precision, True, subpixel_channels)
                   for model in (spread_generator, _with_head_forms(spread_generator)))
    assert sorted(fast.subpixel_kernels) == sorted(plain.subpixel_kernels)
    want, got = plain.generate_parts(z), fast.generate_parts(z)
    # subpixel heads: the same graph; subpixel 0: each form's own sums (bf16: 8 bits)
    atol = 1e-5 if precision == "fp32" or subpixel_channels else 0.05
    for name in ("video", "mask", "background"):
        np.testing.assert_allclose(got[name], want[name], atol=atol, rtol=0, err_msg=name)


@pytest.mark.slow
def test_the_saved_model_of_a_generator_with_the_head_forms_serves_the_same(
        exports, spread_generator, tmp_path):
    path = export.export_generator(_with_head_forms(spread_generator), str(tmp_path),
                                   model_name="forms", warmup_batch_sizes=())
    seeds = tf.constant(np.arange(8, dtype=np.int64))
    want, got = (tf.saved_model.load(p).signatures[api.SERVING_DEFAULT](seed=seeds)
                 for p in (exports["fp32"], path))
    for name in ("video", "mask"):
        np.testing.assert_array_equal(got[name].numpy(), want[name].numpy(), err_msg=name)
