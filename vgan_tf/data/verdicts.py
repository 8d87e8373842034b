"""The verdict cache: the full checks paid once per strip, not once per epoch.

A strip's bytes do not change between epochs, so neither does what the full checks find
in them (the header walk to the first scan, checks.jpeg_header scan_checks; the scan
probes, scans.scan_damaged). A verdict is kept per strip, keyed by the fingerprint of its
bytes (FarmHash Fingerprint64, `tf.strings.to_hash_bucket_fast`) and checked against its
length: a changed file has another key and is checked again; shards, remote files and
copies of a file share their verdict. What a verdict holds (one int64): the reason
(checks.REASONS), the strip's height and width and its length (`pack`).

In the pipeline (pipeline.py builds a VerdictCache per video_dataset call, CheckOptions
carries it down):
- the check stage fingerprints each strip's bytes and looks the key up in the verdicts
  read when the dataset was made (a StaticHashTable) and in those found since (a
  MutableHashTable): a strip with a verdict skips the header walk altogether (its reason
  and size come from the verdict), one without gets the full walk; a byte-level failure
  found there is recorded.
- the decode stage looks up again (the encoded bytes may come from tf.data's cache) and
  runs scans.scan_damaged only for strips without a verdict, recording ok or
  corrupt_data.
Recording is graph ops too (no Python per element, so it runs on tf.data service workers):
an insert into the learned table (later epochs of this run) and into a pending table,
which is written out as a file of its own (`tf.io.write_file`) once FLUSH_RECORDS
verdicts are pending, FLUSH_SECONDS after the last write when more came (FLUSH_STRIPS
strips under op determinism, where the clock cannot be read), and at the end of
a finite stream (its end element, forensics.end_element). Each file is named by the
fingerprint of its content, so two writers never overwrite each other's verdicts
(several workers, a tf.data service: no lock, no verdict overwritten); a graph op cannot
rename, so a file cut short by a crash is read as the whole records it holds (its header
and records are fixed-size; a cut record is dropped). Files written from Python
(write_verdicts: vgan-check-strips) are written under a temporary name and renamed.
Verdicts still pending when a process stops are not written (those strips are checked
again next time; docs/data.md lists when that happens).

Where: ReadOptions.verdicts, True for the user cache (`default_dir`), a directory, or
False (the full checks on every read). Files older than the checks (another VERSION) are
not read. No Python per element anywhere: the file reading happens when the dataset is
made.
"""
from __future__ import annotations

import os
import time

import numpy as np
import tensorflow as tf
from tensorflow.python.framework import config as tf_config  # is_op_determinism_enabled

from vgan_tf.data import checks, control

VERSION = 2
"""The full checks' version: verdicts of another are not read (bump when the checks find
something else)."""
HEADER = f"vgan-verdicts {VERSION}".encode().ljust(16, b"\n")
"""16 bytes at the start of every verdict file (the version in it)."""
RECORD_BYTES = 16
PATTERN = "verdicts-*.bin"
FLUSH_RECORDS = 4096
"""Pending verdicts written as one file (64 KiB)."""
FLUSH_SECONDS = 30.0
"""Pending verdicts older than this are written by the next strip that passes (not under
op determinism: tf.timestamp refuses to run there, so FLUSH_STRIPS stands in; `timed`)."""
FLUSH_STRIPS = 1024
"""Under op determinism: pending verdicts are written by the strip that passes this many
strips after the last write."""
NO_VERDICT = -1
_LENGTH_BITS = 27
_LENGTH_MASK = (1 << _LENGTH_BITS) - 1
_BYTE_STRINGS = tuple(bytes([i]) for i in range(256))


def default_dir() -> str:
    """The user cache: `$VGAN_TF_CACHE_DIR/verdicts`, else `$XDG_CACHE_HOME/vgan_tf/verdicts`,
    else `~/.cache/vgan_tf/verdicts` (read when a dataset is made)."""
    root = os.environ.get("VGAN_TF_CACHE_DIR")
    if not root:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"),
                                                                 ".cache")
        root = os.path.join(base, "vgan_tf")
    return os.path.join(root, "verdicts")


def directory(verdicts) -> str | None:
    """ReadOptions.verdicts -> the directory (None: no cache)."""
    if verdicts is False:
        return None
    return default_dir() if verdicts is True else str(verdicts)


def pack(reason, height, width, length):
    """(reason, height, width, length) -> the verdict int64: reason in bits 0-3, height
    4-19, width 20-35, length modulo 2**27 in 36-62 (never negative). NumPy values or
    tensors."""
    if not any(isinstance(v, tf.Tensor) for v in (reason, height, width, length)):
        as64 = np.int64
        return (as64(reason) | (as64(height) << 4) | (as64(width) << 20)
                | ((as64(length) & _LENGTH_MASK) << 36))
    bits = tf.bitwise
    fields = [bits.left_shift(tf.cast(v, tf.int64), tf.constant(shift, tf.int64))
              for v, shift in ((reason, 0), (height, 4), (width, 20))]
    fields.append(bits.left_shift(bits.bitwise_and(tf.cast(length, tf.int64), _LENGTH_MASK),
                                  tf.constant(36, tf.int64)))
    return bits.bitwise_or(bits.bitwise_or(fields[0], fields[1]),
                           bits.bitwise_or(fields[2], fields[3]))


def _field(value, shift: int, mask: int):
    """In-graph: (value >> shift) & mask."""
    return tf.bitwise.bitwise_and(tf.bitwise.right_shift(value, tf.constant(shift, tf.int64)),
                                  tf.constant(mask, tf.int64))


def unpack(value):
    """A verdict -> (reason, height, width, length mod 2**27) (numpy)."""
    value = np.asarray(value, np.int64)
    return (value & 15, (value >> 4) & 0xFFFF, (value >> 20) & 0xFFFF,
            value >> 36)


def key_of(data: bytes) -> int:
    """The key of a strip's bytes, as the pipeline computes it (one eager op)."""
    return int(tf.strings.to_hash_bucket_fast(tf.constant(data), 2 ** 63 - 1))


def read_verdicts(path: str | None):
    """The verdicts of a directory -> (keys, values), int64 arrays (empty when there is
    no directory or no file). Files of another version, and a cut last record, are left
    out (a key met twice: one of its records)."""
    if not path or not tf.io.gfile.isdir(path):
        return np.zeros([0], np.int64), np.zeros([0], np.int64)
    parts = []
    for name in sorted(tf.io.gfile.glob(os.path.join(path, PATTERN))):
        try:
            with tf.io.gfile.GFile(name, "rb") as f:
                data = f.read()
        except (OSError, tf.errors.OpError):
            continue  # removed or unreadable meanwhile: its strips are checked again
        if data[:len(HEADER)] != HEADER:
            continue
        body = data[len(HEADER):]
        body = body[:len(body) // RECORD_BYTES * RECORD_BYTES]
        parts.append(np.frombuffer(body, "<i8").reshape(-1, 2))
    if not parts:
        return np.zeros([0], np.int64), np.zeros([0], np.int64)
    records = np.concatenate(parts)
    records = records[records[:, 1] >= 0]
    _, last = np.unique(records[::-1, 0], return_index=True)
    records = records[::-1][last]
    return records[:, 0].astype(np.int64), records[:, 1].astype(np.int64)


def write_verdicts(path: str, keys, values) -> str | None:
    """Writes verdicts as one file in `path` (made if needed), atomically: a temporary
    name, then a rename. Returns the file's path (None when there is nothing to write)."""
    records = np.stack([np.asarray(keys, np.int64), np.asarray(values, np.int64)], axis=1)
    if not records.size:
        return None
    payload = records.astype("<i8").tobytes()
    name = os.path.join(path, f"verdicts-{key_of(payload)}.bin")
    tf.io.gfile.makedirs(path)
    partial = os.path.join(path, f".partial-{os.getpid()}-{time.monotonic_ns()}")
    with tf.io.gfile.GFile(partial, "wb") as f:
        f.write(HEADER + payload)
    tf.io.gfile.rename(partial, name, overwrite=True)
    return name


class VerdictCache:
    """The verdicts of one pipeline: those read from `path` when it is made, those found
    since (graph tables), and the writing of new ones to `path` (see the module
    docstring). Made outside any distribution strategy scope, once per video_dataset."""

    def __init__(self, path: str):
        self.path = path
        keys, values = read_verdicts(path)
        self.read_count = int(keys.size)
        with tf.init_scope(), tf.device("/cpu:0"):
            self._known = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
                tf.constant(keys), tf.constant(values)), NO_VERDICT) if keys.size else None
            self._learned = tf.lookup.experimental.MutableHashTable(tf.int64, tf.int64,
                                                                    NO_VERDICT)
            self._pending = tf.lookup.experimental.MutableHashTable(tf.int64, tf.int64,
                                                                    NO_VERDICT)
            self._clock = tf.lookup.experimental.MutableHashTable(tf.int64, tf.float64,
                                                                  -1.0)
            self._clock.insert(tf.constant([0], tf.int64), tf.constant([time.time()], tf.float64))
            self._passed = tf.lookup.experimental.MutableHashTable(tf.int64, tf.int64, 0)

    @staticmethod
    def key(encoded):
        """In-graph: the key of a strip's bytes (int64 scalar)."""
        return tf.strings.to_hash_bucket_fast(encoded, 2 ** 63 - 1)

    def lookup(self, key, length):
        """In-graph: the verdict of `key` for bytes `length` long -> (known, reason, height,
        width): bool and int32 scalars (0 where unknown)."""
        value = self._learned.lookup(key)
        if self._known is not None:
            value = tf.where(value >= 0, value, self._known.lookup(key))
        known = (value >= 0) & tf.equal(_field(value, 36, _LENGTH_MASK),
                                        _field(tf.cast(length, tf.int64), 0, _LENGTH_MASK))
        value = tf.where(known, value, tf.zeros_like(value))
        return known, *(tf.cast(_field(value, shift, mask), tf.int32)
                        for shift, mask in ((0, 15), (4, 0xFFFF), (20, 0xFFFF)))

    def header(self, encoded, options: checks.CheckOptions, read):
        """In-graph: the header checks with verdicts (checks.check_encoded) -> (key,
        reason, height, width, channels): a strip with a verdict takes its reason and size
        from it; one without gets checks.jpeg_header (the full walk with
        options.scan_checks) and, when that finds a byte-level failure in a file that was
        read (`read`, a bool tensor), the failure is recorded."""
        key = self.key(encoded)
        length = tf.strings.length(encoded)
        known, reason, height, width = self.lookup(key, length)

        def walk():
            found = checks.jpeg_header(encoded, options.scan_checks)
            bad = tf.not_equal(found[0], checks.OK) & read
            recorded = control.cond(bad, lambda: self.record(key, length, found[0], 0, 0),
                                    lambda: tf.constant(0, tf.int64))
            with tf.control_dependencies([recorded]):
                return tuple(tf.identity(v) for v in found)

        found = control.cond(known | tf.logical_not(read),  # unread: missing, not a file
                             lambda: (reason, height, width, tf.constant(3)), walk)
        return (key,) + tuple(tf.reshape(v, []) for v in found)  # scalars (cond loses it)

    def checked(self, ran_out, element, known, end):
        """In-graph: the decode stage's result `ran_out` (bool) after recording it as the
        verdict of a strip that had none (ok or corrupt_data), or after writing what is
        due; at the end element (`end`: forensics.end_element, which a finite stream ends
        with), after writing everything pending. (Under a tf.data service each function
        that uses a table gets its own copy of it, so the decode stage writes what it
        records itself.)"""
        key, length = element["key"], tf.strings.length(element["encoded"])
        op = control.switch_case(tf.where(end, 2, tf.where(known, 1, 0)), [
            lambda: self.record(key, length, tf.where(ran_out, checks.CORRUPT_DATA, checks.OK),
                                element["height"], element["width"]),
            self.flush_if_due, self.flush])
        with tf.control_dependencies([op]):
            return tf.identity(ran_out)

    def record(self, key, length, reason, height, width):
        """In-graph: keeps a verdict (learned and pending), then writes the pending ones if
        they are due. Returns an op to depend on."""
        value = pack(reason, height, width, length)[tf.newaxis]
        with tf.control_dependencies([self._learned.insert(key[tf.newaxis], value),
                                      self._pending.insert(key[tf.newaxis], value)]):
            return self.flush_if_due()

    @staticmethod
    def timed() -> bool:
        """Whether the graph being built may read the clock (tf.timestamp): not under op
        determinism (tf.config.experimental.enable_op_determinism), where it raises."""
        return not tf_config.is_op_determinism_enabled()

    def flush_if_due(self):
        """In-graph: writes the pending verdicts when FLUSH_RECORDS are pending, or some
        are and FLUSH_SECONDS passed since the last write (read when the graph is built;
        the time rule only where `timed`)."""
        pending = self._pending.size()
        zero = tf.constant([0], tf.int64)
        if self.timed():
            last = self._clock.lookup(zero)[0]
            late = tf.timestamp() - last >= FLUSH_SECONDS
            counted = []
        else:  # strips since the last write, for the clock (a race only moves a write)
            passed = self._passed.lookup(zero) + 1
            late = passed[0] >= FLUSH_STRIPS
            counted = [self._passed.insert(zero, passed)]
        with tf.control_dependencies(counted):
            due = (pending >= FLUSH_RECORDS) | ((pending > 0) & late)
            return control.cond(due, self.flush, lambda: tf.constant(0, tf.int64))

    def flush(self):
        """In-graph: writes the pending verdicts as one file named by its content's
        fingerprint and forgets them (those pending meanwhile stay). Returns how many."""
        keys, values = self._pending.export()
        count = tf.size(keys, out_type=tf.int64)

        def write():
            records = tf.stack([keys, values], axis=1)
            raw = tf.cast(tf.reshape(tf.bitcast(records, tf.uint8), [-1]), tf.int32)
            payload = tf.strings.reduce_join(tf.gather(tf.constant(_BYTE_STRINGS), raw))
            name = tf.strings.join([self.path, "/verdicts-",
                                    tf.strings.as_string(self.key(payload)), ".bin"])
            written = tf.io.write_file(name, tf.strings.join([HEADER, payload]))
            with tf.control_dependencies([written]):
                done = [self._pending.remove(keys)]
                zero = tf.constant([0], tf.int64)
                done.append(self._clock.insert(zero, tf.timestamp()[tf.newaxis])
                            if self.timed() else
                            self._passed.insert(zero, tf.zeros([1], tf.int64)))
            with tf.control_dependencies(done):
                return tf.identity(count)

        return control.cond(count > 0, write, lambda: tf.constant(0, tf.int64))
