"""The exported signatures: names, dtypes and shapes as in vgan_tf.serving.api, numerics,
per-seed determinism, served files and the batch guard inside the graph."""
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from vgan_tf import config, sampling
from vgan_tf.export import gif, signatures
from vgan_tf.models import OneStreamGenerator
from vgan_tf.serving import api
from vgan_tf.viz import video_files


def _signature_defs(path):
    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(path, "saved_model.pb"), "rb") as handle:
        proto.ParseFromString(handle.read())
    return proto.meta_graphs[0].signature_def


@pytest.mark.slow
def test_signature_defs_are_the_api(exported, generator):
    """The SignatureDefs, the api's description of them, and this table agree."""
    defs = _signature_defs(exported.path)
    frames, size, _, _ = generator.video_shape
    latent = generator.latent_dim
    uint8_parts = {"video": ("uint8", [-1, frames, size, size, 3]),
                   "mask": ("uint8", [-1, frames, size, size, 1]),
                   "background": ("uint8", [-1, size, size, 3])}
    expected = {
        "serving_default": ({"seed": ("int64", [-1])}, uint8_parts),
        "generate_from_z": ({"z": ("float32", [-1, latent])}, uint8_parts),
        "generate_float": ({"z": ("float32", [-1, latent])},
                           {n: ("float32", s) for n, (_, s) in uint8_parts.items()}),
        "generate_jpeg_strip": ({"seed": ("int64", [-1])}, {"strip_bytes": ("string", [-1])}),
        "generate_gif": ({"seed": ("int64", [-1])}, {"gif_bytes": ("string", [-1])}),
    }
    served = {name for name in defs if not name.startswith("__")}  # not __saved_model_init_op
    assert served == set(expected) == set(api.GENERATOR_SIGNATURES)
    sizes = dict(frames=frames, height=size, width=size, latent_dim=latent)
    for name, (inputs, outputs) in expected.items():
        sig, described = defs[name], api.GENERATOR_SIGNATURES[name]
        assert sig.method_name == "tensorflow/serving/predict"
        for part, want in (("inputs", inputs), ("outputs", outputs)):
            got = {k: (tf.dtypes.as_dtype(v.dtype).name, [d.size for d in v.tensor_shape.dim])
                   for k, v in getattr(sig, part).items()}
            assert got == want, (name, part)
            api_view = {k: (t.dtype, t.batch_shape(**sizes))
                        for k, t in getattr(described, part).items()}
            assert api_view == want, (name, part)


@pytest.mark.slow
def test_saved_model_cli_show_all_lists_signatures(exported):
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    command = [cli] if os.path.exists(cli) else [
        sys.executable, "-m", "tensorflow.python.tools.saved_model_cli"]
    result = subprocess.run(command + ["show", "--all", "--dir", exported.path],
                            capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert result.returncode == 0, result.stderr[-2000:]
    text = result.stdout
    for name, signature in api.GENERATOR_SIGNATURES.items():
        assert f"signature_def['{name}']" in text
        for tensor in (*signature.inputs, *signature.outputs):
            assert f"['{tensor}'] tensor_info" in text, tensor
    assert "dtype: DT_INT64" in text and "dtype: DT_UINT8" in text
    assert "Method name is: tensorflow/serving/predict" in text


def test_float_signature_reproduces_keras(exported, generator):
    loaded = exported.loaded
    z = sampling.latents_for_seeds(np.arange(3, dtype=np.int64), generator.latent_dim)
    expected = generator.generate_parts(z, training=False)
    served = loaded.signatures["generate_float"](z=z)
    for name in ("video", "mask", "background"):
        np.testing.assert_allclose(served[name].numpy(), expected[name].numpy(),
                                   atol=1e-5, rtol=1e-5, err_msg=name)


def test_seed_serves_the_sampled_video_whatever_the_batch(exported, generator):
    loaded = exported.loaded
    serve = loaded.signatures["serving_default"]
    alone = serve(seed=tf.constant([5], tf.int64))
    batch = serve(seed=tf.constant([3, 5, 9, -2], tf.int64))
    for name in ("video", "mask", "background"):
        np.testing.assert_array_equal(alone[name].numpy()[0], batch[name].numpy()[1])
    reference = sampling.sample(generator, 1, seed=5)  # float [-1, 1]
    expected = sampling.to_uint8(reference).numpy()
    assert np.abs(alone["video"].numpy().astype(int) - expected.astype(int)).max() <= 1
    from_z = loaded.signatures["generate_from_z"](
        z=sampling.latents_for_seeds([5], generator.latent_dim))
    np.testing.assert_array_equal(from_z["video"].numpy(), alone["video"].numpy())
    assert not np.array_equal(batch["video"].numpy()[0], batch["video"].numpy()[1])


def test_jpeg_strip_signature_decodes_to_the_video(exported, generator):
    loaded = exported.loaded
    seeds = tf.constant([1, 2], tf.int64)
    strips = loaded.signatures["generate_jpeg_strip"](seed=seeds)["strip_bytes"].numpy()
    videos = loaded.signatures["serving_default"](seed=seeds)["video"].numpy()
    frames = generator.video_shape[0]
    for data, video in zip(strips, videos):
        assert data[:2] == b"\xff\xd8"
        decoded = video_files.decode_strip(data, frames)
        assert decoded.shape == video.shape
        assert np.abs(decoded.astype(int) - video.astype(int)).mean() < 12


def test_gif_signature_is_the_palette_video(exported):
    loaded = exported.loaded
    seeds = tf.constant([1, 2], tf.int64)
    gifs = loaded.signatures["generate_gif"](seed=seeds)["gif_bytes"].numpy()
    videos = loaded.signatures["serving_default"](seed=seeds)["video"].numpy()
    for data, video in zip(gifs, videos):
        assert data[:6] == b"GIF89a"
        expected = gif.palette()[gif.palette_indices(tf.constant(video)).numpy()]
        np.testing.assert_array_equal(video_files.decode_gif(data), expected)


@pytest.mark.parametrize("name", sorted(api.GENERATOR_SIGNATURES))
def test_batch_guard_inside_the_graph(exported, generator, name):
    """Every signature of the loaded SavedModel refuses 0 and max_batch + 1 rows itself
    (no server involved) and answers max_batch rows."""
    function = exported.loaded.signatures[name]
    (input_name, tensor), = api.GENERATOR_SIGNATURES[name].inputs.items()

    def rows(batch):
        shape = tensor.batch_shape(latent_dim=generator.latent_dim)[1:]
        return {input_name: tf.zeros([batch, *shape], tensor.dtype)}

    limit = exported.max_batch
    for batch in (0, limit + 1):
        with pytest.raises(tf.errors.InvalidArgumentError,
                           match=f"batch size must be between 1 and {limit} rows"):
            function(**rows(batch))
    outputs = function(**rows(limit))
    assert all(value.shape[0] == limit for value in outputs.values())


@pytest.mark.parametrize("name", [api.GENERATE_FROM_Z, api.GENERATE_FLOAT])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf, 3e38, 2e4])
def test_non_finite_or_huge_z_is_refused_by_the_graph(exported, generator, name, value):
    """NaN, infinities and values far outside N(0, 1) would give NaN or black videos with
    status OK: the exported graph refuses them, naming z."""
    z = np.zeros([2, generator.latent_dim], np.float32)
    z[1, 3] = value
    with pytest.raises(tf.errors.InvalidArgumentError, match="input z must hold finite"):
        exported.loaded.signatures[name](z=tf.constant(z))
    z[1, 3] = signatures.MAX_ABS_Z  # the bound itself is accepted
    assert exported.loaded.signatures[name](z=tf.constant(z))["video"].shape[0] == 2


def test_latent_guard_refuses_shapes_a_server_would_feed_unchecked(generator):
    """tensorflow_model_server feeds tensors without checking them against the signature's
    [batch, latent] shape; the guard in the graph refuses a wrong rank or width (else
    [1, n * latent] would reshape into n videos past the batch guard)."""
    latent = generator.latent_dim
    def checked(z):
        with tf.control_dependencies(signatures.check_latents(z, latent)):
            return tf.identity(z)

    guard = tf.function(checked, input_signature=[tf.TensorSpec(None, tf.float32)])
    guard(tf.zeros([3, latent]))  # the right shape passes
    for shape in ([1, 300 * latent], [1, 4 * latent], [1, 0], [latent], [2, 1, latent]):
        with pytest.raises(tf.errors.InvalidArgumentError, match=f"input z must be "
                                                                 rf"\[batch, {latent}\]"):
            guard(tf.zeros(shape))


def test_one_stream_generator_serves_a_full_mask_and_its_first_frame():
    sizes = config.TINY
    one = OneStreamGenerator(sizes.frames, sizes.size, sizes.latent_dim, sizes.base_width)
    module = signatures.GeneratorServingModule(one, max_batch=4)
    out = module.serving_default(tf.constant([1, 2], tf.int64))
    assert out["mask"].shape == (2, sizes.frames, sizes.size, sizes.size, 1)
    assert np.all(out["mask"].numpy() == 255)
    np.testing.assert_array_equal(out["background"].numpy(), out["video"].numpy()[:, 0])
    with pytest.raises(ValueError, match="max_batch"):
        signatures.GeneratorServingModule(one, max_batch=0)
