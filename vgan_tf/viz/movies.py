"""Pictures of a generator: sample grids as GIF and MP4, the original's parts, and a
latent interpolation between two seeds (slerp). What `vgan-generate` writes.

`write_generated(source, out_dir, GenerateOptions(...))` takes any object with `latent_dim` and
`parts_from_z(z)` -> {"video" [b, T, H, W, 3] in [-1, 1], optional "foreground",
"mask" [b, T, H, W, 1] in [0, 1], "background" [b, H, W, 3]} (numpy), e.g. a
`vgan_tf.metrics.model_sources.VideoSource`, and writes into out_dir:

  samples.gif, samples.mp4      the grid of the videos of seeds seed .. seed + num - 1
  mask.gif, background.png      where the model has a mask and a background (a SavedModel
                                export serves them; a one-stream generator has none)
  foreground.gif, masked_foreground.gif   where it has a foreground (Keras sources)
  interpolation.gif             one row of `steps` videos along slerp(z_a, z_b)
  interpolation.png             the first frames of that row (a strip)
  frame_strips.png              every second frame of the first (up to) four videos, each
                                with its mask beneath where the model has one

`write_sample_files(source, folder, num, seed)` writes one GIF per seed instead
(`seed_<s>.gif`), e.g. the generated side of `vgan-evaluate` or another program's FVD.
"""
from __future__ import annotations

import dataclasses
import os

import numpy as np
from PIL import Image

from vgan_tf import sampling
from vgan_tf.config_flags import section, setting
from vgan_tf.viz import grid, video_files


@dataclasses.dataclass(frozen=True)
class GenerateOptions:
    """What `write_generated` writes (each field is a flag of vgan-generate)."""

    num: int = setting(16, "Videos in the sample grid.", minimum=1)
    seed: int = setting(0, "First seed of the sample grid.")
    interpolate: str = setting("0,1", "Two seeds to interpolate between (slerp), "
                               "comma-separated.")
    steps: int = setting(8, "Videos along the interpolation.", minimum=2)
    fps: float = setting(8.0, "Frames per second of the GIFs and the MP4.", minimum=0.1)
    scale: int = setting(1, "Enlarge pictures by pixel repetition.", minimum=1)
    cols: int | None = setting(None, "Columns of the sample grid (default: about square).",
                               minimum=1)

    def __post_init__(self):
        if not isinstance(self.interpolate, str):  # a pair of ints from Python
            object.__setattr__(self, "interpolate", ",".join(str(int(s))
                                                             for s in self.interpolate))
        self.seeds  # noqa: B018 (validates)

    @property
    def seeds(self) -> tuple:
        """The two interpolation seeds as integers."""
        parts = [p.strip() for p in self.interpolate.split(",")]
        try:
            seeds = tuple(int(p) for p in parts)
        except ValueError:
            seeds = ()
        if len(seeds) != 2:
            raise ValueError(f"--interpolate must be two integer seeds, got "
                             f"{self.interpolate!r}")
        return seeds


@dataclasses.dataclass(frozen=True)
class GenerateConfig:
    """vgan-generate's flags."""

    generator: str = setting("", "Training directory, .keras file or SavedModel folder.")
    out_dir: str = setting("", "Folder for the pictures (created).")
    sample_files: int = setting(0, "Also write this many videos as one GIF each into "
                                "<out_dir>/samples/ (0: none).", minimum=0)
    options: GenerateOptions = section(GenerateOptions, "The pictures.")


def slerp(a, b, t) -> np.ndarray:
    """Spherical interpolation between vectors a and b at fractions t ([k] -> [k, d]);
    linear where a and b are (nearly) parallel."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    t = np.asarray(t, np.float64)[:, None]
    cos = np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b))
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if np.sin(omega) < 1e-6:
        return ((1 - t) * a + t * b).astype(np.float32)
    out = (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)
    return out.astype(np.float32)


def write_mp4(path: str, video, fps: float = 8.0) -> str:
    """An MPEG-4 (mp4v) file of a uint8 video [T, H, W, 3] (OpenCV's writer)."""
    import cv2

    video = np.asarray(video)
    if video.dtype != np.uint8 or video.ndim != 4 or video.shape[-1] != 3:
        raise ValueError(f"a video must be uint8 [frames, height, width, 3], got "
                         f"{video.dtype} {list(video.shape)}")
    height, width = video.shape[1:3]
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), float(fps),
                             (width, height))
    if not writer.isOpened():
        raise OSError(f"OpenCV cannot write an MP4 file at {path}")
    try:
        for frame in video:
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
    return path


def _pixels(values, low=-1.0, high=1.0) -> np.ndarray:
    out = sampling.to_uint8(values, low, high).numpy()
    return np.repeat(out, 3, axis=-1) if out.shape[-1] == 1 else out


def _grid(pixels: np.ndarray, cols=None) -> np.ndarray:
    return grid.image_grid(pixels, cols) if pixels.ndim == 4 else grid.video_grid(pixels, cols)


def _scaled(picture: np.ndarray, scale: int) -> np.ndarray:
    if scale > 1:
        picture = np.repeat(np.repeat(picture, scale, axis=-3), scale, axis=-2)
    return picture


def _batched_parts(source, z, batch_size: int) -> dict:
    chunks = [source.parts_from_z(z[i:i + batch_size]) for i in range(0, len(z), batch_size)]
    return {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}


def generated_pictures(source, num: int = 16, seed: int = 0, interpolate=(0, 1),
                       steps: int = 8, cols: int | None = None, batch_size: int = 16) -> dict:
    """name -> uint8 picture (a video [T, H', W', 3] or an image [H', W', 3]); the names
    of the module docstring without extensions, plus "samples" (the video grid)."""
    from vgan_tf.validation import positive_int

    positive_int("num", num)
    positive_int("steps", steps)
    z = sampling.latents_for_seeds(np.arange(seed, seed + num, dtype=np.int64),
                                   source.latent_dim).numpy()
    parts = _batched_parts(source, z, batch_size)
    pictures = {"samples": _grid(_pixels(parts["video"]), cols)}
    if "mask" in parts:
        pictures["mask"] = _grid(_pixels(parts["mask"], 0.0, 1.0), cols)
    if "background" in parts:
        pictures["background"] = _grid(_pixels(parts["background"]), cols)
    if "foreground" in parts and "mask" in parts:
        mask = parts["mask"]
        pictures["foreground"] = _grid(_pixels(parts["foreground"]), cols)
        pictures["masked_foreground"] = _grid(
            _pixels(mask * parts["foreground"] + (1.0 - mask)), cols)
    ends = sampling.latents_for_seeds(np.asarray(interpolate, np.int64),
                                      source.latent_dim).numpy()
    path = slerp(ends[0], ends[1], np.linspace(0.0, 1.0, steps))
    row = _pixels(_batched_parts(source, path, batch_size)["video"])
    pictures["interpolation"] = grid.video_grid(row, cols=steps)
    pictures["interpolation_strip"] = grid.image_grid(row[:, 0], cols=steps)
    pictures["frame_strips"] = strips_of_parts(parts, min(num, 4))
    return pictures


def write_generated(source, out_dir: str, options: GenerateOptions | None = None) -> list:
    """Writes the files of the module docstring; returns their paths."""
    o = options or GenerateOptions()
    fps = o.fps
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for name, picture in generated_pictures(source, o.num, o.seed, o.seeds, o.steps,
                                            o.cols).items():
        picture = _scaled(picture, o.scale)
        if name == "interpolation_strip":
            path = os.path.join(out_dir, "interpolation.png")
            Image.fromarray(picture).save(path)
        elif picture.ndim == 4:
            path = video_files.write_gif(os.path.join(out_dir, f"{name}.gif"), picture, fps)
            if name == "samples":
                written.append(path)
                path = write_mp4(os.path.join(out_dir, "samples.mp4"), picture, fps)
        else:
            path = os.path.join(out_dir, f"{name}.png")
            Image.fromarray(picture).save(path)
        written.append(path)
    return written


def write_sample_files(source, folder: str, num: int, seed: int = 0, fps: float = 8.0,
                       batch_size: int = 16, progress=None) -> list:
    """`folder`/seed_<s>.gif for seeds seed .. seed + num - 1 (each written under a
    temporary name, then renamed); `progress(done, num)` after each batch; the paths."""
    from vgan_tf.validation import positive_int

    positive_int("num", num)
    os.makedirs(folder, exist_ok=True)
    written = []
    for start in range(seed, seed + num, batch_size):
        seeds = np.arange(start, min(seed + num, start + batch_size), dtype=np.int64)
        z = sampling.latents_for_seeds(seeds, source.latent_dim).numpy()
        for s, video in zip(seeds, _pixels(source.parts_from_z(z)["video"])):
            path = os.path.join(folder, f"seed_{int(s):06d}.gif")
            video_files.write_gif(path + ".tmp", video, fps)
            os.replace(path + ".tmp", path)
            written.append(path)
        if progress is not None:
            progress(len(written), num)
    return written


def frame_strips(source, seeds, every: int = 2, scale: int = 1) -> np.ndarray:
    """uint8 [H', W', 3]: for each seed one row of its video's frames 0, every, 2 * every..
    and, where the model has a mask, a row of the same frames of the mask beneath it (the
    picture of docs/demo.md)."""
    from vgan_tf.validation import positive_int

    positive_int("every", every)
    return _scaled(strips_of_parts(source.parts(np.asarray(seeds, np.int64)), len(seeds),
                                   every), scale)


def strips_of_parts(parts: dict, count: int, every: int = 2) -> np.ndarray:
    """frame_strips' picture of the first `count` videos of `parts` (unscaled)."""
    rows = []
    for i in range(count):
        rows.append(_pixels(parts["video"][i, ::every]))
        if "mask" in parts:
            rows.append(_pixels(parts["mask"][i, ::every], 0.0, 1.0))
    frames = np.stack(rows)  # [rows, frames, H, W, 3]
    return grid.image_grid(frames.reshape(-1, *frames.shape[2:]), cols=frames.shape[1])
