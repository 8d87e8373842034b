"""Losses of the paper, scaled so that gradients are right under any tf.distribute strategy.

Each function returns the loss of ONE replica's share of the global batch: per-example
losses are summed and divided by the global batch size (`tf.nn.compute_average_loss`), so
that the SUM all-reduce of gradients across replicas yields the gradient of the global-batch
mean. With one replica this is the plain mean. Logged values should use the `*_mean`
helpers, which are plain per-replica means.

Logits are float32 [batch, 1] (one sigmoid logit, the equivalent of the paper's two-way
softmax); masks are [batch, frames, height, width, 1] in [0, 1].
"""
from __future__ import annotations

import tensorflow as tf

MASK_PRIOR_WEIGHT = 0.1


def _bce_per_example(logits, target: float):
    logits = tf.cast(tf.reshape(logits, [tf.shape(logits)[0], -1]), tf.float32)
    per_logit = tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.fill(tf.shape(logits), target), logits=logits)
    return tf.reduce_mean(per_logit, axis=1)


def discriminator_loss(real_logits, fake_logits):
    """BCE(real -> 1) + BCE(fake -> 0), each averaged over its own batch (as in the paper)."""
    return (tf.nn.compute_average_loss(_bce_per_example(real_logits, 1.0))
            + tf.nn.compute_average_loss(_bce_per_example(fake_logits, 0.0)))


def generator_loss(fake_logits):
    """Non-saturating generator loss: BCE(D(G(z)) -> 1)."""
    return tf.nn.compute_average_loss(_bce_per_example(fake_logits, 1.0))


def mask_l1_per_example(mask):
    """mean |m| of each video's mask: [batch]."""
    mask = tf.cast(mask, tf.float32)
    return tf.reduce_mean(tf.reshape(tf.abs(mask), [tf.shape(mask)[0], -1]), axis=1)


def mask_prior(mask, weight: float = MASK_PRIOR_WEIGHT):
    """The paper's sparsity prior: weight * mean(|m|) over all mask values of the batch."""
    return weight * tf.nn.compute_average_loss(mask_l1_per_example(mask))


def discriminator_loss_mean(real_logits, fake_logits):
    return (tf.reduce_mean(_bce_per_example(real_logits, 1.0))
            + tf.reduce_mean(_bce_per_example(fake_logits, 0.0)))


def generator_loss_mean(fake_logits):
    return tf.reduce_mean(_bce_per_example(fake_logits, 1.0))
