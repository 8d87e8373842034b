"""TensorBoard summaries of a run, written with tf.summary (no tensorboard package needed).

Tags (under <model_dir>/tensorboard):
  losses/d_loss, losses/g_loss            training losses (running mean of the epoch)
  accuracy/d_real, accuracy/d_fake        D's accuracy on the real and fake batches
  mask/mean                               mean mask value in training (from the step)
  mask/sample_mean, mask/sparsity         mean mask and fraction of mask values < 0.1
                                          on the fixed sample seeds
  learning_rate/g, learning_rate/d        the optimizers' current learning rates
  speed/steps_per_sec, speed/videos_per_sec   since the previous scalar write
  data/skipped                            bad strips skipped so far (with a SkipCounter:
                                          not with --data_service), counted per read
  data/skipped/<reason>                   the same per reason (missing, empty, not_jpeg,
                                          truncated, corrupt, not_square, wrong_shape,
                                          decode_failed, read_failed, ...), written once
                                          that reason has occurred
  data/passed, data/decoded               strips that passed the checks (per read; once
                                          with --data_cache), clips decoded
  samples/{video,foreground,mask,background}  frame strips (one row per seed: the frames
                                          side by side; background is one image)
  samples/{video,foreground,mask}_gif     the same grids as animated GIFs (image plugin,
                                          GIF bytes; TensorBoard animates them)
  samples/input, samples/beside(_gif)     future prediction: the fixed input frames, and
                                          each input (still) left of its predicted video
  losses/l1                               future prediction: the first-frame L1 term
  losses/r1                               with --r1_gamma: mean ||grad_x D(x)||^2 on
                                          real videos (over the steps R1 ran)
Scalars every `every` steps, samples every `sample_every` steps and at the end. The
samples come from the task's inference_generator: the moving average of G's weights with
--ema_decay, else G.

The summaries are written with `tf.summary.write` and the scalar/image plugins' metadata
(what tf.summary.scalar/image write when the tensorboard package is installed), so
training does not need that package; TensorBoard reads them as usual.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tensorflow.core.framework import summary_pb2

from vgan_tf.training.callbacks import CHECK_REASONS, StepRate, log_value, skip_counts
from vgan_tf.training.checkpoints import current_step
from vgan_tf.viz import grid, samples, video_files

SCALAR_LOGS = {"d_loss": "losses/d_loss", "g_loss": "losses/g_loss",
               "d_real_acc": "accuracy/d_real", "d_fake_acc": "accuracy/d_fake",
               "mask_mean": "mask/mean", "l1": "losses/l1", "r1": "losses/r1"}
SPARSE_BELOW = 0.1


def frame_strips(videos_uint8: np.ndarray) -> np.ndarray:
    """[n, T, H, W, C] -> [n, H, T * W, C]: each video's frames side by side."""
    n, t, h, w, c = videos_uint8.shape
    return videos_uint8.transpose(0, 2, 1, 3, 4).reshape(n, h, t * w, c)


def _metadata(plugin: str):
    metadata = summary_pb2.SummaryMetadata()
    metadata.plugin_data.plugin_name = plugin
    return metadata


def scalar(tag: str, value: float, step: int):
    """A float32 scalar summary (scalars plugin)."""
    tf.summary.write(tag, tf.constant(value, tf.float32), step=step,
                     metadata=_metadata("scalars"))


def _images(tag: str, encoded: list, width: int, height: int, step: int):
    """The image plugin's layout: a string tensor [width, height, image 1, image 2, ...]."""
    tensor = tf.constant([str(width).encode(), str(height).encode()] + list(encoded),
                         dtype=tf.string)
    tf.summary.write(tag, tensor, step=step, metadata=_metadata("images"))


def image(tag: str, images_uint8: np.ndarray, step: int):
    """PNG image summaries of uint8 images [n, H, W, C]."""
    encoded = [tf.io.encode_png(img).numpy() for img in images_uint8]
    _images(tag, encoded, images_uint8.shape[2], images_uint8.shape[1], step)


def gif(tag: str, video_uint8: np.ndarray, step: int, fps: float = 8.0):
    """An animated GIF [T, H, W, 3] as an image summary: TensorBoard animates it."""
    _images(tag, [video_files.encode_gif(video_uint8, fps)], video_uint8.shape[2],
            video_uint8.shape[1], step)


def write_samples(generator, step: int, num: int, seed: int = 0, images=None):
    """Sample summaries for seeds seed .. seed + num - 1 (inference mode), or for a future
    predictor the videos predicted from `images` [n, H, W, 3] in [-1, 1]."""
    if images is None:
        parts, pixels = samples.sample_uint8(generator, num, seed)
    else:
        parts, pixels = samples.predict_uint8(generator, images)
        image("samples/input", pixels["input"], step)
        image("samples/beside", frame_strips(pixels["beside"]), step)
        gif("samples/beside_gif", grid.video_grid(pixels["beside"]), step)
    if "mask" in parts:
        image("samples/background", pixels["background"], step)
        scalar("mask/sample_mean", float(np.mean(parts["mask"])), step)
        scalar("mask/sparsity", float(np.mean(parts["mask"] < SPARSE_BELOW)), step)
    for name in ("video", "foreground", "mask"):
        if name in pixels:
            image(f"samples/{name}", frame_strips(pixels[name]), step)
            gif(f"samples/{name}_gif", grid.video_grid(pixels[name]), step)


def write_skip_counts(counts: dict, step: int):
    """data/skipped, data/skipped/<reason> (reasons seen so far), data/passed, data/decoded
    from callbacks.skip_counts()."""
    scalar("data/skipped", counts["skipped"], step)
    for reason in CHECK_REASONS:
        if counts[reason]:
            scalar(f"data/skipped/{reason}", counts[reason], step)
    scalar("data/passed", counts["passed"], step)
    scalar("data/decoded", counts["decoded"], step)


class TensorBoardSummaries(keras.callbacks.Callback):
    """Writes the scalars and samples above into `writer` (a no-op writer off the chief);
    the data/ scalars when given the run's SkipCounter; for a future predictor the
    samples are predicted from `sample_images` [n, H, W, 3] in [-1, 1]."""

    def __init__(self, writer, every: int, sample_every: int, global_batch: int,
                 num_samples: int = 4, seed: int = 0, counter=None, sample_images=None):
        super().__init__()
        self.sample_images = sample_images
        self.writer, self.every, self.sample_every = writer, every, sample_every
        self.global_batch, self.num_samples, self.seed = global_batch, num_samples, seed
        self.counter = counter
        self._rate = StepRate()
        self._last_sampled = None

    def on_train_begin(self, logs=None):
        self._rate.start(current_step(self.model))

    def on_train_batch_end(self, batch, logs=None):
        step = current_step(self.model)
        if step % self.every == 0:
            self._scalars(step, logs or {})
        if step % self.sample_every == 0:
            self._samples(step)

    def on_train_end(self, logs=None):
        step = current_step(self.model)
        if self._last_sampled != step:
            self._samples(step)
        self.writer.flush()

    def _scalars(self, step, logs):
        rate = self._rate.read(step)
        with self.writer.as_default():
            for name, tag in SCALAR_LOGS.items():
                if name in logs:
                    scalar(tag, log_value(logs[name]), step)
            scalar("learning_rate/g", log_value(self.model.g_optimizer.learning_rate), step)
            scalar("learning_rate/d", log_value(self.model.d_optimizer.learning_rate), step)
            scalar("speed/steps_per_sec", rate, step)
            scalar("speed/videos_per_sec", rate * self.global_batch, step)
            if self.counter is not None:
                write_skip_counts(skip_counts(self.counter), step)

    def _samples(self, step):
        self._last_sampled = step
        with self.writer.as_default():
            write_samples(self.model.inference_generator, step, self.num_samples,
                          self.seed, self.sample_images)
        self.writer.flush()
