"""One training run: strategy, data, models, resume, fit, final outputs.

Layout of `model_dir`:
    checkpoints/ckpt-<step>.*   G, D (BatchNorm statistics too), both optimizers and the
                                step (the last `keep_checkpoints`)
    tensorboard/                event files (see summaries.py)
    generator.keras             the final generator, loadable with keras.saving.load_model
    samples/                    video.gif, foreground.gif, mask.gif, masked_foreground.gif,
                                background.png for seeds 0 .. num_samples - 1
    config.json                 the TrainConfig of the run
    .worker_<i>/                scratch of non-chief workers (multi_worker), removed at end

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

Skipped strips: a checks.SkipCounter (made here, outside the strategy scope) tallies bad
files per reason; the log lines, TensorBoard (data/skipped, data/skipped/<reason>) and a
final log line show it. Not with --data_service: remote workers cannot reach the counter,
they log each skipped strip on their own stderr.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil

import keras
import tensorflow as tf
from absl import logging

from vgan_tf import gan as gan_lib
from vgan_tf.data import checks, pipeline, synthetic
from vgan_tf.models import Discriminator, OneStreamGenerator, TwoStreamGenerator
from vgan_tf.training import callbacks as callbacks_lib
from vgan_tf.training import precision as precision_lib
from vgan_tf.training import strategy as strategy_lib
from vgan_tf.training import summaries
from vgan_tf.training.config import TrainConfig
from vgan_tf.viz import samples


class InputError(ValueError):
    """The training data could not be set up (missing or empty list files, ...)."""


class BadDataError(InputError):
    """--strict_data met a bad strip during training (the message names it)."""


STRICT_MESSAGE = "bad strip (strict mode):"


def build_gan(config: TrainConfig) -> gan_lib.VideoGAN:
    """The compiled VideoGAN of `config`, in config.precision (call inside a strategy scope
    to distribute)."""
    s = config.sizes
    generator_cls = TwoStreamGenerator if config.generator == "two_stream" else OneStreamGenerator
    with precision_lib.policy(config.precision):
        generator = generator_cls(s.frames, s.size, s.latent_dim, s.base_width,
                                  name="generator")
        discriminator = Discriminator(s.frames, s.size, s.base_width, name="discriminator")
    gan = gan_lib.VideoGAN(generator, discriminator, mask_weight=config.mask_weight,
                           seed=config.seed)
    gan.compile(
        g_optimizer=precision_lib.wrap_optimizer(
            gan_lib.paper_adam(config.g_learning_rate, config.beta_1, name="g_adam"),
            config.precision),
        d_optimizer=precision_lib.wrap_optimizer(
            gan_lib.paper_adam(config.d_learning_rate, config.beta_1, name="d_adam"),
            config.precision),
        jit_compile=config.jit_compile)
    return gan


def data_source(config: TrainConfig, scratch_dir: str | None = None):
    """(list files, data root) of the run; writes the synthetic set first if asked.

    For --data_shards the data root is None and the list files are the shard patterns."""
    if config.synthetic:
        root = config.synthetic_dir or os.path.join(scratch_dir or config.model_dir,
                                                    "synthetic_data")
        list_file = synthetic.write_synthetic_dataset(
            root, config.synthetic_clips, frames=config.frames, size=config.size,
            seed=config.seed)
        return [list_file], root
    if config.data_shards:
        return list(config.data_shards), None
    return list(config.data_list), config.data_root


def data_options(config: TrainConfig) -> dict:
    """The keyword arguments of the pipeline functions that the data flags set."""
    return dict(window=config.window, stride=config.stride,
                strip_size=config.strip_size or None, resize=config.resize,
                cache=config.data_cache, strict=config.strict_data,
                service=config.data_service or None)


def make_skip_counter(config: TrainConfig) -> checks.SkipCounter | None:
    """A SkipCounter for the run, or None with --data_service (the workers cannot reach a
    variable of this process). Call outside any strategy scope."""
    if config.data_service:
        logging.info("--data_service: skipped strips are logged by the tf.data service "
                     "workers (their stderr) and not counted here; the trainer's counters "
                     "cannot be reached from remote workers")
        return None
    return checks.SkipCounter("training_data_skips")


def training_data(config: TrainConfig, source=None, skip: int = 0,
                  counter: checks.SkipCounter | None = None,
                  input_context: tf.distribute.InputContext | None = None,
                  stable_iterators: bool = True) -> tf.data.Dataset:
    """Batches [batch, frames, size, size, 3] in [-1, 1], repeated forever, in an order
    fixed by config.seed, starting at batch `skip`.

    Without `input_context`: GLOBAL batches of the whole data set. With one (inside a
    dataset_fn of strategy.distribute_datasets_from_function, see training_input): the
    input pipeline `input_context.input_pipeline_id` of `num_input_pipelines`, which reads
    only its share of the file names (lists) or shard files (--data_shards) and yields
    PER-REPLICA batches; the skip is then `skip` steps of this pipeline (each step takes
    batch_size / num_input_pipelines clips from it).

    Reads list files (video_dataset) or, with --data_shards, TFRecord shards
    (tfrecord_video_dataset), with the window/stride/strip_size/resize/cache/strict/service
    flags; bad strips are tallied into `counter` if given.

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
    if config.data_service or not stable_iterators:
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
    lists, data_root = source or data_source(config)
    # The skip is made inside the pipeline (skip_clips: on file names for lists, before any
    # read; on checked records for shards and cached bytes), not on decoded batches. With
    # a tf.data service the workers own the order: the batches are skipped as they come.
    service = bool(config.data_service)
    clips_per_step = config.batch_size
    common = dict(frames=config.frames, size=config.size, shuffle=True, seed=config.seed,
                  repeat=True, drop_remainder=True, deterministic=True, counter=counter,
                  shuffle_buffer=config.shuffle_buffer, **data_options(config))
    if input_context is not None:
        pipelines = input_context.num_input_pipelines
        if service:
            raise ValueError("per-worker input pipelines do not apply to --data_service")
        if config.batch_size % pipelines:
            raise ValueError(f"--batch_size ({config.batch_size}) must be a multiple of the "
                             f"{pipelines} input pipelines (workers)")
        clips_per_step = config.batch_size // pipelines
        if config.data_shards:
            from vgan_tf.data import tfrecord
            files = tfrecord.expand_shards(lists)
            if len(files) < pipelines:
                raise ValueError(f"--data_shards: {len(files)} shard file(s) for {pipelines} "
                                 f"workers; each worker reads whole shard files, so make at "
                                 f"least as many shards as workers (tools/make_shards.py "
                                 f"--num_shards)")
        # distributed_input_fn: shard by input_pipeline_id, per-replica batches, no
        # auto-sharding on top.
        dataset_fn = pipeline.distributed_input_fn(
            lists, "tfrecord" if config.data_shards else data_root,
            global_batch_size=config.batch_size, skip_clips=skip * clips_per_step, **common)
        return dataset_fn(input_context)
    common.update(batch_size=config.batch_size,
                  skip_clips=0 if service else skip * clips_per_step)
    if config.data_shards:
        dataset = pipeline.tfrecord_video_dataset(lists, **common)
    else:
        dataset = pipeline.video_dataset(lists, data_root, **common)
    return dataset.skip(skip) if skip and service else dataset


def per_worker_input(config: TrainConfig, strategy: tf.distribute.Strategy) -> bool:
    """Whether fit is fed per-worker pipelines (training_input): with more than one replica
    in sync, except with --data_service (its workers make the batches)."""
    return strategy.num_replicas_in_sync > 1 and not config.data_service


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


def _check_jit(config: TrainConfig):
    if config.jit_compile and not strategy_lib.has_gpu():
        logging.warning("--jit_compile on a machine without GPU: XLA made the VideoGAN step "
                        "about 100x slower on CPU; leave it off here.")


def train(config: TrainConfig, strategy: tf.distribute.Strategy | None = None):
    """Trains (or resumes) the run described by `config`; returns the VideoGAN.

    `strategy` defaults to make_strategy(config.strategy). Raises InputError when the data
    cannot be set up and NonFiniteLossError when a loss turns NaN/inf (nothing is saved for
    that step; the last good checkpoint stays the latest).
    """
    config.validate()
    if strategy is None:  # first: MultiWorkerMirroredStrategy must precede other TF ops
        strategy = strategy_lib.make_strategy(config.strategy)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    strategy_lib.per_replica_batch(config.batch_size, strategy)
    _check_jit(config)
    chief = strategy_lib.is_chief(strategy)
    work_dir = (config.model_dir if chief else
                os.path.join(config.model_dir, f".worker_{strategy_lib.task_id(strategy)}"))
    os.makedirs(work_dir, exist_ok=True)
    if chief:
        with open(os.path.join(config.model_dir, "config.json"), "w") as handle:
            json.dump(dataclasses.asdict(config), handle, indent=2, default=list)

    try:
        source = data_source(config, work_dir)
        training_input(config, strategy, source)  # fails early on missing or empty lists
    except (ValueError, OSError, tf.errors.OpError) as error:
        raise InputError(str(error)) from error
    counter = make_skip_counter(config)  # outside the strategy scope: a local tally
    keras.utils.set_random_seed(config.seed)  # the same initial weights in every run
    with strategy.scope():
        gan = build_gan(config)
    manager = callbacks_lib.checkpoint_manager(
        gan, os.path.join(work_dir, "checkpoints"), config.keep_checkpoints)
    step = 0
    if config.resume:
        # Every worker resumes from the chief's checkpoints (--model_dir is shared): a
        # non-chief's scratch checkpoints are deleted when a run ends and can lag the
        # chief's after a kill.
        step = callbacks_lib.restore_latest(gan, manager if chief else
                                            callbacks_lib.checkpoint_manager(
                                                gan, os.path.join(config.model_dir,
                                                                  "checkpoints"),
                                                config.keep_checkpoints))
    _check_same_step(strategy, step)
    _set_learning_rates(gan, config)
    if step >= config.steps:
        logging.info("Already at step %d of %d: nothing to train", step, config.steps)
    else:
        logging.info("Training steps %d..%d (global batch %d = %d replicas x %d, %s, %s, "
                     "%s)", step, config.steps, config.batch_size,
                     strategy.num_replicas_in_sync,
                     config.batch_size // strategy.num_replicas_in_sync, config.sizes,
                     config.strategy, config.precision)
        writer = (tf.summary.create_file_writer(os.path.join(config.model_dir, "tensorboard"))
                  if chief else tf.summary.create_noop_writer())
        fit_callbacks = [
            callbacks_lib.CheckpointEvery(manager, config.checkpoint_every),
            callbacks_lib.ProgressLog(config.log_every, config.steps, config.batch_size,
                                      counter),
            summaries.TensorBoardSummaries(writer, config.summary_every, config.sample_every,
                                           config.batch_size, config.summary_samples,
                                           counter=counter),
        ]
        try:
            _fit(gan, lambda skip: training_input(config, strategy, source, skip, counter),
                 step, config, fit_callbacks)
        except tf.errors.InvalidArgumentError as error:
            if STRICT_MESSAGE not in str(error):
                raise
            raise BadDataError(_strict_failure(error, gan, manager)) from error
        callbacks_lib.log_skip_summary(counter)
    if chief:
        _save_atomically(gan.generator, os.path.join(config.model_dir, "generator.keras"))
        samples.write_samples(gan.generator, os.path.join(config.model_dir, "samples"),
                              config.num_samples, 0, config.sample_fps, config.sample_scale)
    else:
        shutil.rmtree(os.path.join(work_dir, "checkpoints"), ignore_errors=True)
    return gan


def _check_same_step(strategy, step: int):
    """Raises InputError unless every replica resumed at `step` (with several workers, a
    --model_dir that is not shared would leave a non-chief at step 0 while the chief
    resumes: the workers' collectives would then wait for each other for ever)."""
    if strategy.num_replicas_in_sync == 1:
        return
    steps = strategy.gather(strategy.run(lambda: tf.constant([step], tf.int64)), axis=0)
    steps = sorted({int(v) for v in steps.numpy()})
    if steps != [step]:
        raise InputError(f"the workers resumed at different steps {steps}: every worker "
                         f"restores the chief's latest checkpoint from "
                         f"<--model_dir>/checkpoints, so --model_dir must be storage "
                         f"that all workers share")


def _strict_failure(error, gan, manager) -> str:
    """One line from a strict-mode InvalidArgumentError: the file, its reason, the step."""
    text = str(error)
    found = re.search(r"\[bad strip \(strict mode\):\] \[(.*?)\] \[reason:\] \[(\w+)\]", text)
    if found:
        detail = f'"{found.group(1)}" reason: {found.group(2)}'
    else:
        line = next(l for l in text.splitlines() if STRICT_MESSAGE in l)
        detail = line[line.index(STRICT_MESSAGE) + len(STRICT_MESSAGE):].strip()
    return (f"--strict_data: bad strip {detail} (training stopped after "
            f"{callbacks_lib.current_step(gan)} completed steps; the last checkpoint is "
            f"{manager.latest_checkpoint or '(none)'}). Fix or remove the file, or train "
            f"without --strict_data to skip and count bad strips.")


def _save_atomically(model, path: str):
    """model.save to a temporary name, then rename: a reader never sees half a file."""
    tmp = os.path.join(os.path.dirname(path), f".tmp-{os.getpid()}-{os.path.basename(path)}")
    model.save(tmp)
    os.replace(tmp, path)


def _set_learning_rates(gan, config):
    """The configured learning rates win over the checkpointed ones on resume (a checkpoint
    restores the optimizers' learning-rate variables too)."""
    for optimizer, value in ((gan.g_optimizer, config.g_learning_rate),
                             (gan.d_optimizer, config.d_learning_rate)):
        inner = getattr(optimizer, "inner_optimizer", optimizer)
        if abs(float(inner.learning_rate.numpy()) - value) > 1e-12 * max(1.0, abs(value)):
            logging.info("%s learning rate: %g (checkpoint had %g)", inner.name, value,
                         float(inner.learning_rate.numpy()))
        inner.learning_rate.assign(value)


def _fit(gan, make_dataset, step, config, fit_callbacks):
    """Steps step+1 .. config.steps, each fed the batch the uninterrupted run would use.

    make_dataset(skip) is a fresh dataset starting at batch `skip` (see training_input)."""
    spe = config.steps_per_epoch
    epoch = step // spe
    if step % spe:  # resumed inside an epoch: finish it first so epochs stay aligned
        gan.fit(make_dataset(step), epochs=epoch + 1, initial_epoch=epoch,
                steps_per_epoch=spe - step % spe, shuffle=False, verbose=config.verbose,
                callbacks=fit_callbacks)
        epoch += 1
    if epoch * spe < config.steps:
        gan.fit(make_dataset(epoch * spe), epochs=config.steps // spe, initial_epoch=epoch,
                steps_per_epoch=spe, shuffle=False, verbose=config.verbose,
                callbacks=fit_callbacks)
