"""Callbacks of a training run: checkpoints and the final sample set."""
from __future__ import annotations

import os

import keras
import tensorflow as tf
from absl import logging

from vgan_tf.viz import samples


def gan_checkpoint(gan) -> tf.train.Checkpoint:
    """Both networks and both optimizers; the step is the optimizers' `iterations`."""
    return tf.train.Checkpoint(generator=gan.generator, discriminator=gan.discriminator,
                               g_optimizer=gan.g_optimizer, d_optimizer=gan.d_optimizer)


def checkpoint_manager(gan, directory: str, keep: int) -> tf.train.CheckpointManager:
    """A manager over `directory`. TF writes the shards under a temporary name and updates
    the `checkpoint` state file last, atomically, so a killed run leaves the previous
    checkpoint as the latest valid one."""
    return tf.train.CheckpointManager(gan_checkpoint(gan), directory, max_to_keep=keep,
                                      step_counter=gan.g_optimizer.iterations)


def restore_latest(gan, manager) -> int:
    """Restores the latest checkpoint if there is one; returns the step reached."""
    path = manager.latest_checkpoint
    if path:
        manager.checkpoint.restore(path).assert_existing_objects_matched()
        logging.info("Resumed from %s at step %d", path, int(gan.g_optimizer.iterations))
    return int(gan.g_optimizer.iterations)


class CheckpointEvery(keras.callbacks.Callback):
    """Saves a checkpoint every `every` steps and at the end of training."""

    def __init__(self, manager: tf.train.CheckpointManager, every: int):
        super().__init__()
        self.manager = manager
        self.every = every

    def _step(self) -> int:
        return int(self.model.g_optimizer.iterations)

    def on_train_batch_end(self, batch, logs=None):
        step = self._step()
        if step % self.every == 0:
            self.manager.save(checkpoint_number=step)

    def on_train_end(self, logs=None):
        step = self._step()
        if self.manager.latest_checkpoint != self._path(step):
            self.manager.save(checkpoint_number=step)

    def _path(self, step: int) -> str:
        return os.path.join(self.manager.directory, f"ckpt-{step}")


class SampleWriter(keras.callbacks.Callback):
    """Writes the sample set (video/foreground/mask/background) for fixed seeds.

    At the end of training into `<out_dir>/`, and every `every` epochs (if given) into
    `<out_dir>/epoch_<n>/`.
    """

    def __init__(self, out_dir: str, num: int = 16, seed: int = 0, fps: float = 8.0,
                 scale: int = 1, every: int | None = None):
        super().__init__()
        self.out_dir, self.num, self.seed = out_dir, num, seed
        self.fps, self.scale, self.every = fps, scale, every
        self.written = []

    def _write(self, out_dir):
        self.written = samples.write_samples(self.model.generator, out_dir, self.num,
                                             self.seed, self.fps, self.scale)

    def on_epoch_end(self, epoch, logs=None):
        if self.every and (epoch + 1) % self.every == 0:
            self._write(os.path.join(self.out_dir, f"epoch_{epoch + 1}"))

    def on_train_end(self, logs=None):
        self._write(self.out_dir)
        logging.info("Samples written to %s", self.out_dir)
