"""The exported future predictor: SignatureDefs as in vgan_tf.serving.api, both image
signatures reproduce the Keras model, bad image rows fail naming the input, warm-up."""
import io
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from tensorflow.core.protobuf import saved_model_pb2

from vgan_tf import config, export
from vgan_tf.export import images, warmup
from vgan_tf.export.future_files import load_predictor
from vgan_tf.models import FuturePredictor
from vgan_tf.serving import api
from vgan_tf.viz import video_files

SIZES = config.TINY
MAX_BATCH = 4


@pytest.fixture(scope="module")
def predictor():
    model = FuturePredictor(SIZES.frames, SIZES.size, SIZES.base_width)
    # At the paper's init (N(0, 0.01)) inference outputs are ~1e-5; larger kernels give
    # outputs across the whole range, so differences show in uint8.
    for variable in model.trainable_variables:
        if "kernel" in variable.path:
            variable.assign(variable * 12.0)
    return model


@pytest.fixture(scope="module")
def exported(predictor, tmp_path_factory):
    base = str(tmp_path_factory.mktemp("export"))
    path = export.export_predictor(predictor, base, max_batch=MAX_BATCH,
                                   warmup_batch_sizes=(1, 2))
    return path, tf.saved_model.load(path)


def rgb(n, seed=0, shape=(16, 16)):
    return np.random.default_rng(seed).integers(0, 256, (n, *shape, 3), dtype=np.uint8)


def png(image):
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def keras_uint8(predictor, image_uint8):
    parts = predictor.generate_parts(image_uint8.astype("float32") / 127.5 - 1,
                                     training=False)
    return {"video": parts["video"].numpy(), "mask": parts["mask"].numpy(),
            "background": parts["background"].numpy()}


@pytest.mark.slow
def test_layout_and_signature_defs_are_the_api(exported):
    path, _ = exported
    assert path.endswith(os.path.join("predictor", "1"))
    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString(open(os.path.join(path, "saved_model.pb"), "rb").read())
    defs = proto.meta_graphs[0].signature_def
    assert {n for n in defs if not n.startswith("__")} == set(api.PREDICTOR_SIGNATURES)
    sizes = dict(frames=SIZES.frames, height=SIZES.size, width=SIZES.size)
    for name, described in api.PREDICTOR_SIGNATURES.items():
        for part in ("inputs", "outputs"):
            got = {k: (tf.dtypes.as_dtype(v.dtype).name, [d.size for d in v.tensor_shape.dim])
                   for k, v in getattr(defs[name], part).items()}
            want = {k: (t.dtype, t.batch_shape(**sizes))
                    for k, t in getattr(described, part).items()}
            assert got == want, (name, part)


def test_both_signatures_reproduce_the_keras_model(predictor, exported):
    _, loaded = exported
    pixels = rgb(3)
    want = keras_uint8(predictor, pixels)
    assert want["video"].std() > 0.01  # not a trivially constant output
    from_image = loaded.signatures[api.PREDICT_FROM_IMAGE](image=tf.constant(pixels))
    from_bytes = loaded.signatures[api.SERVING_DEFAULT](
        image_bytes=tf.constant([png(p) for p in pixels]))
    for outputs in (from_image, from_bytes):
        assert outputs["video"].dtype == tf.uint8
        np.testing.assert_allclose(outputs["video"].numpy() / 127.5 - 1, want["video"],
                                   atol=1 / 127.5 + 1e-6)
        np.testing.assert_allclose(outputs["mask"].numpy() / 255.0, want["mask"],
                                   atol=0.5 / 255 + 1e-6)
        np.testing.assert_allclose(outputs["background"].numpy() / 127.5 - 1,
                                   want["background"], atol=1 / 127.5 + 1e-6)
    np.testing.assert_array_equal(from_image["video"], from_bytes["video"])


def test_image_bytes_are_centre_cropped_and_resized(exported):
    _, loaded = exported
    wide = rgb(1, seed=3, shape=(32, 48))[0]
    served = loaded.signatures[api.SERVING_DEFAULT](image_bytes=tf.constant([png(wide)]))
    square = images.prepare_image(wide[:, 8:40], 16).numpy()
    direct = loaded.signatures[api.PREDICT_FROM_IMAGE](image=tf.constant(square[None]))
    np.testing.assert_array_equal(served["video"], direct["video"])
    whole = images.prepare_image(wide, 16, crop="none").numpy()
    assert np.abs(whole.astype(int) - square.astype(int)).max() > 10


def test_gif_and_strip_signatures(exported):
    _, loaded = exported
    data = tf.constant([png(p) for p in rgb(2)])
    video = loaded.signatures[api.SERVING_DEFAULT](image_bytes=data)["video"].numpy()
    strips = loaded.signatures[api.PREDICT_JPEG_STRIP](image_bytes=data)["strip_bytes"]
    strip = video_files.decode_strip(strips.numpy()[0], SIZES.frames)
    assert strip.shape == video[0].shape
    assert np.abs(strip.astype(int) - video[0].astype(int)).mean() < 8  # JPEG q90
    gifs = loaded.signatures[api.PREDICT_GIF](image_bytes=data)["gif_bytes"].numpy()
    assert gifs[0][:6] == b"GIF89a"


@pytest.mark.parametrize("bad,match", [
    (b"", "image_bytes: a row is empty"),
    (b"hello, not an image", "image_bytes: a row is not a JPEG, PNG"),
    ("truncated_jpeg", "image_bytes: a JPEG row is truncated"),
    ("truncated_png", "image_bytes: a PNG row is truncated"),
])
def test_bad_rows_fail_naming_the_input(exported, bad, match):
    _, loaded = exported
    if bad == "truncated_jpeg":
        bad = tf.io.encode_jpeg(rgb(1)[0]).numpy()[:-40]
    elif bad == "truncated_png":
        bad = png(rgb(1)[0])[:-30]
    good = png(rgb(1)[0])
    with pytest.raises(tf.errors.InvalidArgumentError, match=match):
        loaded.signatures[api.SERVING_DEFAULT](image_bytes=tf.constant([good, bad]))


def test_batch_guard_in_the_graph(exported):
    _, loaded = exported
    with pytest.raises(tf.errors.InvalidArgumentError, match="between 1 and 4"):
        loaded.signatures[api.PREDICT_FROM_IMAGE](image=tf.constant(rgb(MAX_BATCH + 1)))


def test_warmup_requests_cover_every_signature(exported):
    path, loaded = exported
    requests = warmup.read_warmup_requests(path)
    assert len(requests) == 2 * len(api.PREDICTOR_SIGNATURES)
    assert {r.model_spec.name for r in requests} == {api.PREDICTOR_MODEL}
    for request in requests:  # every warm-up request runs
        inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
        outputs = loaded.signatures[request.model_spec.signature_name](**{
            k: tf.constant(v) for k, v in inputs.items()})
        assert outputs


@pytest.mark.slow
def test_cli_loader_gives_the_same_pixels_from_every_form(predictor, exported, tmp_path):
    path, _ = exported
    keras_file = str(tmp_path / "predictor.keras")
    predictor.save(keras_file)
    pixels = rgb(2, seed=5)
    from_saved = load_predictor(os.path.dirname(path))(pixels)  # the model folder
    from_keras = load_predictor(keras_file)(pixels)
    assert from_saved["video"].shape == (2, SIZES.frames, 16, 16, 3)
    for name in ("video", "mask", "background"):
        assert np.abs(from_saved[name].astype(int) - from_keras[name].astype(int)).max() <= 1
