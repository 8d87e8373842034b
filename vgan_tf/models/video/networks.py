"""The paper's generators: two-stream (foreground/mask + background) and one-stream.

Shapes are channels-last. A latent batch z of shape [batch, latent_dim] becomes a video of
shape [batch, frames, size, size, 3] in [-1, 1].

Two-stream (paper section 2.2): a 3-D convolutional foreground stream ends in two heads,
the foreground f (tanh, 3 channels) and the mask m (sigmoid, 1 channel); a 2-D stream
produces one static background image b (tanh). The video is m * f + (1 - m) * b with b
repeated over time and m over colours. The mask's L1 prior lives in the GAN's loss
(vgan_tf.tasks.losses), where it is applied to the mask values, not to weights.

Stages (keras.Sequential, see stages.py): "fg_stream" (z -> hidden volume), "fg_head",
"mask_head", "bg_stream" (z -> background image); layers keep the names fg_up0, fg_bn0,
fg_relu0, ..., fg_out, fg_tanh, mask_out, mask_sigmoid, bg_up0, ..., bg_out, bg_tanh.

`depth_to_space_heads=True` computes the video heads fg_out and mask_out (k4 s2 transposed
convs to 3 and 1 channels) as a stride-1 2x2x2 transposed convolution + depth-to-space +
crop (blocks.depth_to_space_conv_transpose): the same weights, parameters and outputs
(tested), another speed (docs/performance.md). The 2-D bg_out keeps the plain form (a
sixteenth of the heads' work). The default is DEPTH_TO_SPACE_HEADS. The form is not part
of the config: `.keras` files are the same either way (and load in versions without the
option), and a loaded network takes the default form.
"""
from __future__ import annotations

import keras

from vgan_tf import config as config_lib
from vgan_tf.models import blocks
from vgan_tf.models.stages import StagedNetwork, stage

EPS = blocks.GENERATOR_BN_EPSILON
DEPTH_TO_SPACE_HEADS = False
"""The default of `depth_to_space_heads`: on only where bench/train_step.py measures a gain
(docs/performance.md)."""


def upsampling_stream(rank: int, lay: config_lib.Layout, latent_dim: int, prefix: str):
    """The layers of one stream, z -> up to half the output size.

    rank 3 (foreground): z -> (seed_frames, 4, 4) -> doubling time and space;
    rank 2 (background): z -> (4, 4) -> doubling space. Each step is a transposed conv,
    BatchNorm and ReLU named {prefix}_up{i}, {prefix}_bn{i}, {prefix}_relu{i}.
    """
    first_kernel = (lay.seed_frames, 4, 4) if rank == 3 else (4, 4)
    layers = [keras.layers.Reshape((1,) * rank + (latent_dim,), name=f"{prefix}_z")]
    for i, width in enumerate(lay.widths):
        first = i == 0
        layers += [
            blocks.up(rank, width, f"{prefix}_up{i}", kernel=first_kernel if first else 4,
                      strides=1 if first else 2, padding="valid" if first else "same"),
            blocks.batch_norm(EPS, f"{prefix}_bn{i}"),
            keras.layers.ReLU(name=f"{prefix}_relu{i}"),
        ]
    return layers


def output_head(rank: int, channels: int, conv_name: str, activation: str,
                activation_name: str, depth_to_space: bool = False):
    """A last k4 s2 transposed conv to `channels` and its float32 output activation;
    depth_to_space: the conv in its depth-to-space form (blocks.up)."""
    return [blocks.up(rank, channels, conv_name, depth_to_space=depth_to_space),
            keras.layers.Activation(activation, dtype="float32", name=activation_name)]


class _VideoGenerator(StagedNetwork):
    """Shared plumbing: sizes, config round trip, output shape."""

    float32_layers = ("fg_tanh",)

    def __init__(self, frames=32, size=64, latent_dim=100, base_width=64,
                 depth_to_space_heads=DEPTH_TO_SPACE_HEADS, **kwargs):
        super().__init__(**kwargs)
        self.sizes = config_lib.NetworkSizes(frames, size, latent_dim, base_width)
        self.layout = self.sizes.layout
        self.depth_to_space_heads = bool(depth_to_space_heads)

    @property
    def latent_dim(self) -> int:
        return self.sizes.latent_dim

    @property
    def video_shape(self) -> tuple:
        """[frames, size, size, 3] of one generated video."""
        return self.layout.video_shape

    def _foreground_stream(self):
        return stage("fg_stream", (self.latent_dim,),
                     upsampling_stream(3, self.layout, self.latent_dim, "fg"))

    def _video_head(self, channels, conv_name, activation, activation_name):
        return output_head(3, channels, conv_name, activation, activation_name,
                           self.depth_to_space_heads)

    def get_config(self):
        config = super().get_config()
        config.update(frames=self.sizes.frames, size=self.sizes.size,
                      latent_dim=self.sizes.latent_dim, base_width=self.sizes.base_width)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def call(self, z, training=None):
        return self.generate_parts(z, training=training)["video"]

    def generate_parts(self, z, training=None):
        return self.forward(z, self._runner(training))

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self.video_shape


@keras.saving.register_keras_serializable(package="vgan_tf")
class TwoStreamGenerator(_VideoGenerator):
    """The paper's two-stream generator (about 16.2M parameters at the default sizes).

    `call(z)` returns the video [batch, frames, size, size, 3]. `generate_parts(z)` returns
    a dict with "video", "foreground" (same shape), "mask" [batch, frames, size, size, 1]
    and "background" [batch, size, size, 3], for visualisation and the mask prior.
    """

    float32_layers = ("fg_tanh", "mask_sigmoid", "bg_tanh")

    def __init__(self, frames=32, size=64, latent_dim=100, base_width=64,
                 depth_to_space_heads=DEPTH_TO_SPACE_HEADS, **kwargs):
        super().__init__(frames, size, latent_dim, base_width, depth_to_space_heads,
                         **kwargs)
        self.foreground_stream = self._foreground_stream()
        hidden = self.foreground_stream.output_shape[1:]
        self.foreground_head = stage("fg_head", hidden,
                                     self._video_head(3, "fg_out", "tanh", "fg_tanh"))
        self.mask_head = stage("mask_head", hidden,
                               self._video_head(1, "mask_out", "sigmoid", "mask_sigmoid"))
        self.background_stream = stage(
            "bg_stream", (latent_dim,),
            upsampling_stream(2, self.layout, latent_dim, "bg")
            + output_head(2, 3, "bg_out", "tanh", "bg_tanh"))
        self.built = True

    def forward(self, z, run):
        hidden = run(self.foreground_stream, z)
        foreground = run(self.foreground_head, hidden)
        mask = run(self.mask_head, hidden)
        background = run(self.background_stream, z)
        video = mask * foreground + (1.0 - mask) * background[:, None]
        return {"video": video, "foreground": foreground, "mask": mask,
                "background": background}


@keras.saving.register_keras_serializable(package="vgan_tf")
class OneStreamGenerator(_VideoGenerator):
    """The paper's one-stream baseline: the foreground stream alone, tanh, no mask."""

    def __init__(self, frames=32, size=64, latent_dim=100, base_width=64,
                 depth_to_space_heads=DEPTH_TO_SPACE_HEADS, **kwargs):
        super().__init__(frames, size, latent_dim, base_width, depth_to_space_heads,
                         **kwargs)
        self.foreground_stream = self._foreground_stream()
        self.foreground_head = stage("fg_head", self.foreground_stream.output_shape[1:],
                                     self._video_head(3, "fg_out", "tanh", "fg_tanh"))
        self.built = True

    def forward(self, z, run):
        return {"video": run(self.foreground_head, run(self.foreground_stream, z))}
