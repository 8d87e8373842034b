"""Terms for the hooks of hooks.py: the mask prior (G side).

MaskPrior is the paper's: VideoGAN registers it with its mask_weight, FuturePredictionGAN
with weight 0 (the original has no prior there; the mask mean is logged).
"""
from __future__ import annotations

import dataclasses
from typing import ClassVar

import tensorflow as tf

from vgan_tf.tasks import losses
from vgan_tf.tasks.hooks import TermValue


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
