"""Frames for the data tests."""
import numpy as np
import tensorflow as tf


def random_frames(t, s, seed=0):
    """[t, s, s, 3] uint8 of smooth random content (JPEG round trips stay close)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(t, 4, 4, 3)).astype(np.float32)
    big = tf.image.resize(small, [s, s], method="bilinear").numpy()
    return np.clip(big, 0, 255).astype(np.uint8)
