"""One training run: strategy, data, models, resume, fit, final outputs.

Layout of `model_dir`:
    checkpoints/ckpt-<step>.*   G, D (BatchNorm statistics too), both optimizers and the
                                step (the last `keep_checkpoints`)
    tensorboard/                event files (see summaries.py)
    generator.keras             the final generator, loadable with keras.saving.load_model
                                (predictor.keras for --model=future)
    samples/                    video.gif, foreground.gif, mask.gif, masked_foreground.gif,
                                background.png for seeds 0 .. num_samples - 1; for
                                --model=future the same predicted from num_samples input
                                frames, with input.png and beside.gif (see sample_images)
    config.json                 the TrainConfig of the run
    .worker_<i>/                scratch of non-chief workers (multi_worker), removed at end

The input (data position, per-worker pipelines) is built by input.py; checkpoints,
resume and the finiteness guard are in checkpoints.py.

Skipped strips: a checks.SkipCounter (made here, outside the strategy scope) tallies bad
files per reason; the log lines, TensorBoard (data/skipped, data/skipped/<reason>) and a
final log line show it. Not with --data_service: remote workers cannot reach the counter,
they log each skipped strip on their own stderr.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from vgan_tf import tasks
from vgan_tf.data import checks, synthetic
from vgan_tf.models import (Discriminator, FuturePredictor, OneStreamGenerator,
                            TwoStreamGenerator)
from vgan_tf.training import callbacks as callbacks_lib
from vgan_tf.training import checkpoints as checkpoints_lib
from vgan_tf.training import input as input_lib
from vgan_tf.training import precision as precision_lib
from vgan_tf.training import strategy as strategy_lib
from vgan_tf.training import summaries
from vgan_tf.training.config import TrainConfig
from vgan_tf.training.errors import BadDataError, InputError
from vgan_tf.viz import samples


FINAL_MODEL_FILES = {"video": "generator.keras", "future": "predictor.keras"}


def final_model_path(config: TrainConfig) -> str:
    """Where the run saves its final generator (or predictor) as a .keras file."""
    return os.path.join(config.model_dir, FINAL_MODEL_FILES[config.model])


def build_gan(config: TrainConfig) -> tasks.AdversarialTask:
    """The compiled task of `config` (VideoGAN, or FuturePredictionGAN for
    --model=future), in config.precision (call inside a strategy scope to distribute)."""
    s = config.sizes
    with precision_lib.policy(config.precision):
        if config.model == "future":
            generator = FuturePredictor(s.frames, s.size, s.base_width, name="predictor")
        else:
            generator_cls = (TwoStreamGenerator if config.generator == "two_stream"
                             else OneStreamGenerator)
            generator = generator_cls(s.frames, s.size, s.latent_dim, s.base_width,
                                      name="generator")
        discriminator = Discriminator(s.frames, s.size, s.base_width, name="discriminator")
    if config.model == "future":
        gan = tasks.FuturePredictionGAN(generator, discriminator, l1_weight=config.l1_weight,
                                        g_step=config.g_step)
    else:
        gan = tasks.VideoGAN(generator, discriminator, mask_weight=config.mask_weight,
                             seed=config.seed, g_step=config.g_step)
    gan.compile(
        g_optimizer=precision_lib.wrap_optimizer(
            tasks.paper_adam(config.g_learning_rate, config.beta_1, name="g_adam"),
            config.precision),
        d_optimizer=precision_lib.wrap_optimizer(
            tasks.paper_adam(config.d_learning_rate, config.beta_1, name="d_adam"),
            config.precision),
        jit_compile=config.jit_compile)
    return gan


def sample_images(config: TrainConfig, source, num: int) -> np.ndarray | None:
    """The fixed input frames of a future predictor's samples ([num, size, size, 3] in
    [-1, 1]), None for the video model. With --synthetic: frame 1 of clips of another
    synthetic set (seed + 1), so held out from training; otherwise frame 1 of the first
    clips of the training stream (order fixed by --seed)."""
    if config.model != "future":
        return None
    if config.synthetic:
        clips = [synthetic.render_clip(config.seed + 1, i, config.frames, config.size,
                                       config.synthetic_scene)[0] for i in range(num)]
        return np.stack([clip[0] for clip in clips]).astype(np.float32) / 127.5 - 1.0
    frames = []
    for batch in input_lib.training_data(config, source, stable_iterators=False):
        frames.extend(batch[:, 0].numpy())
        if len(frames) >= num:
            return np.stack(frames[:num]).astype(np.float32)


def _check_jit(config: TrainConfig):
    if config.jit_compile and not strategy_lib.has_gpu():
        logging.warning("--jit_compile on a machine without GPU: XLA made the VideoGAN step "
                        "about 100x slower on CPU; leave it off here.")


def train(config: TrainConfig, strategy: tf.distribute.Strategy | None = None):
    """Trains (or resumes) the run described by `config`; returns the task (VideoGAN or
    FuturePredictionGAN).

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
        source = input_lib.data_source(config, work_dir)
        input_lib.training_input(config, strategy, source)  # fails early on missing or empty lists
    except (ValueError, OSError, tf.errors.OpError) as error:
        raise InputError(str(error)) from error
    counter = input_lib.make_skip_counter(config)  # outside the strategy scope: a local tally
    images = sample_images(config, source, max(config.summary_samples, config.num_samples))
    keras.utils.set_random_seed(config.seed)  # the same initial weights in every run
    with strategy.scope():
        gan = build_gan(config)
    manager = checkpoints_lib.checkpoint_manager(
        gan, os.path.join(work_dir, "checkpoints"), config.keep_checkpoints)
    if chief:
        checkpoints_lib.remove_partial_saves(manager.directory)
    step = 0
    if config.resume:
        # Every worker resumes from the chief's checkpoints (--model_dir is shared): a
        # non-chief's scratch checkpoints are deleted when a run ends and can lag the
        # chief's after a kill.
        step = checkpoints_lib.restore_latest(gan, manager if chief else
                                            checkpoints_lib.checkpoint_manager(
                                                gan, os.path.join(config.model_dir,
                                                                  "checkpoints"),
                                                config.keep_checkpoints))
    checkpoints_lib.check_same_step(strategy, step)
    checkpoints_lib.set_learning_rates(gan, config)
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
                                           counter=counter,
                                           sample_images=None if images is None
                                           else images[:config.summary_samples]),
        ]
        try:
            _fit(gan, lambda skip: input_lib.training_input(config, strategy, source, skip, counter),
                 step, config, fit_callbacks)
        except tf.errors.InvalidArgumentError as error:
            bad = checks.BadStripError.from_op_error(error)
            if bad is None:
                raise
            raise BadDataError(_strict_failure(bad, gan, manager)) from error
        callbacks_lib.log_skip_summary(counter)
    if chief:
        checkpoints_lib.save_atomically(gan.generator, final_model_path(config))
        if images is None:
            samples.write_samples(gan.generator, os.path.join(config.model_dir, "samples"),
                                  config.num_samples, 0, config.sample_fps,
                                  config.sample_scale)
        else:
            samples.write_predictions(gan.generator, images[:config.num_samples],
                                      os.path.join(config.model_dir, "samples"),
                                      config.sample_fps, config.sample_scale)
    else:
        shutil.rmtree(os.path.join(work_dir, "checkpoints"), ignore_errors=True)
    return gan


def _strict_failure(bad: checks.BadStripError, gan, manager) -> str:
    """One line for a strict-mode stop: the file, its reason, the step, what to do."""
    return (f'--strict_data: bad strip "{bad.name}" reason: {bad.reason} (training stopped '
            f"after {checkpoints_lib.current_step(gan)} completed steps; the last checkpoint "
            f"is {manager.latest_checkpoint or '(none)'}). Fix or remove the file, or train "
            f"without --strict_data to skip and count bad strips.")


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
