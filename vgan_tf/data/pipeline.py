"""tf.data pipelines: list files or TFRecord shards -> clips [frames, size, size, 3] in [-1, 1].

Both sources end in the same stages, all graph ops (no Python per element):

  names -> [shard] -> [shuffle names] -> [repeat -> skip names (skip_clips)] -> read +
  check (parallel) -> filter OK -> [cache encoded bytes -> shuffle] -> [repeat] -> decode
  to [0, 255] (parallel) -> [batch] -> map to [-1, 1] -> [tf.data service] -> prefetch

Checking before decoding is how bad files are skipped, named and counted without Python
(see checks.py). Shuffling file names (not decoded clips) gives a full shuffle for the price
of a list of strings, reshuffled every epoch; with a seed the order is deterministic.
Repeating after the filter means a data set whose every file is bad ends instead of
spinning forever.
"""
from __future__ import annotations

import dataclasses
import os

import tensorflow as tf

from vgan_tf.data import checks, lists, strips

AUTOTUNE = tf.data.AUTOTUNE
WINDOWS = ("first", "random")
_POLICIES = {p.name: p for p in tf.data.experimental.AutoShardPolicy}


@dataclasses.dataclass(frozen=True)
class ClipOptions:
    """What a clip is: `frames` frames of `size` x `size`, taken how from the strip.

    window: 'first' (the top of the strip, the original loader) or 'random' (a uniform
    window that fits where it can). stride: take every stride-th frame. strip_size: refuse
    strips whose frames are not this many pixels (WRONG_SHAPE); None accepts any.
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

    def __post_init__(self):
        for name in ("frames", "size", "stride", "min_frames"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.window not in WINDOWS:
            raise ValueError(f"window must be one of {WINDOWS}, got {self.window!r}")
        if self.resize not in strips.RESIZE_METHODS:
            raise ValueError(f"resize must be one of {strips.RESIZE_METHODS}, got "
                             f"{self.resize!r}")
        if self.strip_size is not None and (not isinstance(self.strip_size, int)
                                            or self.strip_size < 1):
            raise ValueError(f"strip_size must be a positive integer, got {self.strip_size!r}")


def _policy(value):
    if value is None or isinstance(value, tf.data.experimental.AutoShardPolicy):
        return value
    name = str(value).upper()
    if name not in _POLICIES:
        raise ValueError(f"auto_shard_policy must be one of {sorted(_POLICIES)}, got {value!r}")
    return _POLICIES[name]


def _check_batch(batch_size):
    if batch_size is not None and (not isinstance(batch_size, int) or isinstance(
            batch_size, bool) or batch_size < 1):
        raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")


def _entry_roots(entries: lists.ClipList, data_root):
    """Full paths: data_root + entry, or the entry's list file directory when no root."""
    if data_root:
        return entries.full_paths(data_root)
    result = []
    for path, source in zip(entries.paths, entries.sources):
        list_file = source.rsplit(":", 1)[0]
        result.append(lists.join_root(os.path.dirname(list_file), path))
    return result


def _decode_stage(ds, clip: ClipOptions, with_labels, counter, strict, seed,
                  num_parallel_calls, deterministic, safety_net=True, first_index=0):
    """{encoded, label, height, width} elements -> clips (or (clip, label)).

    safety_net drops (and, with a counter, counts) strips that pass the header checks but
    that the decoder refuses. TFRecord sources go without it: the converter decoded every
    strip it wrote, record corruption is caught by TFRecord's checksums, and
    tf.distribute's FILE auto-sharding cannot see through ignore_errors.
    """
    base_seed = seed if seed is not None else int(tf.random.uniform(
        [], 0, 2 ** 31 - 1, dtype=tf.int64))
    if clip.window == "random":  # the window of the i-th clip: a function of (seed, i)
        ds = ds.enumerate(start=first_index)

    def decode(*args):
        if clip.window == "random":
            index, element = args
            start = strips.window_start(element["height"] // element["width"], clip.frames,
                                        clip.stride, tf.stack([tf.cast(base_seed, tf.int64),
                                                               index]))
        else:
            element, start = args[0], 0
        video = strips.decode_clip(element["encoded"], clip.frames, clip.size, clip.stride,
                                   start, element["height"], element["width"], clip.resize,
                                   unit_range=False)
        return (video, element["label"]) if with_labels else video

    ds = ds.map(decode, num_parallel_calls=num_parallel_calls, deterministic=deterministic)
    if not strict:
        if safety_net:
            ds = ds.ignore_errors()
        if counter is not None:
            def tally(*element):
                with tf.control_dependencies([counter.count_decoded()]):
                    return tf.nest.map_structure(tf.identity, element if len(element) > 1
                                                 else element[0])
            ds = ds.map(tally)
    return ds


def _to_unit_range(*element):
    """(video[, label]) with the video mapped from [0, 255] to [-1, 1]."""
    if len(element) == 1:
        return strips.to_unit_range(element[0])
    return (strips.to_unit_range(element[0]),) + tuple(element[1:])


def _finish(ds, batch_size, drop_remainder, service, prefetch, deterministic, policy):
    # Clips are decoded to [0, 255] (uint8 with resize='dct': a quarter of the bytes to
    # batch) and mapped to [-1, 1] per batch: one op per batch instead of two per clip,
    # measured about a tenth of the pipeline's CPU time (docs/data.md, Speed).
    if batch_size is not None:
        ds = ds.batch(batch_size, drop_remainder=drop_remainder,
                      num_parallel_calls=AUTOTUNE, deterministic=deterministic)
    ds = ds.map(_to_unit_range, num_parallel_calls=AUTOTUNE, deterministic=deterministic)
    if service is not None:
        from vgan_tf.data import service as service_lib
        ds = service_lib.distribute(ds, service)
    if prefetch:
        ds = ds.prefetch(prefetch)
    options = tf.data.Options()
    if deterministic is not None:
        options.deterministic = deterministic
    if policy is not None:
        options.experimental_distribute.auto_shard_policy = policy
    return ds.with_options(options)


def _apply_shard(ds, shard):
    if shard is None:
        return ds
    try:
        num, index = (int(v) for v in shard)
    except (TypeError, ValueError):
        raise ValueError(f"shard must be (num_shards, index), got {shard!r}") from None
    if num < 1 or not 0 <= index < num:
        raise ValueError(f"shard must be (num_shards, index) with 0 <= index < num_shards, "
                         f"got {shard!r}")
    return ds.shard(num, index)


def video_dataset(list_files, data_root, frames, size, batch_size, shuffle=True, seed=None,
                  repeat=True, drop_remainder=True, with_labels=False, *, window="first",
                  stride=1, strip_size=None, min_frames=1, resize="dct", strict=False,
                  counter=None, cache=False, shuffle_buffer=None, num_parallel_calls=AUTOTUNE,
                  prefetch=AUTOTUNE, deterministic=None, shard=None,
                  auto_shard_policy=None, service=None, log_stream=None, skip_clips=0):
    """Clips from JPEG strips named by list files.

    list_files: a path, glob pattern, or sequence of them. data_root: what list entries are
    relative to (local or any tf.io.gfile scheme); None means each list file's directory.
    Yields float32 [batch_size, frames, size, size, 3] in [-1, 1] (unbatched
    [frames, size, size, 3] with batch_size=None), or (video, int64 label) pairs with
    with_labels (every entry then needs a label).

    window/stride/strip_size/min_frames/resize: see ClipOptions. strict: raise on the first
    bad file instead of skipping it. counter: a checks.SkipCounter to tally skips into.
    cache: True caches encoded bytes in memory, a string caches them in that file prefix
    (shuffling then happens after the cache, over `shuffle_buffer` strips).
    shard: (num_shards, index) to read only that share of the list. auto_shard_policy:
    for tf.distribute's auto-sharding: None leaves TensorFlow's AUTO (DATA for lists: every
    worker reads everything and keeps its share); 'HINT' puts a shard hint on the names so
    each worker reads only its own files (only valid under tf.distribute, which replaces
    the hint); distributed_input_fn shards explicitly and is the efficient choice.
    service: a tf.data service dispatcher address, or a service.ServiceConfig, to run the
    pipeline on tf.data service workers (batches are made on the workers).
    log_stream: where skip lines go (tf.print's output_stream; default sys.stderr).
    deterministic: element order of the parallel stages; None means deterministic when a
    seed is set or shuffle is off (otherwise the faster first-come order).
    skip_clips: start after this many clips of the (shuffled, repeated) stream, e.g. to
    resume training at step s with s * batch_size. The skip is made on file names, before
    any file is read: resuming deep into a run costs seconds, not a re-read of the data.
    The stream that follows is the one a run without skip_clips would yield from there
    when no file is bad (each bad file among the skipped ones moves it one clip back:
    nothing is left out). With cache, the skip is made on the cached bytes instead
    (exact; no decoding).
    """
    clip = ClipOptions(frames, size, window, stride, strip_size, min_frames, resize)
    _check_batch(batch_size)
    skip_clips = _check_skip(skip_clips)
    entries = lists.read_lists(list_files)
    if with_labels:
        entries.require_labels()
    paths = _entry_roots(entries, data_root)
    labels = [max(label, 0) if not with_labels else label for label in entries.labels]
    if deterministic is None:
        deterministic = seed is not None or not shuffle

    ds = tf.data.Dataset.from_tensor_slices(
        (tf.constant(paths, tf.string), tf.constant(labels, tf.int64)))
    policy = _policy(auto_shard_policy)
    if shard is not None:
        ds = _apply_shard(ds, shard)
    elif policy == tf.data.experimental.AutoShardPolicy.HINT:
        ds = ds.shard(tf.data.experimental.SHARD_HINT, tf.data.experimental.SHARD_HINT)
    if shuffle and not cache:
        buffer = shuffle_buffer or min(len(paths), 1 << 20)
        ds = ds.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
    names_skipped = skip_clips and not cache
    if names_skipped:
        # Repeat the names, then skip: the same order as repeating after the checks (the
        # shuffle draws the same per-epoch seeds), without reading the skipped files.
        if repeat:
            ds = ds.repeat()
        ds = ds.skip(skip_clips)

    def read(path, label):
        element = checks.probe_file(path, counter, strict, clip.strip_size, clip.min_frames,
                                    log_stream)
        element["label"] = label
        return element

    ds = ds.map(read, num_parallel_calls=num_parallel_calls, deterministic=deterministic)
    if names_skipped and repeat:
        ds = _end_when_all_bad(ds, 2 * len(paths) - 1)
    return _from_checked(ds, clip, batch_size, shuffle, seed,
                         repeat and not names_skipped, drop_remainder, with_labels, strict,
                         counter, cache, shuffle_buffer or min(len(paths), 4096),
                         num_parallel_calls, prefetch, deterministic, policy, service,
                         skip_clips=0 if names_skipped else skip_clips,
                         first_index=skip_clips)


def _check_skip(skip_clips):
    if not isinstance(skip_clips, int) or isinstance(skip_clips, bool) or skip_clips < 0:
        raise ValueError(f"skip_clips must be a non-negative integer, got {skip_clips!r}")
    return skip_clips


def _end_when_all_bad(ds, limit):
    """Ends the stream once `limit` checked elements in a row are bad.

    With the names repeated before the checks, a list whose every file is bad would
    otherwise be read round and round for ever; every file comes once per epoch, so
    2 * N - 1 bad ones in a row (N names) contain a whole epoch: then all are bad, and the
    stream ends as it does without skip_clips. (Raising here would not reach the caller:
    the decoder's safety net, ignore_errors, is downstream.)
    """
    def step(run, element):
        run = tf.where(tf.equal(element["reason"], checks.OK), tf.constant(0, tf.int64),
                       run + 1)
        return run, (run, element)
    def not_yet(run, element):
        del element
        return run < limit

    def element_only(run, element):
        del run
        return element

    ds = ds.scan(tf.constant(0, tf.int64), step)
    return ds.take_while(not_yet).map(element_only)


def _from_checked(ds, clip, batch_size, shuffle, seed, repeat, drop_remainder, with_labels,
                  strict, counter, cache, cache_shuffle_buffer, num_parallel_calls, prefetch,
                  deterministic, policy, service, safety_net=True, skip_clips=0,
                  first_index=0):
    """Checked {encoded, reason, label, height, width} elements -> the finished dataset.

    skip_clips here skips good encoded strips (read and checked, not decoded)."""
    ds = ds.filter(lambda e: tf.equal(e["reason"], checks.OK))
    if cache:
        ds = ds.cache(cache if isinstance(cache, str) else "")
        if shuffle:
            ds = ds.shuffle(cache_shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    if skip_clips:
        ds = ds.skip(skip_clips)
    ds = _decode_stage(ds, clip, with_labels, counter, strict, seed, num_parallel_calls,
                       deterministic, safety_net, first_index)
    return _finish(ds, batch_size, drop_remainder, service, prefetch, deterministic, policy)


def tfrecord_video_dataset(shard_patterns, frames, size, batch_size, shuffle=True, seed=None,
                           repeat=True, drop_remainder=True, with_labels=False, *,
                           window="first", stride=1, strip_size=None, min_frames=1,
                           resize="dct", strict=False, counter=None, cache=False,
                           shuffle_buffer=256, cycle_length=None,
                           num_parallel_calls=AUTOTUNE, prefetch=AUTOTUNE, deterministic=None,
                           shard=None, auto_shard_policy="FILE", service=None,
                           log_stream=None, skip_clips=0):
    """Clips from TFRecord shards written by tfrecord.write_shards (same output as
    video_dataset).

    shard_patterns: a path, glob pattern or sequence of them (any tf.io.gfile scheme).
    Shard files are shuffled (with the seed) and read `cycle_length` at a time
    (interleaved); records are then shuffled in a buffer of `shuffle_buffer` encoded strips.
    The strip bytes are checked again as in video_dataset (a record is named by its list
    path in log lines). auto_shard_policy defaults to FILE: under MultiWorkerMirroredStrategy
    each worker reads whole shard files (have at least as many shards as workers); 'DATA'
    and 'OFF' are the alternatives. skip_clips: as in video_dataset, but made on the
    checked records (they are read, not decoded: records have no names to skip by).
    Other arguments: see video_dataset.
    """
    from vgan_tf.data import tfrecord

    clip = ClipOptions(frames, size, window, stride, strip_size, min_frames, resize)
    _check_batch(batch_size)
    skip_clips = _check_skip(skip_clips)
    files = tfrecord.expand_shards(shard_patterns)
    if deterministic is None:
        deterministic = seed is not None or not shuffle
    policy = _policy(auto_shard_policy)
    ds = tf.data.Dataset.from_tensor_slices(tf.constant(files, tf.string))
    if shard is not None:
        ds = _apply_shard(ds, shard)
    if shuffle:
        ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    ds = ds.interleave(tf.data.TFRecordDataset, cycle_length=cycle_length or min(len(files), 8),
                       num_parallel_calls=AUTOTUNE, deterministic=deterministic)
    if shuffle and not cache:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)

    def parse(record):
        features = tfrecord.parse_record(record)
        element = checks.check_encoded(features["strip"], features["path"], counter, strict,
                                       clip.strip_size, clip.min_frames, log_stream)
        if with_labels:
            with tf.control_dependencies([tf.debugging.assert_non_negative(
                    features["label"], ["record without a label:", features["path"]])]):
                element["label"] = tf.identity(features["label"])
        else:
            element["label"] = tf.maximum(features["label"], 0)
        return element

    ds = ds.map(parse, num_parallel_calls=num_parallel_calls, deterministic=deterministic)
    return _from_checked(ds, clip, batch_size, shuffle, seed, repeat, drop_remainder,
                         with_labels, strict, counter, cache, shuffle_buffer,
                         num_parallel_calls, prefetch, deterministic, policy, service,
                         safety_net=False, skip_clips=skip_clips, first_index=skip_clips)


def clip_dataset(list_files, data_root, frames, size, **kwargs):
    """Unbatched clips [frames, size, size, 3] (video_dataset with batch_size=None)."""
    kwargs.setdefault("drop_remainder", False)
    return video_dataset(list_files, data_root, frames, size, None, **kwargs)


def distributed_input_fn(list_files, data_root, frames, size, global_batch_size, **kwargs):
    """A dataset_fn for `strategy.distribute_datasets_from_function`.

    Each input pipeline reads only its own share of the names (shard by
    input_pipeline_id) and batches per replica; kwargs go to video_dataset. With
    data_root='tfrecord', list_files are shard patterns for tfrecord_video_dataset (each
    pipeline then reads its own shard files).
    """
    def dataset_fn(input_context: tf.distribute.InputContext):
        batch = input_context.get_per_replica_batch_size(global_batch_size)
        shard = (input_context.num_input_pipelines, input_context.input_pipeline_id)
        opts = dict(kwargs, shard=shard,
                    auto_shard_policy=tf.data.experimental.AutoShardPolicy.OFF)
        if data_root == "tfrecord":
            return tfrecord_video_dataset(list_files, frames, size, batch, **opts)
        return video_dataset(list_files, data_root, frames, size, batch, **opts)
    return dataset_fn
