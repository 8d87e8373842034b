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
  dropped, forensics.Failures; strict: forensics.strict_decode) -> [batch] -> map to
  [-1, 1] -> [tf.data service] -> prefetch

(shards: shard files -> [shard] -> [shuffle files] -> interleave records -> [shuffle
records] -> parse + check -> the same stages from the filter on.)

Checking before decoding is how bad files are skipped, named and counted without Python
(see checks.py); what only the decoder finds, and a read that raised, is named after it
(forensics.py). The full checks (the default) are paid once per strip: a strip whose
verdict is known (verdicts.py: by its bytes' fingerprint) is neither walked nor probed
again, and the verdicts found are written while the stream runs. Shuffling file
names (not decoded clips) gives a full shuffle for the price of a list of strings,
reshuffled every epoch; with a seed the order is deterministic.
Repeating after the filter means a data set whose every file is bad ends instead of
spinning forever.
"""
from __future__ import annotations

import dataclasses

import tensorflow as tf

from vgan_tf.data import checks, forensics, lists, strips, tfrecord, verdicts
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
    request = _Request(clip, batch_size, options, counter, _verdict_cache(options))
    if isinstance(source, ListSource):
        return _from_list(source, request)
    if isinstance(source, ShardSource):
        return _from_shards(source, request)
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


def _verdict_cache(options: ReadOptions) -> verdicts.VerdictCache | None:
    """The pipeline's verdicts (read now, once): with the full checks and a verdict
    directory, else None."""
    path = verdicts.directory(options.verdicts)
    if not (options.strict or options.full_checks) or path is None:
        return None
    return verdicts.VerdictCache(path)


@dataclasses.dataclass(frozen=True)
class _Request:
    """One video_dataset call, its arguments checked: what a clip is, the batch size, how
    the stream is read, where skips are counted and the verdicts of the full checks."""

    clip: ClipOptions
    batch_size: int | None
    options: ReadOptions
    counter: checks.SkipCounter | None
    verdicts: verdicts.VerdictCache | None = None

    @property
    def check_options(self) -> checks.CheckOptions:
        """How the checks and the decode stage treat a bad strip."""
        options = self.options
        return checks.CheckOptions(
            counter=self.counter, strict=options.strict, strip_size=self.clip.strip_size,
            min_frames=self.clip.min_frames, log_stream=options.log_stream,
            scan_checks=options.strict or options.full_checks, verdicts=self.verdicts)


@dataclasses.dataclass(frozen=True)
class _Downstream:
    """How a source's checked elements go on to clips (_from_checked): what differs
    between lists and shards.

    cache_shuffle_buffer: the shuffle after a cache. repeat: False where the names were
    already repeated before the checks. skip_checked: good encoded strips to skip (read
    and checked, not decoded). policy: the auto-shard policy of the dataset's options.
    safety_net: ignore_errors after the decoder (lists). refusals_limit: a repeated stream
    ends after that many strips in a row refused by the decode stage (0: never;
    _end_when_all_refused). failures: forensics.Failures
    naming what the decoder and the reads lose (lists outside strict mode, without a
    tf.data service), or None. starter: what the end element of a finite stream is made
    from where Failures does not add it (forensics.with_end: the last verdicts are written
    there; shards: their records, for FILE auto-sharding).
    """

    cache_shuffle_buffer: int
    repeat: bool
    skip_checked: int
    policy: object
    safety_net: bool
    failures: forensics.Failures | None
    starter: tf.data.Dataset | None = None
    refusals_limit: int = 0


def _from_list(source: ListSource, request: _Request):
    """Names from the list files -> checked elements -> the finished dataset."""
    options = request.options
    entries = source.read()
    paths = entries.resolve(source.data_root)
    labels = (entries.class_labels(options.label_base) if options.with_labels
              else [max(label, 0) for label in entries.labels])

    not_files = lists.not_regular_files(paths)
    path_tensor = tf.constant(paths, tf.string)
    ds = tf.data.Dataset.from_tensor_slices(
        (path_tensor, tf.constant(labels, tf.int64), tf.constant(not_files, tf.bool),
         tf.range(len(paths), dtype=tf.int64)))
    ds = _names_in_order(ds, options, len(paths))
    names_skipped = options.skip_clips and not options.cache

    naming = not options.strict and options.service is None
    failures = forensics.Failures(path_tensor, request.check_options) if naming else None
    if naming:  # each read numbered: the read noted while it runs (Failures.before_read)
        ds = ds.enumerate()

    def read(*args):
        if naming:
            sequence, (path, label, not_a_file, position) = args
            path = failures.before_read(sequence, position, path)
        else:
            path, label, not_a_file, position = args
        element = checks.probe_file(path, request.check_options, not_a_file)
        if naming:
            element["encoded"] = failures.after_read(sequence, element["encoded"])
        element["label"] = label
        element["position"] = position  # in the list: names what the decoder refuses
        return element

    ds = ds.map(read, num_parallel_calls=options.num_parallel_calls,
                deterministic=True if naming else options.deterministic)
    if names_skipped and options.repeat:
        ds = _end_when_all_bad(ds, 2 * len(paths) - 1)
    return _from_checked(ds, request, _Downstream(
        cache_shuffle_buffer=options.shuffle_buffer or min(len(paths), 4096),
        repeat=options.repeat and not names_skipped,
        skip_checked=0 if names_skipped else options.skip_clips,
        policy=options.auto_shard_policy, safety_net=True, failures=failures,
        refusals_limit=2 * len(paths) - 1 if options.repeat else 0))


def _names_in_order(ds, options: ReadOptions, num_names: int):
    """The list's names -> [shard] -> [shuffle] -> [repeat -> skip (skip_clips)].

    The skip is made on the names (unless cached): repeat the names, then skip: the same
    order as repeating after the checks (the shuffle draws the same per-epoch seeds),
    without reading the skipped files."""
    if options.shard is not None:
        ds = ds.shard(*options.shard)
    elif options.auto_shard_policy == tf.data.experimental.AutoShardPolicy.HINT:
        ds = ds.shard(tf.data.experimental.SHARD_HINT, tf.data.experimental.SHARD_HINT)
    if options.shuffle and not options.cache:
        ds = ds.shuffle(options.shuffle_buffer or min(num_names, 1 << 20),
                        seed=options.seed, reshuffle_each_iteration=True)
    if options.skip_clips and not options.cache:
        if options.repeat:
            ds = ds.repeat()
        ds = ds.skip(options.skip_clips)
    return ds


def _from_shards(source: ShardSource, request: _Request):
    """Shard files -> records -> checked elements -> the finished dataset.

    The skip (skip_clips) is made on the checked records: they have no names to skip by.
    """
    options = request.options
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
    records = ds
    if options.shuffle and not options.cache:
        ds = ds.shuffle(shuffle_buffer, seed=options.seed, reshuffle_each_iteration=True)

    def parse(record):
        features = tfrecord.parse_record(record)
        element = checks.check_encoded(features["strip"], features["path"],
                                       request.check_options)
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
    return _from_checked(ds, request, _Downstream(
        cache_shuffle_buffer=shuffle_buffer, repeat=options.repeat,
        skip_checked=options.skip_clips,
        policy=_SHARD_AUTO_SHARD_POLICY if policy is None else policy,
        safety_net=False, failures=None, starter=records))


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


def _end_when_all_refused(ds, limit, start, indexed):
    """Ends a repeated stream of decoded elements (..., good[, index]) once `limit`
    strips in a row were refused by the decode stage (the probes, corrupt_data, or the
    decoder): with `indexed` (lists outside strict mode and a tf.data service: Failures
    numbers every strip from `start`), the strips that ignore_errors dropped count too.
    Every strip that passed the header checks comes once per pass, so 2 * N - 1 refusals
    in a row (N names) contain a whole pass: none decodes, and the stream ends as one
    whose every file fails the header checks does (_end_when_all_bad). Without `indexed`,
    a stream whose every strip the decoder itself refuses still never ends."""
    def step(state, element):
        if indexed:  # state: the index of the last good strip
            index = element[-1]
            state = tf.where(element[-2], index, state)
            return state, (index - state < limit, element)
        state = tf.where(element[-1], tf.constant(0, tf.int64), state + 1)  # refusals
        return state, (state < limit, element)

    initial = tf.constant(start - 1 if indexed else 0, tf.int64)
    return (ds.scan(initial, step).take_while(lambda going, element: going)
            .map(lambda going, element: element))


def _from_checked(ds, request: _Request, downstream: _Downstream):
    """Checked {encoded, reason, label, height, width} elements -> the finished dataset:
    filter OK -> [cache -> shuffle] -> [repeat] -> [skip] -> decode -> _finish."""
    options = request.options
    ds = ds.filter(lambda e: tf.equal(e["reason"], checks.OK))
    if options.cache:
        ds = ds.cache(options.cache if isinstance(options.cache, str) else "")
        if options.shuffle:
            ds = ds.shuffle(downstream.cache_shuffle_buffer, seed=options.seed,
                            reshuffle_each_iteration=True)
    if downstream.repeat:
        ds = ds.repeat()
    if downstream.skip_checked:
        ds = ds.skip(downstream.skip_checked)
    ds = _decode_stage(ds, request, downstream)
    return _finish(ds, request, downstream.policy)


def _decode_stage(ds, request: _Request, downstream: _Downstream):
    """{encoded, label, height, width, name} elements -> clips (or (clip, label)), each
    with a `good` flag that _finish drops.

    Every decoded strip is checked for libjpeg's fill of a scan that ran out of data
    (strips.decode_clip check_fill): those are logged, counted and dropped as
    corrupt_data (strict: raised), in the decode map itself and a filter after it.
    safety_net (list sources) drops strips that pass the header checks but that the decoder
    refuses, or whose read raised: `ignore_errors`; with `failures` (lists outside strict
    mode, without a tf.data service) forensics.Failures names and counts them
    (decode_failed, read_failed). Strict mode decodes each strip in a nested dataset
    (forensics.strict_decode): the error names the file. The full checks (strict mode,
    full_checks) also run the header checks' walk to the first scan (checks.jpeg_header
    scan_checks: corrupt_header) and strips.scan_damaged; without them such strips are
    the decoder's to refuse (decode_failed) or come out (flipped bits: docs/data.md).
    TFRecord sources go without the safety net: the converter decoded every strip it
    wrote, record corruption is caught by TFRecord's checksums, and tf.distribute's FILE
    auto-sharding cannot see through ignore_errors. What each of these costs:
    docs/data.md.
    """
    options, failures = request.options, downstream.failures
    decoder = _StripDecoder(request, failures)
    if failures is not None:  # a last element marks the end of a finite stream
        ds = failures.with_end(ds, request.clip)
    elif request.verdicts is not None:  # where the last verdicts are written
        ds = forensics.with_end(ds, request.clip, downstream.starter)
    if decoder.indexed:  # the window of the i-th clip is a function of (seed, i)
        ds = ds.enumerate(start=options.skip_clips)
    if options.strict and downstream.safety_net:
        ds = forensics.strict_decode(ds, decoder.decode_only, decoder.reported, options)
    else:
        ds = ds.map(decoder.decode, num_parallel_calls=options.num_parallel_calls,
                    deterministic=True if failures is not None else options.deterministic)
        if downstream.safety_net:
            ds = ds.ignore_errors(log_warning=True)
        if downstream.refusals_limit:
            ds = _end_when_all_refused(ds, downstream.refusals_limit, options.skip_clips,
                                       indexed=failures is not None)
        if failures is not None:
            ds = failures.name_lost(ds, options.skip_clips)
    # The flag stays on the element (dropped by _finish's map to [-1, 1]): no extra map.
    return ds.filter(decoder.good)


class _StripDecoder:
    """The decode stage's per-strip functions (traced by tf.data): a checked element ->
    (video[, label], good), the failure reported as checks.report does."""

    def __init__(self, request: _Request, failures: forensics.Failures | None):
        self.clip, self.options, self.counter = request.clip, request.options, request.counter
        self.check_options = request.check_options
        self.failures = failures
        self.indexed = self.clip.window == "random" or failures is not None
        seed = self.options.seed
        self.base_seed = seed if seed is not None else int(tf.random.uniform(
            [], 0, 2 ** 31 - 1, dtype=tf.int64))

    def window_start(self, index, element):
        """The first strip frame of the clip: from (seed, index) for 'random'."""
        clip = self.clip
        if clip.window == "random":
            return strips.window_start(element["height"] // element["width"], clip.frames,
                                       clip.stride, tf.stack([tf.cast(self.base_seed,
                                                                      tf.int64), index]))
        if clip.window == "center":
            return strips.center_start(element["height"] // element["width"], clip.frames,
                                       clip.stride, clip.position)
        return 0

    def decode_only(self, *args):
        """(element) or (index, element) -> (video in [0, 255], label, ran_out, name).
        With verdicts, the full checks run for a strip without one, which is then
        recorded; a strip whose verdict is bad runs out (corrupt_data)."""
        index, element = args if self.indexed else (None, args[0])
        cache = self.check_options.verdicts
        full = self.check_options.scan_checks
        if cache is not None:  # looked up again: the bytes may come from tf.data's cache
            end = forensics.is_end(element["name"])  # no strip: not checked
            known, verdict = cache.lookup(element["key"],
                                          tf.strings.length(element["encoded"]))[:2]
            # Found bad since the check stage passed it (tf.data's cache keeps what passed
            # the header checks; the check stage reads ahead): dropped by its verdict.
            known_bad = known & tf.not_equal(verdict, checks.OK) & tf.logical_not(end)
            known |= end
            full = tf.logical_not(known)
        elif full and "position" in element:
            full = element["position"] >= 0
        video, ran_out = strips.decode_clip(
            element["encoded"], self.clip, self.window_start(index, element),
            element["height"], element["width"], unit_range=False, check_fill=True,
            full_checks=full)
        if cache is not None:
            ran_out = cache.checked(ran_out | known_bad, element, known, end)
        return video, element["label"], ran_out, element["name"]

    def reported(self, video, label, reason, name):
        """The failure (reason) counted and logged, or raised in strict mode ->
        (video[, label], good). The end element (added for the verdicts where
        forensics.Failures does not drop it) is not good."""
        reason = checks.report(reason, name, self.check_options, count_ok=False)
        good = tf.equal(reason, checks.OK)
        if self.failures is None and self.check_options.verdicts is not None:
            good &= tf.logical_not(forensics.is_end(name))
        return ((video, label) if self.options.with_labels else (video,)) + (good,)

    def decode(self, *args):
        """decode_only, then reported; with Failures, the strip is noted before the
        decoder can fail and the index goes on to Failures.name_lost."""
        if self.failures is not None:
            args = self.failures.before_decode(*args)
        video, label, ran_out, name = self.decode_only(*args)
        element = self.reported(video, label,
                                tf.where(ran_out, checks.CORRUPT_DATA, checks.OK), name)
        if self.failures is not None:  # the end marker is no clip
            element = self.failures.after_decode(element, *args)
        return element

    def good(self, *element):
        """The filter: the good flag; with a counter, counts the clip (in strict mode too:
        else every clip would read as decode_failed). No cond, no extra map: adds 0 or 1."""
        if self.counter is None:
            return element[-1]
        with tf.control_dependencies([self.counter.decoded_variable.assign_add(
                tf.cast(element[-1], tf.int64), use_locking=True)]):
            return tf.identity(element[-1])


def _to_unit_range(*element):
    """(video[, label], good flag) -> video or (video, label), the video mapped from
    [0, 255] to [-1, 1] (the flag of _decode_stage's filter is dropped here)."""
    element = element[:-1]
    if len(element) == 1:
        return strips.to_unit_range(element[0])
    return (strips.to_unit_range(element[0]),) + tuple(element[1:])


def _finish(ds, request: _Request, policy):
    """Decoded clips -> [batch] -> [-1, 1] -> [tf.data service] -> [prefetch], with the
    dataset's options (determinism, the auto-shard policy).

    Clips are decoded to [0, 255] (uint8 with resize='dct': a quarter of the bytes to
    batch) and mapped to [-1, 1] per batch: one op per batch instead of two per clip
    (what that saves: docs/data.md, Speed)."""
    options = request.options
    if request.batch_size is not None:
        ds = ds.batch(request.batch_size, drop_remainder=options.drop_remainder,
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
