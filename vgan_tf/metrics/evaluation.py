"""FVD/KVD of a generator against real clips: what `vgan-evaluate` calls.

    report = evaluate(ListSource("test.txt", "/data"), ClipOptions(frames=32, size=64),
                      load_video_source("runs/golf"), EvalOptions(num_samples=2048))
    report.values  # {"fvd": ..., "kvd": ..., "fvd16": ..., "kvd16": ...}

Real clips come from the training pipeline (`vgan_tf.data.video_dataset`: shuffled with
`EvalOptions.seed`, read once, partial last batch kept), generated ones from seeds
seed .. seed + num_samples - 1. The real features are cached (fvd.StatisticsCache) under
a key made of the source (list files' or shards' paths with their sizes and modification
times, the data root), the ClipOptions, num_samples, the seed and the I3D weights.
"""
from __future__ import annotations

import dataclasses
import os
import sys

from vgan_tf.metrics import fvd


@dataclasses.dataclass(frozen=True)
class EvalOptions:
    """num_samples: clips per side (2048 is the common FVD protocol); batch_size: clips per
    I3D batch; seed: the real data's shuffle and the first generator seed; cache_dir:
    where real features are cached (None: <user cache dir>/fvd_stats; "" turns it off)."""
    num_samples: int = 2048
    batch_size: int = 16
    seed: int = 0
    cache_dir: str | None = None

    def __post_init__(self):
        check_sample_counts(self.num_samples, self.batch_size)


def check_sample_counts(num_samples: int, batch_size: int):
    """num_samples >= 2 (a covariance needs two clips) and batch_size >= 1, or ValueError."""
    from vgan_tf.validation import positive_int
    positive_int("num_samples", num_samples)
    positive_int("batch_size", batch_size)
    if num_samples < 2:
        raise ValueError("num_samples must be at least 2 (a covariance needs two clips)")


@dataclasses.dataclass
class Report:
    values: dict
    real_from_cache: bool
    num_samples: int

    def lines(self) -> list:
        return [f"{name}: {value:.4f}" for name, value in self.values.items()]


class ProgressBar:
    """A one-line text bar on `stream` (stderr): `label [#####.....] done/total`."""

    def __init__(self, label: str, stream=None, width: int = 30):
        self.label, self.stream, self.width = label, stream or sys.stderr, width

    def __call__(self, done: int, total: int):
        filled = int(self.width * done / max(total, 1))
        end = "\n" if done >= total else ""
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (self.width - filled)}] "
                          f"{done}/{total}{end}")
        self.stream.flush()


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


def real_batches(source, clip, batch_size: int, seed: int):
    from vgan_tf import data

    options = data.ReadOptions(shuffle=True, seed=seed, repeat=False, drop_remainder=False)
    for batch in data.video_dataset(source, clip, batch_size, options):
        yield batch.numpy()


def evaluate(source, clip, generator, options: EvalOptions = EvalOptions(),
             features: fvd.ClipFeatures | None = None, progress: bool = True) -> Report:
    """FVD, KVD (all frames) and FVD16, KVD16 (first 16 frames, where clips have >= 16)
    of `generator` (a model_sources.VideoSource) against `source` clips described by
    `clip` (data.ClipOptions). Generated clips must have the real clips' frame count."""
    from vgan_tf.metrics import i3d, i3d_weights

    if tuple(generator.video_shape[:1]) != (clip.frames,):
        raise ValueError(f"the generator makes {generator.video_shape[0]}-frame clips, the "
                         f"real clips have {clip.frames} frames")
    i3d.check_frames(clip.frames)
    features = features or fvd.ClipFeatures()
    n, b = options.num_samples, options.batch_size

    def real():
        return features.of_batches(real_batches(source, clip, b, options.seed), n,
                                   ProgressBar("real clips") if progress else None)

    if options.cache_dir == "":
        real_features, cached = real(), False
    else:
        folder = options.cache_dir or os.path.join(i3d_weights.cache_dir(), "fvd_stats")
        description = {"source": describe_source(source),
                       "clip": dataclasses.asdict(clip), "num_samples": n,
                       "seed": options.seed}
        real_features, cached = fvd.StatisticsCache(folder).get_or_compute(description, real)
    fake_features = features.of_batches(generator.batches(n, b, options.seed), n,
                                        ProgressBar("generated clips") if progress else None)
    return Report(fvd.distances(real_features, fake_features), cached, n)
