"""How clips are cut and read: `ClipOptions` (what a clip is) and `ReadOptions` (how the
stream of clips is made: order, repetition, errors, caching, parallelism, distribution).

Both are frozen dataclasses, validated when made, so a bad value raises ValueError naming
the field at the call that made it, before any file is read. Where the strips are is the
other argument of the pipeline functions (sources.py).
"""
from __future__ import annotations

import dataclasses

import tensorflow as tf

from vgan_tf.validation import positive_int

AUTOTUNE = tf.data.AUTOTUNE
WINDOWS = ("first", "center", "random")
RESIZE_METHODS = ("dct", "bilinear")
"""How frames are brought to the clip size (ClipOptions.resize; strips.decode_clip)."""
_POLICIES = {p.name: p for p in tf.data.experimental.AutoShardPolicy}


def optional_positive_int(name: str, value):
    """None, or `value` checked by validation.positive_int."""
    return None if value is None else positive_int(name, value)


def _set(obj, name, value):
    object.__setattr__(obj, name, value)  # normalising a field of a frozen dataclass


@dataclasses.dataclass(frozen=True)
class ClipOptions:
    """What a clip is: `frames` frames of `size` x `size`, taken how from the strip.

    window: 'first' (the top of the strip, the original loader), 'center' (a fixed window
    for evaluation: the middle one, or where `position` says) or 'random' (a uniform
    window that fits where it can). position: with 'center', where the window sits
    within the strip's slack, 0 the top .. 1 the bottom (0.5, the default, is the middle;
    several positions give several clips of one video). stride: take every stride-th
    frame. strip_size: refuse strips whose frames are not this many pixels
    (WRONG_SHAPE); None accepts any.
    min_frames: refuse strips with fewer frames (shorter ones repeat their last frame).
    resize: 'dct' (the default: the JPEG decoder scales by 2, 4 or 8 where the frame
    sizes allow, bilinear otherwise) or 'bilinear' (the original loader's, exactly); see
    strips.decode_clip and docs/faithfulness.md.
    """

    frames: int
    size: int
    window: str = "first"
    stride: int = 1
    strip_size: int | None = None
    min_frames: int = 1
    resize: str = "dct"
    position: float = 0.5

    def __post_init__(self):
        for name in ("frames", "size", "stride", "min_frames"):
            positive_int(name, getattr(self, name))
        optional_positive_int("strip_size", self.strip_size)
        if self.window not in WINDOWS:
            raise ValueError(f"window must be one of {WINDOWS}, got {self.window!r}")
        if not isinstance(self.position, (int, float)) or not 0 <= self.position <= 1:
            raise ValueError(f"position must be in [0, 1], got {self.position!r}")
        if self.resize not in RESIZE_METHODS:
            raise ValueError(f"resize must be one of {RESIZE_METHODS}, got {self.resize!r}")


@dataclasses.dataclass(frozen=True)
class ReadOptions:
    """How the stream of clips is made. The defaults read a training stream: shuffled,
    repeated forever, full batches only.

    shuffle, seed: shuffle the file names (lists: with a full buffer, reshuffled every
      epoch) or the shard files and then the records (shards); with a seed the order and
      the random windows are the same on every run.
    repeat: repeat forever (after the checks: a data set whose every file is bad ends).
    drop_remainder: drop a last partial batch.
    with_labels: yield (video, int64 label) pairs; every list entry then needs a label.
    label_base: the first class's label in the lists (1 for 1-based lists): labels come
      out 0-based (label - label_base); a label below it is an error naming file:line
      (for shards, a record below it fails like a record without a label).
    strict: raise InvalidArgumentError on the first bad strip instead of skipping it.
      Strict mode also runs the full checks.
    full_checks: (on by default) also run the checks that cost a second look at a strip
      (the walk to the first scan, and about three more decodes: scans.scan_damaged):
      Huffman tables and the scan's presence (corrupt_header), a scan that ran out of data
      anywhere or that ended before its data, as flipped bits leave it (corrupt_data).
      Skipped, named and counted as the other checks are. With `verdicts`, paid once per
      strip (docs/data.md, "The full checks, once per strip"); False: today's cheaper
      checks on every read, and broken strips of those kinds come out as clips.
    verdicts: where the full checks' verdicts are kept (verdicts.py): True, the user cache
      (verdicts.default_dir()); a directory (local or any tf.io.gfile scheme; with a
      tf.data service one the workers reach: they write there); False: none (the full
      checks on every read). A strip is known by its bytes' fingerprint: a changed file
      is checked again.
    cache: True caches the checked encoded bytes in memory, a string in files with that
      prefix; the shuffle then happens after the cache, over `shuffle_buffer` strips.
    shuffle_buffer: None means the source's default: lists shuffle all names (up to 2**20)
      and, with cache, min(names, 4096) cached strips; shards shuffle 256 records.
    num_parallel_calls, prefetch: parallelism of the read and decode stages; prefetch
      depth (0 or None: no prefetch).
    deterministic: element order of the parallel stages; None means deterministic when a
      seed is set or shuffle is off (otherwise the faster first-come order).
    shard: (num_shards, index): read only that share of the names (lists) or shard files.
    auto_shard_policy: for tf.distribute's auto-sharding (an AutoShardPolicy or its name);
      None means the source's default: TensorFlow's AUTO for lists (it falls back to DATA:
      every worker reads everything and keeps its share), FILE for shards (each worker
      reads whole shard files). 'HINT' on a list puts a shard hint on the names (only under
      tf.distribute, which replaces it). distributed_input_fn shards explicitly instead.
    service: a tf.data service dispatcher address or a service.ServiceConfig: run the
      pipeline on tf.data service workers (they make the batches).
    log_stream: where skip lines go (tf.print's output_stream; None: sys.stderr).
    skip_clips: start after this many clips of the (shuffled, repeated) stream, e.g. to
      resume training at step s with s * batch_size. Lists skip on the file names before
      any read: the stream that follows is the uninterrupted one when no file is bad (each
      bad file among the skipped ones moves it one clip back; nothing is left out). With
      cache, and for shards, the skip is made on the checked encoded strips (exact; read,
      not decoded).
    """

    shuffle: bool = True
    seed: int | None = None
    repeat: bool = True
    drop_remainder: bool = True
    with_labels: bool = False
    strict: bool = False
    full_checks: bool = True
    verdicts: bool | str = True
    cache: bool | str = False
    shuffle_buffer: int | None = None
    num_parallel_calls: int = AUTOTUNE
    prefetch: int | None = AUTOTUNE
    deterministic: bool | None = None
    shard: tuple | None = None
    auto_shard_policy: tf.data.experimental.AutoShardPolicy | str | None = None
    service: object = None
    log_stream: object = None
    skip_clips: int = 0
    label_base: int = 0

    def __post_init__(self):
        if (not isinstance(self.skip_clips, int) or isinstance(self.skip_clips, bool)
                or self.skip_clips < 0):
            raise ValueError(f"skip_clips must be a non-negative integer, got "
                             f"{self.skip_clips!r}")
        optional_positive_int("shuffle_buffer", self.shuffle_buffer)
        if not isinstance(self.verdicts, (bool, str)) or self.verdicts == "":
            raise ValueError(f"verdicts must be True, False or a directory, got "
                             f"{self.verdicts!r}")
        if not isinstance(self.label_base, int) or isinstance(self.label_base, bool) or \
                self.label_base < 0:
            raise ValueError(f"label_base must be a non-negative integer, got "
                             f"{self.label_base!r}")
        _set(self, "shard", _shard(self.shard))
        _set(self, "auto_shard_policy", _policy(self.auto_shard_policy))


def _shard(shard):
    if shard is None:
        return None
    try:
        num, index = (int(v) for v in shard)
    except (TypeError, ValueError):
        raise ValueError(f"shard must be (num_shards, index), got {shard!r}") from None
    if num < 1 or not 0 <= index < num:
        raise ValueError(f"shard must be (num_shards, index) with 0 <= index < num_shards, "
                         f"got {shard!r}")
    return num, index


def _policy(value):
    if value is None or isinstance(value, tf.data.experimental.AutoShardPolicy):
        return value
    name = str(value).upper()
    if name not in _POLICIES:
        raise ValueError(f"auto_shard_policy must be one of {sorted(_POLICIES)}, got {value!r}")
    return _POLICIES[name]


def check_batch_size(batch_size):
    """`batch_size` if it is a positive integer or None (unbatched), else ValueError."""
    return optional_positive_int("batch_size", batch_size)
