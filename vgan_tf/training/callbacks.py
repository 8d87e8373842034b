"""Keras callbacks of a training run: checkpoints with a finiteness guard, log lines.

What a checkpoint holds and how a run resumes is in checkpoints.py; TensorBoard
summaries are in summaries.py.
"""
from __future__ import annotations

import os
import time

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from vgan_tf.data import checks
from vgan_tf.training.checkpoints import current_step, weights_finite
from vgan_tf.training.errors import NonFiniteLossError

LOSS_LOGS = ("d_loss", "g_loss")

CHECK_REASONS = tuple(r for r in checks.REASONS if r != "ok")
"""The reasons a strip is skipped for (each counted where it is named; see skip_counts)."""


def log_value(value) -> float:
    """A float from a log entry (a scalar, or rank-1 under MultiWorkerMirroredStrategy), a
    tensor, a Keras variable or a (mirrored) tf.Variable."""
    value = getattr(value, "value", value)  # a Keras variable's tensor
    value = value() if callable(value) else value  # a tf.Variable's value()
    value = value.numpy() if hasattr(value, "numpy") else value
    return float(np.ravel(np.asarray(value))[0])


class StepRate:
    """Steps per second of training since the previous reading (or the start)."""

    def __init__(self):
        self._since = None

    def start(self, step: int):
        self._since = (step, time.perf_counter())

    def read(self, step: int) -> float:
        last_step, last_time = self._since
        now = time.perf_counter()
        self._since = (step, now)
        return (step - last_step) / max(now - last_time, 1e-9)


def skip_counts(counter: checks.SkipCounter) -> dict:
    """{'skipped': n, reason: n for each reason of CHECK_REASONS, 'passed', 'decoded'}.

    'skipped' sums the strips skipped for every reason, decoder refusals (decode_failed)
    included, counted per read (a bad file read in three epochs counts three times; once
    with the encoded bytes cached) and including the pipeline's read-ahead.
    """
    counts = counter.counts()
    result = {reason: counts[reason] for reason in CHECK_REASONS}
    result["skipped"] = sum(result.values())
    result["passed"], result["decoded"] = counts["passed"], counts["decoded"]
    return result


def format_skips(counts: dict) -> str:
    """'3 (missing 2, truncated 1)' from skip_counts(); '0' when nothing was skipped."""
    reasons = ", ".join(f"{r} {counts[r]}" for r in CHECK_REASONS if counts.get(r))
    return f"{counts['skipped']} ({reasons})" if reasons else str(counts["skipped"])


def log_skip_summary(counter: checks.SkipCounter | None):
    """The end-of-training line about skipped strips (only if any were skipped)."""
    if counter is None:
        return
    counts = skip_counts(counter)
    if counts["skipped"]:
        logging.warning("Data: skipped %s bad strips during training (counted per read: "
                        "once per epoch that reached the file, once with --data_cache); "
                        "each was named in a 'vgan_tf.data: skipped strip' line",
                        format_skips(counts))


class ProgressLog(keras.callbacks.Callback):
    """A log line every `every` steps: step, losses, accuracies, steps/s and videos/s, and
    with a SkipCounter the strips skipped so far (`skipped 3 (missing 2, truncated 1)`)."""

    def __init__(self, every: int, total_steps: int, global_batch: int,
                 counter: checks.SkipCounter | None = None):
        super().__init__()
        self.every, self.total, self.global_batch = every, total_steps, global_batch
        self.counter = counter
        self._rate = StepRate()

    def on_train_begin(self, logs=None):
        self._rate.start(current_step(self.model))

    def on_train_batch_end(self, batch, logs=None):
        step = current_step(self.model)
        if not self.every or step % self.every:
            return
        rate = self._rate.read(step)
        values = "  ".join(f"{k} {log_value(v):.4f}" for k, v in (logs or {}).items())
        skipped = ("" if self.counter is None else
                   "  skipped " + format_skips(skip_counts(self.counter)))
        logging.info("step %d/%d  %s  %.2f steps/s  %.1f videos/s%s", step, self.total,
                     values, rate, rate * self.global_batch, skipped)


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
