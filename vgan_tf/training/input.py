"""The input of a training run: which data, which options, which batches from where.

Data position: the data order is a deterministic function of `seed` (shuffled file names
with a fixed seed, deterministic tf.data), and batch k feeds step k + 1. A run resumed at
step s therefore trains on a fresh dataset that starts s batches in, the batches the
uninterrupted run would have seen, and no iterator state is checkpointed. The skip is made
on file names (pipeline `skip_clips`): nothing skipped is read or decoded, so resuming deep
into a run costs seconds (exact when no file is bad; each bad file among the skipped ones
moves the stream back by one clip). Shards and --data_cache skip checked records (exact,
read but not decoded). With --data_service the workers make the batches and their order is
theirs; a resume skips the same number of batches but cannot promise the same ones.
Under a strategy scope every iterator of a training dataset yields the same stream (the
pipeline is rebuilt per iterator inside a flat_map): Keras there draws one batch from a
first iterator before training on a second, and a bare reshuffling dataset would hand the
second one shuffle orders that depend on how far the first had read ahead. With the
default strategy Keras makes no such iterator and the cheaper bare pipeline is used.

Input with several replicas in sync (MirroredStrategy, MultiWorkerMirroredStrategy; not
with --data_service): fit gets `strategy.distribute_datasets_from_function` of
per-pipeline datasets (training_input). Each input pipeline (one per worker) reads only
its share of the file names (lists; shard by input_pipeline_id before the shuffle) or of
the shard files (--data_shards), and batches per replica; a step takes batch_size /
num_input_pipelines clips from each pipeline, so a resume at step s skips s times that in
each. Keras's auto-sharding would instead have every worker read and decode every clip
(DATA policy: file names are read in a map). One machine has one pipeline: the replicas
get the rows they got from the split global batch (tested). Every worker resumes from the
chief's checkpoints (<model_dir>/checkpoints; model_dir must be shared), and the workers
check that they resumed at the same step.
"""
from __future__ import annotations

import dataclasses
import os

import tensorflow as tf
from absl import logging

from vgan_tf.data import checks, pipeline, synthetic
from vgan_tf.data.options import ClipOptions, ReadOptions
from vgan_tf.data.sources import ListSource, ShardSource
from vgan_tf.training.config import TrainConfig


def data_source(config: TrainConfig, scratch_dir: str | None = None
                ) -> ListSource | ShardSource:
    """Where the run's strips are: a ShardSource for --data_shards, else a ListSource of
    --data_list under --data_root, or of the synthetic set (written first, under
    --synthetic_dir or <scratch_dir or model_dir>/synthetic_data)."""
    if config.data.synthetic:
        root = config.data.synthetic_dir or os.path.join(scratch_dir or config.model_dir,
                                                    "synthetic_data")
        list_file = synthetic.write_synthetic_dataset(
            root, config.data.synthetic_clips, frames=config.model.frames, size=config.model.size,
            seed=config.training.seed, scene=config.data.synthetic_scene)
        return ListSource([list_file], root)
    if config.data.data_shards:
        return ShardSource(config.data.data_shards)
    return ListSource(config.data.data_list, config.data.data_root or None)


def data_options(config: TrainConfig) -> tuple[ClipOptions, ReadOptions]:
    """(what a clip is, how the training stream is read) as the flags set them: shuffled
    with --seed, repeated, full batches, deterministic; --strip_size=0 means any size,
    --data_service='' none. The resume position (skip_clips) is set by training_data."""
    clip = ClipOptions(config.model.frames, config.model.size, window=config.data.window, stride=config.data.stride,
                       strip_size=config.data.strip_size or None, resize=config.data.resize)
    read = ReadOptions(shuffle=True, seed=config.training.seed, repeat=True, drop_remainder=True,
                       deterministic=True, shuffle_buffer=config.training.shuffle_buffer,
                       cache=config.data.data_cache, strict=config.data.strict_data,
                       full_checks=config.data.data_full_checks,
                       service=config.data.data_service or None)
    return clip, read


def make_skip_counter(config: TrainConfig) -> checks.SkipCounter | None:
    """A SkipCounter for the run, or None with --data_service (the workers cannot reach a
    variable of this process). Call outside any strategy scope."""
    if config.data.data_service:
        logging.info("--data_service: skipped strips are logged by the tf.data service "
                     "workers (their stderr) and not counted here; the trainer's counters "
                     "cannot be reached from remote workers")
        return None
    return checks.SkipCounter("training_data_skips")


def training_data(config: TrainConfig, source: ListSource | ShardSource | None = None,
                  skip: int = 0, counter: checks.SkipCounter | None = None,
                  input_context: tf.distribute.InputContext | None = None,
                  stable_iterators: bool = True) -> tf.data.Dataset:
    """Batches [batch, frames, size, size, 3] in [-1, 1], repeated forever, in an order
    fixed by config.training.seed, starting at batch `skip`.

    source: data_source(config) when None. Without `input_context`: GLOBAL batches of the
    whole data set. With one (inside a dataset_fn of
    strategy.distribute_datasets_from_function, see training_input): the input pipeline
    `input_context.input_pipeline_id` of `num_input_pipelines`, which reads only its share
    of the file names (lists) or shard files (--data_shards) and yields PER-REPLICA
    batches; the skip is then `skip` steps of this pipeline (each step takes
    batch_size / num_input_pipelines clips from it).

    The options are data_options(config); bad strips are tallied into `counter` if given.

    Every iterator of the returned dataset yields the same stream (not so with
    --data_service). A bare seeded, reshuffling pipeline hands each new iterator the next
    shuffle orders after those its earlier iterators pulled, read-ahead included, so the
    order would depend on timing: Keras under a strategy takes one batch from a first
    iterator (its symbolic build) and trains on a second. The pipeline is therefore built
    inside a flat_map, afresh (new shuffle seed state) for every iterator.
    That wrapper costs CPU (measured 94.1 against 86.4 us/frame for the bare pipeline,
    same run), so training_input leaves it out (stable_iterators=False) where Keras
    makes no throw-away iterator: outside any strategy scope (the default strategy).
    """
    if config.data.data_service or not stable_iterators:
        return _pipeline(config, source, skip, counter, input_context)

    @tf.autograph.experimental.do_not_convert  # plain Python; its errors raise as they are
    def build(_):
        return _pipeline(config, source, skip, counter, input_context)

    dataset = tf.data.Dataset.from_tensors(tf.constant(0)).flat_map(build)  # traces build
    # The pipeline's options do not cross flat_map: set them again outside. Auto-sharding
    # is off for per-worker pipelines (they shard themselves) and has nothing to do with
    # one worker; several workers always get per-worker pipelines (training_input).
    options = tf.data.Options()
    options.deterministic = True
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    return dataset.with_options(options)


def _pipeline(config, source, skip, counter, input_context) -> tf.data.Dataset:
    """training_data's pipeline itself (see there)."""
    source = source or data_source(config)
    clip, read = data_options(config)
    # The skip is made inside the pipeline (skip_clips: on file names for lists, before any
    # read; on checked records for shards and cached bytes), not on decoded batches. With
    # a tf.data service the workers own the order: the batches are skipped as they come.
    service = bool(config.data.data_service)
    if input_context is None:
        read = dataclasses.replace(read, skip_clips=0 if service else skip * config.training.batch_size)
        dataset = pipeline.video_dataset(source, clip, config.training.batch_size, read, counter)
        return dataset.skip(skip) if skip and service else dataset
    pipelines = input_context.num_input_pipelines
    if service:
        raise ValueError("per-worker input pipelines do not apply to --data_service")
    if config.training.batch_size % pipelines:
        raise ValueError(f"--batch_size ({config.training.batch_size}) must be a multiple of the "
                         f"{pipelines} input pipelines (workers)")
    if isinstance(source, ShardSource) and len(source.files()) < pipelines:
        raise ValueError(f"--data_shards: {len(source.files())} shard file(s) for "
                         f"{pipelines} workers; each worker reads whole shard files, so make "
                         f"at least as many shards as workers (tools/make_shards.py "
                         f"--num_shards)")
    # distributed_input_fn: shard by input_pipeline_id, per-replica batches, no
    # auto-sharding on top.
    read = dataclasses.replace(read, skip_clips=skip * (config.training.batch_size // pipelines))
    dataset_fn = pipeline.distributed_input_fn(source, clip, config.training.batch_size, read, counter)
    return dataset_fn(input_context)


def per_worker_input(config: TrainConfig, strategy: tf.distribute.Strategy) -> bool:
    """Whether fit is fed per-worker pipelines (training_input): with more than one replica
    in sync, except with --data_service (its workers make the batches)."""
    return strategy.num_replicas_in_sync > 1 and not config.data.data_service


def training_input(config: TrainConfig, strategy: tf.distribute.Strategy, source=None,
                   skip: int = 0, counter: checks.SkipCounter | None = None):
    """What `fit` is fed from batch `skip` on: with per_worker_input, a DistributedDataset
    from strategy.distribute_datasets_from_function (every worker builds its own pipelines,
    each reading its share of the data, batched per replica); else training_data's global
    batches (Keras distributes those itself)."""
    if not per_worker_input(config, strategy):
        # Keras draws a throw-away batch only from models built under a strategy scope
        # (tf.distribute.has_strategy(), false in the default strategy's scope).
        with strategy.scope():
            under_strategy = tf.distribute.has_strategy()
        return training_data(config, source, skip, counter, stable_iterators=under_strategy)

    def dataset_fn(input_context):
        return training_data(config, source, skip, counter, input_context)

    return strategy.distribute_datasets_from_function(dataset_fn)
