"""Naming the strips lost after the checks: the decoder's refusals and reads that raised.

The checks (checks.py) name what a strip's bytes show before decoding. Two failures come
later, inside a tf.data map, where the error names no file: the decoder refusing a strip
that passed the checks (decode_failed), and a read that raised (read_failed). The
pipeline (pipeline.py) names them in one of two ways:

- outside strict mode (list sources, without a tf.data service): `Failures`. The read
  and decode maps note which strip each element is while it runs; `ignore_errors` drops
  an element whose map raised; a `scan` after it finds the gap and names, counts and logs
  the strip, as checks.report does for the others.
- in strict mode: `strict_decode`. Each strip is decoded in a nested dataset of its own,
  so that the error raised names the strip instead of being the decoder's own message.

No Python per element in either: both are graph ops.
"""
from __future__ import annotations

import tensorflow as tf

from vgan_tf.data import checks, control, verdicts
from vgan_tf.data.options import ClipOptions, ReadOptions


class Failures:
    """Names the strips lost to an error between the read and the clip: the decoder's
    refusals (decode_failed) and reads that raised (read_failed).

    The decode map notes each strip's stream index -> list position in a hash table before
    decoding and keeps its order (deterministic=True); `ignore_errors` drops a strip whose
    decode (or read) raised; a `scan` after it (`name_lost`) sees the indices arrive in
    order, and a gap is a lost strip: its path from the list (decode_failed), or, with no
    note there, an error that came before the decode map (`enumerate` counted the element
    too): a read. The read map notes each read (its number -> list position) while it
    runs, also in order; a read that raised leaves its note, and the oldest notes left are
    the failed reads, in order (read_failed). Every index seen is removed from the table,
    which holds only the strips in flight. Costs two int64 table inserts and removes and a
    scan step per strip (what that costs: docs/data.md, "Naming the decoder's refusals").

    paths: string tensor [N], the list's resolved paths (a position indexes it).
    options: the checks' CheckOptions (its counter and log_stream are used).
    """

    def __init__(self, paths, options: checks.CheckOptions):
        self.paths, self.options = paths, options
        self.table = tf.lookup.experimental.MutableHashTable(tf.int64, tf.int64, -1)
        self.reads = tf.lookup.experimental.MutableHashTable(tf.int64, tf.int64, -1)

    # The read map: each read noted while it runs.

    def before_read(self, sequence, position, path):
        """`path`, after noting read number `sequence` -> list `position`."""
        with tf.control_dependencies([self.reads.insert(sequence[tf.newaxis],
                                                        position[tf.newaxis])]):
            return tf.identity(path)

    def after_read(self, sequence, encoded):
        """`encoded` (what the read returned), after removing read `sequence`'s note."""
        with tf.control_dependencies([encoded]):
            removed = self.reads.remove(sequence[tf.newaxis])
        with tf.control_dependencies([removed]):
            return tf.identity(encoded)

    # The decode map: each strip noted before the decoder can fail.

    def with_end(self, ds, clip: ClipOptions):
        """`ds` with an end element after the last strip (end_element): the refusals among
        the last strips are then seen (no clip follows them)."""
        return with_end(ds, clip)

    def before_decode(self, index, element):
        """(index, element), after noting stream `index` -> element's list position."""
        with tf.control_dependencies([self.table.insert(
                index[tf.newaxis], element["position"][tf.newaxis])]):
            return tf.identity(index), element

    @staticmethod
    def after_decode(decoded, index, element):
        """The decoded element (..., good) with its good flag off for the end element and
        `index` appended (for name_lost's scan)."""
        end = tf.less(element["position"], 0)
        return decoded[:-1] + (decoded[-1] & tf.logical_not(end), index)

    # After ignore_errors: the gaps named.

    def name_lost(self, ds, start):
        """The decoded stream (elements ending in their index, from `start`) -> the same
        elements without the index; every index missing is named, counted and logged."""
        return ds.scan(tf.constant(start, tf.int64), self.step)

    def step(self, expected, element):
        """One step of name_lost's scan: (next index expected, element) -> (next, element
        without its index)."""
        index = element[-1]
        seen = control.cond(index > expected, lambda: self._name_lost(expected, index),
                            lambda: tf.identity(index))
        with tf.control_dependencies([self.table.remove(seen[tf.newaxis])]):
            return seen + 1, element[:-1]

    def _name_lost(self, expected, index):
        """Names indices expected..index - 1, lost: -> index, after the counts and logs."""
        lost = tf.range(expected, index)
        positions = self.table.lookup(lost)
        read = positions < 0
        # A read that raised left its note: the oldest notes are the failed reads (the
        # read map keeps its order, so every older read has returned), in order.
        keys, values = self.reads.export()
        oldest = tf.argsort(keys)[:tf.reduce_sum(tf.cast(read, tf.int32))]
        failed_reads = tf.concat([tf.gather(values, oldest), [-1]], 0)
        rank = tf.minimum(tf.cumsum(tf.cast(read, tf.int32), exclusive=True),
                          tf.size(oldest))
        positions = tf.where(read, tf.gather(failed_reads, rank), positions)
        reasons = tf.where(read, checks.READ_FAILED, checks.DECODE_FAILED)
        shown = tf.where(positions < 0, checks.READ_UNNAMED,
                         tf.gather(self.paths, tf.maximum(positions, 0)))
        deps = [self.table.remove(lost), self.reads.remove(tf.gather(keys, oldest))]
        deps += self._count_and_log(lost, reasons, shown)
        with tf.control_dependencies(deps):
            return tf.identity(index)

    def _count_and_log(self, lost, reasons, shown):
        """The ops that count `reasons` and log one line per lost strip (`shown`: its
        path), as checks.report writes them."""
        reason_names = tf.gather(tf.constant(checks.REASONS), reasons)
        deps = []
        counter = self.options.counter
        if counter is not None:
            deps.append(counter.variable.assign_add(tf.reduce_sum(tf.one_hot(
                reasons, len(checks.REASONS), dtype=tf.int64), axis=0), use_locking=True))
        stream = checks.log_stream(self.options)

        def log(i):
            with tf.control_dependencies([tf.print(
                    "vgan_tf.data: skipped strip", shown[i], "reason:", reason_names[i],
                    output_stream=stream)]):
                return i + 1

        deps.append(tf.while_loop(lambda i: i < tf.size(lost), log, [tf.constant(0)]))
        return deps


END_NAME = "(the end of the strips)"
"""The name of end_element (never a strip's: paths and record keys have no parentheses
round them)."""


def end_element(ds, clip: ClipOptions):
    """An element of `ds`'s structure after the last strip: a valid black strip (of the
    clip's size, enough frames for any window) named END_NAME, at list position -1 where
    elements have one. Decoded once per pass; it lets Failures see the refusals among the
    last strips (then no clip follows them) and the verdict cache write the verdicts still
    pending (verdicts.VerdictCache.checked)."""
    frames = (clip.frames - 1) * clip.stride + 1
    encoded = tf.io.encode_jpeg(tf.zeros([frames * clip.size, clip.size, 3], tf.uint8))
    spec = ds.element_spec
    element = {key: tf.zeros(value.shape, value.dtype) for key, value in spec.items()}
    if "key" in spec:  # its own verdict key (verdicts.py): no other strip's verdict
        element["key"] = verdicts.VerdictCache.key(encoded)
    element.update(encoded=encoded, reason=tf.constant(checks.OK, spec["reason"].dtype),
                   height=tf.constant(frames * clip.size, spec["height"].dtype),
                   width=tf.constant(clip.size, spec["width"].dtype),
                   name=tf.constant(END_NAME))
    if "position" in spec:
        element["position"] = tf.constant(-1, spec["position"].dtype)
    return element


def with_end(ds, clip: ClipOptions, starter: tf.data.Dataset | None = None):
    """`ds` followed by end_element. starter: a dataset whose first element (ignored) is
    turned into it (None: one made from nothing). tf.distribute's FILE auto-sharding
    refuses a source that reads no file, so shard pipelines pass their records."""
    if starter is None:
        return ds.concatenate(tf.data.Dataset.from_tensors(end_element(ds, clip)))
    return ds.concatenate(starter.take(1).map(lambda *_: end_element(ds, clip)))


def is_end(name):
    """In-graph: whether an element named `name` is end_element (bool scalar)."""
    return tf.equal(name, END_NAME)


def strict_decode(ds, decode_only, reported, options: ReadOptions):
    """Strict mode's decode: each strip decoded in a dataset of its own whose decoder error
    is dropped (ignore_errors) and replaced by a placeholder, so that the error raised
    names the strip (reason decode_failed) instead of being the decoder's own message,
    which does not. Costs a nested dataset per strip (docs/data.md, "Naming the decoder's
    refusals"): strict mode only. Errors upstream of the decode (the checks' own) still
    raise, as they are not inside the nested dataset.

    decode_only: (element) or (index, element) -> (video, label, ran_out, name).
    reported: (video, label, reason, name) -> the pipeline's element (checks.report run).
    options: its num_parallel_calls and deterministic are the interleave's.
    """
    def one(*args):
        inner = tf.data.Dataset.from_tensors(args).map(
            lambda *a: (tf.constant(True),) + decode_only(*a)).ignore_errors()
        spec = inner.element_spec
        name = args[-1]["name"]  # args: (element,) or (index, element)
        placeholder = (tf.constant(False), tf.zeros(spec[1].shape, spec[1].dtype),
                       tf.zeros(spec[2].shape, spec[2].dtype), tf.constant(False), name)
        return inner.concatenate(tf.data.Dataset.from_tensors(placeholder)).take(1)

    def check(decoded, video, label, ran_out, name):
        reason = tf.where(decoded, tf.where(ran_out, checks.CORRUPT_DATA, checks.OK),
                          checks.DECODE_FAILED)
        return reported(video, label, reason, name)

    # One element per nested dataset: the interleave keeps the order.
    ds = ds.interleave(one, cycle_length=options.num_parallel_calls, block_length=1,
                       num_parallel_calls=options.num_parallel_calls,
                       deterministic=options.deterministic)
    return ds.map(check)
