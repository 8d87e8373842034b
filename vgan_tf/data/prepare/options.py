"""What preparing a video means: `PrepareOptions` (frame size, clip bounds, matcher, filters);
one run of vgan-prepare: `PrepareRun` (inputs, output, runner, retries, and its
PrepareOptions).

The defaults are the original's (cvondrick/videogan extra/stabilize_videos_many.py): skip
2 frames, up to 100 clips per video, SIFT matched to the previous frame with FLANN index 0
(the code's `FLANN_INDEX_KDTREE = 0`, which in OpenCV selects the exact linear index),
Lowe ratio 0.7, at least 10 good matches, RANSAC 5.0, homographies chained, 128 x 128
frames, clips of 16..34 frames, JPEG quality 95, no extra filter. A frozen dataclass of
config_flags settings (the flags of vgan-prepare), validated when made: a bad value
raises ValueError naming the flag. No TensorFlow.
"""
from __future__ import annotations

import dataclasses
import shlex

from vgan_tf import config_flags
from vgan_tf.config_flags import section, setting

REFERENCES = ("chain", "first")
"""chain: match each frame to the previous one and multiply the homographies (original);
first: match each frame to the clip's first frame directly (drifts less)."""

INDEXES = ("linear", "kdtree")
"""FLANN index: linear (exact; what the original's algorithm=0 ran) or kdtree (the
randomised KD-tree forest its variable name meant: `trees`, `checks`)."""

LABEL_SOURCES = ("none", "folder")
"""none: unlabelled lists only; folder: a video's class is its parent folder's name."""

BEAM_RETRIES = 2
"""The default of --beam_retries: reruns of a failed Beam pipeline after the first run."""

SPLIT_BY_VIDEO = "video"
SPLITS = ("none", SPLIT_BY_VIDEO)
"""none: every clip in train.txt; video: whole videos go to train.txt or test.txt."""


@dataclasses.dataclass(frozen=True)
class PrepareOptions:
    """How raw videos become strips; every field is a flag of vgan-prepare (its help,
    default, choices and bounds are declared here, see vgan_tf.config_flags).

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
    clip_stride: None (back to back: a clip starts at the first frame the previous one
      left) or the frames between the starts of consecutive clips (overlapping windows
      when below the clip length; see clips.py).
    hold_out_tail: clips starting in this last fraction of a video's frames are written
      but listed in held_out.txt, not train.txt (0: off; see clips.cut_with_tail).
    The lists, read by corpus.finish after every video (see listing.py):
    labels_from: 'none' or 'folder' (see LABEL_SOURCES and labels.py).
    split_by: 'none' or 'video' (see SPLITS and split.py); test_fraction: of the
      videos (per class with labels) that go to test.txt.
    contact_sheet: write contact_sheet.png (see sheet.py).

    Validated when made: a bad value raises ValueError naming its flag (`--size ...`).
    """

    size: int = setting(128, "Frame size of the strips (short side resized, centre crop).",
                        minimum=1)
    min_frames: int = setting(16, "Shortest clip kept.", minimum=2)
    max_frames: int = setting(34, "A clip ends at this many frames.", minimum=2)
    skip_frames: int = setting(2, "Frames skipped at the start of a video.", minimum=0)
    clips_per_video: int = setting(100, "Clips attempted per video.", minimum=1)
    fps: float | None = setting(None, "Take frames at this rate, by time stamp (default: "
                                "every frame).", minimum=0, exclusive=True)
    reference: str = setting("chain", "Match to the previous frame and chain (original) "
                             "or to the clip's first frame.", choices=REFERENCES)
    index: str = setting("linear", "FLANN index: linear (exact, what the original ran) "
                         "or kdtree (--trees, --checks).", choices=INDEXES)
    trees: int = setting(5, "KD-trees (--index=kdtree).", minimum=1)
    checks: int = setting(50, "FLANN checks (--index=kdtree).", minimum=1)
    ratio: float = setting(0.7, "Lowe's ratio test, in (0, 1].")
    min_matches: int = setting(10, "Fewest good matches per frame.", minimum=1)
    ransac_threshold: float = setting(5.0, "findHomography's RANSAC threshold (px).",
                                      minimum=0, exclusive=True)
    erode: int = setting(5, "Side of the square kernel eroding the warped validity mask "
                         "(px; the original's 5).", minimum=1)
    jpeg_quality: int = setting(95, "JPEG quality of the strips (1..100).")
    max_camera_motion: float | None = setting(
        None, "Drop clips whose mean corner displacement per frame (output px) is above "
        "this (default: off).", minimum=0, exclusive=True)
    min_foreground_motion: float | None = setting(
        None, "Drop clips whose mean absolute difference between stabilised frames "
        "(0..255) is below this (default: off).", minimum=0, exclusive=True)
    scene_filter: str | None = setting(
        None, "'module:function' (given the middle frame, uint8 RGB; truthy keeps) or a "
        "SavedModel directory (keep score > 0.5).")
    clip_stride: int | None = setting(
        None, "Frames between the starts of consecutive clips: overlapping windows below "
        "the clip length (default: back to back).", minimum=1)
    hold_out_tail: float = setting(
        0.0, "Clips starting in this last fraction of each video's frames go to "
        "held_out.txt instead of train.txt (0: off).", minimum=0, below=1)
    labels_from: str = setting(
        "none", "'folder': a video's class is its parent folder's name "
        "(<root>/<Class>/<video>); writes labelled lists and classes.txt.",
        choices=LABEL_SOURCES)
    split_by: str = setting(
        "none", "'video': every clip of a video goes to train.txt or test.txt "
        "(--test_fraction of the videos, per class with labels).", choices=SPLITS)
    test_fraction: float = setting(
        0.2, "The fraction of the videos (of each class) --split_by=video puts in "
        "test.txt.", minimum=0, exclusive=True, below=1)
    contact_sheet: bool = setting(
        True, "Write contact_sheet.png: the first, middle and last frame of up to 16 "
        "listed clips, one row each.")

    def __post_init__(self):
        config_flags.validate_fields(self)
        if self.max_frames < self.min_frames:
            raise ValueError(f"--max_frames ({self.max_frames}) must be >= min_frames "
                             f"({self.min_frames})")
        if not 0 < self.ratio <= 1:
            raise ValueError(f"--ratio must be in (0, 1], got {self.ratio!r}")
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"--jpeg_quality must be an integer in 1..100, got "
                             f"{self.jpeg_quality!r}")
        if self.scene_filter is not None and not self.scene_filter.strip():
            raise ValueError("--scene_filter must be 'module:function' or a SavedModel "
                             "path")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class PrepareRun:
    """One run of vgan-prepare: its settings are the binary's flags, all of them (flat:
    `--size` sets `run.options.size`; see vgan_tf.config_flags). `input` and `out_dir`
    are required flags; `config_flags.build(PrepareRun, {...})` makes one from flat
    settings. Validated when made: a bad value raises ValueError naming its flag.
    """

    input: tuple | None = setting(None, "A folder (searched recursively), a glob, a list "
                                  "file (.txt/.lst/.list, one video per line) or a video "
                                  "(repeatable).", required=True)
    out_dir: str | None = setting(None, "Output folder (local or gs://; created).",
                                  required=True)
    workers: int | None = setting(None, "Processes for the local runner (default: cores).",
                                  minimum=1)
    runner: str = setting("local", "'local' (a process pool) or a Beam runner: "
                          "DirectRunner, DataflowRunner, FlinkRunner, SparkRunner, ...")
    beam_options: str = setting("", "Beam's own pipeline options, one string "
                                "(e.g. '--project=P --region=R'; processes on this "
                                "machine: '--direct_running_mode=multi_processing "
                                "--direct_num_workers=N').")
    progress: bool = setting(True, "Progress display on stderr (local runner).")
    shards: int = setting(0, "Also write the strips as this many TFRecord shards to "
                          "<out_dir>/shards (a Beam --runner; 0: none).", minimum=0,
                          note="0: none")
    beam_retries: int = setting(
        BEAM_RETRIES, "Reruns of a failed Beam pipeline (a worker lost) after the first "
        "run; finished videos are kept (0: stop at the first failure).", minimum=0,
        note="0: none")
    options: PrepareOptions = section(PrepareOptions, "How each video becomes strips.")

    def __post_init__(self):
        config_flags.validate_fields(self)
        _split_beam_options(self.beam_options)
        if self.shards and self.runner == "local":
            raise ValueError(f"--shards={self.shards} needs a Beam --runner (e.g. "
                             "DirectRunner); after a local run, vgan-make-shards "
                             "--list=<out_dir>/train.txt --out_dir=<out_dir>/shards "
                             f"--num_shards={self.shards} writes the same shards")

    @property
    def beam_args(self) -> list:
        """--beam_options split as a shell would (Beam's PipelineOptions arguments)."""
        return _split_beam_options(self.beam_options)


def _split_beam_options(text: str) -> list:
    try:
        return shlex.split(text)
    except ValueError as error:  # an unclosed quote
        raise ValueError(f"--beam_options {text!r}: {error}") from None
