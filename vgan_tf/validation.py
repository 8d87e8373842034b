"""Checks of user-given values, shared by configs and models (no TensorFlow import)."""
from __future__ import annotations


def positive_int(name: str, value) -> int:
    """Returns `value` if it is an int >= 1 (bool is not); raises ValueError naming `name`.

    `name` is what the user typed: a field ("frames") or a flag ("--batch_size").
    """
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value
