"""FuturePredictionGAN: the original's conditional training (main_conditional.lua).

The train step is the shared one of adversarial.py (D on the real clips and on the
predicted clips as separate batches, non-saturating G loss, BN sync across replicas);
what is particular here:
  * the input of the predictor is frame 1 of each real clip, `real[:, 0]`;
  * G pays `l1_weight` (10 in the original) * mean |first predicted frame - input frame|,
    the mean over every element of that frame (nn.AbsCriterion), replica-scaled like the
    adversarial losses: the G term `FirstFrameL1`;
  * no mask prior (the original has none here): MaskPrior(0) logs the mask mean.

Usage:
    gan = FuturePredictionGAN(FuturePredictor(), Discriminator(base_width=128))
    gan.compile()                 # Adam(2e-4, beta_1=0.5) for both, as in the original
    gan.fit(clips, epochs=...)    # batches [batch, frames, size, size, 3] in [-1, 1]
Logs d_loss, g_loss (adversarial + weighted l1), l1, mask_mean, d_real_acc, d_fake_acc.
"""
from __future__ import annotations

import dataclasses
from typing import ClassVar

import keras
import tensorflow as tf

from vgan_tf.tasks.adversarial import AdversarialTask
from vgan_tf.tasks.hooks import TermValue
from vgan_tf.tasks.regularizers import MaskPrior

L1_WEIGHT = 10.0


def input_frames(real):
    """The predictor's inputs: frame 1 of each clip, [batch, size, size, 3]."""
    return real[:, 0]


def first_frame_l1_per_example(video, image):
    """mean |video[:, 0] - image| of each example: [batch] float32."""
    diff = tf.abs(tf.cast(video[:, 0], tf.float32) - tf.cast(image, tf.float32))
    return tf.reduce_mean(tf.reshape(diff, [tf.shape(diff)[0], -1]), axis=1)


@dataclasses.dataclass(frozen=True)
class FirstFrameL1:
    """G side: weight * mean |first generated frame - input frame| (input_frames(real)).

    Logs `l1`, that mean without the weight; a weight of 0 only logs.
    """

    weight: float = L1_WEIGHT
    metric_names: ClassVar[tuple] = ("l1",)

    def __post_init__(self):
        if self.weight < 0:
            raise ValueError(f"l1_weight must be >= 0, got {self.weight}")
        object.__setattr__(self, "weight", float(self.weight))

    def __call__(self, parts, real) -> TermValue:
        per_example = first_frame_l1_per_example(parts["video"], input_frames(real))
        l1 = tf.reduce_mean(per_example)
        if self.weight <= 0:
            return TermValue(loss=None, metrics={"l1": l1})
        return TermValue(loss=self.weight * tf.nn.compute_average_loss(per_example),
                         logged=self.weight * l1, metrics={"l1": l1})


@keras.saving.register_keras_serializable(package="vgan_tf")
class FuturePredictionGAN(AdversarialTask):
    """A FuturePredictor and an unconditioned Discriminator trained with `fit`.

    Args:
      generator: a FuturePredictor (anything with `video_shape` and
        `generate_parts(image, training)` returning "video" and optionally "mask").
      discriminator: a Discriminator for the same video shape (base width 128 in the
        original).
      l1_weight: lambda of the first-frame reconstruction term (10 in the original).
      seed: base seed of the recipe's augmentation draws (the predictor draws no noise).
    """

    def __init__(self, generator, discriminator, l1_weight=L1_WEIGHT, seed=0, **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        self.seed = int(seed)
        self._first_frame_l1 = FirstFrameL1(l1_weight)
        self.add_generator_term(self._first_frame_l1)
        self.add_generator_term(MaskPrior(0.0))

    @property
    def l1_weight(self) -> float:
        return self._first_frame_l1.weight

    def generate(self, real, training):
        return self.generator.generate_parts(self.generator_input(real), training=training)

    def generator_input(self, real):
        return input_frames(real)

    def get_config(self):
        config = super().get_config()
        config.update(l1_weight=self.l1_weight, seed=self.seed)
        return config
