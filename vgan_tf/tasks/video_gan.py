"""VideoGAN: the paper's unconditional adversarial training (noise -> video).

The train step is the shared one of adversarial.py; what is particular here:
  * z is drawn per replica (stateless, folded with the step and the replica id, so every
    replica's noise differs and a resumed run draws the same noise at the same step);
  * G's term is the mask prior (regularizers.MaskPrior): weight * mean(|m|) for
    generators that have a mask.

Usage:
    gan = VideoGAN(TwoStreamGenerator(), Discriminator())
    gan.compile()                       # Adam(2e-4, beta_1=0.5) for both, as in the paper
    gan.fit(videos_dataset, epochs=...)  # batches [batch, frames, size, size, 3] in [-1, 1]
"""
from __future__ import annotations

import keras
import tensorflow as tf

from vgan_tf.tasks import losses
from vgan_tf.tasks.adversarial import AdversarialTask
from vgan_tf.tasks.regularizers import MaskPrior


@keras.saving.register_keras_serializable(package="vgan_tf")
class VideoGAN(AdversarialTask):
    """A generator and a discriminator trained adversarially with `fit`.

    Args:
      generator: a TwoStreamGenerator or OneStreamGenerator (anything with `latent_dim`,
        `video_shape` and `generate_parts(z, training)`).
      discriminator: a Discriminator for the same video shape.
      mask_weight: weight of the L1 mask prior (0.1 in the paper); ignored for generators
        without a mask.
      seed: base seed of the training noise.
    Logs d_loss, g_loss, mask_mean (0 without a mask), d_real_acc, d_fake_acc.
    """

    def __init__(self, generator, discriminator, mask_weight=losses.MASK_PRIOR_WEIGHT,
                 seed=0, **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        self._mask_prior = MaskPrior(mask_weight)
        self.add_generator_term(self._mask_prior)
        self.seed = int(seed)
        if not generator.built:
            generator.build((None, generator.latent_dim))

    @property
    def mask_weight(self) -> float:
        return self._mask_prior.weight

    def draw_latents(self, batch_size, replica=None, step=None):
        """Training noise: [batch, latent] N(0,1), a function of (seed, step, replica).

        replica and step default to the current replica and `self.step`; passing them
        gives the noise a given replica drew (or will draw) at a given step, which is how a
        single-device reference of a distributed step is built.
        """
        if replica is None:
            context = tf.distribute.get_replica_context()
            replica = context.replica_id_in_sync_group if context is not None else 0
        step = self.step if step is None else step
        seed = tf.stack([tf.constant(self.seed, tf.int64),
                         tf.cast(tf.convert_to_tensor(step), tf.int64)])
        seed = tf.random.experimental.stateless_fold_in(seed, tf.cast(replica, tf.int64))
        return tf.random.stateless_normal(
            [batch_size, self.generator.latent_dim], seed=seed, dtype=tf.float32)

    def generate(self, real, training):
        return self.generator.generate_parts(self.generator_input(real), training=training)

    def generator_input(self, real):
        return self.draw_latents(tf.shape(real)[0])

    def get_config(self):
        config = super().get_config()
        config.update(mask_weight=self.mask_weight, seed=self.seed)
        return config
