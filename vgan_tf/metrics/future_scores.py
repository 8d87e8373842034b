"""How well a future predictor trained on the synthetic scenes animates a still frame:
does the video start from the input, keep its layout, and move? What `make demo-future`
prints (through vgan-score-synthetic, which sends predictor runs here).

    report = score_predictor(load_predictor("demo_out/future/run"), FutureOptions("simple"))

Each of `num_samples` held-out clips (data-set seed `held_out_seed`, as scene_scores)
gives its first frame to the predictor; the predicted videos are scored against the
clips the frames came from:
- `first_frame_l1`: mean |predicted first frame - input frame| ([-1, 1] units; 0 for a
  video that starts exactly at the input; the paper's L1 term, lambda 10, pulls to 0);
- `layout_l1`: mean |predicted frame t - input frame| over every frame, on the pixels
  that never move in the held-out clip (its still background): how far the scene drifts
  from the photo's layout (0: the background is the photo's, in every frame);
- `background_std`, `count_mean`: metrics.dynamics on the predicted clips, as
  scene_scores (real: the held-out clips' values);
- `motion`: mean |frame t - frame 0| of the predicted clips ([-1, 1] units); a predictor
  that copies the frame scores 0, the held-out clips' value is printed beside it;
- `fvd`, `kvd` (with `features`): I3D distances of the predicted clips to the held-out
  clips, with the real-vs-real floor when `floor_seed` is set (scene_scores).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from vgan_tf.metrics import dynamics, registry, scene_scores


@dataclasses.dataclass(frozen=True)
class FutureOptions:
    """scene, num_samples, held_out_seed, batch_size, cache_dir, floor_seed: as
    scene_scores.SceneOptions (batch_size: the predictor's and I3D's batch)."""
    scene: str = "simple"
    num_samples: int = 128
    held_out_seed: int = 1000
    batch_size: int = 16
    cache_dir: str | None = None
    floor_seed: int | None = None

    def scene_options(self) -> scene_scores.SceneOptions:
        return scene_scores.SceneOptions(self.scene, self.num_samples, self.held_out_seed,
                                         self.batch_size, self.cache_dir, self.floor_seed)


def is_predictor_run(path: str) -> bool:
    """Whether `path` is a training directory of a conditional family (its config.json)."""
    import json
    import os

    from vgan_tf.models import families

    config = os.path.join(path, "config.json")
    if not os.path.isfile(config):
        return False
    with open(config) as handle:
        model = json.load(handle).get("model", "video")
    return families.family(model).conditional


def clips_of_list(list_file: str, num: int, size: int) -> np.ndarray:
    """uint8 [n, T, size, size, 3]: the first `num` strips of a list of strips (fewer if
    it holds fewer), each frame resized to `size` (area-averaged): real clips for
    score_on_clips."""
    import tensorflow as tf

    from vgan_tf.metrics import video_folder

    folder = video_folder.VideoFolder(list_file)
    num = min(num, len(folder))
    clips = np.concatenate(list(folder.batches(num, 16)))
    frames = tf.image.resize(clips.reshape(-1, *clips.shape[2:]), (size, size),
                             method="area").numpy()
    unit = frames.reshape(num, clips.shape[1], size, size, 3)
    return np.round((np.clip(unit, -1, 1) + 1.0) * 127.5).astype(np.uint8)


def _unit(clips) -> np.ndarray:
    return np.asarray(clips, np.float32) / 127.5 - 1.0


def motion(clips) -> float:
    """Mean |frame t - frame 0| of clips [n, T, H, W, 3] in [-1, 1]."""
    return float(np.abs(clips - clips[:, :1]).mean())


def frame_scores(predicted, real) -> dict:
    """first_frame_l1, layout_l1, motion of predicted clips for the real clips whose first
    frames they were given (both [n, T, H, W, 3] in [-1, 1])."""
    inputs = real[:, 0]
    layout = []
    for video, clip in zip(predicted, real):
        still = ~dynamics.foreground_masks(clip).any(0)
        if still.any():
            layout.append(float(np.abs(video - clip[0])[:, still].mean()))
    return {"first_frame_l1": float(np.abs(predicted[:, 0] - inputs).mean()),
            "layout_l1": float(np.mean(layout)) if layout else float("nan"),
            "motion": motion(predicted)}


def score_predictor(runner, options: FutureOptions = FutureOptions(),
                    features=None) -> scene_scores.SceneReport:
    """The scores of the module docstring for `runner` (export.future_files.
    PredictorRunner: uint8 images -> uint8 parts) on the held-out synthetic clips of
    `options`; fvd and kvd only with `features` (a metrics.fvd.ClipFeatures)."""
    scene = options.scene_options()
    real_uint8 = scene_scores.held_out_clips(scene, runner.frames, runner.size)
    report = score_on_clips(runner, real_uint8, options.batch_size, features,
                            lambda: scene_scores.real_features(
                                scene, (runner.frames, runner.size), features))
    floor = {}
    if features is not None and options.floor_seed is not None:
        floor = scene_scores.floor_distances(scene, (runner.frames, runner.size), features,
                                             report.held_out_features)
    return scene_scores.SceneReport(report.values, report.real, floor)


@dataclasses.dataclass
class _ClipsReport:
    values: dict
    real: dict
    held_out_features: dict | None


def score_on_clips(runner, real_uint8, batch_size: int = 16, features=None,
                   real_features=None):
    """The scores of `runner` on real clips uint8 [n, T, H, W, 3] (any clips: held-out
    windows of a real video too), each predicted from its first frame; `.values`,
    `.real` (the clips' own background_std, count_mean, motion) and
    `.held_out_features`. fvd and kvd only with `features`; `real_features()` gives the
    real side's I3D features (default: computed from the clips)."""
    n, b = len(real_uint8), batch_size
    predicted = np.concatenate([runner(real_uint8[i:i + b, 0])["video"]
                                for i in range(0, n, b)])
    fake, real = _unit(predicted), _unit(real_uint8)
    values, real_f = {}, None
    if features is not None:
        real_f = real_features() if real_features is not None else features.of_batches(
            (real[i:i + b] for i in range(0, n, b)), n)
        fake_f = features.of_batches((fake[i:i + b] for i in range(0, n, b)), n)
        values.update(registry.compute(real_f, fake_f, None, names=("fvd", "kvd")))
    values.update(frame_scores(fake, real))
    generated, held_out = dynamics.scores(fake), dynamics.scores(real)
    for name in ("background_std", "count_mean"):
        values[name] = generated[name]
    real_values = {name: held_out[name] for name in ("background_std", "count_mean")}
    real_values["motion"] = motion(real)
    return _ClipsReport(values, real_values, real_f)
