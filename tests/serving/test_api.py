"""vgan_tf.serving.api: plain data, importable without TensorFlow."""
import subprocess
import sys

import pytest

from tests.helpers import REPO
from vgan_tf import serving
from vgan_tf.serving import api


def test_batch_shape_resolves_size_names():
    video = api.GENERATOR_SIGNATURES[api.SERVING_DEFAULT].outputs[api.VIDEO]
    assert video.batch_shape(frames=8, height=16, width=16) == [-1, 8, 16, 16, 3]
    assert api.GENERATOR_SIGNATURES[api.SERVING_DEFAULT].inputs[api.SEED].batch_shape() == [-1]
    with pytest.raises(ValueError, match="frames"):
        video.batch_shape(height=16, width=16)


@pytest.mark.slow
def test_importing_the_api_and_the_package_loads_no_tensorflow():
    code = ("import sys, vgan_tf.serving.api, vgan_tf.serving\n"
            "loaded = [m for m in ('tensorflow', 'keras', 'grpc') if m in sys.modules]\n"
            "print(','.join(loaded))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == ""


def test_package_names_load_on_first_use():
    assert serving.GrpcClient.__module__ == "vgan_tf.serving.grpc_client"
    assert serving.DevServer.__module__ == "vgan_tf.serving.dev_server"
    assert serving.api is api
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        serving.nope  # noqa: B018
    assert set(serving.__all__) <= set(dir(serving))
