"""The sample set of the original generate.lua: video, foreground, mask, background.

`write_samples` generates videos for fixed seeds in inference mode and writes, into one
folder: video.gif (the grid of generated videos), and for two-stream generators
foreground.gif, mask.gif, masked_foreground.gif and background.png.

`write_predictions` does the same for a future predictor and given input images, plus
input.png (the grid of inputs) and beside.gif (each input frame, still, to the left of
the video predicted from it).
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


def _parts_pixels(parts) -> dict:
    pixels = {"video": _pixels(parts["video"])}
    if "mask" in parts:
        mask = parts["mask"]
        pixels["foreground"] = _pixels(parts["foreground"])
        pixels["mask"] = _pixels(mask, 0.0, 1.0)
        # The foreground where the mask is on, white elsewhere (as in generate.lua).
        pixels["masked_foreground"] = _pixels(mask * parts["foreground"] + (1.0 - mask))
        pixels["background"] = _pixels(parts["background"])
    return pixels


def beside(images_uint8: np.ndarray, videos_uint8: np.ndarray) -> np.ndarray:
    """[n, H, W, 3] inputs and [n, T, H, W, 3] videos -> [n, T, H, 2W, 3]: each input,
    still, to the left of its video."""
    frames = videos_uint8.shape[1]
    still = np.repeat(images_uint8[:, None], frames, axis=1)
    return np.concatenate([still, videos_uint8], axis=3)


def predict_parts(predictor, images, batch_size: int = 16) -> dict:
    """The predictor's parts for images [n, H, W, 3] in [-1, 1] (inference mode), as
    numpy arrays."""
    images = np.asarray(images, np.float32)
    chunks = [{k: v.numpy() for k, v in predictor.generate_parts(
        images[start:start + batch_size], training=False).items()}
        for start in range(0, len(images), batch_size)]
    return {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}


def predict_uint8(predictor, images, batch_size: int = 16) -> tuple:
    """(float parts, uint8 parts) of the videos predicted from images [n, H, W, 3] in
    [-1, 1]: the parts of sample_uint8, plus "input" [n, H, W, 3] and "beside"
    [n, T, H, 2W, 3] (input left of prediction)."""
    parts = predict_parts(predictor, images, batch_size)
    pixels = _parts_pixels(parts)
    pixels["input"] = _pixels(np.asarray(images, np.float32))
    pixels["beside"] = beside(pixels["input"], pixels["video"])
    return parts, pixels


def sample_uint8(generator, num: int = 16, seed: int = 0) -> tuple:
    """Samples seeds seed .. seed + num - 1 as (float parts, uint8 parts).

    The uint8 parts: "video" and, for two-stream generators, "foreground", "mask" and
    "masked_foreground" as [num, T, H, W, 3] and "background" as [num, H, W, 3]; the same
    pixels as the exported model's uint8 outputs (`sampling.to_uint8`).
    """
    parts = sampling.sample(generator, num, seed=seed, parts=True)
    return parts, _parts_pixels(parts)


def _grids(pixels: dict, cols) -> dict:
    return {name: (grid.image_grid(value, cols) if value.ndim == 4
                   else grid.video_grid(value, cols))
            for name, value in pixels.items()}


def sample_pictures(generator, num: int = 16, seed: int = 0, cols: int | None = None) -> dict:
    """Name -> uint8 grid: videos [T, H', W', 3] for the *.gif, an image for background."""
    return _grids(sample_uint8(generator, num, seed)[1], cols)


def prediction_pictures(predictor, images, cols: int | None = None) -> dict:
    """Name -> uint8 grid for the videos predicted from `images` (see predict_uint8)."""
    return _grids(predict_uint8(predictor, images)[1], cols)


def write_samples(generator, out_dir: str, num: int = 16, seed: int = 0, fps: float = 8.0,
                  scale: int = 1) -> list:
    """Writes the sample set to out_dir; returns the written paths.

    `scale` enlarges pictures by pixel repetition (tiny videos are hard to see).
    """
    return _write_pictures(sample_pictures(generator, num, seed), out_dir, fps, scale)


def write_predictions(predictor, images, out_dir: str, fps: float = 8.0,
                      scale: int = 1) -> list:
    """Writes the pictures of the videos predicted from `images` [n, H, W, 3] in [-1, 1]
    (video.gif, beside.gif, input.png, foreground.gif, mask.gif, masked_foreground.gif,
    background.png) to out_dir; returns the written paths."""
    return _write_pictures(prediction_pictures(predictor, images), out_dir, fps, scale)


def _write_pictures(pictures: dict, out_dir: str, fps: float, scale: int) -> list:
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for name, picture in pictures.items():
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
