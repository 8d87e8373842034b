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
from vgan_tf.viz import grid, video_files


def _pixels(values, low: float = -1.0, high: float = 1.0) -> np.ndarray:
    """uint8 RGB pixels of float values in [low, high] (1-channel masks become grey RGB)."""
    out = sampling.to_uint8(values, low, high).numpy()
    return np.repeat(out, 3, axis=-1) if out.shape[-1] == 1 else out


def sample_uint8(generator, num: int = 16, seed: int = 0) -> tuple:
    """Samples seeds seed .. seed + num - 1 as (float parts, uint8 parts).

    The uint8 parts: "video" and, for two-stream generators, "foreground", "mask" and
    "masked_foreground" as [num, T, H, W, 3] and "background" as [num, H, W, 3]; the same
    pixels as the exported model's uint8 outputs (`sampling.to_uint8`).
    """
    parts = sampling.sample(generator, num, seed=seed, parts=True)
    pixels = {"video": _pixels(parts["video"])}
    if "mask" in parts:
        mask = parts["mask"]
        pixels["foreground"] = _pixels(parts["foreground"])
        pixels["mask"] = _pixels(mask, 0.0, 1.0)
        # The foreground where the mask is on, white elsewhere (as in generate.lua).
        pixels["masked_foreground"] = _pixels(mask * parts["foreground"] + (1.0 - mask))
        pixels["background"] = _pixels(parts["background"])
    return parts, pixels


def sample_pictures(generator, num: int = 16, seed: int = 0, cols: int | None = None) -> dict:
    """Name -> uint8 grid: videos [T, H', W', 3] for the *.gif, an image for background."""
    _, pixels = sample_uint8(generator, num, seed)
    return {name: (grid.image_grid(value, cols) if name == "background"
                   else grid.video_grid(value, cols))
            for name, value in pixels.items()}


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
