"""Losses of the paper, scaled so that gradients are right under any tf.distribute strategy.

Each function returns the loss of ONE replica's share of the global batch: per-example
losses are summed and divided by the global batch size (`tf.nn.compute_average_loss`), so
that the SUM all-reduce of gradients across replicas yields the gradient of the global-batch
mean. With one replica this is the plain mean. Logged values should use the `*_mean`
helpers, which are plain per-replica means.

The adversarial loss is one replaceable pair of per-example functions (`AdversarialLoss`):
the task reduces them (replica-scaled for gradients, plain means for logs), so another
adversarial loss is one more pair: `HINGE` is the second (`LOSSES` names them, as
`--loss` does).

Logits are float32 [batch, 1] (one sigmoid logit, the equivalent of the paper's two-way
softmax); masks are [batch, frames, height, width, 1] in [0, 1].
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import tensorflow as tf

MASK_PRIOR_WEIGHT = 0.1


@dataclasses.dataclass(frozen=True)
class AdversarialLoss:
    """D's and G's adversarial losses as per-example functions of D's logits.

    discriminator(real_logits, fake_logits) -> (real part [batch], fake part [batch]);
    generator(fake_logits) -> [batch]. Each part is averaged over its own batch.
    """

    discriminator: Callable[[tf.Tensor, tf.Tensor], tuple]
    generator: Callable[[tf.Tensor], tf.Tensor]


def _bce_per_example(logits, target: float):
    logits = tf.cast(tf.reshape(logits, [tf.shape(logits)[0], -1]), tf.float32)
    per_logit = tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.fill(tf.shape(logits), target), logits=logits)
    return tf.reduce_mean(per_logit, axis=1)


def _bce_discriminator(real_logits, fake_logits):
    return _bce_per_example(real_logits, 1.0), _bce_per_example(fake_logits, 0.0)


def _bce_generator(fake_logits):
    return _bce_per_example(fake_logits, 1.0)


# The paper's: D pays BCE(real -> 1) + BCE(fake -> 0), G the non-saturating BCE(fake -> 1).
NON_SATURATING = AdversarialLoss(discriminator=_bce_discriminator, generator=_bce_generator)


def _mean_per_example(values):
    values = tf.cast(tf.reshape(values, [tf.shape(values)[0], -1]), tf.float32)
    return tf.reduce_mean(values, axis=1)


def _hinge_discriminator(real_logits, fake_logits):
    return (_mean_per_example(tf.nn.relu(1.0 - tf.cast(real_logits, tf.float32))),
            _mean_per_example(tf.nn.relu(1.0 + tf.cast(fake_logits, tf.float32))))


def _hinge_generator(fake_logits):
    return -_mean_per_example(fake_logits)


# Not the paper's (an addition, docs/faithfulness.md): the hinge loss of SAGAN / BigGAN
# (Lim & Ye 2017): D pays max(0, 1 - D(x)) + max(0, 1 + D(G(z))), G pays -D(G(z)).
HINGE = AdversarialLoss(discriminator=_hinge_discriminator, generator=_hinge_generator)

LOSSES = {"nonsaturating": NON_SATURATING, "hinge": HINGE}
"""The adversarial losses by their `--loss` name; "nonsaturating" is the paper's."""


def discriminator_loss(real_logits, fake_logits, loss: AdversarialLoss = NON_SATURATING):
    """D's loss of the pair `loss` (the paper's: BCE(real -> 1) + BCE(fake -> 0)), each
    part averaged over its own batch, replica-scaled."""
    real, fake = loss.discriminator(real_logits, fake_logits)
    return tf.nn.compute_average_loss(real) + tf.nn.compute_average_loss(fake)


def generator_loss(fake_logits, loss: AdversarialLoss = NON_SATURATING):
    """G's loss of the pair `loss` (the paper's: non-saturating BCE(D(G(z)) -> 1)),
    replica-scaled."""
    return tf.nn.compute_average_loss(loss.generator(fake_logits))


def mask_l1_per_example(mask):
    """mean |m| of each video's mask: [batch]."""
    mask = tf.cast(mask, tf.float32)
    return tf.reduce_mean(tf.reshape(tf.abs(mask), [tf.shape(mask)[0], -1]), axis=1)


def mask_prior(mask, weight: float = MASK_PRIOR_WEIGHT):
    """The paper's sparsity prior: weight * mean(|m|) over all mask values of the batch."""
    return weight * tf.nn.compute_average_loss(mask_l1_per_example(mask))


def discriminator_loss_mean(real_logits, fake_logits,
                            loss: AdversarialLoss = NON_SATURATING):
    real, fake = loss.discriminator(real_logits, fake_logits)
    return tf.reduce_mean(real) + tf.reduce_mean(fake)


def generator_loss_mean(fake_logits, loss: AdversarialLoss = NON_SATURATING):
    return tf.reduce_mean(loss.generator(fake_logits))
