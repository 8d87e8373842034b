"""Terms for the hooks of hooks.py: the mask prior (G side) and R1 (D side).

MaskPrior is the paper's: VideoGAN registers it with its mask_weight, FuturePredictionGAN
with weight 0 (the original has no prior there; the mask mean is logged).

R1Penalty is the zero-centred gradient penalty on real data (Mescheder et al. 2018,
"Which Training Methods for GANs do actually Converge?"): gamma / 2 * E[||grad_x D(x)||^2]
over the real videos x, added to D's loss. With `every` > 1 it is lazy as in StyleGAN2
(Karras et al. 2020): applied only on the steps where step % every == 0, with gamma * every
in place of gamma there, so its weight per step on average stays gamma.
"""
from __future__ import annotations

import dataclasses
from typing import ClassVar

import tensorflow as tf

from vgan_tf.tasks import losses
from vgan_tf.tasks.hooks import RealBatch, TermValue


@dataclasses.dataclass(frozen=True)
class MaskPrior:
    """G side: weight * mean |m| over every mask value (the paper's sparsity prior).

    Logs `mask_mean`, mean |m| (0 for generators without a mask). A weight of 0 only logs;
    its part of g_loss is weight * mask_mean.
    """

    weight: float = losses.MASK_PRIOR_WEIGHT
    metric_names: ClassVar[tuple] = ("mask_mean",)

    def __post_init__(self):
        if self.weight < 0:
            raise ValueError(f"mask_weight must be >= 0, got {self.weight}")
        object.__setattr__(self, "weight", float(self.weight))

    def __call__(self, parts, real) -> TermValue:
        mask = parts.get("mask")
        if mask is None:
            return TermValue(loss=None, metrics={"mask_mean": tf.constant(0.0)})
        per_example = losses.mask_l1_per_example(mask)
        mask_mean = tf.reduce_mean(per_example)
        if self.weight <= 0:
            return TermValue(loss=None, metrics={"mask_mean": mask_mean})
        return TermValue(loss=self.weight * tf.nn.compute_average_loss(per_example),
                         logged=self.weight * mask_mean, metrics={"mask_mean": mask_mean})


@dataclasses.dataclass(frozen=True)
class R1Penalty:
    """D side: gamma / 2 * E[||grad_x D(x)||^2] on the real videos, every `every` steps.

    ||.||^2 sums the squared gradient over every element of a video; E averages over the
    batch (replica-scaled for the loss). On the steps where step % every == 0 the loss is
    gamma * every / 2 * E[...]; on the others it is 0 and the input gradients are not
    computed. Logs `r1`, E[||grad_x D(x)||^2] (without gamma), averaged over the steps where
    the penalty ran. It does not enter the logged d_loss (the adversarial loss alone, so
    that curve reads the same with or without R1). In evaluation it is computed on every
    batch.
    """

    gamma: float
    every: int = 1
    metric_names: ClassVar[tuple] = ("r1",)

    def __post_init__(self):
        if not self.gamma >= 0:
            raise ValueError(f"R1 gamma must be >= 0, got {self.gamma}")
        if int(self.every) != self.every or self.every < 1:
            raise ValueError(f"R1 every must be an integer >= 1, got {self.every}")
        object.__setattr__(self, "gamma", float(self.gamma))
        object.__setattr__(self, "every", int(self.every))

    def __call__(self, batch: RealBatch) -> TermValue:
        scale = 0.5 * self.gamma * self.every

        def penalty():
            grads = tf.cast(batch.input_gradients(), tf.float32)
            norms = tf.reduce_sum(tf.reshape(tf.square(grads), [tf.shape(grads)[0], -1]),
                                  axis=1)
            return scale * tf.nn.compute_average_loss(norms), tf.reduce_mean(norms)

        if self.every == 1 or not batch.training:
            loss, r1 = penalty()
            return TermValue(loss=loss, metrics={"r1": r1})
        active = tf.equal(tf.math.floormod(tf.cast(batch.step, tf.int64), self.every), 0)
        loss, r1 = tf.cond(active, penalty, lambda: (tf.constant(0.0), tf.constant(0.0)))
        return TermValue(loss=loss, metrics={"r1": r1}, weight=tf.cast(active, tf.float32))
