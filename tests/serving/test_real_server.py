"""The client against a real TF Serving server, when there is one.

Runs against VGAN_TF_SERVING_ADDRESS (gRPC host:port; VGAN_TF_SERVING_REST optionally gives
the REST URL) serving a model named VGAN_TF_SERVING_MODEL (default "generator"), or, when
`tensorflow_model_server` is on PATH, exports a tiny generator and starts the binary.
Skipped otherwise, with the reason (pytest -ra shows it).
"""
import os
import shutil
import socket
import subprocess
import time
import urllib.request

import numpy as np
import pytest

from vgan_tf import config, export
from vgan_tf.serving import GrpcClient, RestClient, ServingError, files
from vgan_tf.models import TwoStreamGenerator

ADDRESS = os.environ.get("VGAN_TF_SERVING_ADDRESS")
REST = os.environ.get("VGAN_TF_SERVING_REST")
MODEL = os.environ.get("VGAN_TF_SERVING_MODEL", "generator")
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
    grpc_port, rest_port = _free_port(), _free_port()
    process = subprocess.Popen(
        [BINARY, f"--port={grpc_port}", f"--rest_api_port={rest_port}",
         f"--model_name={MODEL}", f"--model_base_path={base / MODEL}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rest = f"http://127.0.0.1:{rest_port}"
    deadline = time.time() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{rest}/v1/models/{MODEL}", timeout=2) as reply:
                if b"AVAILABLE" in reply.read():
                    break
        except OSError:
            pass
        if time.time() > deadline or process.poll() is not None:
            process.kill()
            pytest.fail("tensorflow_model_server did not serve the model within 60 s")
        time.sleep(0.5)
    try:
        yield f"127.0.0.1:{grpc_port}", rest, generator
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
