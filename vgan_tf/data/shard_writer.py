"""The converter: the strips named by list files -> TFRecord shards (tfrecord.py's format).

Shards are written in parallel (a thread per shard, each with its own parallel tf.data
reader), their progress on stderr (vgan_tf.progress: tqdm on a terminal, plain lines
elsewhere) with the strips written and skipped so far, by reason. Bad strips are skipped, logged by path and counted,
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

import tensorflow as tf

from vgan_tf import config_flags
from vgan_tf.config_flags import setting
from vgan_tf.data import checks, strips, tfrecord
from vgan_tf.data.sources import ListSource
from vgan_tf.progress import Progress
from vgan_tf.validation import positive_int


@dataclasses.dataclass(frozen=True)
class ShardsConfig:
    """What vgan-make-shards converts, and how: each field is the flag of the same name of
    tools/make_shards.py (config_flags). Checked when made: a bad value raises ValueError
    naming the flag. write_shards(ListSource(list, data_root), out_dir, num_shards,
    num_workers, prefix, strip_size) does the work."""

    list: tuple = setting((), "List file or glob pattern (repeatable).")
    data_root: str | None = setting(None, "What list entries are relative to (default: each "
                                    "list file's directory).")
    out_dir: str | None = setting(None, "Directory for the shards (created).")
    num_shards: int = setting(16, "Number of shards (at least the number of workers that "
                              "will read them).", minimum=1)
    num_workers: int | None = setting(None, "Parallel shard writers (default: CPUs).",
                                      minimum=1)
    prefix: str = setting("strips", "Shard file name prefix.")
    strip_size: int | None = setting(None, "Refuse strips whose frames are not this size.",
                                     minimum=1)

    def __post_init__(self):
        config_flags.validate_fields(self)
        if not self.list:
            raise ValueError("--list is required: a list file or glob pattern (repeatable)")
        if not self.out_dir:
            raise ValueError("--out_dir is required: the directory for the shards")


class _Tally:
    """What the shard threads have done so far, shown on a progress.Progress: strips
    looked at, written, and skipped by reason (thread-safe)."""

    def __init__(self, total: int, enabled: bool):
        self.written, self.skipped = 0, {}
        self._lock = threading.Lock()
        self._progress = Progress(total, unit="strip", label="shards") \
            if enabled else None

    def add(self, reason: str | None = None):
        """One strip done: written (reason None) or skipped for `reason`."""
        with self._lock:
            if reason is None:
                self.written += 1
            else:
                self.skipped[reason] = self.skipped.get(reason, 0) + 1
            if self._progress is not None:
                self._progress.update(1, written=self.written, **self.skipped)

    def close(self):
        if self._progress is not None:
            self._progress.close()


@dataclasses.dataclass
class ShardReport:
    """What write_shards did: the shard files, records written, and skip counts."""

    shards: list
    written: int
    skipped: dict


def _write_one(paths, rels, labels, out_path, options: checks.CheckOptions, tally: _Tally):
    """Writes one shard (to a temporary name, renamed when complete): the checked, fully
    decodable strips of its entries whose scans are whole (strips.scan_damaged).
    Returns (written, {decode_failed: n, corrupt_data: n})."""
    ds = tf.data.Dataset.from_tensor_slices((paths, rels, labels))

    def read(path, rel, label):
        element = checks.probe_file(path, options)
        return (element["encoded"], element["reason"], element["height"], element["width"],
                rel, label)

    ds = ds.map(read, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    written, failed = 0, {"decode_failed": 0, "corrupt_data": 0}
    partial = f"{out_path}.partial"
    with tf.io.TFRecordWriter(partial) as writer:
        for encoded, reason, height, width, rel, label in ds.as_numpy_iterator():
            failure = checks.REASONS[reason] if reason != checks.OK else _decoded_whole(
                encoded, height, width, rel.decode(), options)
            if failure is None:
                writer.write(tfrecord.make_example(encoded, int(label), rel.decode()))
                written += 1
            elif failure in failed:
                failed[failure] += 1
            tally.add(failure)
    tf.io.gfile.rename(partial, out_path, overwrite=True)
    return written, failed


def _decoded_whole(encoded, height, width, rel: str, options: checks.CheckOptions):
    """None if the strip decodes and its scan is whole; else the reason (decode_failed,
    corrupt_data), logged as the pipeline logs a skip."""
    stream = options.log_stream or sys.stderr
    try:
        tf.io.decode_jpeg(encoded, channels=3)
    except (tf.errors.InvalidArgumentError, tf.errors.UnknownError) as e:
        stream.write(f"vgan_tf.data: skipped strip \"{rel}\" reason: \"decode_failed\" "
                     f"({e.message.strip()[:200]})\n")
        return "decode_failed"
    if bool(strips.scan_damaged(encoded, height, width)):
        stream.write(f"vgan_tf.data: skipped strip \"{rel}\" reason: \"corrupt_data\"\n")
        return "corrupt_data"
    return None


def write_shards(source: ListSource, out_dir: str, num_shards: int,
                 num_workers: int | None = None, prefix: str = "strips",
                 strip_size: int | None = None, progress: bool = True,
                 log_stream=None) -> ShardReport:
    """Converts the strips of `source` into `num_shards` TFRecord shards in `out_dir`.

    Shard i of n holds entries i, i + n, ... (fewer shards when the lists have fewer
    entries); `num_workers` threads (default: one per CPU, at most one per shard) write
    them. Missing, malformed and undecodable strips are skipped, logged by path and counted
    (ShardReport.skipped, by reason); strip_size refuses other frame sizes (wrong_shape).
    progress: show the progress on stderr. log_stream: where skip lines go (None: stderr).
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
    options = checks.CheckOptions(counter=counter, strip_size=strip_size,
                                  log_stream=log_stream)
    tally = _Tally(len(full), enabled=progress)
    workers = num_workers or min(num_shards, os.cpu_count() or 1)
    outputs = [os.path.join(out_dir, tfrecord.shard_name(prefix, i, num_shards))
               for i in range(num_shards)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_write_one, full[i::num_shards],
                               list(entries.paths[i::num_shards]),
                               list(entries.labels[i::num_shards]), outputs[i], options,
                               tally)
                   for i in range(num_shards)]
        try:
            results = [f.result() for f in futures]
        finally:
            tally.close()
    return ShardReport(outputs, sum(r[0] for r in results), _skipped(counter, results))


def _skipped(counter: checks.SkipCounter, results) -> dict:
    """{reason: strips skipped} from the checks' counter and _write_one's results."""
    counts = counter.counts()
    skipped = {k: v for k, v in counts.items() if k not in ("passed", "decoded", "skipped")}
    for reason in ("decode_failed", "corrupt_data"):
        skipped[reason] = skipped.get(reason, 0) + sum(r[1][reason] for r in results)
    return skipped


def write_shard(paths, rels, labels, out_path: str, strip_size: int | None = None,
                log_stream=None) -> ShardReport:
    """Writes one shard as write_shards writes each of its own, for writers that spread
    the shards of one list over processes or machines (vgan-prepare's Beam pipeline).

    paths: the strips' full paths; rels, labels: their list entries (what the records
    hold: tfrecord.py); entries i, i + n, ... of a list make the shard write_shards
    writes as shard i of n, byte for byte. out_path is written under a temporary name
    and renamed when complete; bad strips are skipped, logged and counted as there.
    """
    counter = checks.SkipCounter("shard_skips")
    options = checks.CheckOptions(counter=counter, strip_size=strip_size,
                                  log_stream=log_stream)
    result = _write_one(list(paths), list(rels), list(labels), out_path, options,
                        _Tally(len(paths), enabled=False))
    return ShardReport([out_path], result[0], _skipped(counter, [result]))
