"""Training configuration as one dataclass, with named presets.

Field names are also the flag names of tools/train.py (flags are derived from the fields:
vgan_tf.config_flags), so a validation error that names a field names the flag to fix.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re

from vgan_tf import config as config_lib
from vgan_tf import config_flags
from vgan_tf.config_flags import section, setting
from vgan_tf.data.options import WINDOWS
from vgan_tf.data.options import RESIZE_METHODS
from vgan_tf.data.synthetic import SCENES
from vgan_tf.models import families
from vgan_tf.models import family as family_lib
from vgan_tf.tasks import augment as augment_lib
from vgan_tf.tasks import losses as losses_lib
from vgan_tf.tasks.adversarial import DEFAULT_G_STEP, G_STEPS
from vgan_tf.tasks.recipe import DEFAULT_LOSS, Recipe
from vgan_tf.training.precision import PRECISIONS
from vgan_tf.training.strategy import STRATEGIES

GENERATORS = ("two_stream", "one_stream")
LAYER_FORMS = family_lib.LAYER_FORMS
MODELS = families.NAMES
"""The model families vgan-train trains (vgan_tf.models.families): video, future."""
GPU_JIT_COMPILE = False
"""--jit_compile's default on a GPU: off until bench/gpu.py has measured XLA on against off
on one (pending: docs/performance.md); on CPU the default is off (measured)."""
_SERVICE_ADDRESS = re.compile(r"^(grpc://)?[^\s:/]+:\d{1,5}$")


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Where the clips come from and how they are read (vgan_tf.data)."""

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
    window: str = setting("first", "Which frames of a strip make a clip: first (the top, "
                          "the original loader), center (the middle window) or random (a "
                          "random window that fits, seeded per clip).", choices=WINDOWS)
    stride: int = setting(1, "Take every stride-th frame of the strip.", minimum=1)
    strip_size: int = setting(0, "Refuse (skip) strips whose frames are not this many "
                              "pixels wide; 0 accepts any size (frames are resized to "
                              "--size).", minimum=0, note="0: any frame size")
    resize: str = setting("dct", "dct: the JPEG decoder scales by 2, 4 or 8 (fast; its "
                          "difference from bilinear: docs/faithfulness.md); bilinear: the "
                          "original loader's resize, exactly.", choices=RESIZE_METHODS)
    data_cache: bool = setting(False, "Cache the encoded strips in memory after the first "
                               "pass (decoding still happens every epoch); the data set "
                               "must fit in RAM.")
    strict_data: bool = setting(False, "Stop on the first bad strip (naming it) instead of "
                                "skipping and counting it (runs the full checks too).")
    data_full_checks: bool = setting(True, "Also skip strips whose Huffman tables or scan "
                                     "are damaged (flipped bits); paid once per strip with "
                                     "the verdict cache (docs/data.md).")
    data_service: str = setting("", "tf.data service dispatcher address (grpc://host:5050):"
                                " the input pipeline runs on the service workers (see "
                                "docs/data.md). Skipped strips are then logged by the "
                                "workers, not counted here.")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Which model family, its sizes and its penalties (vgan_tf.models)."""

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
    mask_weight: float = setting(0.1, "Weight of the L1 mask prior (0.1 in the paper).",
                                 minimum=0)
    l1_weight: float = setting(10.0, "--model=future: weight (lambda) of the mean L1 "
                               "between the first predicted frame and the input frame (10 "
                               "in the original).", minimum=0)
    r1_gamma: float = setting(0.0, "Not in the paper: weight gamma of the R1 penalty, "
                              "gamma / 2 * E||grad_x D(x)||^2 on the real videos, added to "
                              "D's loss (0: off).", minimum=0, note="0: off")
    r1_every: int = setting(1, "Not in the paper: apply R1 every this many steps, with "
                            "gamma * r1_every (lazy R1, as in StyleGAN2).", minimum=1)
    spectral_norm: bool = setting(False, "Not in the paper: spectral normalisation of D's "
                                  "convolutions (each kernel divided by its largest "
                                  "singular value in the forward).")
    layer_forms: str = setting("plain", "Speed only (the same weights and outputs up to "
                               "float rounding): d_input computes D's first layer as "
                               "space-to-depth + a stride-1 convolution, g_heads G's video "
                               "heads as a stride-1 transposed convolution + depth-to-space "
                               "(video model only), both: the two; plain: neither. Which is "
                               "faster depends on the machine, size and precision "
                               "(docs/performance.md).", choices=LAYER_FORMS)

    @property
    def sizes(self) -> config_lib.NetworkSizes:
        return config_lib.NetworkSizes(self.frames, self.size, self.latent_dim,
                                       self.base_width)


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    """The optimisation: batch, schedule, optimisers, G step form, seed."""

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
    g_step: str = setting(DEFAULT_G_STEP, "Which D the G step differentiates through: "
                          "updated_d (a third D forward on the fake batch after the D "
                          "update) or paper (the original's form: the D step's forward on "
                          "the fake batch serves both updates, one D forward less; "
                          "docs/faithfulness.md).", choices=G_STEPS)
    loss: str = setting(DEFAULT_LOSS, "The adversarial loss: nonsaturating (the paper's "
                        "BCE pair) or hinge (not in the paper: D max(0, 1 - D(x)) + max(0, "
                        "1 + D(G(z))), G -D(G(z))).", choices=tuple(losses_lib.LOSSES))
    augment: str = setting("", "Not in the paper: comma list of DiffAugment policies for "
                           "video (color, translation, cutout), applied to the real and the "
                           "fake videos before D in both steps; one random transform per "
                           "clip, the same on each of its frames (empty: none).")
    ema_decay: float = setting(0.0, "Not in the paper: decay of the moving average of G's "
                               "weights, updated after each G step; the average is what "
                               "samples, TensorBoard and generator.keras use (0: off; "
                               "e.g. 0.999).", minimum=0, below=1, note="0: off")
    seed: int = setting(0, "Seed of the initial weights, the training noise, the "
                        "augmentations and the data order.")
    shuffle_buffer: int = setting(1024, "Clips in the shuffle buffer.", minimum=1)


@dataclasses.dataclass(frozen=True)
class RuntimeConfig:
    """Hardware, precision, checkpoints, logs and samples of the run."""

    strategy: str = setting("default", "tf.distribute strategy: default (one device), "
                            "one_device (first GPU, else CPU), mirrored (all local GPUs), "
                            "multi_worker (cluster from TF_CONFIG).", choices=STRATEGIES)
    precision: str = setting("fp32", "fp32, bf16 (mixed_bfloat16) or fp16 (mixed_float16 "
                             "with loss scaling); losses and logits stay float32.",
                             choices=PRECISIONS)
    jit_compile: bool | None = setting(
        None, "XLA-compile the train step: --jit_compile on, --nojit_compile off; not "
        "given: the device's default, off on CPU (XLA made the step about 100x slower "
        "there) and on a GPU the value bench/gpu.py measured best (off until it has been "
        "measured; docs/performance.md).")
    deterministic: bool = setting(False, "tf.config.experimental.enable_op_determinism(): "
                                  "bit-identical reruns and resumes, at some speed cost.")
    checkpoint_every: int = setting(1000, "Steps between checkpoints.", minimum=1)
    keep_checkpoints: int = setting(5, "Checkpoints kept (the latest ones).", minimum=1)
    resume: bool = setting(True, "Continue from the latest checkpoint in --model_dir.")
    num_samples: int = setting(16, "Videos in the final sample grid.", minimum=1)
    sample_scale: int = setting(1, "Pixel repetition of the sample pictures.", minimum=1)
    sample_fps: float = setting(8.0, "Frames per second of the sample GIFs.", minimum=0,
                                exclusive=True)
    verbose: int = setting(1, "Keras verbosity: 0 silent, 1 progress bar, 2 a line per "
                           "epoch.", choices=(0, 1, 2))
    log_every: int = setting(100, "Steps between log lines with losses, steps/s and "
                             "videos/s (0: none).", minimum=0, note="0: no log lines")
    summary_every: int = setting(100, "Steps between TensorBoard scalar summaries "
                                 "(<model_dir>/tensorboard).", minimum=1)
    sample_every: int = setting(1000, "Steps between TensorBoard video samples (also "
                                "written at the end).", minimum=1)
    summary_samples: int = setting(4, "Fixed seeds 0..n-1 shown in the TensorBoard "
                                   "samples.", minimum=1)

    def jit_compile_on(self, gpu: bool) -> bool:
        """Whether the train step is XLA-compiled: --jit_compile / --nojit_compile when
        given, else the device's default (GPU_JIT_COMPILE with a GPU, off without)."""
        if self.jit_compile is not None:
            return self.jit_compile
        return GPU_JIT_COMPILE if gpu else False


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything one training run needs, in four sections. Defaults are the paper's.

    Each setting is also the flag of the same name of tools/train.py (flags are flat:
    `--frames` sets `config.model.frames`), with the help, choices and bounds declared
    here (config_flags.setting): one source of truth. `config_flags.build(TrainConfig,
    flat)` / `flatten(config)` convert from and to the flat form of presets, flags and
    config.json.
    """

    model_dir: str = setting("", "Folder for checkpoints, samples and generator.keras.")
    data: DataConfig = section(DataConfig, "Where the clips come from and how they are read.")
    model: ModelConfig = section(ModelConfig, "The model family and its sizes.")
    training: TrainingConfig = section(TrainingConfig, "Batch, schedule and optimisers.")
    runtime: RuntimeConfig = section(RuntimeConfig, "Hardware, checkpoints, logs, samples.")

    def validate(self) -> "TrainConfig":
        """Raises ValueError naming the offending setting (= flag) and what was expected."""
        if not self.model_dir:
            raise ValueError("--model_dir is required: the folder for checkpoints and samples")
        config_flags.validate_fields(self)
        _validate_data(self.data)
        if self.training.steps % self.training.steps_per_epoch:
            raise ValueError(f"--steps ({self.training.steps}) must be a multiple of "
                             f"--steps_per_epoch ({self.training.steps_per_epoch})")
        try:
            self.model.sizes
        except ValueError as error:
            raise ValueError(f"--frames/--size/--latent_dim/--base_width: {error}") from None
        families.family(self.model.model).validate(self.model)
        try:
            augment_lib.parse_policies(self.training.augment)
        except ValueError as error:
            raise ValueError(f"--augment: {error}") from None
        if self.model.r1_every != 1 and not self.model.r1_gamma:
            raise ValueError("--r1_every applies with --r1_gamma > 0 (R1 is off)")
        return self

    @property
    def recipe(self) -> Recipe:
        """The task's recipe (tasks.Recipe) of these settings; all off: the paper's."""
        return Recipe(loss=self.training.loss, r1_gamma=self.model.r1_gamma,
                      r1_every=self.model.r1_every, augment=self.training.augment,
                      ema_decay=self.training.ema_decay)

    def replace(self, **values) -> "TrainConfig":
        """A copy with settings changed by their flat (flag) names."""
        return config_flags.replace(self, **values)

    def flat(self) -> dict:
        """{setting: value}: the form of presets, flags and config.json."""
        return config_flags.flatten(self)


def _validate_data(data: DataConfig):
    sources = [name for name, given in (("--synthetic", data.synthetic),
                                        ("--data_list", data.data_list),
                                        ("--data_shards", data.data_shards)) if given]
    if not sources:
        raise ValueError("give --data_list (with --data_root), --data_shards or --synthetic")
    if len(sources) > 1:
        raise ValueError(f"--synthetic, --data_list and --data_shards exclude each other: "
                         f"give one (got {' and '.join(sources)})")
    if data.data_shards and data.data_root:
        raise ValueError("--data_root applies to --data_list only: TFRecord shards "
                         "(--data_shards) hold the strips themselves")
    if data.data_service and not _SERVICE_ADDRESS.match(data.data_service):
        raise ValueError(f"--data_service must be a tf.data service dispatcher address "
                         f"like grpc://host:5050 (or empty), got {data.data_service!r}")


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
    # against the updated D (measured better than g_step=paper on FVD and KVD here);
    # DiffAugment's translation and the steps of 240 s (bench/recipes.py, docs/recipes.md);
    # both layer forms (x1.12 a step at this size in bf16: docs/performance.md).
    "demo": dict(frames=16, size=32, latent_dim=64, base_width=32, batch_size=16,
                 steps=1000, steps_per_epoch=100, checkpoint_every=500,
                 synthetic_clips=1024, synthetic_scene="simple", mask_weight=10.0,
                 precision="bf16", g_step="updated_d", augment="translation",
                 layer_forms="both", num_samples=16, sample_scale=3, log_every=100,
                 summary_every=50, sample_every=500),
    # `make demo-real`: the demo's network and recipe on real footage (OpenCV's vtest.avi,
    # prepared as 16-frame windows of 64x64, trained at 32x32), about 12 minutes on 2 cores;
    # DiffAugment's translation (docs/recipes.md), which a few hundred clips need most.
    "real_demo": dict(frames=16, size=32, latent_dim=64, base_width=32, batch_size=16,
                      steps=3600, steps_per_epoch=100, checkpoint_every=400,
                      mask_weight=10.0, precision="bf16", g_step="updated_d",
                      augment="translation", layer_forms="both",
                      num_samples=16, sample_scale=3, log_every=100, summary_every=50,
                      sample_every=400),
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
    # `make demo-future`: minutes on 2 CPU cores; DiffAugment's translation (docs/demo.md).
    "future_demo": dict(model="future", frames=16, size=32, base_width=16, batch_size=16,
                        steps=1000, steps_per_epoch=100, checkpoint_every=200,
                        g_learning_rate=1e-3, augment="translation", synthetic_clips=1024, num_samples=8,
                        sample_scale=3, log_every=50, summary_every=20, sample_every=200),
}


def make(**values) -> TrainConfig:
    """A TrainConfig from flat settings (the flag names); the rest keep their defaults.
    Lists become tuples and a single path string a one-path tuple (data_list="a.txt")."""
    return config_flags.make(TrainConfig, values, "training settings")


def from_preset(name: str, **overrides) -> TrainConfig:
    """A TrainConfig from a named preset, with overrides by flat setting name."""
    if name not in PRESETS:
        raise ValueError(f"--preset must be one of {sorted(PRESETS)}, got {name!r}")
    values = dict(PRESETS[name])
    values.update(overrides)
    return make(**values)


def load_config(values: dict) -> TrainConfig:
    """The TrainConfig of a run's config.json (flat {setting: value}, as runs write it)."""
    return make(**values)


RESUME_MAY_CHANGE = frozenset(
    [f.name for f in config_flags.settings(RuntimeConfig)]
    + ["steps", "g_learning_rate", "d_learning_rate", "data_list", "data_root",
       "data_shards", "synthetic_dir", "data_cache", "strict_data", "data_full_checks",
       "data_service", "layer_forms"])
"""Settings a resumed run may change (layer_forms: the forms share the weights' layout, so
checkpoints move between them); the others are what its checkpoints were trained with
(sizes, model, data source kind, batch, optimiser form, seed)."""

CONFIG_FILE = "config.json"


def read_run_config(model_dir: str) -> TrainConfig | None:
    """The TrainConfig saved in <model_dir>/config.json, None when there is none;
    ValueError naming the file when it cannot be read as one."""
    path = os.path.join(model_dir, CONFIG_FILE)
    if not os.path.isfile(path):
        return None
    try:
        with open(path) as handle:
            values = json.load(handle)
        if not isinstance(values, dict):
            raise ValueError("not a JSON object")
        return load_config(values)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{path}: not a training config ({error})") from None


def for_run(given: dict, preset: str | None = None) -> TrainConfig:
    """The config of the run that the flags `given` ({setting: value}) and `preset` ask for.

    A new run (no config.json in --model_dir, or --noresume): the preset (or the defaults)
    under the given flags. An existing run: its own config.json under the given flags, so
    `--model_dir` alone resumes it; a flag (or preset value) that contradicts a setting its
    checkpoints were trained with is refused with one ValueError naming each such setting,
    before anything is written.
    """
    model_dir = given.get("model_dir", "")
    saved = read_run_config(model_dir) if model_dir and given.get("resume", True) else None
    if saved is None:
        return from_preset(preset, **given) if preset else make(**given)
    asked = from_preset(preset, **given).flat() if preset else dict(given)
    ran = saved.flat()
    differ = [f"--{name}={value!r} (the run: {ran[name]!r})" for name, value in asked.items()
              if name in ran and name not in RESUME_MAY_CHANGE
              and _normal(value) != _normal(ran[name])]
    if differ:
        raise ValueError(f"{model_dir} holds a run trained with other settings (its "
                         f"{CONFIG_FILE}): {', '.join(differ)}; drop those flags to resume "
                         f"it, or give a new --model_dir")
    return saved.replace(**{k: v for k, v in asked.items() if k in RESUME_MAY_CHANGE})


def _normal(value):
    return tuple(value) if isinstance(value, list) else value
