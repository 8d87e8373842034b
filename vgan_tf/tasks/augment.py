"""DiffAugment for videos: differentiable augmentations of what D sees, one per clip.

DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN
Training") transforms the real AND the generated images before D, in D's step and in G's,
with differentiable operations, so that G's gradient passes through the transform. Here a
transform is drawn per clip and applied to every frame of that clip alike (the motion
inside a clip is left as it was: a translated clip moves the same way, shifted).

Policies (videos [batch, frames, height, width, channels] in [-1, 1]; random parameters
drawn per clip):
  color        brightness + U(-0.5, 0.5); saturation: (x - mean over channels) * U(0, 2)
               + that mean; contrast: (x - mean over the clip) * U(0.5, 1.5) + that mean
               (DiffAugment's rand_brightness, rand_saturation, rand_contrast, with the
               contrast mean over the whole clip so every frame gets the same map);
  translation  a shift of up to 1/8 of the frame size in each direction (integers,
               uniform), the same for every frame, zeros (grey) shifted in;
  cutout       a square of half the frame size, centred uniformly (clipped at the
               borders), set to 0 in every frame.
Applied in the order given. Randomness is stateless (`stream_seed`: the run's seed, the
step, the replica and a stream number), so every replica draws its own transforms and a
resumed run draws the same ones at the same step.
"""
from __future__ import annotations

import tensorflow as tf

POLICIES = ("color", "translation", "cutout")
TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5
_STREAM_BASE = 1_000  # keeps augmentation seeds apart from the training noise's


def parse_policies(policies) -> tuple:
    """A comma list ("color,translation") or a sequence of policy names -> a tuple of
    names; ValueError naming an unknown or repeated one. "" and () give ()."""
    if isinstance(policies, str):
        policies = [p.strip() for p in policies.split(",") if p.strip()]
    policies = tuple(policies)
    for name in policies:
        if name not in POLICIES:
            raise ValueError(f"unknown augmentation policy {name!r} (policies: "
                             f"{', '.join(POLICIES)})")
    if len(set(policies)) != len(policies):
        raise ValueError(f"augmentation policy given twice in {','.join(policies)}")
    return policies


def stream_seed(seed, step, replica, stream) -> tf.Tensor:
    """The stateless seed ([2] int64) of one batch's transforms: a function of the run's
    seed, the step, the replica id and the stream (which batch of the step)."""
    pair = tf.stack([tf.cast(seed, tf.int64), tf.cast(tf.convert_to_tensor(step), tf.int64)])
    pair = tf.random.experimental.stateless_fold_in(pair, tf.cast(replica, tf.int64))
    return tf.random.experimental.stateless_fold_in(
        pair, tf.cast(stream, tf.int64) + _STREAM_BASE)


def augment(videos, policies, seed) -> tf.Tensor:
    """`videos` transformed by each policy in order, one random draw per clip and policy.

    seed: a [2] int64 stateless seed (stream_seed); the same seed and batch size give the
    same transforms. Differentiable with respect to `videos`; keeps shape and dtype.
    """
    for index, name in enumerate(parse_policies(policies)):
        policy_seed = tf.random.experimental.stateless_fold_in(seed, index)
        videos = _POLICY_FUNCTIONS[name](videos, policy_seed)
    return videos


def _per_clip_uniform(videos, seed, salt, low=0.0, high=1.0):
    """U(low, high) per clip, shaped [batch, 1, 1, 1, 1] in the videos' dtype."""
    draw = tf.random.stateless_uniform(
        [tf.shape(videos)[0], 1, 1, 1, 1],
        seed=tf.random.experimental.stateless_fold_in(seed, salt), minval=low, maxval=high)
    return tf.cast(draw, videos.dtype)


def color(videos, seed):
    """Brightness, saturation and contrast, each drawn per clip (see the module doc)."""
    videos = videos + _per_clip_uniform(videos, seed, 0, -0.5, 0.5)
    mean = tf.reduce_mean(videos, axis=-1, keepdims=True)
    videos = (videos - mean) * _per_clip_uniform(videos, seed, 1, 0.0, 2.0) + mean
    mean = tf.reduce_mean(videos, axis=[1, 2, 3, 4], keepdims=True)
    return (videos - mean) * _per_clip_uniform(videos, seed, 2, 0.5, 1.5) + mean


def _shifts(batch, limit, seed, salt):
    """Integer shifts per clip, uniform in [-limit, limit]: [batch] int32."""
    return tf.random.stateless_uniform(
        [batch], seed=tf.random.experimental.stateless_fold_in(seed, salt),
        minval=-limit, maxval=limit + 1, dtype=tf.int32)


def translation(videos, seed, ratio=TRANSLATION_RATIO):
    """Every frame of a clip shifted by the clip's (dy, dx), zeros shifted in."""
    height, width = videos.shape[2], videos.shape[3]
    limit_y, limit_x = int(height * ratio + 0.5), int(width * ratio + 0.5)
    batch = tf.shape(videos)[0]
    padded = tf.pad(videos, [[0, 0], [0, 0], [limit_y, limit_y], [limit_x, limit_x], [0, 0]])
    rows = tf.range(height)[None] + limit_y + _shifts(batch, limit_y, seed, 0)[:, None]
    cols = tf.range(width)[None] + limit_x + _shifts(batch, limit_x, seed, 1)[:, None]
    shifted = tf.gather(padded, rows, axis=2, batch_dims=1)
    return tf.gather(shifted, cols, axis=3, batch_dims=1)


def _cut_band(batch, length, cut, seed, salt):
    """[batch, length] 1.0 where the cut square covers the row (or column), else 0."""
    centre = tf.random.stateless_uniform(
        [batch], seed=tf.random.experimental.stateless_fold_in(seed, salt), minval=0,
        maxval=length + (1 - cut % 2), dtype=tf.int32)
    start = (centre - cut // 2)[:, None]
    index = tf.range(length)[None]
    return tf.cast((index >= start) & (index < start + cut), tf.float32)


def cutout(videos, seed, ratio=CUTOUT_RATIO):
    """A square of ratio x the frame size, at the clip's random centre, set to 0 in every
    frame of the clip (DiffAugment's rand_cutout)."""
    height, width = videos.shape[2], videos.shape[3]
    batch = tf.shape(videos)[0]
    rows = _cut_band(batch, height, int(height * ratio + 0.5), seed, 0)
    cols = _cut_band(batch, width, int(width * ratio + 0.5), seed, 1)
    keep = 1.0 - rows[:, :, None] * cols[:, None, :]
    return videos * tf.cast(keep[:, None, :, :, None], videos.dtype)


_POLICY_FUNCTIONS = {"color": color, "translation": translation, "cutout": cutout}
