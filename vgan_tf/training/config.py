"""Training configuration as one dataclass, with named presets.

Field names are also the flag names of tools/train.py, so a validation error that names a
field names the flag to fix.
"""
from __future__ import annotations

import dataclasses
import re

from vgan_tf import config as config_lib
from vgan_tf.data.pipeline import WINDOWS
from vgan_tf.data.strips import RESIZE_METHODS
from vgan_tf.training.precision import PRECISIONS
from vgan_tf.training.strategy import STRATEGIES

GENERATORS = ("two_stream", "one_stream")
_SERVICE_ADDRESS = re.compile(r"^(grpc://)?[^\s:/]+:\d{1,5}$")


@dataclasses.dataclass
class TrainConfig:
    """Everything one training run needs. Defaults are the paper's settings."""

    model_dir: str = ""
    # Data: list files of JPEG strips under data_root, TFRecord shards, or the built-in
    # synthetic scenes (exactly one of the three).
    data_list: tuple = ()
    data_root: str = ""
    data_shards: tuple = ()  # shard files / glob patterns written by tools/make_shards.py
    synthetic: bool = False
    synthetic_clips: int = 512
    synthetic_dir: str = ""  # default: <model_dir>/synthetic_data
    # How clips are cut from the strips and read (vgan_tf.data.pipeline).
    window: str = "first"  # "first" (top of the strip) or "random" (a random window)
    stride: int = 1  # take every stride-th frame
    strip_size: int = 0  # 0: any frame size; else refuse strips of other sizes
    resize: str = "dct"  # "dct" (the JPEG decoder scales) or "bilinear" (exact)
    data_cache: bool = False  # cache the encoded strips in memory after the first pass
    strict_data: bool = False  # stop on the first bad strip instead of skipping it
    data_service: str = ""  # tf.data service dispatcher, e.g. grpc://host:5050
    # Model.
    generator: str = "two_stream"
    frames: int = 32
    size: int = 64
    latent_dim: int = 100
    base_width: int = 64
    # Optimisation (the paper: Adam 2e-4, beta1 0.5, batch 64, mask prior 0.1).
    batch_size: int = 64  # global: split evenly over all replicas of all workers
    steps: int = 100_000
    steps_per_epoch: int = 1000
    g_learning_rate: float = 2e-4
    d_learning_rate: float = 2e-4
    beta_1: float = 0.5
    mask_weight: float = 0.1
    seed: int = 0
    shuffle_buffer: int = 1024
    # Hardware.
    strategy: str = "default"
    precision: str = "fp32"
    jit_compile: bool = False
    deterministic: bool = False
    # Outputs.
    checkpoint_every: int = 1000
    keep_checkpoints: int = 5
    resume: bool = True
    num_samples: int = 16
    sample_scale: int = 1
    sample_fps: float = 8.0
    verbose: int = 1
    # Visibility.
    log_every: int = 100
    summary_every: int = 100
    sample_every: int = 1000
    summary_samples: int = 4

    @property
    def sizes(self) -> config_lib.NetworkSizes:
        return config_lib.NetworkSizes(self.frames, self.size, self.latent_dim,
                                       self.base_width)

    def validate(self) -> "TrainConfig":
        """Raises ValueError naming the offending field (= flag) and what was expected."""
        if not self.model_dir:
            raise ValueError("--model_dir is required: the folder for checkpoints and samples")
        self._validate_data()
        if self.generator not in GENERATORS:
            raise ValueError(f"--generator must be one of {GENERATORS}, got {self.generator!r}")
        if self.strategy not in STRATEGIES:
            raise ValueError(f"--strategy must be one of {STRATEGIES}, got {self.strategy!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"--precision must be one of {PRECISIONS}, got {self.precision!r}")
        positive = ("batch_size", "steps", "steps_per_epoch", "checkpoint_every",
                    "keep_checkpoints", "num_samples", "sample_scale", "synthetic_clips",
                    "shuffle_buffer", "summary_every", "sample_every", "summary_samples")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"--{name} must be a positive integer, got {value!r}")
        if self.steps % self.steps_per_epoch:
            raise ValueError(f"--steps ({self.steps}) must be a multiple of --steps_per_epoch "
                             f"({self.steps_per_epoch})")
        for name in ("g_learning_rate", "d_learning_rate", "sample_fps"):
            if not getattr(self, name) > 0:
                raise ValueError(f"--{name} must be > 0, got {getattr(self, name)!r}")
        if not isinstance(self.log_every, int) or self.log_every < 0:
            raise ValueError(f"--log_every must be >= 0 (0: no log lines), got {self.log_every!r}")
        if not 0 <= self.beta_1 < 1:
            raise ValueError(f"--beta_1 must be in [0, 1), got {self.beta_1!r}")
        if self.mask_weight < 0:
            raise ValueError(f"--mask_weight must be >= 0, got {self.mask_weight!r}")
        try:
            self.sizes
        except ValueError as error:
            raise ValueError(f"--frames/--size/--latent_dim/--base_width: {error}") from None
        return self

    def _validate_data(self):
        sources = [name for name, given in (("--synthetic", self.synthetic),
                                            ("--data_list", self.data_list),
                                            ("--data_shards", self.data_shards)) if given]
        if not sources:
            raise ValueError("give --data_list (with --data_root), --data_shards or "
                             "--synthetic")
        if len(sources) > 1:
            raise ValueError(f"--synthetic, --data_list and --data_shards exclude each "
                             f"other: give one (got {' and '.join(sources)})")
        for name in ("data_list", "data_shards"):
            value = getattr(self, name)
            if isinstance(value, str) or not all(isinstance(v, str) and v for v in value):
                raise ValueError(f"--{name} must be a sequence of non-empty paths or "
                                 f"patterns, got {value!r}")
        if self.data_shards and self.data_root:
            raise ValueError("--data_root applies to --data_list only: TFRecord shards "
                             "(--data_shards) hold the strips themselves")
        if self.window not in WINDOWS:
            raise ValueError(f"--window must be one of {WINDOWS}, got {self.window!r}")
        if self.resize not in RESIZE_METHODS:
            raise ValueError(f"--resize must be one of {RESIZE_METHODS}, got {self.resize!r}")
        if not _is_int(self.stride) or self.stride < 1:
            raise ValueError(f"--stride must be a positive integer, got {self.stride!r}")
        if not _is_int(self.strip_size) or self.strip_size < 0:
            raise ValueError(f"--strip_size must be 0 (any frame size) or a positive "
                             f"number of pixels, got {self.strip_size!r}")
        for name in ("data_cache", "strict_data"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"--{name} must be true or false, got "
                                 f"{getattr(self, name)!r}")
        if not isinstance(self.data_service, str) or (
                self.data_service and not _SERVICE_ADDRESS.match(self.data_service)):
            raise ValueError(f"--data_service must be a tf.data service dispatcher address "
                             f"like grpc://host:5050 (or empty), got {self.data_service!r}")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


PRESETS = {
    # The paper: 32 frames of 64x64, z 100, widths 512..64, batch 64.
    "paper": dict(frames=32, size=64, latent_dim=100, base_width=64, batch_size=64,
                  steps=100_000, steps_per_epoch=1000, checkpoint_every=1000, log_every=100,
                  summary_every=100, sample_every=1000),
    # Seconds on a CPU: every layer of the paper at 8 frames of 16x16, narrow widths.
    "tiny": dict(frames=8, size=16, latent_dim=16, base_width=8, batch_size=8, steps=20,
                 steps_per_epoch=10, checkpoint_every=10, num_samples=4, sample_scale=4,
                 synthetic_clips=64, log_every=5, summary_every=5, sample_every=10),
    # `make demo`: a few minutes on 2 CPU cores, enough for sprites that move.
    "tiny_demo": dict(frames=16, size=32, latent_dim=64, base_width=32, batch_size=16,
                      steps=1200, steps_per_epoch=100, checkpoint_every=200,
                      synthetic_clips=1024, num_samples=16, sample_scale=3, log_every=50,
                      summary_every=20, sample_every=200),
}


def from_preset(name: str, **overrides) -> TrainConfig:
    """A TrainConfig from a named preset, with field overrides."""
    if name not in PRESETS:
        raise ValueError(f"--preset must be one of {sorted(PRESETS)}, got {name!r}")
    values = dict(PRESETS[name])
    values.update(overrides)
    unknown = set(values) - {f.name for f in dataclasses.fields(TrainConfig)}
    if unknown:
        raise ValueError(f"unknown training settings: {sorted(unknown)}")
    return TrainConfig(**values)
