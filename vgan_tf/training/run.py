"""One training run: strategy, data, models, resume, fit, final outputs.

Layout of `model_dir`:
    checkpoints/ckpt-<step>.*   G, D (BatchNorm statistics too), both optimizers and the
                                step (the last `keep_checkpoints`); with --ema_decay also
                                G's moving average (generator_ema)
    tensorboard/                event files (see summaries.py)
    generator.keras             the final network, loadable with keras.saving.load_model
                                (the family's final_file: predictor.keras for
                                --model=future); with --ema_decay the moving average of
                                G's weights (the raw G stays in the checkpoints)
    samples/                    video.gif, foreground.gif, mask.gif, masked_foreground.gif,
                                background.png for seeds 0 .. num_samples - 1; for
                                --model=future the same predicted from num_samples input
                                frames, with input.png and beside.gif (see sample_images)
    config.json                 the TrainConfig of the run (flat settings), written once
                                the run has started (a failed start writes nothing)
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

from vgan_tf import tasks, terminal
from vgan_tf.data import checks, synthetic
from vgan_tf.models import families
from vgan_tf.training import callbacks as callbacks_lib
from vgan_tf.training import checkpoints as checkpoints_lib
from vgan_tf.training import input as input_lib
from vgan_tf.training import precision as precision_lib
from vgan_tf.training import strategy as strategy_lib
from vgan_tf.training import summaries
from vgan_tf.training.config import TrainConfig
from vgan_tf.training.errors import BadDataError, DataRanOutError, InputError
from vgan_tf.viz import samples


def final_model_path(config: TrainConfig) -> str:
    """Where the run saves its final network as a .keras file (the family's final_file)."""
    return os.path.join(config.model_dir, families.family(config.model.model).final_file)


def build_gan(config: TrainConfig) -> tasks.AdversarialTask:
    """The compiled task of `config`'s model family (VideoGAN, FuturePredictionGAN, ...),
    in config.runtime.precision (call inside a strategy scope to distribute)."""
    family = families.family(config.model.model)
    precision = config.runtime.precision
    with precision_lib.policy(precision):
        generator = family.build_generator(config.model)
        discriminator = family.build_discriminator(config.model)
    gan = family.build_task(generator, discriminator, config)
    optim = config.training
    gan.compile(
        g_optimizer=precision_lib.wrap_optimizer(
            tasks.paper_adam(optim.g_learning_rate, optim.beta_1, name="g_adam"), precision),
        d_optimizer=precision_lib.wrap_optimizer(
            tasks.paper_adam(optim.d_learning_rate, optim.beta_1, name="d_adam"), precision),
        jit_compile=config.runtime.jit_compile_on(strategy_lib.has_gpu()))
    return gan


def sample_images(config: TrainConfig, source, num: int) -> np.ndarray | None:
    """The fixed input frames of a conditional family's samples ([num, size, size, 3] in
    [-1, 1]), None for a family that samples from noise. With --synthetic: frame 1 of
    clips of another synthetic set (seed + 1), so held out from training; otherwise frame
    1 of the first clips of the training stream (order fixed by --seed)."""
    if not families.family(config.model.model).conditional:
        return None
    data, model = config.data, config.model
    if data.synthetic:
        clips = [synthetic.render_clip(config.training.seed + 1, i, model.frames, model.size,
                                       data.synthetic_scene)[0] for i in range(num)]
        return np.stack([clip[0] for clip in clips]).astype(np.float32) / 127.5 - 1.0
    frames = []
    for batch in input_lib.training_data(config, source, stable_iterators=False):
        frames.extend(batch[:, 0].numpy())
        if len(frames) >= num:
            return np.stack(frames[:num]).astype(np.float32)


def _check_jit(config: TrainConfig):
    if config.runtime.jit_compile and not strategy_lib.has_gpu():
        logging.warning("--jit_compile on a machine without GPU: XLA made the VideoGAN step "
                        "much slower on CPU (docs/performance.md); leave it off here.")


def train(config: TrainConfig, strategy: tf.distribute.Strategy | None = None):
    """Trains (or resumes) the run described by `config`; returns the task (the family's
    AdversarialTask).

    `strategy` defaults to make_strategy(config.runtime.strategy). Raises InputError when
    the data cannot be set up and NonFiniteLossError when a loss turns NaN/inf (nothing is
    saved for that step; the last good checkpoint stays the latest). config.json is
    written once the data, the networks and the checkpoint are in place.
    """
    config.validate()
    runtime = config.runtime
    if strategy is None:  # first: MultiWorkerMirroredStrategy must precede other TF ops
        strategy = strategy_lib.make_strategy(runtime.strategy)
    if runtime.deterministic:
        tf.config.experimental.enable_op_determinism()
    strategy_lib.per_replica_batch(config.training.batch_size, strategy)
    _check_jit(config)
    chief = strategy_lib.is_chief(strategy)
    work_dir = (config.model_dir if chief else
                os.path.join(config.model_dir, f".worker_{strategy_lib.task_id(strategy)}"))
    os.makedirs(work_dir, exist_ok=True)
    try:
        source = input_lib.data_source(config, work_dir)
        input_lib.training_input(config, strategy, source)  # fails early on missing or empty lists
    except (ValueError, OSError, tf.errors.OpError) as error:
        raise InputError(str(error)) from error
    counter = input_lib.make_skip_counter(config)  # outside the strategy scope: a local tally
    images = sample_images(config, source, max(runtime.summary_samples, runtime.num_samples))
    keras.utils.set_random_seed(config.training.seed)  # the same initial weights every run
    with strategy.scope():
        gan = build_gan(config)
    manager, step = _restore(gan, config, strategy, work_dir)
    if chief:
        write_config(config)
    if step >= config.training.steps:
        logging.info("Already at step %d of %d: nothing to train", step, config.training.steps)
    else:
        _train_from(gan, _Run(config, strategy, source, counter, images, manager), step)
    if chief:
        checkpoints_lib.save_atomically(gan.inference_generator, final_model_path(config))
        family = families.family(config.model.model)
        family.write_samples(gan.inference_generator, images,
                             os.path.join(config.model_dir, "samples"),
                             _Pictures(runtime.num_samples, runtime.sample_fps,
                                       runtime.sample_scale))
    else:
        shutil.rmtree(os.path.join(work_dir, "checkpoints"), ignore_errors=True)
    return gan


@dataclasses.dataclass(frozen=True)
class _Pictures:
    num: int
    fps: float
    scale: int


@dataclasses.dataclass(frozen=True)
class _Run:
    """What the fit of one run needs besides the task."""
    config: TrainConfig
    strategy: tf.distribute.Strategy
    source: object
    counter: object
    images: np.ndarray | None
    manager: tf.train.CheckpointManager


def write_config(config: TrainConfig) -> str:
    """Writes <model_dir>/config.json (flat settings) atomically; returns its path."""
    path = os.path.join(config.model_dir, "config.json")
    temporary = f"{path}.tmp-{os.getpid()}"
    with open(temporary, "w") as handle:
        json.dump(config.flat(), handle, indent=2, default=list)
    os.replace(temporary, path)
    return path


def _restore(gan, config: TrainConfig, strategy, work_dir: str):
    """(checkpoint manager, step restored or 0). Every worker resumes from the chief's
    checkpoints (--model_dir is shared): a non-chief's scratch checkpoints are deleted when
    a run ends and can lag the chief's after a kill."""
    keep = config.runtime.keep_checkpoints
    chief = strategy_lib.is_chief(strategy)
    manager = checkpoints_lib.checkpoint_manager(gan, os.path.join(work_dir, "checkpoints"),
                                                 keep)
    if chief:
        checkpoints_lib.remove_partial_saves(manager.directory)
    step = 0
    if config.runtime.resume:
        step = checkpoints_lib.restore_latest(gan, manager if chief else
                                              checkpoints_lib.checkpoint_manager(
                                                  gan, os.path.join(config.model_dir,
                                                                    "checkpoints"), keep))
    checkpoints_lib.check_same_step(strategy, step)
    checkpoints_lib.set_learning_rates(gan, config.training, resumed=step > 0)
    return manager, step


def _train_from(gan, run: _Run, step: int):
    config, strategy, runtime = run.config, run.strategy, run.config.runtime
    batch_size = config.training.batch_size
    logging.info("Training steps %d..%d (global batch %d = %d replicas x %d, %s, %s, %s)",
                 step, config.training.steps, batch_size, strategy.num_replicas_in_sync,
                 batch_size // strategy.num_replicas_in_sync, config.model.sizes,
                 runtime.strategy, runtime.precision)
    chief = strategy_lib.is_chief(strategy)
    writer = (tf.summary.create_file_writer(os.path.join(config.model_dir, "tensorboard"))
              if chief else tf.summary.create_noop_writer())
    images = run.images
    fit_callbacks = [
        callbacks_lib.CheckpointEvery(run.manager, runtime.checkpoint_every),
        callbacks_lib.ProgressLog(runtime.log_every, config.training.steps, batch_size,
                                  run.counter),
        summaries.TensorBoardSummaries(writer, runtime.summary_every, runtime.sample_every,
                                       batch_size, runtime.summary_samples,
                                       counter=run.counter,
                                       sample_images=None if images is None
                                       else images[:runtime.summary_samples]),
    ]
    try:
        _fit(gan, lambda skip: input_lib.training_input(config, strategy, run.source, skip,
                                                        run.counter),
             step, config, fit_callbacks)
    except tf.errors.InvalidArgumentError as error:
        bad = checks.BadStripError.from_op_error(error)
        if bad is None:
            raise
        raise BadDataError(_strict_failure(bad, gan, run.manager)) from error
    callbacks_lib.log_skip_summary(run.counter)
    if checkpoints_lib.current_step(gan) < config.training.steps:
        skipped = callbacks_lib.skip_counts(run.counter) if run.counter is not None else None
        raise DataRanOutError(
            f"the training data ran out before step {config.training.steps}: no strip was "
            "left to give a clip"
            + (f" (skipped {callbacks_lib.format_skips(skipped)}; each named in a "
               "'vgan_tf.data: skipped strip' line above)" if skipped else "")
            + ". Nothing was saved as the final model; vgan-check-strips LIST reports "
            "every strip's verdict.")


def _strict_failure(bad: checks.BadStripError, gan, manager) -> str:
    """One line for a strict-mode stop: the file, its reason, the step, what to do."""
    return (f'--strict_data: bad strip "{bad.name}" reason: {bad.reason} (training stopped '
            f"after {checkpoints_lib.current_step(gan)} completed steps; the last checkpoint "
            f"is {manager.latest_checkpoint or '(none)'}). Fix or remove the file, or train "
            f"without --strict_data to skip and count bad strips.")


def _fit(gan, make_dataset, step, config, fit_callbacks):
    """Steps step+1 .. config.training.steps, each fed the batch the uninterrupted run would use.

    make_dataset(skip) is a fresh dataset starting at batch `skip` (see training_input)."""
    spe, steps = config.training.steps_per_epoch, config.training.steps
    verbose = terminal.keras_verbose(config.runtime.verbose)  # no bar in log files
    epoch = step // spe
    if step % spe:  # resumed inside an epoch: finish it first so epochs stay aligned
        gan.fit(make_dataset(step), epochs=epoch + 1, initial_epoch=epoch,
                steps_per_epoch=spe - step % spe, shuffle=False, verbose=verbose,
                callbacks=fit_callbacks)
        epoch += 1
    if epoch * spe < steps:
        gan.fit(make_dataset(epoch * spe), epochs=steps // spe, initial_epoch=epoch,
                steps_per_epoch=spe, shuffle=False, verbose=verbose,
                callbacks=fit_callbacks)
