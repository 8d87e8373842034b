"""Checkpoints of a training run: what they hold, atomic saves, resume, the finiteness guard.

Checkpoints hold G's and D's weights (BatchNorm statistics included), both optimizers
(slots and iterations), and the GAN's step counter; the data position is a function of
the step (see input.py), so it needs no state of its own.
"""
from __future__ import annotations

import os

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from vgan_tf.training.errors import InputError, NonFiniteLossError

LOSS_LOGS = ("d_loss", "g_loss")


def log_value(value) -> float:
    """A log entry as a float (scalar, or rank-1 under MultiWorkerMirroredStrategy)."""
    return float(np.ravel(np.asarray(value))[0])


def current_step(gan) -> int:
    """The GAN's step counter as an int (also for a MirroredVariable under a strategy)."""
    return int(gan.step.value.numpy())


def _weights_by_name(model) -> dict:
    """{name within the model: variable} for every weight of `model`.

    Keras 3 models that keep layers in Python lists expose none of them to
    tf.train.Checkpoint's object graph (only the optimizers reached the trainable ones, and
    BatchNorm statistics were lost), so the checkpoint names each variable itself.
    """
    prefix = model.name + "/"
    named = {}
    for variable in model.weights:
        path = variable.path[len(prefix):] if variable.path.startswith(prefix) else variable.path
        key = path.replace("/", ".")
        if key in named:
            raise ValueError(f"two weights of {model.name} are both named {path!r}")
        named[key] = variable
    return named


def gan_checkpoint(gan) -> tf.train.Checkpoint:
    """G and D weights, both optimizers and the step counter."""
    return tf.train.Checkpoint(
        generator=tf.train.Checkpoint(**_weights_by_name(gan.generator)),
        discriminator=tf.train.Checkpoint(**_weights_by_name(gan.discriminator)),
        g_optimizer=gan.g_optimizer, d_optimizer=gan.d_optimizer, step=gan.step)


def checkpoint_manager(gan, directory: str, keep: int) -> tf.train.CheckpointManager:
    """A manager over `directory`, numbering checkpoints by step.

    Atomicity: TF writes the data and index under a temporary name and renames them, and
    writes the `checkpoint` state file (which names the latest one) last, by rename; a run
    killed mid-save leaves the previous checkpoint as the latest, complete one.
    """
    return tf.train.CheckpointManager(gan_checkpoint(gan), directory, max_to_keep=keep,
                                      step_counter=gan.step)


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


class CheckpointEvery(keras.callbacks.Callback):
    """Stops on a non-finite loss; saves every `every` steps and at the end of training.

    Every step's d_loss and g_loss are checked before anything is saved; a save also
    checks that all weights are finite. On failure NonFiniteLossError names the step and
    the last good checkpoint, which stays the latest.
    """

    def __init__(self, manager: tf.train.CheckpointManager, every: int):
        super().__init__()
        self.manager = manager
        self.every = every

    def _step(self) -> int:
        return current_step(self.model)

    def _fail(self, step, what):
        raise NonFiniteLossError(
            f"non-finite {what} at step {step}: training stopped. Nothing was saved for "
            f"this step; the last good checkpoint is "
            f"{self.manager.latest_checkpoint or '(none)'}. Lower the learning rates or "
            f"check the data, then rerun to resume from it.")

    def _save(self, step):
        if not weights_finite(self.model):
            self._fail(step, "weights")
        self.manager.save(checkpoint_number=step)

    def on_train_batch_end(self, batch, logs=None):
        step = self._step()
        logs = logs or {}
        bad = {name: log_value(logs[name]) for name in LOSS_LOGS
               if name in logs and not np.isfinite(log_value(logs[name]))}
        if bad:
            self._fail(step, "loss (" + ", ".join(f"{k}={v}" for k, v in bad.items()) + ")")
        if step % self.every == 0:
            self._save(step)

    def on_train_end(self, logs=None):
        step = self._step()
        if self.manager.latest_checkpoint != self._path(step):
            self._save(step)

    def _path(self, step: int) -> str:
        return os.path.join(self.manager.directory, f"ckpt-{step}")


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


def set_learning_rates(gan, config):
    """The configured learning rates win over the checkpointed ones on resume (a checkpoint
    restores the optimizers' learning-rate variables too)."""
    for optimizer, value in ((gan.g_optimizer, config.g_learning_rate),
                             (gan.d_optimizer, config.d_learning_rate)):
        inner = getattr(optimizer, "inner_optimizer", optimizer)
        if abs(float(inner.learning_rate.numpy()) - value) > 1e-12 * max(1.0, abs(value)):
            logging.info("%s learning rate: %g (checkpoint had %g)", inner.name, value,
                         float(inner.learning_rate.numpy()))
        inner.learning_rate.assign(value)
