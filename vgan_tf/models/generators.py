"""The paper's generators: two-stream (foreground/mask + background) and one-stream.

Shapes are channels-last. A latent batch z of shape [batch, latent_dim] becomes a video of
shape [batch, frames, size, size, 3] in [-1, 1].

Two-stream (paper section 2.2): a 3-D convolutional foreground stream ends in two heads,
the foreground f (tanh, 3 channels) and the mask m (sigmoid, 1 channel); a 2-D stream
produces one static background image b (tanh). The video is m * f + (1 - m) * b with b
repeated over time and m over colours. The mask's L1 prior lives in the GAN's loss
(vgan_tf.losses), where it is applied to the mask values, not to weights.
"""
from __future__ import annotations

import keras
from keras import ops

from vgan_tf import config as config_lib
from vgan_tf.models import blocks

EPS = blocks.GENERATOR_BN_EPSILON


def _foreground_trunk(lay: config_lib.Layout, prefix: str):
    """3-D stream: latent -> (seed_frames, 4, 4) -> ... up to half the output size."""
    layers = [
        blocks.up3d(lay.widths[0], f"{prefix}_up0", kernel=(lay.seed_frames, 4, 4),
                    strides=1, padding="valid"),
        blocks.batch_norm(EPS, f"{prefix}_bn0"),
        keras.layers.ReLU(name=f"{prefix}_relu0"),
    ]
    for i, width in enumerate(lay.widths[1:], start=1):
        layers += [
            blocks.up3d(width, f"{prefix}_up{i}"),
            blocks.batch_norm(EPS, f"{prefix}_bn{i}"),
            keras.layers.ReLU(name=f"{prefix}_relu{i}"),
        ]
    return layers


def _background_stream(lay: config_lib.Layout):
    """2-D stream: latent -> 4x4 -> ... -> size x size x 3, tanh."""
    layers = [
        blocks.up2d(lay.widths[0], "bg_up0", kernel=4, strides=1, padding="valid"),
        blocks.batch_norm(EPS, "bg_bn0"),
        keras.layers.ReLU(name="bg_relu0"),
    ]
    for i, width in enumerate(lay.widths[1:], start=1):
        layers += [
            blocks.up2d(width, f"bg_up{i}"),
            blocks.batch_norm(EPS, f"bg_bn{i}"),
            keras.layers.ReLU(name=f"bg_relu{i}"),
        ]
    layers += [
        blocks.up2d(3, "bg_out"),
        keras.layers.Activation("tanh", dtype="float32", name="bg_tanh"),
    ]
    return layers


class _VideoGenerator(keras.Model):
    """Shared plumbing: sizes, config round trip, build from the latent shape."""

    def __init__(self, frames=32, size=64, latent_dim=100, base_width=64, **kwargs):
        super().__init__(**kwargs)
        self.sizes = config_lib.NetworkSizes(frames, size, latent_dim, base_width)
        self.layout = config_lib.layout(self.sizes)

    @property
    def latent_dim(self) -> int:
        return self.sizes.latent_dim

    @property
    def video_shape(self) -> tuple:
        """[frames, size, size, 3] of one generated video."""
        return (self.sizes.frames, self.sizes.size, self.sizes.size, 3)

    def get_config(self):
        config = super().get_config()
        config.update(frames=self.sizes.frames, size=self.sizes.size,
                      latent_dim=self.sizes.latent_dim, base_width=self.sizes.base_width)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def _as_volume(self, z):
        return ops.reshape(z, (-1, 1, 1, 1, self.sizes.latent_dim))

    def _as_image(self, z):
        return ops.reshape(z, (-1, 1, 1, self.sizes.latent_dim))


@keras.saving.register_keras_serializable(package="vgan_tf")
class TwoStreamGenerator(_VideoGenerator):
    """The paper's two-stream generator (about 16.2M parameters at the default sizes).

    `call(z)` returns the video [batch, frames, size, size, 3]. `generate_parts(z)` returns
    a dict with "video", "foreground" (same shape), "mask" [batch, frames, size, size, 1]
    and "background" [batch, size, size, 3], for visualisation and the mask prior.
    """

    def __init__(self, frames=32, size=64, latent_dim=100, base_width=64, **kwargs):
        super().__init__(frames, size, latent_dim, base_width, **kwargs)
        lay = self.layout
        self.trunk = _foreground_trunk(lay, "fg")
        self.foreground_head = [
            blocks.up3d(3, "fg_out"),
            keras.layers.Activation("tanh", dtype="float32", name="fg_tanh"),
        ]
        self.mask_head = [
            blocks.up3d(1, "mask_out"),
            keras.layers.Activation("sigmoid", dtype="float32", name="mask_sigmoid"),
        ]
        self.background_stream = _background_stream(lay)

    def build(self, input_shape=None):
        batch = None if input_shape is None else input_shape[0]
        latent = self.sizes.latent_dim
        trunk_shape = blocks.build_chain(self.trunk, (batch, 1, 1, 1, latent))
        blocks.build_chain(self.foreground_head, trunk_shape)
        blocks.build_chain(self.mask_head, trunk_shape)
        blocks.build_chain(self.background_stream, (batch, 1, 1, latent))
        self.built = True

    def generate_parts(self, z, training=None):
        hidden = blocks.run_chain(self.trunk, self._as_volume(z), training)
        foreground = blocks.run_chain(self.foreground_head, hidden, training)
        mask = blocks.run_chain(self.mask_head, hidden, training)
        background = blocks.run_chain(self.background_stream, self._as_image(z), training)
        video = mask * foreground + (1.0 - mask) * background[:, None]
        return {"video": video, "foreground": foreground, "mask": mask,
                "background": background}

    def call(self, z, training=None):
        return self.generate_parts(z, training=training)["video"]

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self.video_shape


@keras.saving.register_keras_serializable(package="vgan_tf")
class OneStreamGenerator(_VideoGenerator):
    """The paper's one-stream baseline: the foreground stream alone, tanh, no mask."""

    def __init__(self, frames=32, size=64, latent_dim=100, base_width=64, **kwargs):
        super().__init__(frames, size, latent_dim, base_width, **kwargs)
        self.trunk = _foreground_trunk(self.layout, "fg")
        self.output_head = [
            blocks.up3d(3, "fg_out"),
            keras.layers.Activation("tanh", dtype="float32", name="fg_tanh"),
        ]

    def build(self, input_shape=None):
        batch = None if input_shape is None else input_shape[0]
        shape = blocks.build_chain(self.trunk, (batch, 1, 1, 1, self.sizes.latent_dim))
        blocks.build_chain(self.output_head, shape)
        self.built = True

    def generate_parts(self, z, training=None):
        hidden = blocks.run_chain(self.trunk, self._as_volume(z), training)
        return {"video": blocks.run_chain(self.output_head, hidden, training)}

    def call(self, z, training=None):
        return self.generate_parts(z, training=training)["video"]

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self.video_shape
