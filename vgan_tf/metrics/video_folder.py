"""Generated videos already on disk (a folder of GIFs or JPEG/PNG strips) as the generated
side of `vgan-evaluate`: samples of another program, of `vgan-generate --sample_files`, or
the predictions `vgan-predict` wrote.

    videos = VideoFolder("predicted/")            # GIFs if the folder has any, else strips
    videos = VideoFolder("strips/", frames=32)    # strips of 32 frames stacked vertically

Files are taken in name order; the folder's own subfolders are not read. A list file
(`.txt`, the data pipeline's format: strip paths relative to the list's folder) stands for
a folder holding exactly its strips, in list order: e.g. the training windows of a
prepared video, as the "generated" side of a real-vs-real floor. A strip's frame
count is `frames`, or (when not given) its height / width (square frames). Files named like
`vgan-predict`'s part pictures (`*_mask.gif`, `*_background.png`) are not videos and are
left out. A file that cannot be read, or whose shape differs from the first good file's,
is skipped, counted (`skipped`) and named on stderr; every file is decoded once to check it
before any is measured (so a run does not end half-way on a bad file), and again when its
batch is read (nothing is held in memory meanwhile).

JPEG strips are decoded by TensorFlow's decoder with the settings of the data pipeline
(`tf.io.decode_jpeg`'s defaults: libjpeg's fast integer IDCT), so a strip gives the pixels
the real side of `vgan-evaluate` reads from the same file (tested): one decoder for both
sides of a metric (docs/metrics.md says why this one). PNG strips and GIFs are read with
Pillow (lossless formats: every decoder gives the same pixels).
"""
from __future__ import annotations

import os
import sys

import numpy as np

GIF_SUFFIXES = (".gif",)
STRIP_SUFFIXES = (".jpg", ".jpeg", ".png")
PART_SUFFIXES = ("_mask.gif", "_background.png")
KINDS = ("auto", "gif", "strip")
JPEG_MAGIC = b"\xff\xd8"


def is_video_folder(path: str) -> bool:
    """A folder holding at least one GIF or strip file (and no model)."""
    return os.path.isdir(path) and any(
        _kind_of(name) is not None for name in os.listdir(path))


def is_list_file(path: str) -> bool:
    """A `.txt` list of strips (the data pipeline's list format)."""
    return os.path.isfile(path) and path.lower().endswith(".txt")


def _kind_of(name: str) -> str | None:
    lower = name.lower()
    if lower.endswith(PART_SUFFIXES):
        return None
    if lower.endswith(GIF_SUFFIXES):
        return "gif"
    if lower.endswith(STRIP_SUFFIXES):
        return "strip"
    return None


class VideoFolder:
    """The videos of a folder (see the module docstring): `video_shape` (frames, h, w, 3),
    `paths` (the good files, in order), `skipped` ({path: reason}) and
    `batches(num, batch_size, seed=0)` -> float32 [b, T, H, W, 3] in [-1, 1], the interface
    `metrics.evaluation.evaluate` takes a generator by."""

    def __init__(self, path: str, frames: int | None = None, kind: str = "auto",
                 stream=None):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        if frames is not None and int(frames) < 1:
            raise ValueError(f"frames must be positive, got {frames}")
        self.path, self.frames = path, frames
        if is_list_file(path):
            from vgan_tf.data import lists

            self.description = f"list {path}"
            names = lists.read_lists([path]).resolve(os.path.dirname(os.path.abspath(path)))
        elif os.path.isdir(path):
            self.description = f"folder {path}"
            names = [os.path.join(path, n) for n in sorted(os.listdir(path))
                     if os.path.isfile(os.path.join(path, n))]
        else:
            raise FileNotFoundError(f"no folder of videos at {path}")
        kinds = {n: _kind_of(n) for n in names}
        if kind == "auto":
            kind = "gif" if "gif" in kinds.values() else "strip"
        self.kind = kind
        candidates = [n for n in names if kinds[n] == kind]
        if not candidates:
            raise ValueError(f"{path} holds no {kind} files ("
                             f"{', '.join(GIF_SUFFIXES if kind == 'gif' else STRIP_SUFFIXES)})")
        self.skipped, self.paths = {}, []
        shape = None
        for candidate in candidates:
            try:
                video = self._read(candidate)
            except (OSError, ValueError) as error:
                self._skip(candidate, str(error).splitlines()[0] or type(error).__name__,
                           stream)
                continue
            if shape is None:
                shape = video.shape
            elif video.shape != shape:
                self._skip(candidate, f"shape {list(video.shape)} differs from "
                           f"{list(shape)} of {self.paths[0]}", stream)
                continue
            self.paths.append(candidate)
        if not self.paths:
            raise ValueError(f"{path}: none of its {len(candidates)} {kind} files could be "
                             f"read")
        self.video_shape = tuple(int(d) for d in shape)

    def _skip(self, path: str, reason: str, stream):
        self.skipped[path] = reason
        print(f"skipped {path}: {reason}", file=stream or sys.stderr)

    def _read(self, path: str) -> np.ndarray:
        from vgan_tf.viz import video_files

        with open(path, "rb") as handle:
            data = handle.read()
        try:
            if self.kind == "gif":
                video = video_files.decode_gif(data)
            elif data[:2] == JPEG_MAGIC:
                video = decode_jpeg_strip(data, self.frames)
            else:
                frames = self.frames or _square_frames(data)
                video = video_files.decode_strip(data, frames)
        except ValueError:
            raise
        except Exception as error:  # Pillow's decoders raise many kinds for bad bytes
            raise ValueError(f"not a readable image ({type(error).__name__}: {error})")
        if video.ndim != 4 or video.shape[-1] != 3 or min(video.shape) == 0:
            raise ValueError(f"not a video: shape {list(video.shape)}")
        return video

    def __len__(self) -> int:
        return len(self.paths)

    def require(self, num: int):
        """ValueError naming both counts when the folder holds fewer than `num` videos."""
        if num > len(self):
            raise ValueError(f"{self.path} holds {len(self)} readable {self.kind} videos, "
                             f"fewer than the {num} asked for (--num_samples)")

    def batches(self, num: int, batch_size: int, seed: int = 0):
        """The first `num` videos (name order; `seed` is accepted for the generator
        interface and not used) as float32 batches in [-1, 1]; ValueError naming the count
        when the folder holds fewer."""
        del seed
        self.require(num)
        for start in range(0, num, batch_size):
            chunk = np.stack([self._read(p) for p in
                              self.paths[start:min(num, start + batch_size)]])
            yield chunk.astype(np.float32) / 127.5 - 1.0


def decode_jpeg_strip(data: bytes, frames: int | None = None) -> np.ndarray:
    """uint8 [frames, height, width, 3] from JPEG strip bytes, decoded as the data pipeline
    decodes strips (`tf.io.decode_jpeg(data, channels=3)`, the call of
    data.strips.decode_strip_bytes: its default DCT method); `frames` None: square frames.
    ValueError for bytes TensorFlow cannot decode or a height the frames do not divide."""
    import tensorflow as tf

    try:
        strip = tf.io.decode_jpeg(data, channels=3).numpy()
    except (tf.errors.InvalidArgumentError, tf.errors.UnknownError) as error:
        raise ValueError(f"not a decodable JPEG ({error.message.strip()})") from None
    height, width = strip.shape[:2]
    frames = frames or (height // width if height % width == 0 else None)
    if frames is None:
        raise ValueError(f"a strip of {width}x{height} does not hold square frames "
                         f"(give the frame count: --frames)")
    if height % frames:
        raise ValueError(f"a strip of height {height} does not hold {frames} frames")
    return strip.reshape(frames, height // frames, width, 3)


def _square_frames(data: bytes) -> int:
    import io

    from PIL import Image

    width, height = Image.open(io.BytesIO(data)).size
    if height % width:
        raise ValueError(f"a strip of {width}x{height} does not hold square frames "
                         f"(give the frame count: --frames)")
    return height // width
