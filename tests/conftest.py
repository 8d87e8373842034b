"""Shared fixtures: tiny network sizes and quiet TensorFlow."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import pytest  # noqa: E402

from vgan_tf import config as config_lib  # noqa: E402


@pytest.fixture
def tiny():
    """8 frames of 16x16, z of 16, base width 8: every layer of the paper, a few KB."""
    return config_lib.TINY


@pytest.fixture(autouse=True)
def _fixed_seed():
    keras.utils.set_random_seed(1234)
    yield
