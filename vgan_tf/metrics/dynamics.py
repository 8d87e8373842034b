"""Dynamics scores for clips of the built-in synthetic scenes (real or generated).

The synthetic scenes (vgan_tf.data.synthetic) are 1-3 bright digit sprites moving at
constant speed over a static, muted background and bouncing off the walls. These scores
measure, from the pixels alone (no ground truth needed, so generated clips score too),
how well a clip keeps those dynamics:

- `background_std`: the mean temporal standard deviation (in [-1, 1] units) of the pixels
  that are never foreground; 0 for a perfectly static background.
- `count_mean`, `count_consistency`: the number of objects per frame (see below), and
  the fraction of frames whose
  count is the clip's most common one (1 = the count never changes).
- `acceleration`: the median |second difference| of matched object centroids, in pixels
  per frame^2, over frame triples where the object is away from the walls (so bounces do
  not count); near 0 for constant-speed motion.
- `speeds`: matched centroid displacements per frame; `speed_w1(scores, reference)` is
  their Wasserstein-1 distance to reference speeds (e.g. `reference_speeds(records)` of
  the training set's ground truth, or the speeds of real clips).

Foreground is where a pixel differs from the clip's per-pixel temporal median by more than
`threshold` in some channel. Sprites of one clip have distinct colours of the scenes'
palette and often overlap (they start moving the same way), so an object is a palette
colour's foreground pixels (within `colour_tolerance` of it; at least `min_area` of them),
and objects are matched across frames within one colour (two sprites of one colour, which
the scenes never draw, count as one).

Calibration (tests/metrics/test_dynamics.py, on rendered synthetic clips): shuffled frames
raise `acceleration` and `speed_w1`; a jittered background (sprites untouched), per-frame
brightness flicker and pixel noise raise `background_std`; no corruption raises
`count_consistency`. Measured values: docs/metrics.md.
"""
from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class DynamicsOptions:
    """threshold: foreground difference from the temporal median ([-1, 1] units);
    min_area: smallest object in pixels (None: 0.005 of the frame, at least 3);
    max_jump: largest matched displacement per frame, as a fraction of the frame size;
    wall_margin: pixels from an edge within which a frame triple is treated as a bounce;
    colour_tolerance: largest RGB distance ([-1, 1] units) of an object pixel from its
    palette colour."""
    threshold: float = 0.25
    min_area: int | None = None
    max_jump: float = 0.25
    wall_margin: int = 2
    colour_tolerance: float = 0.6


def _as_unit_range(clip) -> np.ndarray:
    clip = np.asarray(clip)
    if clip.dtype == np.uint8:
        return clip.astype(np.float32) / 127.5 - 1.0
    return clip.astype(np.float32)


def foreground_masks(clip, options: DynamicsOptions = DynamicsOptions()) -> np.ndarray:
    """[T, H, W] bool: where a frame differs from the clip's temporal median."""
    clip = _as_unit_range(clip)
    median = np.median(clip, axis=0, keepdims=True)
    return np.abs(clip - median).max(-1) > options.threshold


def _palette() -> np.ndarray:
    from vgan_tf.data.synthetic import PALETTE  # the scenes' sprite colours (uint8 RGB)

    return PALETTE.astype(np.float32) / 127.5 - 1.0


def objects(frame: np.ndarray, mask: np.ndarray, min_area: int,
            colour_tolerance: float = 0.6) -> tuple:
    """(centroids [n, 2] (x, y), boxes [n, 4] (x, y, w, h), colours [n] palette index) of
    one frame ([H, W, 3] in [-1, 1]) and its foreground mask: one object per palette
    colour with at least `min_area` foreground pixels within `colour_tolerance` of it
    (a sprite split in two by another one in front stays one object)."""
    palette = _palette()
    distance = np.linalg.norm(frame[:, :, None, :] - palette[None, None], axis=-1)
    nearest = np.where(mask & (distance.min(-1) <= colour_tolerance), distance.argmin(-1), -1)
    centroids, boxes, colours = [], [], []
    for colour in range(len(palette)):
        ys, xs = np.nonzero(nearest == colour)
        if len(xs) >= min_area:
            centroids.append((xs.mean(), ys.mean()))
            boxes.append((xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1))
            colours.append(colour)
    return (np.array(centroids, np.float64).reshape(-1, 2),
            np.array(boxes, np.int64).reshape(-1, 4), np.array(colours, np.int64))


def _match(a, b, max_jump: float):
    """Index pairs (i in a, j in b) of the minimum-cost matching within max_jump, objects
    of one colour only; a, b: (centroids, boxes, colours) of two frames."""
    from scipy.optimize import linear_sum_assignment

    if len(a[0]) == 0 or len(b[0]) == 0:
        return []
    cost = np.linalg.norm(a[0][:, None] - b[0][None], axis=-1)
    cost[a[2][:, None] != b[2][None]] = 1e9
    rows, cols = linear_sum_assignment(cost)
    return [(i, j) for i, j in zip(rows, cols) if cost[i, j] <= max_jump]


def clip_scores(clip, options: DynamicsOptions = DynamicsOptions()) -> dict:
    """The scores of one clip ([T, H, W, 3] uint8 or float in [-1, 1]); see the module
    docstring. `acceleration` is NaN when no frame triple qualifies."""
    clip = _as_unit_range(clip)
    frames, height, width, _ = clip.shape
    masks = foreground_masks(clip, options)
    min_area = options.min_area or max(3, int(0.005 * height * width))
    max_jump = options.max_jump * max(height, width)

    never = ~masks.any(0)
    background_std = float(clip.std(0).mean(-1)[never].mean()) if never.any() else np.nan

    found = [objects(f, m, min_area, options.colour_tolerance) for f, m in zip(clip, masks)]
    counts = np.array([len(c) for c, _, _ in found])
    values, tally = np.unique(counts, return_counts=True)
    modal = values[tally.argmax()]

    speeds, accelerations = [], []
    for t in range(frames - 1):
        for i, j in _match(found[t], found[t + 1], max_jump):
            speeds.append(float(np.linalg.norm(found[t + 1][0][j] - found[t][0][i])))
    for t in range(1, frames - 1):
        prev, now, nxt = found[t - 1][0], found[t][0], found[t + 1][0]
        boxes = found[t][1]
        back = dict(_match(found[t], found[t - 1], max_jump))
        ahead = dict(_match(found[t], found[t + 1], max_jump))
        for i in set(back) & set(ahead):
            x, y, w, h = boxes[i]
            m = options.wall_margin
            if x <= m or y <= m or x + w >= width - m or y + h >= height - m:
                continue  # may be bouncing
            accel = nxt[ahead[i]] - 2.0 * now[i] + prev[back[i]]
            accelerations.append(float(np.linalg.norm(accel)))
    return {
        "background_std": background_std,
        "count_mean": float(counts.mean()),
        "count_consistency": float((counts == modal).mean()),
        "acceleration": float(np.median(accelerations)) if accelerations else np.nan,
        "speeds": np.array(speeds, np.float64),
    }


def scores(clips, options: DynamicsOptions = DynamicsOptions(), reference=None) -> dict:
    """Scores of a set of clips: background_std, count_mean, count_consistency and
    acceleration averaged over clips (NaN accelerations ignored), all speeds pooled, and
    with `reference` speeds also `speed_w1`."""
    import warnings

    per_clip = [clip_scores(clip, options) for clip in clips]
    with warnings.catch_warnings():  # a key NaN in every clip is NaN, without a warning
        warnings.simplefilter("ignore", RuntimeWarning)
        out = {key: float(np.nanmean([s[key] for s in per_clip])) for key in (
            "background_std", "count_mean", "count_consistency", "acceleration")}
    out["speeds"] = np.concatenate([s["speeds"] for s in per_clip])
    if reference is not None:
        out["speed_w1"] = speed_w1(out["speeds"], reference)
    return out


def speed_w1(speeds, reference) -> float:
    """Wasserstein-1 distance between two samples of speeds (pixels per frame)."""
    from scipy.stats import wasserstein_distance

    speeds, reference = np.asarray(speeds, np.float64), np.asarray(reference, np.float64)
    if speeds.size == 0 or reference.size == 0:
        return float("inf")
    return float(wasserstein_distance(speeds, reference))


def reference_speeds(records, size: int | None = None) -> np.ndarray:
    """Ground-truth speeds (pixels per frame) of synthetic records (data.synthetic's
    ground truth), rescaled to frames of `size` pixels when given."""
    out = []
    for record in records:
        v = np.asarray(record["velocities"], np.float64)  # [count, frames, 2]
        scale = 1.0 if size is None else size / record["size"]
        out.append(np.linalg.norm(v, axis=-1).ravel() * scale)
    return np.concatenate(out) if out else np.zeros(0)
