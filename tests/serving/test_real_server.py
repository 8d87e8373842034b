"""The client against a real TF Serving server, when there is one.

Runs against VGAN_TF_SERVING_ADDRESS (gRPC host:port; VGAN_TF_SERVING_REST optionally gives
the REST URL) serving a model named VGAN_TF_SERVING_MODEL (default "generator") and, where
VGAN_TF_SERVING_PREDICTOR names one, a future predictor; or, when `tensorflow_model_server`
is on PATH, exports a tiny generator and a tiny predictor and starts the binary with a
--model_config_file naming both. Skipped otherwise, with the reason (pytest -ra shows it).
"""
import os
import shutil
import socket
import subprocess
import time
import urllib.request

import io

import numpy as np
import pytest
from PIL import Image

from vgan_tf import config, export
from vgan_tf.serving import GrpcClient, RestClient, ServingError, api, files
from vgan_tf.models import FuturePredictor, TwoStreamGenerator

ADDRESS = os.environ.get("VGAN_TF_SERVING_ADDRESS")
REST = os.environ.get("VGAN_TF_SERVING_REST")
MODEL = os.environ.get("VGAN_TF_SERVING_MODEL", "generator")
PREDICTOR = os.environ.get("VGAN_TF_SERVING_PREDICTOR",
                           None if ADDRESS else api.PREDICTOR_MODEL)
BINARY = shutil.which("tensorflow_model_server")

pytestmark = [
    pytest.mark.skipif(
        not ADDRESS and not BINARY,
        reason="no real TF Serving: tensorflow_model_server is not on PATH and "
               "VGAN_TF_SERVING_ADDRESS (gRPC host:port) is not set"),
    pytest.mark.slow,  # starts tensorflow_model_server where there is one
]


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def model_config(base, names) -> str:
    """A --model_config_file text naming each model under `base` (parsed back with
    tensorflow-serving-api's proto, so a typo fails here, not in the server)."""
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    message = model_server_config_pb2.ModelServerConfig()
    for name in names:
        entry = message.model_config_list.config.add()
        entry.name, entry.base_path, entry.model_platform = name, str(base / name), \
            "tensorflow"
    text = text_format.MessageToString(message)
    text_format.Parse(text, model_server_config_pb2.ModelServerConfig())
    return text


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if ADDRESS:
        yield ADDRESS, REST, None
        return
    base = tmp_path_factory.mktemp("models")
    sizes = config.TINY
    generator = TwoStreamGenerator(sizes.frames, sizes.size, sizes.latent_dim,
                                   sizes.base_width)
    export.export_generator(generator, str(base), model_name=MODEL)
    predictor = FuturePredictor(sizes.frames, sizes.size, sizes.base_width)
    predictor_dir = export.export_predictor(predictor, str(base), model_name=PREDICTOR)
    config_file = base / "models.config"
    config_file.write_text(model_config(base, [MODEL, PREDICTOR]))
    grpc_port, rest_port = _free_port(), _free_port()
    process = subprocess.Popen(
        [BINARY, f"--port={grpc_port}", f"--rest_api_port={rest_port}",
         f"--model_config_file={config_file}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rest = f"http://127.0.0.1:{rest_port}"
    deadline = time.time() + 60
    for name in (MODEL, PREDICTOR):
        while True:
            try:
                with urllib.request.urlopen(f"{rest}/v1/models/{name}", timeout=2) as reply:
                    if b"AVAILABLE" in reply.read():
                        break
            except OSError:
                pass
            if time.time() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail(f"tensorflow_model_server did not serve {name} within 60 s")
            time.sleep(0.5)
    try:
        yield f"127.0.0.1:{grpc_port}", rest, predictor_dir
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_grpc_and_rest_against_a_real_server(server, tmp_path):
    address, rest, _ = server
    with GrpcClient(address, model_name=MODEL) as client:
        batch = client.generate([3, 5, 9])
        alone = client.generate([5])
        assert batch["video"].dtype == np.uint8 and batch["video"].ndim == 5
        np.testing.assert_array_equal(batch["video"][1], alone["video"][0])
        assert "serving_default" in client.metadata()
        paths = files.write_videos(alone, [5], str(tmp_path))
        assert all(os.path.getsize(p) > 0 for p in paths)
        with pytest.raises(ServingError) as error:
            client.predict({"seed": np.array([1], np.int32)})
        assert error.value.code == "INVALID_ARGUMENT"
        np.testing.assert_array_equal(client.generate([5])["video"], alone["video"])
    with GrpcClient(address, model_name=MODEL, max_batch=10 ** 6) as client:
        with pytest.raises(ServingError) as error:  # the in-graph guard
            client.predict({"seed": np.zeros([300], np.int64)})
        assert error.value.code == "INVALID_ARGUMENT" and "batch size" in error.value.message
    with GrpcClient(address, model_name="no_such_model") as client:
        with pytest.raises(ServingError) as error:
            client.generate([1])
        assert error.value.code == "NOT_FOUND"
    if rest:
        for form in ("inputs", "instances"):
            client = RestClient(rest, model_name=MODEL, form=form)
            np.testing.assert_array_equal(client.generate([5])["video"], alone["video"])
            strip = client.generate_jpeg_strips([5])[0]
            assert strip[:2] == b"\xff\xd8"
            assert client.generate_gifs([5])[0][:6] == b"GIF89a"


def _png(image) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.skipif(not PREDICTOR, reason="VGAN_TF_SERVING_PREDICTOR names no predictor on "
                    "the server at VGAN_TF_SERVING_ADDRESS")
def test_the_predictor_against_a_real_server(server, tmp_path):
    """Image bytes in, uint8 video out, equal to the exported graph run in this process
    where the test exported it; bad images are INVALID_ARGUMENT and the server keeps
    answering."""
    address, rest, predictor_dir = server
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (24, 20, 3), dtype=np.uint8) for _ in range(2)]
    data = [_png(image) for image in images]
    with GrpcClient(address, model_name=PREDICTOR) as client:
        outputs = client.predict_images(data)
        video = outputs["video"]
        assert video.dtype == np.uint8 and video.ndim == 5 and len(video) == 2
        np.testing.assert_array_equal(client.predict_images(data[1:])["video"][0], video[1])
        if predictor_dir is not None:
            import tensorflow as tf
            direct = tf.saved_model.load(predictor_dir).signatures[api.SERVING_DEFAULT]
            np.testing.assert_array_equal(
                video, direct(**{api.IMAGE_BYTES: tf.constant(data)})["video"].numpy())
        gif = client.predict_images(data[:1], api.PREDICT_GIF)["gif_bytes"]
        assert bytes(gif[0])[:6] == b"GIF89a"
        for bad, needle in ((b"", "empty"), (b"not an image", "not a JPEG, PNG"),
                            (_png(images[0])[:-30], "")):
            with pytest.raises(ServingError) as error:
                client.predict_images([data[0], bad])
            assert error.value.code == "INVALID_ARGUMENT" and needle in error.value.message
        np.testing.assert_array_equal(client.predict_images(data)["video"], video)
    if rest:
        client = RestClient(rest, model_name=PREDICTOR)
        np.testing.assert_array_equal(client.predict_images(data)["video"], video)
