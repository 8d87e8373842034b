"""FVD/KVD (and any metric of metrics.registry) of a generator against real clips: what
`vgan-evaluate` calls.

    report = evaluate(ListSource("test.txt", "/data"), ClipOptions(frames=32, size=64),
                      load_video_source("runs/golf"), EvalOptions(num_samples=2048))
    report.values  # {"fvd": ..., "kvd": ..., "fvd16": ..., "kvd16": ...}

    report = run(from_protocol("fvd2048_16f", generator="runs/golf", data_list=("t.txt",)))

Real clips come from the training pipeline (`vgan_tf.data.video_dataset`: shuffled with
`EvalOptions.seed` unless `shuffle` is off, read once, partial last batch kept), generated
ones from seeds seed .. seed + num_samples - 1. Both sides get their I3D features once
(fvd.ClipFeatures); every registered metric (or those of `EvalOptions.metrics`) is then
computed from them. The real features are cached (fvd.StatisticsCache) under a key made of
the source (list files' or shards' paths with their sizes and modification times, the data
root), the ClipOptions, num_samples, the seed (and the order when not shuffled) and the
I3D weights. Before any I3D pass the real source and a folder of generated videos are
checked to hold num_samples clips.

`EvaluateConfig` (sections `GeneratedVideos`, `RealClips`, `EvalOptions`) is the settings
of `vgan-evaluate`, one flag per setting (vgan_tf.config_flags); `PROTOCOLS` are named
presets of them, `run(config)` is the binary's one call.
"""
from __future__ import annotations

import dataclasses
import os
import sys

import numpy as np

from vgan_tf import config_flags
from vgan_tf.config_flags import section, setting
from vgan_tf.data.options import WINDOWS
from vgan_tf.metrics import fvd, registry, video_folder

PROTOCOL_SAMPLES = 2048
"""Clips per side of the field's FVD protocol (fvd2048): fewer are warned about."""


def check_sample_counts(num_samples: int, batch_size: int):
    """num_samples >= 2 (a covariance needs two clips) and batch_size >= 1, or ValueError."""
    from vgan_tf.validation import positive_int
    positive_int("num_samples", num_samples)
    positive_int("batch_size", batch_size)
    if num_samples < 2:
        raise ValueError("num_samples must be at least 2 (a covariance needs two clips)")


@dataclasses.dataclass(frozen=True)
class EvalOptions:
    """How both sides are measured (each field a flag of vgan-evaluate)."""
    num_samples: int = setting(PROTOCOL_SAMPLES, "Clips per side (2048: the common "
                               "protocol).", minimum=2)
    batch_size: int = setting(16, "Clips per I3D batch.", minimum=1)
    seed: int = setting(0, "Shuffle seed of the real clips (and of their random windows) "
                        "and first generator seed.")
    cache_dir: str | None = setting(None, "Cache of real features (default: the user cache "
                                    "dir); empty: no cache.")
    shuffle: bool = setting(True, "Shuffle the real clips (with --seed) before taking "
                            "--num_samples of them; false takes the first ones in list "
                            "(or shard) order.")
    metrics: tuple = setting((), "Metrics to report (repeatable or a comma list; default: every "
                             "registered one: fvd, kvd, fvd16, kvd16).")

    def __post_init__(self):
        check_sample_counts(self.num_samples, self.batch_size)
        config_flags.validate_fields(self)
        object.__setattr__(self, "metrics", tuple(self.metrics))


@dataclasses.dataclass(frozen=True)
class GeneratedVideos:
    """The generated side: a model or a folder of videos (model_sources.generated_videos)."""
    generator: str | None = setting(None, "Training directory, .keras file, SavedModel "
                                    "folder, or a folder of generated GIFs/strips.")
    frames: int | None = setting(None, "Frames per strip of a --generator folder of strips "
                                 "(default: height / width).", minimum=1)
    generated_kind: str = setting("auto", "Which files of a --generator folder: auto (its "
                                  "GIFs if any, else its strips), gif, strip.",
                                  choices=video_folder.KINDS)
    quantize: bool = setting(False, "Round the generated videos to 8 bits before measuring, "
                             "as the real clips are.")


@dataclasses.dataclass(frozen=True)
class RealClips:
    """The real side: list files of strips or TFRecord shards, and how clips are cut."""
    data_list: tuple = setting((), "Real clips: list file or glob (repeatable).")
    data_root: str | None = setting(None, "What list entries are relative to.")
    data_shards: tuple = setting((), "Real clips: TFRecord shard files or globs.")
    window: str = setting("first", "Which frames of a real strip: first, center, random.",
                          choices=WINDOWS)
    min_frames: int = setting(1, "Skip real strips with fewer frames (1: none; a shorter "
                              "strip repeats its last frame).", minimum=1)


@dataclasses.dataclass(frozen=True)
class EvaluateConfig:
    """Everything `vgan-evaluate` does; every setting is its flag of the same name."""
    generated: GeneratedVideos = section(GeneratedVideos, "The generated side.")
    real: RealClips = section(RealClips, "The real side.")
    clip_frames: int | None = setting(None, "Frames per clip on both sides: the real clips' "
                                      "length and the generated videos' first frames "
                                      "(default: the generator's frame count).", minimum=1)
    options: EvalOptions = section(EvalOptions, "How both sides are measured.")

    def validate(self) -> "EvaluateConfig":
        """Checks every setting; ValueError naming the flag to fix."""
        config_flags.validate_fields(self)
        if bool(self.real.data_list) == bool(self.real.data_shards):
            raise ValueError("give exactly one of --data_list and --data_shards")
        if not self.generated.generator:
            raise ValueError("--generator is required")
        return self


PROTOCOLS = {
    # StyleGAN-V's fvd2048_16f (docs/metrics.md lists what it matches and what not).
    "fvd2048_16f": dict(num_samples=PROTOCOL_SAMPLES, clip_frames=16, window="random",
                        min_frames=16, shuffle=False, quantize=True),
}


def from_protocol(name: str, **overrides) -> EvaluateConfig:
    """The settings of protocol `name`, then `overrides` (flat setting names)."""
    if name not in PROTOCOLS:
        raise ValueError(f"--protocol must be one of {sorted(PROTOCOLS)}, got {name!r}")
    return config_flags.build(EvaluateConfig, dict(PROTOCOLS[name], **overrides))


@dataclasses.dataclass
class Report:
    values: dict
    real_from_cache: bool
    num_samples: int

    def lines(self) -> list:
        """`num_samples: N`, then one `name: value` line per metric."""
        return [f"num_samples: {self.num_samples}"] + [
            f"{name}: {value:.4f}" for name, value in self.values.items()]


class ProgressBar:
    """A `progress(done, total)` callback (what fvd.ClipFeatures.of_batches and
    viz.movies call) shown by vgan_tf.progress.Progress, closed when done reaches total.
    Give `total` when it is known: the display (and its rate) then starts now, else at the
    first call."""

    def __init__(self, label: str, total: int | None = None, stream=None,
                 unit: str = "clip"):
        self.label, self.stream, self.unit = label, stream, unit
        self._progress = None if total is None else self._start(total)

    def _start(self, total: int):
        from vgan_tf.progress import Progress

        return Progress(total, self.unit, self.label, self.stream)

    def __call__(self, done: int, total: int):
        if self._progress is None:
            self._progress = self._start(total)
        self._progress.update(done - self._progress.done)
        if done >= total:
            self._progress.close()


class MeasuredVideos:
    """A generator's videos as measured: the first `frames` frames, with `quantize`
    rounded to 8 bits (floor(127.5 (x + 1) + 0.5), as StyleGAN-V does) and mapped back to
    [-1, 1] as the real clips are (x * float32(1 / 127.5) - 1)."""

    def __init__(self, videos, frames: int, quantize: bool = False):
        if frames > videos.video_shape[0]:
            raise ValueError(f"--clip_frames={frames}: the generator makes "
                             f"{videos.video_shape[0]}-frame videos")
        self.videos, self.frames, self.quantize = videos, frames, quantize
        self.video_shape = (frames,) + tuple(videos.video_shape[1:])
        self.description = getattr(videos, "description", "")

    def require(self, num: int):
        """As the wrapped videos' `require` (a folder's count check), where they have one."""
        if hasattr(self.videos, "require"):
            self.videos.require(num)

    def batches(self, num: int, batch_size: int, seed: int = 0):
        for batch in self.videos.batches(num, batch_size, seed):
            batch = np.asarray(batch, np.float32)[:, :self.frames]
            if self.quantize:
                levels = np.clip(np.floor((batch + 1.0) * 127.5 + 0.5), 0, 255)
                batch = levels.astype(np.float32) * np.float32(1 / 127.5) - np.float32(1)
            yield batch


def _file_facts(path: str) -> list:
    import tensorflow as tf

    stat = tf.io.gfile.stat(path)
    return [path, int(stat.length), int(stat.mtime_nsec)]


def describe_source(source) -> dict:
    """What identifies the data of a ListSource or ShardSource (for the cache key)."""
    from vgan_tf.data import ListSource
    import tensorflow as tf

    if isinstance(source, ListSource):
        files = [f for pattern in source.list_files for f in sorted(tf.io.gfile.glob(pattern))]
        return {"lists": [_file_facts(f) for f in files], "data_root": source.data_root}
    return {"shards": [_file_facts(f) for f in source.files()]}


def available_clips(source, at_most: int) -> int:
    """How many strips `source` names, counted up to `at_most`: the entries of its list
    files, or the records of its shards (read, not decoded). Strips the pipeline skips
    (bad, too short) are not known yet: this is an upper bound of the clips it gives."""
    from vgan_tf.data import ListSource

    if isinstance(source, ListSource):
        return min(len(source.read()), at_most)
    import tensorflow as tf

    records = tf.data.TFRecordDataset(source.files()).take(at_most)
    return int(records.reduce(np.int64(0), lambda count, _: count + 1))


def check_available(source, generator, num_samples: int):
    """ValueError (one line) when the real source or a folder of generated videos holds
    fewer than `num_samples` clips: asked before any I3D pass."""
    from vgan_tf.data import ListSource

    found = available_clips(source, num_samples)
    if found < num_samples:
        what = (f"the list(s) {', '.join(source.list_files)}" if isinstance(source, ListSource)
                else f"the shards {', '.join(source.patterns)}")
        raise ValueError(f"{what} hold {found} clips, fewer than --num_samples={num_samples}")
    if hasattr(generator, "require"):
        generator.require(num_samples)


def real_batches(source, clip, options: EvalOptions):
    from vgan_tf import data

    read = data.ReadOptions(shuffle=options.shuffle, seed=options.seed, repeat=False,
                            drop_remainder=False)
    for batch in data.video_dataset(source, clip, options.batch_size, read):
        yield batch.numpy()


def _real_features(source, clip, options: EvalOptions, features, progress: bool):
    """(features of num_samples real clips, whether they came from the cache)."""
    from vgan_tf.metrics import i3d_weights

    def compute():
        return features.of_batches(real_batches(source, clip, options), options.num_samples,
                                   ProgressBar("real clips", options.num_samples)
                                   if progress else None)

    if options.cache_dir == "":
        return compute(), False
    folder = options.cache_dir or os.path.join(i3d_weights.cache_dir(), "fvd_stats")
    description = {"source": describe_source(source), "clip": dataclasses.asdict(clip),
                   "num_samples": options.num_samples, "seed": options.seed}
    if not options.shuffle:  # a key of its own; shuffled runs keep their earlier keys
        description["order"] = "as listed"
    return fvd.StatisticsCache(folder).get_or_compute(description, compute)


def evaluate(source, clip, generator, options: EvalOptions = EvalOptions(),
             features: fvd.ClipFeatures | None = None, progress: bool = True) -> Report:
    """The registered metrics (metrics.registry; by default FVD, KVD on all frames and
    FVD16, KVD16 on the first 16 where clips have >= 16) of `generator` (a
    model_sources.VideoSource, a VideoFolder or MeasuredVideos) against `source` clips
    described by `clip` (data.ClipOptions). Generated clips must have the real clips'
    frame count."""
    from vgan_tf.metrics import i3d

    if tuple(generator.video_shape[:1]) != (clip.frames,):
        raise ValueError(f"the generator makes {generator.video_shape[0]}-frame clips, the "
                         f"real clips have {clip.frames} frames")
    i3d.check_frames(clip.frames)
    names = registry.check(options.metrics)
    n, b = options.num_samples, options.batch_size
    check_available(source, generator, n)
    features = features or fvd.ClipFeatures()
    real_features, cached = _real_features(source, clip, options, features, progress)
    fake_features = features.of_batches(generator.batches(n, b, options.seed), n,
                                        ProgressBar("generated clips", n) if progress else None)
    return Report(registry.compute(real_features, fake_features, options, names), cached, n)


def run(config: EvaluateConfig, stream=None) -> Report:
    """What `vgan-evaluate` does with `config`: the sample count is warned about (one line
    on `stream`, stderr) below PROTOCOL_SAMPLES, then `evaluate`."""
    from vgan_tf import data
    from vgan_tf.metrics import model_sources

    config = config.validate()
    real, generated, options = config.real, config.generated, config.options
    source = (data.ListSource(real.data_list, real.data_root) if real.data_list
              else data.ShardSource(real.data_shards))
    try:
        videos = model_sources.generated_videos(generated.generator, generated.frames,
                                                generated.generated_kind)
    except (FileNotFoundError, ValueError) as error:
        raise type(error)(f"--generator: {error}") from None
    frames = config.clip_frames or videos.video_shape[0]
    if frames != videos.video_shape[0] or generated.quantize:
        videos = MeasuredVideos(videos, frames, generated.quantize)
    clip = data.ClipOptions(frames=frames, size=videos.video_shape[1], window=real.window,
                            min_frames=real.min_frames)
    if options.num_samples < PROTOCOL_SAMPLES:
        print(f"warning: {options.num_samples} clips per side, fewer than the "
              f"{PROTOCOL_SAMPLES} of the fvd2048 protocol: FVD is biased upward and not "
              f"comparable with published tables", file=stream or sys.stderr, flush=True)
    return evaluate(source, clip, videos, options)
