"""Synthetic scenes: sprites moving over a static background, in two families.

- `digits` (the default): 1-3 digit sprites over a textured background.
- `simple`: 1-2 solid shapes (discs and squares) over a smooth two-colour gradient: the
  easiest scene that still shows the paper's idea (movers over a still background).

The embedded default data set (the demo and the tests train on it): every clip has a fixed
seed, so the same arguments give byte-identical strips, list and ground truth. Each clip
has one class label, the compass direction (8 classes, 0 = east, counter-clockwise in
45-degree steps, y pointing up) in which all its sprites start moving; sprites then move at
constant speed and bounce off the walls. Speeds are 1-3 px per frame at 64x64 (scaled with
the strip size) and sprites are about a quarter of the frame tall, so motion is visible at
16x16 as well as at 64x64.

Output of `write_synthetic_dataset(out_dir, ...)`:
  out_dir/train.txt                 "clips/clip_000000.jpg <label>" per line
  out_dir/clips/clip_NNNNNN.jpg     the JPEG strips, [frames * S, S, 3]
  out_dir/ground_truth.jsonl        one JSON record per clip, in list order
"""
from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
import tensorflow as tf

from vgan_tf import config_flags
from vgan_tf.config_flags import setting
from vgan_tf.data import lists, strips
from vgan_tf.validation import positive_int

NUM_CLASSES = 8
CLASS_NAMES = ("E", "NE", "N", "NW", "W", "SW", "S", "SE")
LIST_NAME = "train.txt"
GROUND_TRUTH_NAME = "ground_truth.jsonl"

_DIGITS = (
    ("01110", "10001", "10011", "10101", "11001", "10001", "01110"),
    ("00100", "01100", "00100", "00100", "00100", "00100", "01110"),
    ("01110", "10001", "00001", "00010", "00100", "01000", "11111"),
    ("11111", "00010", "00100", "00010", "00001", "10001", "01110"),
    ("00010", "00110", "01010", "10010", "11111", "00010", "00010"),
    ("11111", "10000", "11110", "00001", "00001", "10001", "01110"),
    ("00110", "01000", "10000", "11110", "10001", "10001", "01110"),
    ("11111", "00001", "00010", "00100", "01000", "01000", "01000"),
    ("01110", "10001", "10001", "01110", "10001", "10001", "01110"),
    ("01110", "10001", "10001", "01111", "00001", "00010", "01100"),
)
DIGIT_BITMAPS = np.array([[[c == "1" for c in row] for row in d] for d in _DIGITS], bool)
"""[10, 7, 5] bool: hard-coded 5x7 digit glyphs."""

SCENES = ("digits", "simple")
"""The scene families (`scene` of render_clip / write_synthetic_dataset)."""

PALETTE = np.array([(255, 40, 40), (40, 220, 40), (60, 90, 255), (255, 230, 0),
                    (255, 0, 255), (0, 230, 230), (255, 140, 0), (255, 255, 255)], np.uint8)
"""[8, 3] uint8 RGB: the sprites' colours (the dynamics scorer finds objects by them)."""


def _sprite_scale(size: int) -> int:
    return max(1, -(-size // 28))


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A static procedural texture: [size, size, 3] uint8, muted so sprites stand out."""
    coords = np.arange(size, dtype=np.float32) / size
    y, x = np.meshgrid(coords, coords, indexing="ij")
    base = rng.uniform(50, 110, size=3).astype(np.float32)
    tex = np.zeros((size, size), np.float32)
    for _ in range(3):
        fx, fy = rng.uniform(1, 6, size=2)
        phase = rng.uniform(0, 2 * np.pi)
        tex += np.sin(2 * np.pi * (fx * x + fy * y) + phase)
    cells = max(2, size // 8)
    noise = rng.uniform(-1, 1, size=(cells, cells)).astype(np.float32)
    noise = np.kron(noise, np.ones((size // cells + 1, size // cells + 1), np.float32))
    tex = tex / 3.0 * 18.0 + noise[:size, :size] * 10.0
    tint = rng.uniform(0.6, 1.0, size=3).astype(np.float32)
    image = base[None, None, :] + tex[..., None] * tint[None, None, :]
    return np.clip(image, 0, 255).astype(np.uint8)


def _smooth_background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A static linear gradient between two muted colours: [size, size, 3] uint8."""
    coords = (np.arange(size, dtype=np.float32) + 0.5) / size
    y, x = np.meshgrid(coords, coords, indexing="ij")
    angle = rng.uniform(0.0, 2.0 * np.pi)
    ramp = (np.cos(angle) * (x - 0.5) + np.sin(angle) * (y - 0.5)) / np.sqrt(0.5) + 0.5
    low, high = rng.uniform(40, 100, size=3), rng.uniform(70, 130, size=3)
    image = low[None, None] + (high - low)[None, None] * np.clip(ramp, 0, 1)[..., None]
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def _shape_bitmap(kind: int, side: int) -> np.ndarray:
    """[side, side] bool: a filled square (kind 0) or disc (kind 1)."""
    if kind == 0:
        return np.ones((side, side), bool)
    centre = (side - 1) / 2.0
    yy, xx = np.mgrid[0:side, 0:side]
    return (yy - centre) ** 2 + (xx - centre) ** 2 <= (side / 2.0) ** 2


SHAPE_NAMES = ("square", "disc")


def _bounce(start: np.ndarray, velocity: np.ndarray, limit: np.ndarray, frames: int):
    """Positions and velocities of points bouncing in [0, limit]: [frames, n, 2] each."""
    t = np.arange(frames, dtype=np.float64)[:, None, None]
    free = start[None] + velocity[None] * t
    period = 2.0 * limit[None]
    folded = np.mod(free, period)
    pos = limit[None] - np.abs(folded - limit[None])
    going_back = folded > limit[None]
    vel = np.where(going_back, -velocity[None], velocity[None])
    return pos, vel


def render_clip(seed: int, index: int, frames: int = 32, size: int = 64,
                scene: str = "digits"):
    """One clip: ([frames, size, size, 3] uint8, ground-truth dict). Pure function of args
    (`scene`: a name of SCENES; digits clips are the same whatever the other family does)."""
    if scene not in SCENES:
        raise ValueError(f"scene must be one of {', '.join(SCENES)}, got {scene!r}")
    rng = np.random.default_rng([int(seed), int(index)])
    scale = _sprite_scale(size)
    simple = scene == "simple"
    sprite_h, sprite_w = (6 * scale, 6 * scale) if simple else (7 * scale, 5 * scale)
    count = int(rng.integers(1, 3 if simple else 4))
    label = int(rng.integers(0, NUM_CLASSES))
    background = (_smooth_background if simple else _background)(rng, size)

    angles = np.deg2rad(label * 45.0 + rng.uniform(-12.0, 12.0, size=count))
    speeds = rng.uniform(1.0, 3.0, size=count) * size / 64.0
    # Image y grows downwards; the class direction has y pointing up.
    velocity = np.stack([speeds * np.cos(angles), -speeds * np.sin(angles)], axis=1)
    limit = np.array([size - sprite_w, size - sprite_h], np.float64)[None, :]
    start = rng.uniform(0.0, 1.0, size=(count, 2)) * limit
    digits = rng.integers(0, 10, size=count)
    colours = PALETTE[rng.choice(len(PALETTE), size=count, replace=False)]

    pos, vel = _bounce(start, velocity, np.repeat(limit, count, axis=0), frames)
    corner = np.rint(pos).astype(np.int64)  # [frames, count, 2] (x, y) top-left

    video = np.broadcast_to(background, (frames, size, size, 3)).copy()
    rows = np.arange(sprite_h)
    cols = np.arange(sprite_w)
    t_idx = np.arange(frames)[:, None, None]
    for k in range(count):
        glyph = (_shape_bitmap(int(digits[k]) % 2, sprite_w) if simple else
                 np.kron(DIGIT_BITMAPS[digits[k]], np.ones((scale, scale), bool)))
        ys = corner[:, k, 1][:, None, None] + rows[None, :, None]
        xs = corner[:, k, 0][:, None, None] + cols[None, None, :]
        mask = np.broadcast_to(glyph, (frames, sprite_h, sprite_w))
        video[np.broadcast_to(t_idx, mask.shape)[mask], np.broadcast_to(ys, mask.shape)[mask],
              np.broadcast_to(xs, mask.shape)[mask]] = colours[k]

    truth = {
        "index": int(index),
        "seed": [int(seed), int(index)],
        "label": label,
        "direction": CLASS_NAMES[label],
        "count": count,
        "frames": frames,
        "size": size,
        "sprite_size": [sprite_w, sprite_h],
        "scene": scene,
        "digits": [int(d) for d in digits],
        "colours": colours.tolist(),
        "positions": np.round(pos + np.array([sprite_w, sprite_h]) / 2.0, 4)
        .transpose(1, 0, 2).tolist(),
        "velocities": np.round(vel, 4).transpose(1, 0, 2).tolist(),
    }
    return video, truth


def clip_path(index: int) -> str:
    return f"clips/clip_{index:06d}.jpg"


@dataclasses.dataclass(frozen=True)
class SyntheticConfig:
    """What vgan-make-synthetic writes: each field is the flag of the same name of
    tools/make_synthetic.py (config_flags) and the argument of the same name of
    write_synthetic_dataset. Checked when made: a bad value raises ValueError naming the
    flag."""

    out_dir: str | None = setting(None, "Directory to write (created).")
    num_clips: int = setting(256, "Number of clips.", minimum=1)
    frames: int = setting(32, "Frames per clip.", minimum=1)
    size: int = setting(64, "Frame size in pixels.", minimum=8)
    strip_size: int | None = setting(None, "Strip frame size (default: --size).", minimum=8)
    seed: int = setting(0, "Data set seed (clip i uses [seed, i]).")
    scene: str = setting("digits", "Scene family: digits (1-3 digit sprites over a texture) "
                         "or simple (1-2 solid shapes over a gradient).", choices=SCENES)

    def __post_init__(self):
        config_flags.validate_fields(self)
        if not self.out_dir:
            raise ValueError("--out_dir is required: the directory to write")


def write_synthetic_dataset(out_dir: str, num_clips: int, frames: int = 32, size: int = 64,
                            seed: int = 0, strip_size: int | None = None,
                            quality: int = strips.DEFAULT_QUALITY,
                            scene: str = "digits") -> str:
    """Writes `num_clips` synthetic strips, `train.txt` and `ground_truth.jsonl`.

    Strip frames are `strip_size` pixels square (default: `size`). Ground-truth positions
    are sprite centres in pixels of the strip frame, [count][frames][x, y]; velocities are
    pixels per frame, [count][frames][vx, vy] (image coordinates, y down), after bounces.
    `scene` picks the family (SCENES); in the simple one a record's "digits" are shape
    indices (even: square, odd: disc). Returns the list file's path. Same arguments -> byte-identical files.
    """
    num_clips = positive_int("num_clips", num_clips)
    frames = positive_int("frames", frames)
    size = positive_int("size", size)
    strip_size = size if strip_size is None else positive_int("strip_size", strip_size)
    if strip_size < 8:
        raise ValueError(f"strip_size must be an integer >= 8, got {strip_size!r}")
    tf.io.gfile.makedirs(os.path.join(out_dir, "clips"))
    paths, labels, records = [], [], []
    for index in range(num_clips):
        video, truth = render_clip(seed, index, frames, strip_size, scene)
        rel = clip_path(index)
        with tf.io.gfile.GFile(os.path.join(out_dir, rel), "wb") as f:
            f.write(strips.encode_strip(video, quality))
        truth["path"] = rel
        paths.append(rel)
        labels.append(truth["label"])
        records.append(json.dumps(truth, sort_keys=True, separators=(",", ":")))
    with tf.io.gfile.GFile(os.path.join(out_dir, GROUND_TRUTH_NAME), "w") as f:
        f.write("\n".join(records) + "\n")
    return lists.write_list(
        os.path.join(out_dir, LIST_NAME), paths, labels,
        header=f"synthetic {scene} scenes: {num_clips} clips, {frames} frames of {strip_size}px, "
               f"seed {seed}; label = direction ({' '.join(CLASS_NAMES)})")


def read_ground_truth(out_dir: str) -> list:
    """The ground-truth records written by `write_synthetic_dataset`, in list order."""
    with tf.io.gfile.GFile(os.path.join(out_dir, GROUND_TRUTH_NAME), "r") as f:
        return [json.loads(line) for line in f if line.strip()]
