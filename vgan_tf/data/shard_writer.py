"""The converter: the strips named by list files -> TFRecord shards (tfrecord.py's format).

Shards are written in parallel (a thread per shard, each with its own parallel tf.data
reader) with a progress bar on stderr. Bad strips are skipped, logged by path and counted,
with the pipeline's full checks (ReadOptions.full_checks: Huffman tables, a scan that ran
out or ended early) plus a full decode, so shards hold only strips the pipeline decodes
whole. Each shard is written under a temporary name and renamed when complete.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import sys
import threading
import time

import tensorflow as tf

from vgan_tf.data import checks, strips, tfrecord
from vgan_tf.validation import positive_int
from vgan_tf.data.sources import ListSource


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


def _write_one(paths, rels, labels, out_path, counter, strip_size, progress, log_stream):
    """Writes one shard (to a temporary name, renamed when complete): the checked, fully
    decodable strips of its entries whose scans are whole (strips.scan_damaged)."""
    ds = tf.data.Dataset.from_tensor_slices((paths, rels, labels))

    def read(path, rel, label):
        element = checks.probe_file(path, counter, False, strip_size, 1, log_stream)
        return (element["encoded"], element["reason"], element["height"], element["width"],
                rel, label)

    ds = ds.map(read, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    written, failed = 0, {"decode_failed": 0, "corrupt_data": 0}
    stream = log_stream or sys.stderr
    partial = f"{out_path}.partial"
    with tf.io.TFRecordWriter(partial) as writer:
        for encoded, reason, height, width, rel, label in ds.as_numpy_iterator():
            if reason == checks.OK:
                try:
                    tf.io.decode_jpeg(encoded, channels=3)
                except (tf.errors.InvalidArgumentError, tf.errors.UnknownError) as e:
                    failed["decode_failed"] += 1
                    stream.write(f"vgan_tf.data: skipped strip \"{rel.decode()}\" reason: "
                                 f"\"decode_failed\" ({e.message.strip()[:200]})\n")
                else:
                    if bool(strips.scan_damaged(encoded, height, width)):
                        failed["corrupt_data"] += 1
                        stream.write(f"vgan_tf.data: skipped strip \"{rel.decode()}\" "
                                     f"reason: \"corrupt_data\"\n")
                    else:
                        writer.write(tfrecord.make_example(encoded, int(label), rel.decode()))
                        written += 1
            progress.update(1)
    tf.io.gfile.rename(partial, out_path, overwrite=True)
    return written, failed


def write_shards(source: ListSource, out_dir: str, num_shards: int,
                 num_workers: int | None = None, prefix: str = "strips",
                 strip_size: int | None = None, progress: bool = True,
                 log_stream=None) -> ShardReport:
    """Converts the strips of `source` into `num_shards` TFRecord shards in `out_dir`.

    Shard i of n holds entries i, i + n, ... (fewer shards when the lists have fewer
    entries); `num_workers` threads (default: one per CPU, at most one per shard) write
    them. Missing, malformed and undecodable strips are skipped, logged by path and counted
    (ShardReport.skipped, by reason); strip_size refuses other frame sizes (wrong_shape).
    Read the shards back with pipeline.video_dataset(ShardSource(...), ...).
    """
    if not isinstance(source, ListSource):
        raise TypeError(f"write_shards reads a ListSource, got {type(source).__name__}")
    num_shards = positive_int("num_shards", num_shards)
    entries = source.read()
    full = entries.resolve(source.data_root)
    num_shards = min(num_shards, len(full))
    tf.io.gfile.makedirs(out_dir)
    counter = checks.SkipCounter("shard_skips")
    bar = ProgressBar(len(full), enabled=progress)
    workers = num_workers or min(num_shards, os.cpu_count() or 1)
    outputs = [os.path.join(out_dir, tfrecord.shard_name(prefix, i, num_shards))
               for i in range(num_shards)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_write_one, full[i::num_shards],
                               list(entries.paths[i::num_shards]),
                               list(entries.labels[i::num_shards]), outputs[i], counter,
                               strip_size, bar, log_stream)
                   for i in range(num_shards)]
        results = [f.result() for f in futures]
    bar.close()
    counts = counter.counts()
    skipped = {k: v for k, v in counts.items() if k not in ("passed", "decoded", "skipped")}
    for reason in ("decode_failed", "corrupt_data"):
        skipped[reason] = skipped.get(reason, 0) + sum(r[1][reason] for r in results)
    return ShardReport(outputs, sum(r[0] for r in results), skipped)
