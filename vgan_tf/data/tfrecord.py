"""TFRecord shards: the strips of a list, packed into a few large files.

A cluster reads a few hundred large files far better than millions of small ones (one
open and one sequential read per shard; gs:// charges per request). Each record is a
tf.train.Example with
  strip  bytes   the JPEG strip, unchanged (no re-encoding)
  label  int64   the list's class label, -1 where the line had none
  path   bytes   the strip's path relative to the data root (names it in log lines)
Shard i of n holds list entries i, i + n, i + 2n, ... in list order, so the same list
gives byte-identical shards. Bad strips are skipped and counted while converting, with the
same checks as the pipeline plus a full decode.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import sys
import threading
import time

import tensorflow as tf

from vgan_tf.data import checks, lists

FEATURES = {
    "strip": tf.io.FixedLenFeature([], tf.string),
    "label": tf.io.FixedLenFeature([], tf.int64, default_value=-1),
    "path": tf.io.FixedLenFeature([], tf.string, default_value=""),
}


def parse_record(record):
    """In-graph: serialized Example -> {strip, label, path}."""
    return tf.io.parse_single_example(record, FEATURES)


def make_example(strip: bytes, label: int, path: str) -> bytes:
    feature = {
        "strip": tf.train.Feature(bytes_list=tf.train.BytesList(value=[strip])),
        "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(label)])),
        "path": tf.train.Feature(bytes_list=tf.train.BytesList(value=[path.encode()])),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def shard_name(prefix: str, index: int, num_shards: int) -> str:
    return f"{prefix}-{index:05d}-of-{num_shards:05d}.tfrecord"


def expand_shards(shard_patterns) -> list:
    """Sorted shard files for a path, glob pattern or sequence; errors name the pattern."""
    if isinstance(shard_patterns, (str, bytes)):
        shard_patterns = [shard_patterns]
    files = []
    for pattern in shard_patterns:
        pattern = pattern.decode() if isinstance(pattern, bytes) else str(pattern)
        matches = sorted(tf.io.gfile.glob(pattern))
        if not matches:
            raise FileNotFoundError(f"TFRecord shard pattern {pattern!r} matches no file")
        files.extend(matches)
    return files


class ProgressBar:
    """A thread-safe text progress bar on a stream (a carriage-return line, then newline)."""

    def __init__(self, total: int, stream=None, width: int = 30, enabled: bool = True):
        self.total, self.width, self.enabled = max(total, 1), width, enabled
        self.stream = stream or sys.stderr
        self.done = 0
        self._lock = threading.Lock()
        self._start = time.perf_counter()
        self._last = 0.0

    def update(self, n: int = 1, extra: str = ""):
        with self._lock:
            self.done += n
            now = time.perf_counter()
            if self.enabled and (now - self._last > 0.2 or self.done >= self.total):
                self._last = now
                filled = int(self.width * self.done / self.total)
                rate = self.done / max(now - self._start, 1e-9)
                self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] "
                                  f"{self.done}/{self.total} {rate:.0f} strips/s {extra}")
                self.stream.flush()

    def close(self):
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


@dataclasses.dataclass
class ShardReport:
    """What write_shards did: the shard files, records written, and skip counts."""

    shards: list
    written: int
    skipped: dict


def _write_one(index, num_shards, paths, rels, labels, out_path, counter, strip_size,
               progress, log_stream):
    """Writes shard `index`: the checked, fully decodable strips of its entries."""
    ds = tf.data.Dataset.from_tensor_slices((paths, rels, labels))

    def read(path, rel, label):
        element = checks.probe_file(path, counter, False, strip_size, 1, log_stream)
        return element["encoded"], element["reason"], rel, label

    ds = ds.map(read, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    written, decode_failed = 0, 0
    with tf.io.TFRecordWriter(out_path) as writer:
        for encoded, reason, rel, label in ds.as_numpy_iterator():
            if reason == checks.OK:
                try:
                    tf.io.decode_jpeg(encoded, channels=3)
                except (tf.errors.InvalidArgumentError, tf.errors.UnknownError) as e:
                    decode_failed += 1
                    (log_stream or sys.stderr).write(
                        f"vgan_tf.data: skipped strip \"{rel.decode()}\" reason: "
                        f"\"decode_failed\" ({e.message.strip()[:200]})\n")
                else:
                    writer.write(make_example(encoded, int(label), rel.decode()))
                    written += 1
            progress.update(1)
    return written, decode_failed


def write_shards(list_files, data_root, out_dir: str, num_shards: int,
                 num_workers: int | None = None, prefix: str = "strips",
                 strip_size: int | None = None, progress: bool = True,
                 log_stream=None) -> ShardReport:
    """Converts the strips named by list files into `num_shards` TFRecord shards.

    Shards are written in parallel (`num_workers` threads, each with its own parallel
    tf.data reader), with a progress bar on stderr. Missing, malformed and undecodable
    strips are skipped, logged by path and counted (ShardReport.skipped, by reason).
    data_root: as in pipeline.video_dataset (None: each list file's directory).
    """
    from vgan_tf.data import pipeline

    if not isinstance(num_shards, int) or num_shards < 1:
        raise ValueError(f"num_shards must be a positive integer, got {num_shards!r}")
    entries = lists.read_lists(list_files)
    full = pipeline._entry_roots(entries, data_root)
    num_shards = min(num_shards, len(full))
    tf.io.gfile.makedirs(out_dir)
    counter = checks.SkipCounter("shard_skips")
    bar = ProgressBar(len(full), enabled=progress)
    workers = num_workers or min(num_shards, os.cpu_count() or 1)
    outputs = [os.path.join(out_dir, shard_name(prefix, i, num_shards))
               for i in range(num_shards)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_write_one, i, num_shards, full[i::num_shards],
                               list(entries.paths[i::num_shards]),
                               list(entries.labels[i::num_shards]), outputs[i], counter,
                               strip_size, bar, log_stream)
                   for i in range(num_shards)]
        results = [f.result() for f in futures]
    bar.close()
    counts = counter.counts()
    skipped = {k: v for k, v in counts.items() if k not in ("passed", "decoded", "skipped")}
    skipped["decode_failed"] = sum(r[1] for r in results)
    return ShardReport(outputs, sum(r[0] for r in results), skipped)
