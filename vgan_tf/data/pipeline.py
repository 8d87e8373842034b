"""tf.data pipelines: a source of strips -> clips [frames, size, size, 3] in [-1, 1].

    video_dataset(source, clip, batch_size, options=ReadOptions(), counter=None)

`source` says where the strips are (sources.ListSource: list files under a data root;
sources.ShardSource: TFRecord shards), `clip` what a clip is (options.ClipOptions),
`options` how the stream is made (options.ReadOptions). Both sources end in the same
stages, all graph ops (no Python per element):

  names -> [shard] -> [shuffle names] -> [repeat -> skip names (skip_clips)] -> read +
  check (parallel; lists: ordered, each read noted while it runs) -> filter OK -> [cache
  encoded bytes -> shuffle] -> [repeat] -> (lists: + an end element, enumerate) -> decode
  to [0, 255] (parallel; lists: ordered, then ignore_errors and a scan naming what it
  dropped, _Failures) -> [batch] -> map to [-1, 1] -> [tf.data service] -> prefetch

(shards: shard files -> [shard] -> [shuffle files] -> interleave records -> [shuffle
records] -> parse + check -> the same stages from the filter on.)

Checking before decoding is how bad files are skipped, named and counted without Python
(see checks.py); what only the decoder finds is named after it (_Failures). Shuffling file
names (not decoded clips) gives a full shuffle for the price of a list of strings,
reshuffled every epoch; with a seed the order is deterministic.
Repeating after the filter means a data set whose every file is bad ends instead of
spinning forever.
"""
from __future__ import annotations

import dataclasses
import sys

import tensorflow as tf

from vgan_tf.data import checks, control, lists, strips, tfrecord
from vgan_tf.data import service as service_lib
from vgan_tf.data.options import AUTOTUNE, ClipOptions, ReadOptions, check_batch_size
from vgan_tf.data.sources import ListSource, ShardSource

_SHARD_SHUFFLE_BUFFER = 256
_SHARD_AUTO_SHARD_POLICY = tf.data.experimental.AutoShardPolicy.FILE


def video_dataset(source: ListSource | ShardSource, clip: ClipOptions, batch_size,
                  options: ReadOptions | None = None,
                  counter: checks.SkipCounter | None = None) -> tf.data.Dataset:
    """Clips from the strips of `source`.

    Yields float32 [batch_size, frames, size, size, 3] in [-1, 1] (unbatched
    [frames, size, size, 3] with batch_size=None), or (video, int64 label) pairs with
    options.with_labels. counter: a checks.SkipCounter to tally skipped strips into (made
    outside any distribution strategy scope; not with a tf.data service).

    Both sources give the same clips. A list reads each strip file once per epoch; shards
    are read `source.cycle_length` files at a time and their records shuffled in a buffer
    (ReadOptions.shuffle_buffer, default 256); the strip bytes of a record are checked as a
    file's are (a record is named by its list path in log lines). Raises ValueError or
    FileNotFoundError naming the argument, list file or pattern at fault.
    """
    if not isinstance(clip, ClipOptions):
        raise TypeError(f"clip must be a ClipOptions, got {type(clip).__name__}")
    batch_size = check_batch_size(batch_size)
    options = ReadOptions() if options is None else options
    if not isinstance(options, ReadOptions):
        raise TypeError(f"options must be a ReadOptions, got {type(options).__name__}")
    if options.deterministic is None:
        options = dataclasses.replace(
            options, deterministic=options.seed is not None or not options.shuffle)
    if isinstance(source, ListSource):
        return _from_list(source, clip, batch_size, options, counter)
    if isinstance(source, ShardSource):
        return _from_shards(source, clip, batch_size, options, counter)
    raise TypeError(f"source must be a ListSource or a ShardSource, got "
                    f"{type(source).__name__}")


def clip_dataset(source: ListSource | ShardSource, clip: ClipOptions,
                 options: ReadOptions | None = None,
                 counter: checks.SkipCounter | None = None) -> tf.data.Dataset:
    """Unbatched clips [frames, size, size, 3] (video_dataset with batch_size=None)."""
    return video_dataset(source, clip, None, options, counter)


def distributed_input_fn(source: ListSource | ShardSource, clip: ClipOptions,
                         global_batch_size: int, options: ReadOptions | None = None,
                         counter: checks.SkipCounter | None = None):
    """A dataset_fn for `strategy.distribute_datasets_from_function`.

    Each input pipeline reads only its own share of the names (lists) or of the shard files
    (shards): options.shard becomes (num_input_pipelines, input_pipeline_id), before the
    shuffle, and auto-sharding is turned off on top. It yields per-replica batches
    (global_batch_size / num_replicas_in_sync).
    """
    options = ReadOptions() if options is None else options
    global_batch_size = check_batch_size(global_batch_size)

    def dataset_fn(input_context: tf.distribute.InputContext):
        batch = input_context.get_per_replica_batch_size(global_batch_size)
        shard = (input_context.num_input_pipelines, input_context.input_pipeline_id)
        return video_dataset(source, clip, batch, dataclasses.replace(
            options, shard=shard, auto_shard_policy=tf.data.experimental.AutoShardPolicy.OFF),
            counter)
    return dataset_fn


def _from_list(source, clip, batch_size, options, counter):
    """Names from the list files -> checked elements -> the finished dataset."""
    entries = source.read()
    paths = entries.resolve(source.data_root)
    labels = (entries.class_labels(options.label_base) if options.with_labels
              else [max(label, 0) for label in entries.labels])

    not_files = lists.not_regular_files(paths)
    path_tensor = tf.constant(paths, tf.string)
    ds = tf.data.Dataset.from_tensor_slices(
        (path_tensor, tf.constant(labels, tf.int64), tf.constant(not_files, tf.bool),
         tf.range(len(paths), dtype=tf.int64)))
    if options.shard is not None:
        ds = ds.shard(*options.shard)
    elif options.auto_shard_policy == tf.data.experimental.AutoShardPolicy.HINT:
        ds = ds.shard(tf.data.experimental.SHARD_HINT, tf.data.experimental.SHARD_HINT)
    if options.shuffle and not options.cache:
        ds = ds.shuffle(options.shuffle_buffer or min(len(paths), 1 << 20),
                        seed=options.seed, reshuffle_each_iteration=True)
    names_skipped = options.skip_clips and not options.cache
    if names_skipped:
        # Repeat the names, then skip: the same order as repeating after the checks (the
        # shuffle draws the same per-epoch seeds), without reading the skipped files.
        if options.repeat:
            ds = ds.repeat()
        ds = ds.skip(options.skip_clips)

    naming = not options.strict and options.service is None
    failures = _Failures(path_tensor, counter, options.log_stream) if naming else None
    if naming:  # each read numbered: the read noted while it runs (_Failures.reading)
        ds = ds.enumerate()

    def read(*args):
        if naming:
            sequence, (path, label, not_a_file, position) = args
            with tf.control_dependencies([failures.reading(sequence, position)]):
                path = tf.identity(path)
        else:
            path, label, not_a_file, position = args
        element = checks.probe_file(path, counter, options.strict, clip.strip_size,
                                    clip.min_frames, options.log_stream, not_a_file,
                                    scan_checks=options.strict or options.full_checks)
        if naming:
            with tf.control_dependencies([failures.read(sequence, element["encoded"])]):
                element["encoded"] = tf.identity(element["encoded"])
        element["label"] = label
        element["position"] = position  # in the list: names what the decoder refuses
        return element

    ds = ds.map(read, num_parallel_calls=options.num_parallel_calls,
                deterministic=True if naming else options.deterministic)
    if names_skipped and options.repeat:
        ds = _end_when_all_bad(ds, 2 * len(paths) - 1)
    return _from_checked(ds, clip, batch_size, options, counter,
                         cache_shuffle_buffer=options.shuffle_buffer or min(len(paths), 4096),
                         repeat=options.repeat and not names_skipped,
                         skip_checked=0 if names_skipped else options.skip_clips,
                         policy=options.auto_shard_policy, safety_net=True,
                         failures=failures)


def _from_shards(source, clip, batch_size, options, counter):
    """Shard files -> records -> checked elements -> the finished dataset.

    The skip (skip_clips) is made on the checked records: they have no names to skip by.
    """
    files = source.files()
    shuffle_buffer = options.shuffle_buffer or _SHARD_SHUFFLE_BUFFER
    ds = tf.data.Dataset.from_tensor_slices(tf.constant(files, tf.string))
    if options.shard is not None:
        ds = ds.shard(*options.shard)
    if options.shuffle:
        ds = ds.shuffle(len(files), seed=options.seed, reshuffle_each_iteration=True)
    ds = ds.interleave(tf.data.TFRecordDataset,
                       cycle_length=source.cycle_length or min(len(files), 8),
                       num_parallel_calls=AUTOTUNE, deterministic=options.deterministic)
    if options.shuffle and not options.cache:
        ds = ds.shuffle(shuffle_buffer, seed=options.seed, reshuffle_each_iteration=True)

    def parse(record):
        features = tfrecord.parse_record(record)
        element = checks.check_encoded(features["strip"], features["path"], counter,
                                       options.strict, clip.strip_size, clip.min_frames,
                                       options.log_stream,
                                       scan_checks=options.strict or options.full_checks)
        if options.with_labels:
            label = features["label"] - options.label_base
            with tf.control_dependencies([tf.debugging.assert_non_negative(
                    label, ["record without a label (or below label_base):",
                            features["path"]])]):
                element["label"] = tf.identity(label)
        else:
            element["label"] = tf.maximum(features["label"], 0)
        return element

    ds = ds.map(parse, num_parallel_calls=options.num_parallel_calls,
                deterministic=options.deterministic)
    policy = options.auto_shard_policy
    return _from_checked(ds, clip, batch_size, options, counter,
                         cache_shuffle_buffer=shuffle_buffer, repeat=options.repeat,
                         skip_checked=options.skip_clips,
                         policy=_SHARD_AUTO_SHARD_POLICY if policy is None else policy,
                         safety_net=False, failures=None)


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


def _from_checked(ds, clip, batch_size, options, counter, *, cache_shuffle_buffer, repeat,
                  skip_checked, policy, safety_net, failures):
    """Checked {encoded, reason, label, height, width} elements -> the finished dataset.

    skip_checked skips good encoded strips (read and checked, not decoded); repeat is
    False where the names were already repeated before the checks."""
    ds = ds.filter(lambda e: tf.equal(e["reason"], checks.OK))
    if options.cache:
        ds = ds.cache(options.cache if isinstance(options.cache, str) else "")
        if options.shuffle:
            ds = ds.shuffle(cache_shuffle_buffer, seed=options.seed,
                            reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    if skip_checked:
        ds = ds.skip(skip_checked)
    ds = _decode_stage(ds, clip, options, counter, safety_net, failures)
    return _finish(ds, batch_size, options, policy)


def _decode_stage(ds, clip, options, counter, safety_net, failures):
    """{encoded, label, height, width, name} elements -> clips (or (clip, label)), each
    with a `good` flag that _finish drops.

    Every decoded strip is checked for libjpeg's fill of a scan that ran out of data
    (strips.decode_clip check_fill): those are logged, counted and dropped as
    corrupt_data (strict: raised), in the decode map itself and a filter after it.
    safety_net (list sources) drops strips that pass the header checks but that the decoder
    refuses, or whose read raised: `ignore_errors`; with `failures` (lists outside strict
    mode, without a tf.data service) _Failures names and counts them (decode_failed,
    read_failed), at about +3-4 % of CPU time per frame with the read notes
    (docs/data.md). Strict mode decodes each strip in a nested dataset (_strict_decode):
    the error names the file. The full checks (strict mode, full_checks) also run the
    header checks' walk to the first scan (checks.jpeg_header scan_checks: corrupt_header)
    and strips.scan_damaged; without them such strips are the decoder's to refuse
    (decode_failed) or come out (flipped bits: docs/data.md). TFRecord sources
    go without the safety net: the converter decoded every strip it wrote, record
    corruption is caught by TFRecord's checksums, and tf.distribute's FILE auto-sharding
    cannot see through ignore_errors.
    """
    seed = options.seed
    base_seed = seed if seed is not None else int(tf.random.uniform(
        [], 0, 2 ** 31 - 1, dtype=tf.int64))
    naming = failures is not None
    if naming:  # a last element marks the end of a finite stream (see _Failures)
        ds = ds.concatenate(tf.data.Dataset.from_tensors(_end_element(ds, clip)))
    indexed = clip.window == "random" or naming
    if indexed:  # the window of the i-th clip is a function of (seed, i)
        ds = ds.enumerate(start=options.skip_clips)

    def decode_only(*args):  # -> (video, label, ran_out, name)
        if indexed:
            index, element = args
        else:
            element = args[0]
        if clip.window == "random":
            start = strips.window_start(element["height"] // element["width"], clip.frames,
                                        clip.stride, tf.stack([tf.cast(base_seed, tf.int64),
                                                               index]))
        elif clip.window == "center":
            start = strips.center_start(element["height"] // element["width"], clip.frames,
                                        clip.stride, clip.position)
        else:
            start = 0
        video, ran_out = strips.decode_clip(
            element["encoded"], clip.frames, clip.size, clip.stride, start,
            element["height"], element["width"], clip.resize, unit_range=False,
            check_fill=True, full_checks=options.strict or options.full_checks)
        return video, element["label"], ran_out, element["name"]

    def reported(video, label, reason, name):
        reason = checks.report(reason, name, counter, options.strict, options.log_stream,
                               count_ok=False)
        good = tf.equal(reason, checks.OK)
        return ((video, label) if options.with_labels else (video,)) + (good,)

    def decode(*args):
        if naming:  # the strip is noted before the decoder can fail
            index, element = args
            with tf.control_dependencies([failures.note(index, element["position"])]):
                args = (tf.identity(index), element)
        video, label, ran_out, name = decode_only(*args)
        element = reported(video, label, tf.where(ran_out, checks.CORRUPT_DATA, checks.OK),
                           name)
        if naming:  # the end marker is no clip; the index goes on to the scan
            end = tf.less(args[1]["position"], 0)
            element = element[:-1] + (element[-1] & tf.logical_not(end), args[0])
        return element

    if options.strict and safety_net:
        ds = _strict_decode(ds, decode_only, reported, options)
    else:
        ds = ds.map(decode, num_parallel_calls=options.num_parallel_calls,
                    deterministic=True if naming else options.deterministic)
        if safety_net:
            ds = ds.ignore_errors(log_warning=True)
        if naming:
            ds = ds.scan(tf.constant(options.skip_clips, tf.int64), failures.step)

    def good(*element):  # with a counter, counts the clip (in strict mode too: else every
        # clip would read as decode_failed); no cond, no extra map: adds 0 or 1
        if counter is None:
            return element[-1]
        with tf.control_dependencies([counter.decoded_variable.assign_add(
                tf.cast(element[-1], tf.int64), use_locking=True)]):
            return tf.identity(element[-1])

    # The flag stays on the element (dropped by _finish's map to [-1, 1]): no extra map.
    return ds.filter(good)


def _end_element(ds, clip):
    """An element of `ds`'s structure after the last strip: a valid black strip (of the
    clip's size, enough frames for any window) at list position -1. Decoded once per pass;
    it lets _Failures see the refusals among the last strips (then no clip follows)."""
    frames = (clip.frames - 1) * clip.stride + 1
    encoded = tf.io.encode_jpeg(tf.zeros([frames * clip.size, clip.size, 3], tf.uint8))
    spec = ds.element_spec
    element = {key: tf.zeros(value.shape, value.dtype) for key, value in spec.items()}
    element.update(encoded=encoded, reason=tf.constant(checks.OK, spec["reason"].dtype),
                   height=tf.constant(frames * clip.size, spec["height"].dtype),
                   width=tf.constant(clip.size, spec["width"].dtype),
                   name=tf.constant("(the end of the strips)"),
                   position=tf.constant(-1, spec["position"].dtype))
    return element


class _Failures:
    """Names the strips lost to an error between the read and the clip: the decoder's
    refusals (decode_failed) and reads that raised (read_failed).

    The decode map notes each strip's stream index -> list position in a hash table before
    decoding and keeps its order (deterministic=True); `ignore_errors` drops a strip whose
    decode (or read) raised; a `scan` after it sees the indices arrive in order, and a gap
    is a lost strip: its path from the list (decode_failed), or, with no note there, an
    error that came before the decode map (`enumerate` counted the element too): a read.
    The read map notes each read (its number -> list position) while it runs, also in
    order; a read that raised leaves its note, and the oldest notes left are the failed
    reads, in order (read_failed). Every index seen is removed from the table, which holds
    only the strips in flight. Costs two int64 table inserts and removes and a scan step
    per strip; a table of strings (the paths themselves) cost +3 % of the pipeline's CPU
    time, the int64 tables about nothing (docs/data.md)."""

    def __init__(self, paths, counter, log_stream):
        self.paths, self.counter, self.log_stream = paths, counter, log_stream
        self.table = tf.lookup.experimental.MutableHashTable(tf.int64, tf.int64, -1)
        self.reads = tf.lookup.experimental.MutableHashTable(tf.int64, tf.int64, -1)

    def note(self, index, position):
        return self.table.insert(index[tf.newaxis], position[tf.newaxis])

    def reading(self, sequence, position):
        """Before a read: read number -> list position (removed by `read` once done)."""
        return self.reads.insert(sequence[tf.newaxis], position[tf.newaxis])

    def read(self, sequence, encoded):
        """After a read that returned (`encoded`): its note is removed."""
        with tf.control_dependencies([encoded]):
            return self.reads.remove(sequence[tf.newaxis])

    def step(self, expected, element):
        index = element[-1]

        def name_lost():
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
            reason_names = tf.gather(tf.constant(checks.REASONS), reasons)
            deps = [self.table.remove(lost), self.reads.remove(tf.gather(keys, oldest))]
            if self.counter is not None:
                deps.append(self.counter.variable.assign_add(tf.reduce_sum(tf.one_hot(
                    reasons, len(checks.REASONS), dtype=tf.int64), axis=0),
                    use_locking=True))
            stream = sys.stderr if self.log_stream is None else self.log_stream

            def log(i):  # one line each, as checks.report writes them
                with tf.control_dependencies([tf.print(
                        "vgan_tf.data: skipped strip", shown[i], "reason:", reason_names[i],
                        output_stream=stream)]):
                    return i + 1

            deps.append(tf.while_loop(lambda i: i < tf.size(lost), log, [tf.constant(0)]))
            with tf.control_dependencies(deps):
                return tf.identity(index)

        seen = control.cond(index > expected, name_lost, lambda: tf.identity(index))
        with tf.control_dependencies([self.table.remove(seen[tf.newaxis])]):
            return seen + 1, element[:-1]


def _strict_decode(ds, decode_only, reported, options):
    """Strict mode's decode: each strip decoded in a dataset of its own whose decoder error
    is dropped (ignore_errors) and replaced by a placeholder, so that the error raised
    names the strip (reason decode_failed) instead of being the decoder's own message,
    which does not. Costs a nested dataset per strip (measured 11-18 % of CPU time per
    strip, docs/data.md): strict mode only; errors upstream of the decode (the checks'
    own) still raise, as they are not inside the nested dataset."""
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


def _to_unit_range(*element):
    """(video[, label], good flag) -> video or (video, label), the video mapped from
    [0, 255] to [-1, 1] (the flag of _decode_stage's filter is dropped here)."""
    element = element[:-1]
    if len(element) == 1:
        return strips.to_unit_range(element[0])
    return (strips.to_unit_range(element[0]),) + tuple(element[1:])


def _finish(ds, batch_size, options, policy):
    # Clips are decoded to [0, 255] (uint8 with resize='dct': a quarter of the bytes to
    # batch) and mapped to [-1, 1] per batch: one op per batch instead of two per clip,
    # measured about a tenth of the pipeline's CPU time (docs/data.md, Speed).
    if batch_size is not None:
        ds = ds.batch(batch_size, drop_remainder=options.drop_remainder,
                      num_parallel_calls=AUTOTUNE, deterministic=options.deterministic)
    ds = ds.map(_to_unit_range, num_parallel_calls=AUTOTUNE,
                deterministic=options.deterministic)
    if options.service is not None:
        ds = service_lib.distribute(ds, options.service)
    if options.prefetch:
        ds = ds.prefetch(options.prefetch)
    tf_options = tf.data.Options()
    tf_options.deterministic = options.deterministic
    if policy is not None:
        tf_options.experimental_distribute.auto_shard_policy = policy
    return ds.with_options(tf_options)
