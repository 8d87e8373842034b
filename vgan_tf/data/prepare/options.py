"""What preparing a video means: `PrepareOptions` (frame size, clip bounds, matcher, filters).

The defaults are the original's (cvondrick/videogan extra/stabilize_videos_many.py): skip
2 frames, up to 100 clips per video, SIFT matched to the previous frame with FLANN index 0
(the code's `FLANN_INDEX_KDTREE = 0`, which in OpenCV selects the exact linear index),
Lowe ratio 0.7, at least 10 good matches, RANSAC 5.0, homographies chained, 128 x 128
frames, clips of 16..34 frames, JPEG quality 95, no extra filter. A frozen dataclass,
validated when made: a bad value raises ValueError naming the field. No TensorFlow.
"""
from __future__ import annotations

import dataclasses

from vgan_tf.validation import positive_int

REFERENCES = ("chain", "first")
"""chain: match each frame to the previous one and multiply the homographies (original);
first: match each frame to the clip's first frame directly (drifts less)."""

INDEXES = ("linear", "kdtree")
"""FLANN index: linear (exact; what the original's algorithm=0 ran) or kdtree (the
randomised KD-tree forest its variable name meant: `trees`, `checks`)."""


def _non_negative_int(name, value):
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    return value


def _positive_number(name, value, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


@dataclasses.dataclass(frozen=True)
class PrepareOptions:
    """How raw videos become strips.

    size: output frames are size x size (short side resized to `size`, centre crop).
    min_frames, max_frames: clip length bounds (a clip ends at max_frames; shorter than
      min_frames is dropped as too_short / out_of_frame).
    skip_frames: decoded frames thrown away at the start of each video.
    clips_per_video: at most this many clips are attempted per video (back to back).
    fps: None keeps every frame; else frames are taken by time stamp, one per 1/fps s.
    reference: 'chain' (original) or 'first' (see REFERENCES).
    index, trees, checks: the FLANN matcher (see INDEXES; trees/checks: kdtree only).
    ratio, min_matches, ransac_threshold: Lowe's ratio test, the fewest good matches,
      findHomography's RANSAC reprojection threshold in source pixels.
    erode: side of the square kernel eroding the warped validity mask.
    jpeg_quality: of the written strips.
    max_camera_motion: drop clips whose mean corner displacement per frame (output pixels)
      is above this (None: off, the original).
    min_foreground_motion: drop clips whose mean absolute difference between consecutive
      stabilised frames (0..255) is below this (None: off, the original).
    scene_filter: None, 'module:function' (called with the clip's middle frame, uint8 RGB
      [size, size, 3]; truthy keeps) or a SavedModel directory (see filters.py).
    """

    size: int = 128
    min_frames: int = 16
    max_frames: int = 34
    skip_frames: int = 2
    clips_per_video: int = 100
    fps: float | None = None
    reference: str = "chain"
    index: str = "linear"
    trees: int = 5
    checks: int = 50
    ratio: float = 0.7
    min_matches: int = 10
    ransac_threshold: float = 5.0
    erode: int = 5
    jpeg_quality: int = 95
    max_camera_motion: float | None = None
    min_foreground_motion: float | None = None
    scene_filter: str | None = None

    def __post_init__(self):
        for name in ("size", "min_frames", "max_frames", "clips_per_video", "trees",
                     "checks", "min_matches", "erode"):
            positive_int(name, getattr(self, name))
        _non_negative_int("skip_frames", self.skip_frames)
        if self.min_frames < 2:
            raise ValueError(f"min_frames must be at least 2, got {self.min_frames}")
        if self.max_frames < self.min_frames:
            raise ValueError(f"max_frames ({self.max_frames}) must be >= min_frames "
                             f"({self.min_frames})")
        _positive_number("fps", self.fps, allow_none=True)
        _positive_number("ransac_threshold", self.ransac_threshold)
        if not 0 < self.ratio <= 1:
            raise ValueError(f"ratio must be in (0, 1], got {self.ratio!r}")
        if self.reference not in REFERENCES:
            raise ValueError(f"reference must be one of {REFERENCES}, got "
                             f"{self.reference!r}")
        if self.index not in INDEXES:
            raise ValueError(f"index must be one of {INDEXES}, got {self.index!r}")
        if not isinstance(self.jpeg_quality, int) or not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be an integer in 1..100, got "
                             f"{self.jpeg_quality!r}")
        if self.max_camera_motion is not None:
            _positive_number("max_camera_motion", self.max_camera_motion)
        if self.min_foreground_motion is not None:
            _positive_number("min_foreground_motion", self.min_foreground_motion)
        if self.scene_filter is not None and not str(self.scene_filter).strip():
            raise ValueError("scene_filter must be 'module:function' or a SavedModel path")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
