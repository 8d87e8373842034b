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
step s therefore trains on a fresh dataset `.skip(s)`, the batches the uninterrupted run
would have seen, and no iterator state is checkpointed. Skipping reads (and decodes) the s skipped
batches once at start-up: cheap for small runs; see docs/training.md for the cost at scale.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil

import keras
import tensorflow as tf
from absl import logging

from vgan_tf import gan as gan_lib
from vgan_tf.data import pipeline, synthetic
from vgan_tf.models import Discriminator, OneStreamGenerator, TwoStreamGenerator
from vgan_tf.training import callbacks as callbacks_lib
from vgan_tf.training import precision as precision_lib
from vgan_tf.training import strategy as strategy_lib
from vgan_tf.training import summaries
from vgan_tf.training.config import TrainConfig
from vgan_tf.viz import samples


class InputError(ValueError):
    """The training data could not be set up (missing or empty list files, ...)."""


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
    """(list files, data root) of the run; writes the synthetic set first if asked."""
    if config.synthetic:
        root = config.synthetic_dir or os.path.join(scratch_dir or config.model_dir,
                                                    "synthetic_data")
        list_file = synthetic.write_synthetic_dataset(
            root, config.synthetic_clips, frames=config.frames, size=config.size,
            seed=config.seed)
        return [list_file], root
    return list(config.data_list), config.data_root


def training_data(config: TrainConfig, source=None, skip: int = 0) -> tf.data.Dataset:
    """GLOBAL batches [batch, frames, size, size, 3] in [-1, 1], repeated forever, in an
    order fixed by config.seed, starting at batch `skip`.

    Build a new dataset for every iterator: a reshuffling dataset hands each new iterator
    of the SAME dataset object the next epoch's order, so reusing one object for two fit
    calls would not give the uninterrupted order.
    """
    lists, data_root = source or data_source(config)
    dataset = pipeline.video_dataset(
        lists, data_root, frames=config.frames, size=config.size,
        batch_size=config.batch_size, shuffle=True, seed=config.seed, repeat=True,
        drop_remainder=True, shuffle_buffer=config.shuffle_buffer, deterministic=True)
    return dataset.skip(skip) if skip else dataset


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
        training_data(config, source)  # fails early on missing or empty list files
    except (ValueError, OSError, tf.errors.OpError) as error:
        raise InputError(str(error)) from error
    keras.utils.set_random_seed(config.seed)  # the same initial weights in every run
    with strategy.scope():
        gan = build_gan(config)
    manager = callbacks_lib.checkpoint_manager(
        gan, os.path.join(work_dir, "checkpoints"), config.keep_checkpoints)
    step = callbacks_lib.restore_latest(gan, manager) if config.resume else 0
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
            callbacks_lib.ProgressLog(config.log_every, config.steps, config.batch_size),
            summaries.TensorBoardSummaries(writer, config.summary_every, config.sample_every,
                                           config.batch_size, config.summary_samples),
        ]
        _fit(gan, lambda skip: training_data(config, source, skip), step, config,
             fit_callbacks)
    if chief:
        _save_atomically(gan.generator, os.path.join(config.model_dir, "generator.keras"))
        samples.write_samples(gan.generator, os.path.join(config.model_dir, "samples"),
                              config.num_samples, 0, config.sample_fps, config.sample_scale)
    else:
        shutil.rmtree(os.path.join(work_dir, "checkpoints"), ignore_errors=True)
    return gan


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

    make_dataset(skip) is a fresh dataset starting at batch `skip` (see training_data)."""
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
