"""Shared fixtures: tiny network sizes and quiet TensorFlow.

Keras (and so TensorFlow) is imported by the fixtures, not here: with `-n 2` the pytest
process that hands tests to the workers loads this file but runs no test, and an import
here printed TensorFlow's start-up lines into its terminal at the end of every run."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

from vgan_tf import config as config_lib  # noqa: E402


@pytest.fixture
def tiny():
    """8 frames of 16x16, z of 16, base width 8: every layer of the paper, a few KB."""
    return config_lib.TINY


@pytest.fixture(autouse=True)
def _fixed_seed():
    import keras

    keras.utils.set_random_seed(1234)
    yield
