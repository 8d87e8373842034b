"""Tiling batches of videos and images into one picture (numpy, no TensorFlow).

Videos come in as uint8 [n, frames, height, width, channels] (floats become pixels with
`vgan_tf.sampling.to_uint8`) and leave as uint8 grids [frames, rows*(h+pad)+pad, ...].
"""
from __future__ import annotations

import math

import numpy as np


def grid_shape(n: int, cols: int | None = None) -> tuple:
    cols = cols or int(math.ceil(math.sqrt(n)))
    return int(math.ceil(n / cols)), cols


def video_grid(videos_uint8, cols: int | None = None, pad: int = 1) -> np.ndarray:
    """[n, T, H, W, 3] uint8 -> [T, rows*(H+pad)+pad, cols*(W+pad)+pad, 3] uint8."""
    videos = np.asarray(videos_uint8)
    if videos.ndim != 5:
        raise ValueError(f"expected videos [n, frames, height, width, 3], got {videos.shape}")
    n, t, h, w, c = videos.shape
    rows, cols = grid_shape(n, cols)
    out = np.full((t, rows * (h + pad) + pad, cols * (w + pad) + pad, c), 255, np.uint8)
    for i in range(n):
        r, k = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + k * (w + pad)
        out[:, y:y + h, x:x + w] = videos[i]
    return out


def image_grid(images_uint8, cols: int | None = None, pad: int = 1) -> np.ndarray:
    """[n, H, W, 3] uint8 -> one uint8 image."""
    return video_grid(np.asarray(images_uint8)[:, None], cols, pad)[0]
