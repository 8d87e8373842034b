"""Deterministic latents and samples.

A video is named by an integer seed: its latent is `stateless_normal([latent_dim],
seed=[seed, 0])`, drawn per row, so the same seed gives the same video whatever batch it
is generated or served in. `sample(generator, num, seed)` generates the videos of seeds
seed, seed + 1, ..., seed + num - 1 (the same ones the exported model serves for them), and
`to_uint8` turns them into the pixels that the exported model serves and viz/ draws.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from vgan_tf import validation

LATENT_STREAM = 0


def latents_for_seeds(seeds, latent_dim: int) -> tf.Tensor:
    """[batch] int seeds -> [batch, latent_dim] float32 latents from N(0, 1), one per row."""
    seeds = tf.cast(tf.convert_to_tensor(seeds), tf.int64)
    if seeds.shape.rank != 1:
        raise ValueError(f"seeds must be a 1-D batch of integers, got shape {seeds.shape}")

    def one(seed):
        pair = tf.stack([seed, tf.constant(LATENT_STREAM, tf.int64)])
        return tf.random.stateless_normal([latent_dim], seed=pair, dtype=tf.float32)

    return tf.map_fn(one, seeds, fn_output_signature=tf.TensorSpec([latent_dim], tf.float32))


def to_uint8(values, low: float = -1.0, high: float = 1.0) -> tf.Tensor:
    """Float values in [low, high] -> uint8 0..255: round((x - low) * 255 / (high - low)),
    clipped. The one mapping of the exported signatures (in-graph) and of viz/ (eager, on
    numpy arrays: `.numpy()` the result); any shape, channels untouched."""
    scaled = (tf.cast(values, tf.float32) - low) * (255.0 / (high - low))
    return tf.cast(tf.clip_by_value(tf.round(scaled), 0.0, 255.0), tf.uint8)


def sample(generator, num: int, seed: int = 0, parts: bool = False, batch_size: int = 16):
    """Generates `num` videos (inference mode) for seeds seed .. seed + num - 1.

    Returns a float32 numpy array [num, frames, size, size, 3] in [-1, 1], or with
    `parts=True` a dict of numpy arrays from `generator.generate_parts`.
    """
    validation.positive_int("num", num)
    chunks = []
    for start in range(0, num, batch_size):
        seeds = np.arange(seed + start, seed + min(num, start + batch_size), dtype=np.int64)
        z = latents_for_seeds(seeds, generator.latent_dim)
        if parts:
            chunks.append({k: v.numpy() for k, v in
                           generator.generate_parts(z, training=False).items()})
        else:
            chunks.append(generator(z, training=False).numpy())
    if parts:
        return {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}
    return np.concatenate(chunks)
