"""The stride-1 forms of the k4 s2 layers (blocks.space_to_depth_conv,
blocks.depth_to_space_conv_transpose) against the plain Keras layers: outputs and gradients
in fp32 and bf16, and networks built with the forms read and write the same weights."""
import os
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests import helpers
from tests.helpers import REPO
from vgan_tf.models import Discriminator, OneStreamGenerator, TwoStreamGenerator, blocks

OLD = os.path.join(REPO, "tests", "fixtures", "written_by_b19c887")


def _pair(make, shape, policy):
    """(plain, rewritten) layers built under `policy`, the same weights (bias nonzero)."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        plain, fast = make(False), make(True)
    finally:
        keras.config.set_dtype_policy(previous)
    plain.build(shape)
    fast.build(shape)
    rng = np.random.default_rng(0)
    plain.bias.assign(rng.normal(0, 0.5, plain.bias.shape).astype("float32"))
    for target, source in zip(fast.weights, plain.weights):
        target.assign(source.value)
    return plain, fast


def _outputs_and_gradients(layer, x):
    """Output, d(loss)/d(input), d(loss)/d(kernel), d(loss)/d(bias), a nonlinear loss so
    that every output position weighs differently."""
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.cast(layer(x), tf.float32)
        weights = tf.reshape(tf.sin(tf.range(tf.size(y), dtype=tf.float32)), tf.shape(y))
        loss = tf.reduce_sum(tf.sin(3.0 * y) * weights)
    grads = tape.gradient(loss, [x, layer.kernel, layer.bias])
    return [y] + [tf.cast(g, tf.float32) for g in grads]


CASES = {
    # name: (make(form), input shape)
    "conv3d even": (lambda f: blocks.down3d(5, "c", space_to_depth=f), (2, 6, 10, 8, 3)),
    "conv3d odd": (lambda f: blocks.down3d(4, "c", space_to_depth=f), (2, 5, 7, 9, 3)),
    "conv3d paper first layer": (lambda f: blocks.down3d(64, "c", space_to_depth=f),
                                 (1, 8, 16, 16, 3)),
    "transposed 3d to 3": (lambda f: blocks.up(3, 3, "t", depth_to_space=f),
                           (2, 3, 5, 4, 6)),
    "transposed 3d to 1": (lambda f: blocks.up(3, 1, "t", depth_to_space=f),
                           (2, 4, 4, 4, 8)),
    "transposed 2d to 3": (lambda f: blocks.up(2, 3, "t", depth_to_space=f), (2, 5, 4, 6)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rewritten_layer_matches_the_plain_layer_in_fp32(case):
    make, shape = CASES[case]
    plain, fast = _pair(make, shape, "float32")
    x = tf.constant(np.random.default_rng(1).normal(size=shape).astype("float32"))
    expected, got = _outputs_and_gradients(plain, x), _outputs_and_gradients(fast, x)
    assert got[0].shape == expected[0].shape
    for name, a, b in zip(("output", "input grad", "kernel grad", "bias grad"), expected,
                          got):
        scale = float(tf.reduce_max(tf.abs(a)))
        assert scale > 0, name
        np.testing.assert_allclose(b, a, atol=2e-6 * scale, rtol=0, err_msg=name)


@pytest.mark.parametrize("case", sorted(CASES))
def test_rewritten_layer_matches_the_plain_layer_in_bf16(case):
    make, shape = CASES[case]
    plain, fast = _pair(make, shape, "mixed_bfloat16")
    assert fast.compute_dtype == "bfloat16" and fast.kernel.dtype == "float32"
    x = tf.constant(np.random.default_rng(1).normal(size=shape).astype("float32"))
    expected, got = _outputs_and_gradients(plain, x), _outputs_and_gradients(fast, x)
    assert fast(x).dtype == tf.bfloat16
    for name, a, b in zip(("output", "input grad", "kernel grad", "bias grad"), expected,
                          got):
        # bf16 keeps 8 bits: each side rounds its sums in its own order
        scale = float(tf.reduce_max(tf.abs(a)))
        np.testing.assert_allclose(b, a, atol=3e-2 * scale, rtol=0, err_msg=name)
        assert float(tf.reduce_mean(tf.abs(a - b))) < 5e-3 * scale, name


def test_the_forms_keep_the_weights_and_the_keras_class_names():
    plain = blocks.down3d(8, "d")
    fast = blocks.down3d(8, "d", space_to_depth=True)
    up_fast = blocks.up(3, 3, "u", depth_to_space=True)
    assert isinstance(fast, keras.layers.Conv3D) and fast.space_to_depth
    assert isinstance(up_fast, keras.layers.Conv3DTranspose) and up_fast.depth_to_space
    # .keras files name a Sequential's layers by class name: the same names keep them
    assert type(fast).__name__ == type(plain).__name__ == "Conv3D"
    assert type(up_fast).__name__ == "Conv3DTranspose"
    assert type(blocks.up(2, 3, "u", depth_to_space=True)).__name__ == "Conv2DTranspose"
    plain.build((None, 4, 8, 8, 3))
    fast.build((None, 4, 8, 8, 3))
    assert [tuple(w.shape) for w in fast.weights] == [tuple(w.shape) for w in plain.weights]
    assert fast.kernel.shape == (4, 4, 4, 3, 8)


def test_fold_taps_puts_tap_2k_plus_q_at_k_with_q_in_the_channels():
    kernel = np.arange(4 * 4 * 2 * 5, dtype="float32").reshape(4, 4, 2, 5)
    folded = np.asarray(blocks.fold_taps(kernel, 2))
    assert folded.shape == (2, 2, 4 * 2, 5)
    for k1, q1, k2, q2, a in np.ndindex(2, 2, 2, 2, 2):
        assert (folded[k1, k2, (q1 * 2 + q2) * 2 + a] == kernel[2 * k1 + q1, 2 * k2 + q2, a]
                ).all()


@pytest.mark.parametrize("make", [
    lambda: blocks.down3d(4, "d", kernel=3, space_to_depth=True),
    lambda: blocks.down3d(4, "d", strides=1, space_to_depth=True),
    lambda: blocks.down3d(4, "d", padding="valid", space_to_depth=True),
    lambda: blocks.up(3, 4, "u", kernel=(2, 4, 4), strides=1, padding="valid",
                      depth_to_space=True),
])
def test_the_forms_refuse_layers_other_than_k4_s2_same(make):
    with pytest.raises(ValueError, match="needs kernel 4, strides 2, padding 'same'"):
        make()


def test_layer_config_round_trip_keeps_the_form():
    layer = blocks.up(3, 3, "u", depth_to_space=True)
    clone = type(layer).from_config(layer.get_config())
    assert clone.depth_to_space and clone.get_config() == layer.get_config()
    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(
        blocks.down3d(3, "d", space_to_depth=True)))
    assert revived.space_to_depth and type(revived) is blocks.Conv3D


# -- networks built with the forms ---------------------------------------------------


def _videos(tiny, n=2):
    return np.random.default_rng(0).uniform(
        -1, 1, (n, tiny.frames, tiny.size, tiny.size, 3)).astype("float32")


def _latents(tiny, n=2):
    return np.random.default_rng(0).normal(size=(n, tiny.latent_dim)).astype("float32")


def _network_pair(tiny, kind):
    if kind == "discriminator":
        make = lambda f: Discriminator(tiny.frames, tiny.size, tiny.base_width,  # noqa
                                       space_to_depth_input=f)
    else:
        cls = TwoStreamGenerator if kind == "two_stream" else OneStreamGenerator
        make = lambda f: cls(tiny.frames, tiny.size, tiny.latent_dim,  # noqa
                             tiny.base_width, depth_to_space_heads=f)
    plain, fast = make(False), make(True)
    fast.set_weights(plain.get_weights())
    return plain, fast


@pytest.mark.parametrize("kind", ["discriminator", "two_stream", "one_stream"])
def test_network_with_the_forms_computes_the_same_and_has_the_same_weights(tiny, kind):
    plain, fast = _network_pair(tiny, kind)
    assert plain.count_params() == fast.count_params()
    assert [w.path for w in plain.weights] == [w.path for w in fast.weights]
    assert plain.layer_names() == fast.layer_names()
    x = _videos(tiny) if kind == "discriminator" else _latents(tiny)
    for training in (False, True):
        with tf.GradientTape(persistent=True) as tape:
            a, b = plain(x, training=training), fast(x, training=training)
            la, lb = tf.reduce_sum(tf.square(a)), tf.reduce_sum(tf.square(b))
        np.testing.assert_allclose(b, a, atol=1e-5, rtol=1e-5)
        ga = tape.gradient(la, plain.trainable_weights)
        gb = tape.gradient(lb, fast.trainable_weights)
        # one scale for all: a conv bias before BatchNorm gets round-off only
        scale = max(float(tf.reduce_max(tf.abs(u))) for u in ga)
        for w, u, v in zip(plain.trainable_weights, ga, gb):
            np.testing.assert_allclose(v, u, atol=1e-5 * scale, rtol=0, err_msg=w.path)


def test_which_layers_take_the_forms(tiny):
    _, d = _network_pair(tiny, "discriminator")
    assert d.find_layer("d_conv0").space_to_depth
    assert type(d.find_layer("d_conv1")) is keras.layers.Conv3D  # deeper: plain
    _, g = _network_pair(tiny, "two_stream")
    assert g.find_layer("fg_out").depth_to_space and g.find_layer("mask_out").depth_to_space
    assert type(g.find_layer("bg_out")) is keras.layers.Conv2DTranspose
    assert type(g.find_layer("fg_up1")) is keras.layers.Conv3DTranspose
    assert not Discriminator(tiny.frames, tiny.size, tiny.base_width).space_to_depth_input


def test_the_form_is_not_saved_a_loaded_network_takes_the_default(tiny, tmp_path):
    def unnamed(model):
        return {k: v for k, v in model.get_config().items() if k != "name"}

    plain, d = _network_pair(tiny, "discriminator")
    assert unnamed(d) == unnamed(plain)
    clone = helpers.run_serialization_test(d)
    assert clone.space_to_depth_input is False  # the default, SPACE_TO_DEPTH_INPUT
    loaded = helpers.run_model_saving_test(d, _videos(tiny), tmp_path, atol=1e-5)
    assert loaded.space_to_depth_input is False
    with zipfile.ZipFile(tmp_path / "model.keras") as archive:
        saved = archive.read("config.json").decode()
    assert "space_to_depth" not in saved and "SpaceToDepth" not in saved
    assert '"frames": 8' in saved  # it is the config
    plain_g, g = _network_pair(tiny, "two_stream")
    assert unnamed(g) == unnamed(plain_g)
    (tmp_path / "g").mkdir()
    loaded = helpers.run_model_saving_test(g, _latents(tiny), tmp_path / "g", atol=1e-5)
    assert loaded.depth_to_space_heads is False


def test_a_keras_file_moves_between_the_plain_and_the_rewritten_network(tiny, tmp_path):
    plain, fast = _network_pair(tiny, "two_stream")
    for source, target_form in ((plain, True), (fast, False)):
        path = str(tmp_path / f"from_{target_form}.weights.h5")
        source.save_weights(path)
        target = TwoStreamGenerator(tiny.frames, tiny.size, tiny.latent_dim,
                                    tiny.base_width, depth_to_space_heads=target_form)
        target.load_weights(path)
        z = _latents(tiny)
        np.testing.assert_allclose(target(z, training=False), source(z, training=False),
                                   atol=1e-5)


def test_checkpoints_move_between_the_plain_and_the_rewritten_network(tiny, tmp_path):
    plain, _ = _network_pair(tiny, "discriminator")
    helpers.run_checkpoint_test(
        plain, lambda: Discriminator(tiny.frames, tiny.size, tiny.base_width,
                                     space_to_depth_input=True),
        tmp_path, train_inputs=_videos(tiny))


def test_an_old_keras_file_loads_into_the_rewritten_networks():
    expected = dict(np.load(os.path.join(OLD, "expected.npz")))
    old = keras.saving.load_model(os.path.join(OLD, "discriminator.keras"))
    config = {**old.get_config(), "space_to_depth_input": True}
    config.pop("name", None)
    d = Discriminator.from_config(config)
    assert d.find_layer("d_conv0").space_to_depth
    d.load_weights(os.path.join(OLD, "discriminator.keras"))
    np.testing.assert_allclose(d(expected["video"], training=False), expected["d_logits"],
                               atol=1e-5)
    old_g = keras.saving.load_model(os.path.join(OLD, "video_run", "generator.keras"))
    config = {**old_g.get_config(), "depth_to_space_heads": True}
    config.pop("name", None)
    g = TwoStreamGenerator.from_config(config)
    assert g.find_layer("fg_out").depth_to_space
    g.load_weights(os.path.join(OLD, "video_run", "generator.keras"))
    z = np.random.default_rng(3).normal(size=(2, g.latent_dim)).astype("float32")
    np.testing.assert_allclose(g(z, training=False), old_g(z, training=False), atol=1e-5)


def test_the_forms_under_mixed_precision(tiny):
    helpers.run_precision_test(
        lambda: Discriminator(tiny.frames, tiny.size, tiny.base_width,
                              space_to_depth_input=True), _videos(tiny))
    helpers.run_precision_test(
        lambda: TwoStreamGenerator(tiny.frames, tiny.size, tiny.latent_dim, tiny.base_width,
                                   depth_to_space_heads=True), _latents(tiny))
