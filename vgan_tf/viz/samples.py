"""The sample set of the original generate.lua: video, foreground, mask, background.

`write_samples` generates videos for fixed seeds in inference mode and writes, into one
folder: video.gif (the grid of generated videos), and for two-stream generators
foreground.gif, mask.gif, masked_foreground.gif and background.png.
"""
from __future__ import annotations

import os

import numpy as np
from PIL import Image

from vgan_tf import sampling
from vgan_tf.viz import video_files
from vgan_tf.viz import grid


def sample_pictures(generator, num: int = 16, seed: int = 0, cols: int | None = None) -> dict:
    """Name -> uint8 grid: videos [T, H', W', 3] for the *.gif, an image for background."""
    parts = sampling.sample(generator, num, seed=seed, parts=True)
    pictures = {"video": grid.video_grid(grid.to_uint8(parts["video"]), cols)}
    if "mask" in parts:
        mask = parts["mask"]
        pictures["foreground"] = grid.video_grid(grid.to_uint8(parts["foreground"]), cols)
        pictures["mask"] = grid.video_grid(grid.to_uint8(mask, 0.0, 1.0), cols)
        # The foreground where the mask is on, white elsewhere (as in generate.lua).
        masked = mask * parts["foreground"] + (1.0 - mask) * 1.0
        pictures["masked_foreground"] = grid.video_grid(grid.to_uint8(masked), cols)
        pictures["background"] = grid.image_grid(grid.to_uint8(parts["background"]), cols)
    return pictures


def write_samples(generator, out_dir: str, num: int = 16, seed: int = 0, fps: float = 8.0,
                  scale: int = 1) -> list:
    """Writes the sample set to out_dir; returns the written paths.

    `scale` enlarges pictures by pixel repetition (tiny videos are hard to see).
    """
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for name, picture in sample_pictures(generator, num, seed).items():
        if scale > 1:
            picture = np.repeat(np.repeat(picture, scale, axis=-3), scale, axis=-2)
        if picture.ndim == 4:
            path = os.path.join(out_dir, f"{name}.gif")
            video_files.write_gif(path, picture, fps)
        else:
            path = os.path.join(out_dir, f"{name}.png")
            Image.fromarray(picture).save(path)
        written.append(path)
    return written
