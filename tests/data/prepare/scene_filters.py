"""A scene filter for the tests, named as users name theirs: 'module:function'."""
import os

import numpy as np


def bright_middle(frame: np.ndarray) -> bool:
    """Keeps frames whose mean value is above 100 (uint8 RGB)."""
    return float(frame.mean()) > 100


PIDS_FILE = "VGAN_TEST_PIDS_FILE"
"""The environment variable naming the file `record_process` appends to."""


def record_process(frame: np.ndarray) -> bool:
    """Keeps every clip and appends this process's id to the file named by the
    environment variable PIDS_FILE (which processes prepared the clips: worker
    subprocesses inherit the environment)."""
    del frame
    with open(os.environ[PIDS_FILE], "a") as f:
        f.write(f"{os.getpid()}\n")
    return True
