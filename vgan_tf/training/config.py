"""Training configuration as one dataclass, with named presets.

Field names are also the flag names of tools/train.py (flags are derived from the fields:
vgan_tf.config_flags), so a validation error that names a field names the flag to fix.
"""
from __future__ import annotations

import dataclasses
import re

from vgan_tf import config as config_lib
from vgan_tf import config_flags
from vgan_tf.config_flags import setting
from vgan_tf.data.options import WINDOWS
from vgan_tf.data.strips import RESIZE_METHODS
from vgan_tf.data.synthetic import SCENES
from vgan_tf.tasks.adversarial import DEFAULT_G_STEP, G_STEPS
from vgan_tf.training.precision import PRECISIONS
from vgan_tf.training.strategy import STRATEGIES

GENERATORS = ("two_stream", "one_stream")
MODELS = ("video", "future")
"""video: the unconditional VideoGAN (noise -> video); future: the FuturePredictionGAN
(still image -> video, the original's main_conditional.lua)."""
_SERVICE_ADDRESS = re.compile(r"^(grpc://)?[^\s:/]+:\d{1,5}$")


@dataclasses.dataclass
class TrainConfig:
    """Everything one training run needs. Defaults are the paper's settings.

    Each field is also the flag of the same name of tools/train.py, with the help, choices
    and bounds declared here (config_flags.setting): one source of truth.
    """

    model_dir: str = setting("", "Folder for checkpoints, samples and generator.keras.")
    # Data: list files of JPEG strips under data_root, TFRecord shards, or the built-in
    # synthetic scenes (exactly one of the three).
    data_list: tuple = setting((), "List file(s) of JPEG strips, one path per line "
                               "relative to --data_root (repeat the flag or use globs).")
    data_root: str = setting("", "Folder the list file paths are relative to (default: "
                             "each list file's folder).")
    data_shards: tuple = setting((), "TFRecord shard file(s) or glob pattern(s) written by "
                                 "vgan-make-shards (repeat the flag or use globs); instead "
                                 "of --data_list.")
    synthetic: bool = setting(False, "Train on the built-in synthetic sprite scenes.")
    synthetic_clips: int = setting(512, "Clips in the synthetic set.", minimum=1)
    synthetic_scene: str = setting("digits", "Scene family of the synthetic set: digits (1-3 "
                                   "digit sprites over a texture) or simple (1-2 solid "
                                   "shapes over a smooth gradient).", choices=SCENES)
    synthetic_dir: str = setting("", "Where the synthetic set is written (default "
                                 "<model_dir>/synthetic_data).")
    # How clips are cut from the strips and read (vgan_tf.data).
    window: str = setting("first", "Which frames of a strip make a clip: first (the top, "
                          "the original loader), center (the middle window) or random (a "
                          "random window that fits, seeded per clip).", choices=WINDOWS)
    stride: int = setting(1, "Take every stride-th frame of the strip.", minimum=1)
    strip_size: int = setting(0, "Refuse (skip) strips whose frames are not this many "
                              "pixels wide; 0 accepts any size (frames are resized to "
                              "--size).", minimum=0, note="0: any frame size")
    resize: str = setting("dct", "dct: the JPEG decoder scales by 2, 4 or 8 (fast; about "
                          "1.4/255 from bilinear, docs/faithfulness.md); bilinear: the "
                          "original loader's resize, exactly.", choices=RESIZE_METHODS)
    data_cache: bool = setting(False, "Cache the encoded strips in memory after the first "
                               "pass (decoding still happens every epoch); the data set "
                               "must fit in RAM.")
    strict_data: bool = setting(False, "Stop on the first bad strip (naming it) instead of "
                                "skipping and counting it (runs the full checks too).")
    data_full_checks: bool = setting(False, "Also skip strips whose Huffman tables or scan "
                                     "are damaged (flipped bits): two more decodes at ratio"
                                     " 8 per strip, about 2.3x the input pipeline's CPU "
                                     "time (docs/data.md).")
    data_service: str = setting("", "tf.data service dispatcher address (grpc://host:5050):"
                                " the input pipeline runs on the service workers (see "
                                "docs/data.md). Skipped strips are then logged by the "
                                "workers, not counted here.")
    # Model.
    model: str = setting("video", "video: the unconditional video GAN (noise -> video); "
                         "future: future prediction (frame 1 of each clip -> the clip; "
                         "presets future_paper, future_tiny).", choices=MODELS)
    generator: str = setting("two_stream", "The paper's two-stream generator or its "
                             "one-stream baseline.", choices=GENERATORS)
    frames: int = setting(32, "Frames per clip (a multiple of size/4).", minimum=1)
    size: int = setting(64, "Frame height and width: 8, 16, 32, 64, 128, ...", minimum=1)
    latent_dim: int = setting(100, "Size of the latent vector z (100 in the paper).",
                              minimum=1)
    base_width: int = setting(64, "Channels of the widest-resolution hidden layer (64 in "
                              "the paper's video model, 128 in its future predictor and "
                              "that model's discriminator).", minimum=1)
    # Optimisation (the paper: Adam 2e-4, beta1 0.5, batch 64, mask prior 0.1).
    batch_size: int = setting(64, "GLOBAL batch size: split evenly over all replicas of all "
                              "workers (must be a multiple of the replica count).",
                              minimum=1)
    steps: int = setting(100_000, "Total training steps (G and D updates).", minimum=1)
    steps_per_epoch: int = setting(1000, "Steps per Keras epoch (one progress bar line).",
                                   minimum=1)
    g_learning_rate: float = setting(2e-4, "Adam learning rate of G.", minimum=0,
                                     exclusive=True)
    d_learning_rate: float = setting(2e-4, "Adam learning rate of D.", minimum=0,
                                     exclusive=True)
    beta_1: float = setting(0.5, "Adam beta_1 of both networks.", minimum=0, below=1)
    mask_weight: float = setting(0.1, "Weight of the L1 mask prior (0.1 in the paper).",
                                 minimum=0)
    l1_weight: float = setting(10.0, "--model=future: weight (lambda) of the mean L1 "
                               "between the first predicted frame and the input frame (10 "
                               "in the original).", minimum=0)
    g_step: str = setting(DEFAULT_G_STEP, "Which D the G step differentiates through: "
                          "updated_d (a third D forward on the fake batch after the D "
                          "update) or paper (the original's form: the D step's forward on "
                          "the fake batch serves both updates, one D forward less; "
                          "docs/faithfulness.md).", choices=G_STEPS)
    seed: int = setting(0, "Seed of the initial weights, the training noise and the data "
                        "order.")
    shuffle_buffer: int = setting(1024, "Clips in the shuffle buffer.", minimum=1)
    # Hardware.
    strategy: str = setting("default", "tf.distribute strategy: default (one device), "
                            "one_device (first GPU, else CPU), mirrored (all local GPUs), "
                            "multi_worker (cluster from TF_CONFIG).", choices=STRATEGIES)
    precision: str = setting("fp32", "fp32, bf16 (mixed_bfloat16) or fp16 (mixed_float16 "
                             "with loss scaling); losses and logits stay float32.",
                             choices=PRECISIONS)
    jit_compile: bool = setting(False, "XLA-compile the train step. Off by default: about "
                                "100x slower on CPU; try it on GPU.")
    deterministic: bool = setting(False, "tf.config.experimental.enable_op_determinism(): "
                                  "bit-identical reruns and resumes, at some speed cost.")
    # Outputs.
    checkpoint_every: int = setting(1000, "Steps between checkpoints.", minimum=1)
    keep_checkpoints: int = setting(5, "Checkpoints kept (the latest ones).", minimum=1)
    resume: bool = setting(True, "Continue from the latest checkpoint in --model_dir.")
    num_samples: int = setting(16, "Videos in the final sample grid.", minimum=1)
    sample_scale: int = setting(1, "Pixel repetition of the sample pictures.", minimum=1)
    sample_fps: float = setting(8.0, "Frames per second of the sample GIFs.", minimum=0,
                                exclusive=True)
    verbose: int = setting(1, "Keras verbosity: 0 silent, 1 progress bar, 2 a line per "
                           "epoch.", choices=(0, 1, 2))
    # Visibility.
    log_every: int = setting(100, "Steps between log lines with losses, steps/s and "
                             "videos/s (0: none).", minimum=0, note="0: no log lines")
    summary_every: int = setting(100, "Steps between TensorBoard scalar summaries "
                                 "(<model_dir>/tensorboard).", minimum=1)
    sample_every: int = setting(1000, "Steps between TensorBoard video samples (also "
                                "written at the end).", minimum=1)
    summary_samples: int = setting(4, "Fixed seeds 0..n-1 shown in the TensorBoard "
                                   "samples.", minimum=1)

    @property
    def sizes(self) -> config_lib.NetworkSizes:
        return config_lib.NetworkSizes(self.frames, self.size, self.latent_dim,
                                       self.base_width)

    def validate(self) -> "TrainConfig":
        """Raises ValueError naming the offending field (= flag) and what was expected."""
        if not self.model_dir:
            raise ValueError("--model_dir is required: the folder for checkpoints and samples")
        config_flags.validate_fields(self)
        self._validate_data()
        if self.steps % self.steps_per_epoch:
            raise ValueError(f"--steps ({self.steps}) must be a multiple of --steps_per_epoch "
                             f"({self.steps_per_epoch})")
        try:
            self.sizes
        except ValueError as error:
            raise ValueError(f"--frames/--size/--latent_dim/--base_width: {error}") from None
        if self.model == "future" and self.generator != "two_stream":
            raise ValueError("--generator applies to --model=video only: the future "
                             "predictor is always two-stream")
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
        if self.data_shards and self.data_root:
            raise ValueError("--data_root applies to --data_list only: TFRecord shards "
                             "(--data_shards) hold the strips themselves")
        if self.data_service and not _SERVICE_ADDRESS.match(self.data_service):
            raise ValueError(f"--data_service must be a tf.data service dispatcher address "
                             f"like grpc://host:5050 (or empty), got {self.data_service!r}")


PRESETS = {
    # The paper: 32 frames of 64x64, z 100, widths 512..64, batch 64.
    "paper": dict(frames=32, size=64, latent_dim=100, base_width=64, batch_size=64,
                  steps=100_000, steps_per_epoch=1000, checkpoint_every=1000, log_every=100,
                  summary_every=100, sample_every=1000),
    # Seconds on a CPU: every layer of the paper at 8 frames of 16x16, narrow widths.
    "tiny": dict(frames=8, size=16, latent_dim=16, base_width=8, batch_size=8, steps=20,
                 steps_per_epoch=10, checkpoint_every=10, num_samples=4, sample_scale=4,
                 synthetic_clips=64, log_every=5, summary_every=5, sample_every=10),
    # `make demo` until issue 17 (the digits scenes, the paper's mask prior); bench/ablation.py.
    "tiny_demo": dict(frames=16, size=32, latent_dim=64, base_width=32, batch_size=16,
                      steps=1200, steps_per_epoch=100, checkpoint_every=200,
                      synthetic_clips=1024, num_samples=16, sample_scale=3, log_every=50,
                      summary_every=20, sample_every=200),
    # `make demo`, chosen by measurement (bench/demo_configs.py, docs/demo.md): the simple
    # scenes, a mask prior 100x the paper's (at this budget the paper's 0.1 leaves the mask
    # near 0.5 everywhere), bf16 and twice tiny_demo's steps in about the same time, G
    # against the updated D (measured better than g_step=paper on FVD and KVD here).
    "demo": dict(frames=16, size=32, latent_dim=64, base_width=32, batch_size=16,
                 steps=2400, steps_per_epoch=100, checkpoint_every=400,
                 synthetic_clips=1024, synthetic_scene="simple", mask_weight=10.0,
                 precision="bf16", g_step="updated_d", num_samples=16, sample_scale=3,
                 log_every=100, summary_every=50, sample_every=400),
    # The original's future prediction (main_conditional.lua): batch 32, widths 128..1024
    # (predictor and discriminator), Adam 2e-4 / 0.5, lambda 10.
    "future_paper": dict(model="future", frames=32, size=64, base_width=128, batch_size=32,
                         l1_weight=10.0, steps=100_000, steps_per_epoch=1000,
                         checkpoint_every=1000, log_every=100, summary_every=100,
                         sample_every=1000),
    # Seconds on a CPU: every layer of the predictor at 8 frames of 16x16.
    "future_tiny": dict(model="future", frames=8, size=16, base_width=8, batch_size=8,
                        steps=20, steps_per_epoch=10, checkpoint_every=10, num_samples=4,
                        sample_scale=4, synthetic_clips=64, log_every=5, summary_every=5,
                        sample_every=10),
    # `make demo-future`: minutes on 2 CPU cores.
    "future_demo": dict(model="future", frames=16, size=32, base_width=16, batch_size=16,
                        steps=1000, steps_per_epoch=100, checkpoint_every=200,
                        g_learning_rate=1e-3, synthetic_clips=1024, num_samples=8,
                        sample_scale=3, log_every=50, summary_every=20, sample_every=200),
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


def load_config(values: dict) -> TrainConfig:
    """The TrainConfig of a run's config.json (flat {setting: value}; lists -> tuples)."""
    return TrainConfig(**{k: tuple(v) if isinstance(v, list) else v
                          for k, v in values.items()})
