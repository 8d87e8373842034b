"""A scene filter for the tests, named as users name theirs: 'module:function'."""
import numpy as np


def bright_middle(frame: np.ndarray) -> bool:
    """Keeps frames whose mean value is above 100 (uint8 RGB)."""
    return float(frame.mean()) > 100
