"""Checkpoints of a training run: what they hold, atomic saves, resume, the finiteness guard.

Checkpoints hold G's and D's weights (BatchNorm statistics included), both optimizers
(slots and iterations), the GAN's step counter and, with the recipe's ema_decay, the
moving average of G's weights; the data position is a function of the step (see
input.py), so it needs no state of its own.
"""
from __future__ import annotations

import os
import re

import numpy as np
import tensorflow as tf
from absl import logging

from vgan_tf.training.errors import InputError

def current_step(gan) -> int:
    """The GAN's step counter as an int (also for a MirroredVariable under a strategy)."""
    return int(gan.step.value.numpy())


def gan_checkpoint(gan) -> tf.train.Checkpoint:
    """G and D (their stages track every weight, BatchNorm statistics included), both
    optimizers, the step counter, and G's moving average when the task keeps one."""
    parts = dict(generator=gan.generator, discriminator=gan.discriminator,
                 g_optimizer=gan.g_optimizer, d_optimizer=gan.d_optimizer, step=gan.step)
    if getattr(gan, "generator_ema", None) is not None:
        parts["generator_ema"] = gan.generator_ema
    return tf.train.Checkpoint(**parts)


def checkpoint_manager(gan, directory: str, keep: int) -> tf.train.CheckpointManager:
    """A manager over `directory`, numbering checkpoints by step.

    Atomicity: TF writes the data and index under a temporary name and renames them, and
    writes the `checkpoint` state file (which names the latest one) last, by rename; a run
    killed mid-save leaves the previous checkpoint as the latest, complete one.
    """
    return tf.train.CheckpointManager(gan_checkpoint(gan), directory, max_to_keep=keep,
                                      step_counter=gan.step)


_PARTIAL_SAVES = re.compile(r"^(ckpt-\d+_temp|checkpoint\.tmp\w+)$")


def remove_partial_saves(directory: str) -> list:
    """Deletes what a save killed half-way leaves in a checkpoint folder; returns the names.

    TensorFlow writes a checkpoint's shards into `ckpt-<N>_temp/` and the state file as
    `checkpoint.tmp<hex>`, then renames; a kill in between leaves them for ever (a long
    preemptible run leaks disk). Only those names are touched; call it on the chief, before
    the run's first save.
    """
    removed = []
    if not tf.io.gfile.isdir(directory):
        return removed
    for name in sorted(tf.io.gfile.listdir(directory)):
        name = name.rstrip("/")
        if not _PARTIAL_SAVES.match(name):
            continue
        path = os.path.join(directory, name)
        if tf.io.gfile.isdir(path):
            tf.io.gfile.rmtree(path)
        else:
            tf.io.gfile.remove(path)
        removed.append(name)
    if removed:
        logging.info("Removed %d partial checkpoint save(s) of a killed run from %s: %s",
                     len(removed), directory, ", ".join(removed))
    return removed


def restore_latest(gan, manager) -> int:
    """Restores the latest checkpoint if there is one; returns the step reached."""
    path = manager.latest_checkpoint
    if path:
        manager.checkpoint.restore(path).assert_existing_objects_matched()
        logging.info("Resumed from %s at step %d", path, current_step(gan))
    return current_step(gan)


def weights_finite(gan) -> bool:
    variables = gan.generator.weights + gan.discriminator.weights
    return bool(tf.reduce_all([tf.reduce_all(tf.math.is_finite(v)) for v in variables
                               if "float" in str(v.dtype)]))


def check_same_step(strategy, step: int):
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


def save_atomically(model, path: str):
    """model.save to a temporary name, then rename: a reader never sees half a file."""
    tmp = os.path.join(os.path.dirname(path), f".tmp-{os.getpid()}-{os.path.basename(path)}")
    model.save(tmp)
    os.replace(tmp, path)


def set_learning_rates(gan, optim, resumed: bool = True):
    """The configured learning rates (optim: the TrainingConfig section) win over the
    checkpointed ones on resume (a checkpoint restores the optimizers' learning-rate
    variables too); a change is logged only on resume, compared in the variable's dtype."""
    for optimizer, value in ((gan.g_optimizer, optim.g_learning_rate),
                             (gan.d_optimizer, optim.d_learning_rate)):
        inner = getattr(optimizer, "inner_optimizer", optimizer)
        stored = inner.learning_rate.numpy()
        if resumed and stored != np.asarray(value, stored.dtype):
            logging.info("%s learning rate: %g (checkpoint had %g)", inner.name, value,
                         float(inner.learning_rate.numpy()))
        inner.learning_rate.assign(value)
