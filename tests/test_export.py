"""Export of the generator: layout, signatures, numerics, warm-up, the export binary."""
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from vgan_tf import export, sampling
from vgan_tf.export import signatures as signatures_lib
from vgan_tf.export import gif, warmup
from vgan_tf.viz import video_files
from vgan_tf.models import TwoStreamGenerator

MAX_BATCH = 8


@pytest.fixture(scope="module")
def generator():
    from vgan_tf import config
    sizes = config.TINY
    model = TwoStreamGenerator(sizes.frames, sizes.size, sizes.latent_dim, sizes.base_width)
    model(np.zeros([1, sizes.latent_dim], np.float32), training=False)
    return model


@pytest.fixture(scope="module")
def exported(generator, tmp_path_factory):
    base = str(tmp_path_factory.mktemp("export_base"))
    path = export.export_generator(generator, base, max_batch=MAX_BATCH)
    return base, path, tf.saved_model.load(path)


def _signature_defs(path):
    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(path, "saved_model.pb"), "rb") as handle:
        proto.ParseFromString(handle.read())
    return proto.meta_graphs[0].signature_def


def test_layout_is_tf_serving_versioned(exported):
    base, path, _ = exported
    assert path == os.path.join(base, "generator", "1")
    for name in ("saved_model.pb", "variables",
                 os.path.join("assets.extra", "tf_serving_warmup_requests")):
        assert os.path.exists(os.path.join(path, name)), name
    assert os.listdir(os.path.join(base, "generator")) == ["1"]  # no staging folder left


def test_next_free_version_and_explicit_version(generator, tmp_path):
    base = str(tmp_path)
    os.makedirs(os.path.join(base, "generator", "7"))
    os.makedirs(os.path.join(base, "generator", "notes"))
    assert export.list_versions(os.path.join(base, "generator")) == [7]
    assert export.next_version(os.path.join(base, "generator")) == 8
    assert export.next_version(os.path.join(base, "absent")) == 1
    first = export.export_generator(generator, base, warmup_batch_sizes=())
    assert first.endswith(os.path.join("generator", "8"))
    assert not os.path.exists(os.path.join(first, "assets.extra"))
    third = export.export_generator(generator, base, version=3, warmup_batch_sizes=())
    assert third.endswith(os.path.join("generator", "3"))
    with pytest.raises(FileExistsError, match="version 8"):
        export.export_generator(generator, base, version=8, warmup_batch_sizes=())
    with pytest.raises(ValueError, match="version"):
        export.export_generator(generator, base, version=0)
    with pytest.raises(ValueError, match="model_name"):
        export.export_generator(generator, base, model_name="a/b")
    assert sorted(os.listdir(os.path.join(base, "generator"))) == ["3", "7", "8", "notes"]


def test_signatures_are_the_documented_ones(exported, generator):
    _, path, _ = exported
    defs = _signature_defs(path)
    assert set(defs) >= set(signatures_lib.GENERATOR_SIGNATURES)
    frames, size, _, _ = generator.video_shape
    latent = generator.latent_dim
    expected = {
        "serving_default": ({"seed": (tf.int64, [-1])},
                            {"video": (tf.uint8, [-1, frames, size, size, 3]),
                             "mask": (tf.uint8, [-1, frames, size, size, 1]),
                             "background": (tf.uint8, [-1, size, size, 3])}),
        "generate_from_z": ({"z": (tf.float32, [-1, latent])},
                            {"video": (tf.uint8, [-1, frames, size, size, 3]),
                             "mask": (tf.uint8, [-1, frames, size, size, 1]),
                             "background": (tf.uint8, [-1, size, size, 3])}),
        "generate_float": ({"z": (tf.float32, [-1, latent])},
                           {"video": (tf.float32, [-1, frames, size, size, 3]),
                            "mask": (tf.float32, [-1, frames, size, size, 1]),
                            "background": (tf.float32, [-1, size, size, 3])}),
        "generate_jpeg_strip": ({"seed": (tf.int64, [-1])},
                                {"strip_bytes": (tf.string, [-1])}),
        "generate_gif": ({"seed": (tf.int64, [-1])}, {"gif_bytes": (tf.string, [-1])}),
    }
    for name, (inputs, outputs) in expected.items():
        sig = defs[name]
        assert sig.method_name == "tensorflow/serving/predict"
        for part, want in (("inputs", inputs), ("outputs", outputs)):
            got = {k: (tf.dtypes.as_dtype(v.dtype), [d.size for d in v.tensor_shape.dim])
                   for k, v in getattr(sig, part).items()}
            assert got == want, (name, part)
        in_names, out_names = signatures_lib.GENERATOR_SIGNATURES[name]
        assert set(in_names) == set(inputs) and set(out_names) == set(outputs)


def test_saved_model_cli_show_all_lists_signatures(exported):
    _, path, _ = exported
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    command = [cli] if os.path.exists(cli) else [
        sys.executable, "-m", "tensorflow.python.tools.saved_model_cli"]
    result = subprocess.run(command + ["show", "--all", "--dir", path], capture_output=True,
                            text=True, timeout=120,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert result.returncode == 0, result.stderr[-2000:]
    text = result.stdout
    for name, (inputs, outputs) in signatures_lib.GENERATOR_SIGNATURES.items():
        assert f"signature_def['{name}']" in text
        for tensor in inputs + outputs:
            assert f"['{tensor}'] tensor_info" in text, tensor
    assert "dtype: DT_INT64" in text and "dtype: DT_UINT8" in text
    assert "Method name is: tensorflow/serving/predict" in text


def test_float_signature_reproduces_keras(exported, generator):
    loaded = exported[2]
    z = sampling.latents_for_seeds(np.arange(3, dtype=np.int64), generator.latent_dim)
    expected = generator.generate_parts(z, training=False)
    served = loaded.signatures["generate_float"](z=z)
    for name in ("video", "mask", "background"):
        np.testing.assert_allclose(served[name].numpy(), expected[name].numpy(),
                                   atol=1e-5, rtol=1e-5, err_msg=name)


def test_seed_serves_the_sampled_video_whatever_the_batch(exported, generator):
    loaded = exported[2]
    serve = loaded.signatures["serving_default"]
    alone = serve(seed=tf.constant([5], tf.int64))
    batch = serve(seed=tf.constant([3, 5, 9, -2], tf.int64))
    for name in ("video", "mask", "background"):
        np.testing.assert_array_equal(alone[name].numpy()[0], batch[name].numpy()[1])
    reference = sampling.sample(generator, 1, seed=5)  # float [-1, 1]
    expected = export.to_uint8(reference, -1.0, 1.0).numpy()
    assert np.abs(alone["video"].numpy().astype(int) - expected.astype(int)).max() <= 1
    from_z = loaded.signatures["generate_from_z"](
        z=sampling.latents_for_seeds([5], generator.latent_dim))
    np.testing.assert_array_equal(from_z["video"].numpy(), alone["video"].numpy())
    assert not np.array_equal(batch["video"].numpy()[0], batch["video"].numpy()[1])


def test_uint8_mapping():
    values = tf.constant([-1.5, -1.0, 0.0, 1.0, 2.0])
    np.testing.assert_array_equal(export.to_uint8(values, -1.0, 1.0).numpy(),
                                  [0, 0, 128, 255, 255])


def test_jpeg_strip_signature_decodes_to_the_video(exported, generator):
    loaded = exported[2]
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
    loaded = exported[2]
    seeds = tf.constant([1, 2], tf.int64)
    gifs = loaded.signatures["generate_gif"](seed=seeds)["gif_bytes"].numpy()
    videos = loaded.signatures["serving_default"](seed=seeds)["video"].numpy()
    for data, video in zip(gifs, videos):
        assert data[:6] == b"GIF89a"
        expected = gif.palette()[gif.palette_indices(tf.constant(video)).numpy()]
        np.testing.assert_array_equal(video_files.decode_gif(data), expected)


def test_in_graph_gif_encoder_on_odd_sizes():
    rng = np.random.default_rng(1)
    for shape in ((1, 1, 1, 3), (3, 5, 7, 3), (2, 40, 33, 3)):  # sub-block/clear edges
        video = rng.integers(0, 256, size=shape).astype(np.uint8)
        data = gif.encode_gif(tf.constant(video)).numpy()
        expected = gif.palette()[gif.palette_indices(tf.constant(video)).numpy()]
        np.testing.assert_array_equal(video_files.decode_gif(data), expected)
        assert np.abs(expected.astype(int) - video.astype(int)).mean() < 24
    smooth = np.tile(np.linspace(0, 255, 16, dtype=np.uint8)[None, None, :, None],
                     (2, 16, 1, 3))
    decoded = video_files.decode_gif(gif.encode_gif(tf.constant(smooth)).numpy())
    assert abs(decoded.astype(float).mean() - smooth.astype(float).mean()) < 4  # dithering
    with pytest.raises(ValueError, match="static"):
        gif.encode_gif(tf.zeros([2, 4, 4, 1], tf.uint8))


@pytest.mark.parametrize("batch", [0, MAX_BATCH + 1])
def test_batch_guard_inside_the_graph(exported, batch):
    loaded = exported[2]
    with pytest.raises(tf.errors.InvalidArgumentError, match="batch size must be between"):
        loaded.signatures["serving_default"](seed=tf.zeros([batch], tf.int64))
    with pytest.raises(tf.errors.InvalidArgumentError, match="batch size must be between"):
        loaded.signatures["generate_from_z"](z=tf.zeros([batch, 16], tf.float32))


def test_warmup_requests_run_against_the_export(exported):
    _, path, loaded = exported
    requests = warmup.read_warmup_requests(path)
    assert {r.model_spec.signature_name for r in requests} == set(
        signatures_lib.GENERATOR_SIGNATURES)
    for request in requests:
        assert request.model_spec.name == "generator"
        inputs = {k: tf.constant(tf.make_ndarray(v)) for k, v in request.inputs.items()}
        outputs = loaded.signatures[request.model_spec.signature_name](**inputs)
        assert outputs


def test_export_binary_from_model_dir(generator, tmp_path):
    model_dir, base = tmp_path / "run", tmp_path / "models"
    model_dir.mkdir()
    generator.save(str(model_dir / "generator.keras"))
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    # A subprocess: tools' absl flags share one registry, so importing several binaries
    # into the test process would collide.
    result = subprocess.run(
        [sys.executable, "-m", "tools.export", f"--model_dir={model_dir}",
         f"--export_base={base}", "--model_name=gen", "--warmup_batch_sizes=1,2"],
        cwd=root, capture_output=True, text=True, timeout=180,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert result.returncode == 0, result.stderr[-3000:]
    path = base / "gen" / "1"
    assert result.stdout.strip().endswith(str(path))
    assert (path / "saved_model.pb").exists()
    assert len(warmup.read_warmup_requests(str(path))) == 2 * len(
        signatures_lib.GENERATOR_SIGNATURES)
    served = tf.saved_model.load(str(path)).signatures["generate_float"](
        z=tf.ones([1, generator.latent_dim]))["video"].numpy()
    np.testing.assert_allclose(served, generator(tf.ones([1, generator.latent_dim]),
                                                 training=False).numpy(), atol=1e-5)
    with pytest.raises(FileNotFoundError, match="no generator"):
        export.load_generator(str(tmp_path / "missing.keras"))


def test_video_files_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    palette = np.array([[0, 0, 0], [255, 0, 0], [0, 255, 0], [255, 255, 255]], np.uint8)
    video = palette[rng.integers(0, 4, size=(5, 8, 8))]
    np.testing.assert_array_equal(video_files.decode_gif(video_files.encode_gif(video)), video)
    strip = video_files.encode_strip_jpeg(video, quality=95)
    assert video_files.decode_strip(strip, 5).shape == (5, 8, 8, 3)
    path = video_files.write_gif(str(tmp_path / "a.gif"), video[..., :1])
    assert video_files.decode_gif(open(path, "rb").read()).shape == (5, 8, 8, 3)
    with pytest.raises(ValueError, match="uint8"):
        video_files.encode_gif(video.astype(np.float32))
    with pytest.raises(ValueError, match="frames"):
        video_files.decode_strip(strip, 3)
