"""The paper's 3-D convolutional discriminator (about 11.0M parameters at default sizes).

Input: a video [batch, frames, size, size, 3] in [-1, 1]. Output: one real/fake logit per
video, [batch, 1] float32 (the paper's two-way softmax written as one sigmoid logit).
`features(video)` returns the last hidden volume [batch, seed_frames, 4, 4, 8 * base_width]
(512x2x4x4 at default sizes), the representation reused for action recognition.
"""
from __future__ import annotations

import keras

from vgan_tf import config as config_lib
from vgan_tf.models import blocks

EPS = blocks.DISCRIMINATOR_BN_EPSILON


@keras.saving.register_keras_serializable(package="vgan_tf")
class Discriminator(keras.Model):

    def __init__(self, frames=32, size=64, base_width=64, **kwargs):
        super().__init__(**kwargs)
        # The latent size plays no part here; 1 only satisfies the shared validation.
        self.sizes = config_lib.NetworkSizes(frames, size, 1, base_width)
        self.layout = config_lib.layout(self.sizes)
        widths = self.layout.widths[::-1]
        layers = [
            blocks.down3d(widths[0], "d_conv0"),
            keras.layers.LeakyReLU(negative_slope=0.2, name="d_lrelu0"),
        ]
        for i, width in enumerate(widths[1:], start=1):
            layers += [
                blocks.down3d(width, f"d_conv{i}"),
                blocks.batch_norm(EPS, f"d_bn{i}"),
                keras.layers.LeakyReLU(negative_slope=0.2, name=f"d_lrelu{i}"),
            ]
        self.hidden = layers
        self.logit_layer = blocks.down3d(
            1, "d_logit", kernel=(self.layout.seed_frames, 4, 4), strides=1,
            padding="valid")
        self.logit_layer.dtype_policy = keras.DTypePolicy("float32")
        self.flatten = keras.layers.Flatten(dtype="float32", name="d_flatten")

    @property
    def video_shape(self) -> tuple:
        return (self.sizes.frames, self.sizes.size, self.sizes.size, 3)

    @property
    def feature_shape(self) -> tuple:
        """Shape of `features()` per video: (seed_frames, 4, 4, 8 * base_width)."""
        return (self.layout.seed_frames, 4, 4, self.layout.widths[0])

    def build(self, input_shape=None):
        batch = None if input_shape is None else input_shape[0]
        shape = blocks.build_chain(self.hidden, (batch,) + self.video_shape)
        blocks.build_chain([self.logit_layer, self.flatten], shape)
        self.built = True

    def features(self, video, training=None):
        return blocks.run_chain(self.hidden, video, training)

    def call(self, video, training=None):
        logits = self.logit_layer(self.features(video, training=training))
        return self.flatten(logits)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)

    def get_config(self):
        config = super().get_config()
        config.update(frames=self.sizes.frames, size=self.sizes.size,
                      base_width=self.sizes.base_width)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
