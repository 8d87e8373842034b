"""The exported future predictor behind the development server: gRPC and REST clients send
image files (REST as b64), bad requests are INVALID_ARGUMENT naming the input and the
server keeps answering; the client binary takes --image."""
import io
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tests.helpers import REPO
from tests.serving import probes
from vgan_tf import config, export
from vgan_tf.models import FuturePredictor
from vgan_tf.serving import DevServer, GrpcClient, RestClient, ServingError, api
from vgan_tf.serving import files
from vgan_tf.viz import video_files

SIZES = config.TINY


def encoded(image, fmt):
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = str(tmp_path_factory.mktemp("models"))
    predictor = FuturePredictor(SIZES.frames, SIZES.size, SIZES.base_width)
    for variable in predictor.trainable_variables:  # outputs across the uint8 range
        if "kernel" in variable.path:
            variable.assign(variable * 12.0)
    path = export.export_predictor(predictor, base, warmup_batch_sizes=())
    with DevServer.from_export_base(base) as running:
        running.direct = tf.saved_model.load(path)
        yield running


@pytest.fixture
def images():
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (24, 20, 3), dtype=np.uint8) for _ in range(2)]


@pytest.mark.slow
@pytest.mark.parametrize("protocol", ["grpc", "rest"])
def test_clients_send_image_files(server, images, protocol):
    data = [encoded(images[0], "JPEG"), encoded(images[1], "PNG")]
    direct = server.direct.signatures[api.SERVING_DEFAULT](image_bytes=tf.constant(data))
    client = (GrpcClient(server.grpc_address, model_name=api.PREDICTOR_MODEL)
              if protocol == "grpc" else
              RestClient(server.rest_url, model_name=api.PREDICTOR_MODEL))
    with client:
        outputs = client.predict_images(data)
        assert outputs["video"].dtype == np.uint8
        assert outputs["video"].shape == (2, SIZES.frames, 16, 16, 3)
        np.testing.assert_array_equal(outputs["video"], direct["video"].numpy())
        np.testing.assert_array_equal(outputs["mask"], direct["mask"].numpy())
        gifs = client.predict_images(data, api.PREDICT_GIF)["gif_bytes"]
        assert bytes(gifs[0])[:6] == b"GIF89a"


@pytest.mark.parametrize("protocol", ["grpc", "rest"])
@pytest.mark.parametrize("bad,needle", [
    (b"", "image_bytes: a row is empty"),
    (b"GIF? no, just text", "image_bytes: a row is not a JPEG, PNG"),
    ("truncated", "image_bytes: a JPEG row is truncated"),
])
def test_bad_images_are_invalid_argument_and_the_server_keeps_answering(
        server, images, protocol, bad, needle):
    if bad == "truncated":
        bad = encoded(images[0], "JPEG")[:-50]
    client = (GrpcClient(server.grpc_address, model_name=api.PREDICTOR_MODEL)
              if protocol == "grpc" else
              RestClient(server.rest_url, model_name=api.PREDICTOR_MODEL))
    with client:
        with pytest.raises(ServingError) as error:
            client.predict_images([encoded(images[0], "PNG"), bad])
        assert error.value.code == "INVALID_ARGUMENT" and needle in error.value.message
        with pytest.raises(ServingError) as error:  # wrong dtype: names the input
            client.predict({api.IMAGE: np.zeros((1, 16, 16, 3), np.float32)},
                           api.PREDICT_FROM_IMAGE)
        assert error.value.code == "INVALID_ARGUMENT" and "image" in error.value.message
        ok = client.predict_images([encoded(images[1], "PNG")])  # still answering
        assert ok["video"].shape[0] == 1


def test_predict_to_files_names_files_after_the_inputs(server, images, tmp_path):
    paths = []
    for i, image in enumerate(images):
        paths.append(str(tmp_path / f"photo{i}.png"))
        Image.fromarray(image).save(paths[-1])
    with GrpcClient(server.grpc_address, model_name=api.PREDICTOR_MODEL) as client:
        written = files.predict_to_files(client, paths, str(tmp_path / "out"))
    names = sorted(os.path.basename(p) for p in written)
    assert names == sorted(f"photo{i}{s}" for i in range(2) for s in
                           (".gif", "_strip.jpg", "_mask.gif", "_mask_strip.jpg"))
    strip = video_files.decode_strip(open(tmp_path / "out" / "photo0_strip.jpg", "rb").read(),
                                     SIZES.frames)
    assert strip.shape == (SIZES.frames, 16, 16, 3)


@pytest.mark.slow
def test_client_binary_takes_images(server, images, tmp_path):
    image_path = tmp_path / "still.jpg"
    Image.fromarray(images[0]).save(image_path)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=REPO)
    result = subprocess.run(
        [sys.executable, "-m", "tools.serving_client", f"--server={server.rest_url}",
         f"--image={image_path}", f"--out_dir={tmp_path / 'out'}", "--formats=gif"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert probes.CALL_LINE.match(result.stdout.splitlines()[0])[2] == "1", result.stdout
    assert (tmp_path / "out" / "still.gif").stat().st_size > 0
    video = video_files.decode_gif((tmp_path / "out" / "still.gif").read_bytes())
    assert video.shape[1:] == (16, 16, 3)
