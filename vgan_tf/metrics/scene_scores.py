"""How well a generator trained on the synthetic scenes shows the paper's idea: moving
objects, separated by the mask from a background that stays still. What `make demo` prints
and what docs/demo.md's configurations were chosen by.

    report = score_generator(load_video_source("demo_out"), SceneOptions(scene="simple"))
    for line in report.lines(): print(line)

Held-out real clips are rendered from `SceneOptions.held_out_seed` (training uses seed 0,
the predictor's samples seed 1: the default 1000 is neither), generated ones come from
seeds 0 .. num_samples - 1. The scores:
- `fvd`, `kvd`: I3D Fréchet / kernel distance to the held-out clips (metrics.fvd; with
  few clips FVD is biased upward, so compare configurations at the same num_samples);
- `background_std`, `count_mean`: metrics.dynamics on the generated clips (real: printed
  beside them);
- `mask_movers`, `mask_background`: the mean of the generator's mask on the pixels that
  move in its own video (dynamics.foreground_masks) and on the others; a mask that
  covers the movers and leaves the background to the static stream has the first high
  and the second low (`mask_contrast` = their difference). Generators without a mask (the
  one-stream baseline) have none of the three.
"""
from __future__ import annotations

import dataclasses
import json
import os

import numpy as np

from vgan_tf.config_flags import setting
from vgan_tf.data.synthetic import SCENES
from vgan_tf.metrics import dynamics, fvd, registry


@dataclasses.dataclass(frozen=True)
class SceneOptions:
    """scene: synthetic family (data.synthetic.SCENES); num_samples: clips per side;
    held_out_seed: the held-out real clips' data-set seed; batch_size: generator and I3D
    batch; cache_dir: where the real clips' I3D features are cached (None: the user cache
    dir; "": no cache); floor_seed: the data-set seed of as many other real clips, whose
    FVD and KVD to the held-out ones (the real-vs-real floor: what a perfect generator
    would still score at this many clips) the report carries (None: not computed)."""
    scene: str = "digits"
    num_samples: int = 128
    held_out_seed: int = 1000
    batch_size: int = 16
    cache_dir: str | None = None
    floor_seed: int | None = None

    def __post_init__(self):
        from vgan_tf.metrics.evaluation import check_sample_counts

        if self.floor_seed is not None and self.floor_seed == self.held_out_seed:
            raise ValueError(f"the floor's clips (seed {self.floor_seed}) must not be the "
                             f"held-out ones")

        if self.scene not in SCENES:
            raise ValueError(f"scene must be one of {', '.join(SCENES)}, got {self.scene!r}")
        check_sample_counts(self.num_samples, self.batch_size)


@dataclasses.dataclass(frozen=True)
class ScoreConfig:
    """The settings of `vgan-score-synthetic` (each a flag of the same name); defaults of
    the scores' settings are SceneOptions'."""
    generator: str | None = setting(None, "Training directory, .keras file or SavedModel "
                                    "folder.")
    scene: str | None = setting(None, "Scene family of the held-out clips (default: the "
                                "training run's, else digits).", choices=SCENES)
    num_samples: int = setting(SceneOptions.num_samples, "Clips per side.", minimum=2)
    held_out_seed: int = setting(SceneOptions.held_out_seed, "Data-set seed of the held-out "
                                 "clips (training uses --seed, default 0).")
    cache_dir: str | None = setting(SceneOptions.cache_dir, "Cache of the held-out clips' "
                                    "I3D features (default: the user cache dir); empty: no "
                                    "cache.")
    data_list: str | None = setting(None, "A future predictor's run only: real clips to "
                                    "predict from (a list of strips, e.g. a prepared "
                                    "video's held_out.txt) instead of synthetic ones.")
    floor: bool = setting(True, "Also print the real-vs-real floor: FVD and KVD between "
                          "the held-out clips and as many other real clips (seed "
                          "held_out_seed + 1).")
    picture: str | None = setting(None, "Also write a PNG of frame strips (every 2nd frame "
                                  "of 4 samples, each with its mask beneath) to this path.")

    def __post_init__(self):
        from vgan_tf import config_flags
        config_flags.validate_fields(self)


def run_scene(path: str) -> str | None:
    """The synthetic scene a training directory's config.json names (None: none)."""
    config = os.path.join(path, "config.json")
    if os.path.isfile(config):
        with open(config) as handle:
            return json.load(handle).get("synthetic_scene")
    return None


def scene_options(config: ScoreConfig) -> SceneOptions:
    """SceneOptions of `config`: its scene, else the training run's, else digits."""
    scene = config.scene or run_scene(config.generator) or "digits"
    return SceneOptions(scene, config.num_samples, config.held_out_seed,
                        cache_dir=config.cache_dir,
                        floor_seed=config.held_out_seed + 1 if config.floor else None)


@dataclasses.dataclass
class SceneReport:
    """values: the generator's scores; real: the same dynamics scores of the held-out
    clips; floor: fvd and kvd of the real-vs-real floor (empty: not computed)."""
    values: dict
    real: dict
    floor: dict = dataclasses.field(default_factory=dict)

    def lines(self) -> list:
        out = []
        for name, value in self.values.items():
            line = f"{name}: {value:.4f}"
            if name in self.real:
                line += f"  (held-out real clips: {self.real[name]:.4f})"
            if name in self.floor:
                line += f"  (real vs real floor: {self.floor[name]:.4f})"
            out.append(line)
        return out


def held_out_clips(options: SceneOptions, frames: int, size: int) -> np.ndarray:
    """uint8 [num_samples, frames, size, size, 3]: the held-out real clips."""
    from vgan_tf.data import synthetic

    return np.stack([synthetic.render_clip(options.held_out_seed, i, frames, size,
                                           options.scene)[0]
                     for i in range(options.num_samples)])


def mask_scores(videos, masks) -> dict:
    """mask_movers, mask_background, mask_contrast of videos [b, T, H, W, 3] in [-1, 1]
    and their masks [b, T, H, W, 1] in [0, 1] (see the module docstring)."""
    on, off = [], []
    for video, mask in zip(videos, masks):
        moving = dynamics.foreground_masks(video)
        if moving.any():
            on.append(float(mask[..., 0][moving].mean()))
        if (~moving).any():
            off.append(float(mask[..., 0][~moving].mean()))
    movers = float(np.mean(on)) if on else float("nan")
    background = float(np.mean(off)) if off else float("nan")
    return {"mask_movers": movers, "mask_background": background,
            "mask_contrast": movers - background}


def score_generator(source, options: SceneOptions = SceneOptions(),
                    features: fvd.ClipFeatures | None = None) -> SceneReport:
    """The scores of the module docstring for `source` (a model_sources.VideoSource); FVD
    and KVD are those of metrics.registry."""
    from vgan_tf.metrics import i3d

    frames, size = source.video_shape[0], source.video_shape[1]
    i3d.check_frames(frames)
    real = held_out_clips(options, frames, size)
    features = features or fvd.ClipFeatures()
    n, b = options.num_samples, options.batch_size
    parts = [source.parts(np.arange(start, min(n, start + b)))
             for start in range(0, n, b)]
    fake = np.concatenate([p["video"] for p in parts])

    real_f = real_features(options, (frames, size), features)
    fake_f = features.of_batches((fake[i:i + b] for i in range(0, n, b)), n)
    values = registry.compute(real_f, fake_f, options, names=("fvd", "kvd"))
    generated, held_out = dynamics.scores(fake), dynamics.scores(real)
    for name in ("background_std", "count_mean"):
        values[name] = generated[name]
    if "mask" in parts[0]:
        values.update(mask_scores(fake, np.concatenate([p["mask"] for p in parts])))
    real_values = {name: held_out[name] for name in ("background_std", "count_mean")}
    return SceneReport(values, real_values,
                       floor_distances(options, (frames, size), features, real_f))


def floor_distances(options: SceneOptions, shape: tuple, features: fvd.ClipFeatures,
                    held_out: dict) -> dict:
    """{fvd, kvd} between the held-out clips' features `held_out` and the clips of
    options.floor_seed (the real-vs-real floor); {} when floor_seed is None."""
    if options.floor_seed is None:
        return {}
    other = dataclasses.replace(options, held_out_seed=options.floor_seed, floor_seed=None)
    return registry.compute(held_out, real_features(other, shape, features), options,
                            names=("fvd", "kvd"))


def real_features(options: SceneOptions, shape: tuple, features: fvd.ClipFeatures):
    """I3D features of the real clips of options.held_out_seed, cached (options.cache_dir)."""
    from vgan_tf.metrics import i3d_weights

    n, b = options.num_samples, options.batch_size

    def compute():
        real = held_out_clips(options, *shape)
        unit = real.astype(np.float32) / 127.5 - 1.0
        return features.of_batches((unit[i:i + b] for i in range(0, n, b)), n)

    if options.cache_dir == "":
        return compute()
    folder = options.cache_dir or os.path.join(i3d_weights.cache_dir(), "fvd_stats")
    description = {"synthetic_scene": options.scene, "frames": shape[0], "size": shape[1],
                   "held_out_seed": options.held_out_seed, "num_samples": n}
    return fvd.StatisticsCache(folder).get_or_compute(description, compute)[0]
