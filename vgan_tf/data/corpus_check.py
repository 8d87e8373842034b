"""vgan-check-strips: a corpus checked once with the full checks, its verdicts kept, and a
report of what was refused and why.

The training pipeline pays the full checks once per strip anyway (verdicts.py: in its
first epoch); this checks a whole corpus up front, with a progress display
(vgan_tf.progress), so that training starts with every verdict known and the refusals are
in one report. Each strip: read, header walk to the first scan (checks.jpeg_header), then
for a strip whose header passes, a full decode and the scan probes (scans.scan_damaged),
each strip decoded in a dataset of its own so that a strip the decoder refuses is named
(decode_failed) instead of stopping the run. A strip with a verdict already is not
checked again (unless `recheck`). Verdicts are written from Python as one file, atomically
(verdicts.write_verdicts); the report is JSON, written under a temporary name and
renamed.
"""
from __future__ import annotations

import collections
import dataclasses
import json
import os

import tensorflow as tf

from vgan_tf import config_flags
from vgan_tf.config_flags import setting
from vgan_tf.data import checks, control, lists, scans, verdicts
from vgan_tf.data.sources import ListSource
from vgan_tf.progress import Progress

_NOT_BYTES = (checks.MISSING, checks.NOT_A_FILE, checks.READ_FAILED)
"""Reasons about the file, not its bytes: reported, never kept as verdicts."""


@dataclasses.dataclass(frozen=True)
class CheckStripsConfig:
    """What vgan-check-strips checks, and where its results go: each field is the flag of
    the same name of tools/check_strips.py (config_flags). Checked when made: a bad value
    raises ValueError naming the flag."""

    list: tuple = setting((), "List file or glob pattern (repeatable; also given as "
                          "arguments: vgan-check-strips LIST...).")
    data_root: str | None = setting(None, "What list entries are relative to (default: "
                                    "each list file's directory).")
    verdicts: str | None = setting(None, "Directory for the verdicts (default: the user "
                                   "cache, where training reads them; --verdicts of "
                                   "ReadOptions).")
    report: str | None = setting(None, "JSON report of the refused strips and why "
                                 "(default: <first list file>.check.json).")
    strip_size: int | None = setting(None, "Refuse strips whose frames are not this size "
                                     "(reported, not kept: it is not about the bytes).",
                                     minimum=1)
    recheck: bool = setting(False, "Check strips that have a verdict again.")

    def __post_init__(self):
        config_flags.validate_fields(self)
        if not self.list:
            raise ValueError("--list is required: a list file or glob pattern (repeatable)")


@dataclasses.dataclass
class CheckReport:
    """What check_corpus found: strips looked at, checked now (the others had a
    verdict), passed, refused {path: reason}, and where verdicts and report went."""

    total: int
    checked: int
    passed: int
    refused: dict
    verdict_file: str | None
    report_file: str

    @property
    def by_reason(self) -> dict:
        return dict(collections.Counter(self.refused.values()))


def check_corpus(config: CheckStripsConfig, progress: bool = True) -> CheckReport:
    """Checks every strip the lists of `config` name (see the module docstring); writes
    the new verdicts and the report. Returns the CheckReport."""
    source = ListSource(config.list, config.data_root)
    entries = source.read()
    paths = entries.resolve(source.data_root)
    directory = config.verdicts or verdicts.default_dir()
    cache = None if config.recheck else verdicts.VerdictCache(directory)
    options = checks.CheckOptions(strip_size=config.strip_size)
    keys, values, refused, checked, seen = [], [], {}, 0, set()
    bar = Progress(len(paths), unit="strip", label="check") if progress else None
    for position, key, length, found, shown, height, width, new in _results(
            paths, options, cache).as_numpy_iterator():
        seen.add(int(position))
        checked += int(new)
        if new and found not in _NOT_BYTES:
            keys.append(key)
            values.append(verdicts.pack(int(found), int(height), int(width), int(length)))
        if shown != checks.OK:
            refused[entries.paths[int(position)]] = checks.REASONS[int(shown)]
        if bar is not None:
            bar.update(1, passed=len(seen) - len(refused), refused=len(refused))
    for position in sorted(set(range(len(paths))) - seen):  # a read that raised
        refused[entries.paths[position]] = checks.REASONS[checks.READ_FAILED]
    if bar is not None:
        bar.close()
    written = verdicts.write_verdicts(directory, keys, values)
    report = CheckReport(len(paths), checked, len(paths) - len(refused), refused, written,
                         config.report or os.fspath(source.list_files[0]) + ".check.json")
    _write_report(report, config, directory)
    return report


def _results(paths, options: checks.CheckOptions, cache) -> tf.data.Dataset:
    """(position, key, length, reason found in the bytes, reason shown (the strip rules
    of `options` too), height, width, checked now) per strip: read and header walk in
    parallel, then each strip without a verdict decoded in a dataset of its own."""
    not_files = lists.not_regular_files(paths)
    ds = tf.data.Dataset.from_tensor_slices((tf.constant(paths, tf.string),
                                             tf.constant(not_files, tf.bool),
                                             tf.range(len(paths), dtype=tf.int64)))

    def read(path, not_a_file, position):
        exists = tf.greater(tf.size(tf.io.matching_files(path)), 0)
        readable = exists & tf.logical_not(not_a_file)
        encoded = control.cond(readable, lambda: tf.io.read_file(path),
                               lambda: tf.constant(b""))
        key, length = verdicts.VerdictCache.key(encoded), tf.strings.length(encoded)
        known, reason, height, width = (tf.constant(False), 0, 0, 0) if cache is None \
            else cache.lookup(key, length)
        found = control.cond(known, lambda: (reason, height, width),
                             lambda: checks.jpeg_header(encoded)[:3])
        found = tf.where(tf.logical_not(exists), checks.MISSING,
                         tf.where(not_a_file, checks.NOT_A_FILE, found[0])), *found[1:]
        return (position, encoded, key, length) + tuple(
            tf.reshape(v, []) for v in found) + (tf.logical_not(known),)

    def shown(position, key, length, found, height, width, new):
        rule = checks.strip_reason(height, width, tf.constant(3), options.strip_size,
                                   options.min_frames)
        return (position, key, length, found, tf.where(tf.equal(found, checks.OK), rule,
                                                       found), height, width, new)

    ds = ds.map(read, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
    ds = ds.ignore_errors()  # a read that raised: named by the gap (check_corpus)
    ds = ds.interleave(_judged, cycle_length=tf.data.AUTOTUNE, block_length=1,
                       num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
    return ds.map(shown)


def _judged(position, encoded, key, length, reason, height, width, new):
    """One strip -> a dataset of its one result: a strip whose header passed and that has
    no verdict is decoded whole and its scan probed (ok, corrupt_data); a decoder refusal
    leaves the placeholder (decode_failed)."""
    asked = new & tf.equal(reason, checks.OK)

    def judge(_):
        def probe():
            with tf.control_dependencies([tf.io.decode_jpeg(encoded, channels=3)]):
                return tf.where(scans.scan_damaged(encoded, height, width),
                                checks.CORRUPT_DATA, checks.OK)
        return tf.reshape(control.cond(asked, probe, lambda: tf.identity(reason)), [])

    inner = tf.data.Dataset.from_tensors(0).map(judge).ignore_errors()
    fallback = tf.data.Dataset.from_tensors(tf.constant(checks.DECODE_FAILED))
    verdict = inner.concatenate(fallback).take(1)
    return verdict.map(lambda r: (position, key, length, r, height, width, new))


def _write_report(report: CheckReport, config: CheckStripsConfig, directory: str):
    """The JSON report, under a temporary name, then renamed."""
    body = {"lists": list(config.list), "data_root": config.data_root,
            "verdicts": directory, "verdict_file": report.verdict_file,
            "strips": report.total, "checked_now": report.checked,
            "with_a_verdict": report.total - report.checked, "passed": report.passed,
            "refused": report.by_reason,
            "refused_strips": [{"path": path, "reason": reason}
                               for path, reason in sorted(report.refused.items())]}
    parent = os.path.dirname(report.report_file)
    if parent:
        tf.io.gfile.makedirs(parent)
    partial = report.report_file + ".partial"
    with tf.io.gfile.GFile(partial, "w") as f:
        json.dump(body, f, indent=1)
        f.write("\n")
    tf.io.gfile.rename(partial, report.report_file, overwrite=True)
