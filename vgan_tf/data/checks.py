"""In-graph validation of strip files, and the counters of what was skipped.

Why this design: a bad file must be skipped, counted and named, with no Python per element
and no silent `ignore_errors`. Every check that can be made without raising is made in the
graph: existence (`tf.io.matching_files` on the literal path returns an empty list instead
of failing), size, the JPEG start and end markers, and a walk over the JPEG segment headers
to the frame header (SOF) for the height, width and channel count. The result is a reason
code per element. A `filter` drops everything that is not OK; on the failure branch only
(a `tf.cond`), the skip is logged with `tf.print` (the file's path and the reason) and
counted in a `tf.Variable` (`SkipCounter`), both plain graph ops.

What the header cannot show (a scan that the decoder rejects) is the decoder's to find; the
pipeline then drops the element with `ignore_errors` and the counter still sees it, as the
difference between the strips that passed the checks and the clips that were decoded
(reason DECODE_FAILED); TensorFlow logs that error itself. In strict mode every failure
raises InvalidArgumentError naming the file and the reason instead.
"""
from __future__ import annotations

import sys
import threading

import tensorflow as tf

OK = 0
MISSING = 1
EMPTY = 2
NOT_JPEG = 3
TRUNCATED = 4
CORRUPT = 5
NOT_SQUARE = 6
WRONG_SHAPE = 7
DECODE_FAILED = 8
REASONS = ("ok", "missing", "empty", "not_jpeg", "truncated", "corrupt", "not_square",
           "wrong_shape", "decode_failed")
"""Names of the reason codes, indexed by code."""

HEADER_BYTES = 65536
"""How far into a file the frame header (SOF) is looked for."""

_TAIL_BYTES = 64
_SOF_MARKERS = (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF)
_STANDALONE = (0x01, 0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7)
_MAX_SEGMENTS = 256


class SkipCounter:
    """Counts skipped strips by reason; updated in-graph by the pipeline.

    Holds an int64 [len(REASONS)] variable on the CPU. Index OK counts strips that passed
    the checks; `decoded` counts clips that came out of the decoder. Read with `counts()`:
    {reason: n} for the failure reasons (decode_failed = passed - decoded), plus 'passed',
    'decoded' and 'skipped' (their sum). Counts are per occurrence: a bad file read in
    three epochs counts three times (once when the encoded bytes are cached).
    Create it outside any distribution strategy scope (it is a local tally, not a model
    variable).
    """

    def __init__(self, name: str = "skip_counter"):
        with tf.init_scope(), tf.device("/cpu:0"):
            self.variable = tf.Variable(tf.zeros([len(REASONS)], tf.int64), trainable=False,
                                        name=name)
            self.decoded_variable = tf.Variable(tf.constant(0, tf.int64), trainable=False,
                                                name=name + "_decoded")
        self._lock = threading.Lock()

    def count(self, reason):
        """In-graph: adds one to `reason`'s slot; returns the assign op's value."""
        return self.variable.assign_add(
            tf.one_hot(reason, len(REASONS), dtype=tf.int64), use_locking=True)

    def count_decoded(self):
        return self.decoded_variable.assign_add(1, use_locking=True)

    def counts(self) -> dict:
        values = [int(v) for v in self.variable.numpy()]
        decoded = int(self.decoded_variable.numpy())
        result = {name: values[code] for code, name in enumerate(REASONS) if code not in (
            OK, DECODE_FAILED)}
        result["decode_failed"] = max(values[OK] - decoded, 0)
        result["passed"] = values[OK]
        result["decoded"] = decoded
        result["skipped"] = sum(v for k, v in result.items() if k not in ("passed", "decoded"))
        return result

    def reset(self):
        self.variable.assign(tf.zeros_like(self.variable))
        self.decoded_variable.assign(0)


def _bytes_at(encoded, offset, length):
    part = tf.strings.substr(encoded, offset, length)
    return tf.cast(tf.io.decode_raw(part, tf.uint8), tf.int32)


def jpeg_header(encoded):
    """In-graph: JPEG bytes -> (reason, height, width, channels), int32 scalars, no raise.

    reason is OK, EMPTY, NOT_JPEG (no start-of-image marker), TRUNCATED (no end-of-image
    marker near the end) or CORRUPT (the segment walk does not reach a sane frame header
    within HEADER_BYTES). Height, width and channels come from the frame header (0 unless
    OK).
    """
    n = tf.strings.length(encoded)
    head = _bytes_at(encoded, 0, tf.minimum(n, HEADER_BYTES))
    num_head = tf.size(head)
    tail = _bytes_at(encoded, tf.maximum(n - _TAIL_BYTES, 0), tf.minimum(n, _TAIL_BYTES))
    has_eoi = tf.reduce_any(tf.logical_and(tf.equal(tail[:-1], 0xFF), tf.equal(tail[1:], 0xD9)))
    padded = tf.concat([head, tf.zeros([16], tf.int32)], axis=0)
    has_soi = tf.logical_and(n >= 4, tf.logical_and(tf.equal(padded[0], 0xFF),
                                                    tf.equal(padded[1], 0xD8)))

    def at(i):
        return tf.gather(padded, tf.clip_by_value(i, 0, num_head + 15))

    sof = tf.constant(_SOF_MARKERS, tf.int32)
    standalone = tf.constant(_STANDALONE, tf.int32)

    def body(step, pos, done, found, h, w, c):
        m0, m1 = at(pos), at(pos + 1)
        in_range = pos + 4 <= num_head
        bad = tf.logical_or(tf.logical_not(in_range), tf.not_equal(m0, 0xFF))
        bad = tf.logical_or(bad, tf.logical_or(tf.equal(m1, 0xDA), tf.equal(m1, 0xD9)))
        is_fill = tf.equal(m1, 0xFF)
        is_sof = tf.reduce_any(tf.equal(sof, m1))
        is_alone = tf.reduce_any(tf.equal(standalone, m1))
        seg_len = at(pos + 2) * 256 + at(pos + 3)
        bad = tf.logical_or(bad, tf.logical_and(
            tf.logical_not(is_fill | is_sof | is_alone), seg_len < 2))
        is_sof = tf.logical_and(is_sof, tf.logical_and(tf.logical_not(bad),
                                                       pos + 10 <= num_head))
        new_h = tf.where(is_sof, at(pos + 5) * 256 + at(pos + 6), h)
        new_w = tf.where(is_sof, at(pos + 7) * 256 + at(pos + 8), w)
        new_c = tf.where(is_sof, at(pos + 9), c)
        step_size = tf.where(is_fill, 1, tf.where(is_alone, 2, 2 + seg_len))
        return (step + 1, pos + step_size, bad | is_sof, tf.logical_and(is_sof, True),
                new_h, new_w, new_c)

    def cond(step, pos, done, found, h, w, c):
        return tf.logical_and(tf.logical_not(done), step < _MAX_SEGMENTS)

    zero = tf.constant(0, tf.int32)
    _, _, _, found, h, w, c = tf.while_loop(
        cond, body, (zero, tf.constant(2, tf.int32), tf.logical_not(has_soi),
                     tf.constant(False), zero, zero, zero))
    found = tf.logical_and(found, tf.logical_and(h > 0, w > 0))
    reason = tf.where(n == 0, EMPTY, tf.where(
        tf.logical_not(has_soi), NOT_JPEG, tf.where(
            tf.logical_not(found), CORRUPT, tf.where(tf.logical_not(has_eoi), TRUNCATED, OK))))
    ok = tf.equal(reason, OK)
    return (tf.cast(reason, tf.int32), tf.where(ok, h, 0), tf.where(ok, w, 0),
            tf.where(ok, c, 0))


def strip_reason(h, w, c, strip_size=None, min_frames: int = 1):
    """In-graph: reason for a well-formed JPEG of h x w x c to be refused as a strip.

    NOT_SQUARE: the height is not a multiple of the width (frames cannot be square).
    WRONG_SHAPE: not 1 or 3 channels, fewer than `min_frames` frames, or a frame width
    other than `strip_size` when the caller pins it.
    """
    safe_w = tf.maximum(w, 1)
    not_square = tf.logical_or(tf.not_equal(h % safe_w, 0), h < w)
    wrong = tf.logical_not(tf.logical_or(tf.equal(c, 1), tf.equal(c, 3)))
    wrong = tf.logical_or(wrong, h // safe_w < min_frames)
    if strip_size is not None:
        wrong = tf.logical_or(wrong, tf.not_equal(w, strip_size))
    return tf.where(not_square, NOT_SQUARE, tf.where(wrong, WRONG_SHAPE, OK))


def probe_file(path, counter: SkipCounter | None, strict: bool = False, strip_size=None,
               min_frames: int = 1, log_stream=sys.stderr):
    """In-graph: path -> dict(encoded, reason, height, width), reading the file once.

    A missing file gives reason MISSING and empty bytes (no raise). Failures are logged
    (path and reason) and counted on the failure branch; with `strict`, raised instead.
    """
    exists = tf.greater(tf.size(tf.io.matching_files(path)), 0)
    encoded = tf.cond(exists, lambda: tf.io.read_file(path), lambda: tf.constant(b""))
    return check_encoded(encoded, path, counter, strict, strip_size, min_frames, log_stream,
                         missing=tf.logical_not(exists))


def check_encoded(encoded, name, counter: SkipCounter | None, strict: bool = False,
                  strip_size=None, min_frames: int = 1, log_stream=sys.stderr, missing=None):
    """In-graph: validates strip bytes named `name` (a path or record key); see probe_file."""
    reason, h, w, c = jpeg_header(encoded)
    reason = tf.where(tf.equal(reason, OK), strip_reason(h, w, c, strip_size, min_frames),
                      reason)
    if missing is not None:
        reason = tf.where(missing, MISSING, reason)
    ok = tf.equal(reason, OK)
    reason_name = tf.gather(tf.constant(REASONS), reason)
    if strict:
        with tf.control_dependencies([tf.debugging.Assert(
                ok, ["bad strip (strict mode):", name, "reason:", reason_name], summarize=1)]):
            reason = tf.identity(reason)
    else:
        def on_failure():
            ops = [tf.print("vgan_tf.data: skipped strip", name, "reason:", reason_name,
                            output_stream=log_stream)]
            if counter is not None:
                ops.append(counter.count(reason))
            with tf.control_dependencies(ops):
                return tf.identity(reason)

        def on_success():
            if counter is None:
                return tf.identity(reason)
            with tf.control_dependencies([counter.count(reason)]):
                return tf.identity(reason)

        reason = tf.cond(ok, on_success, on_failure)
    return {"encoded": encoded, "reason": reason, "height": h, "width": w}
