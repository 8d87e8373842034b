"""The paper's 3-D convolutional discriminator (about 11.0M parameters at default sizes).

Input: a video [batch, frames, size, size, 3] in [-1, 1]. Output: one real/fake logit per
video, [batch, 1] float32 (the paper's two-way softmax written as one sigmoid logit).
`features(video)` returns the last hidden volume [batch, seed_frames, 4, 4, 8 * base_width]
(512x2x4x4 at default sizes), the representation reused for action recognition.

Stages (keras.Sequential): "d_features" (d_conv0, d_lrelu0, d_conv1, d_bn1, d_lrelu1, ...)
and "d_head" (d_logit, d_flatten, both float32).

`spectral_norm=True` (not the paper's; off by default) wraps every convolution, d_logit
included, in blocks.SpectralNorm (same layer names; the kernels gain a `u` vector).
`space_to_depth_input=True` computes d_conv0 (3 -> base_width channels, k4 s2) as pad +
space-to-depth (2x2x2 into 24 channels) + a stride-1 2x2x2 convolution
(blocks.space_to_depth_conv): the same weights, parameters and outputs (tested), another
speed (docs/performance.md). The default is SPACE_TO_DEPTH_INPUT. The form is not part of
the config: `.keras` files are the same either way (and load in versions without the
option), and a loaded network takes the default form.
"""
from __future__ import annotations

import keras

from vgan_tf import config as config_lib
from vgan_tf.models import blocks
from vgan_tf.models.stages import StagedNetwork, stage

EPS = blocks.DISCRIMINATOR_BN_EPSILON
SPACE_TO_DEPTH_INPUT = False
"""The default of `space_to_depth_input`: on only where bench/train_step.py measures a gain
(docs/performance.md)."""


def _plain(layer):
    return layer


def feature_stack(lay: config_lib.Layout, spectral_norm: bool = False,
                  space_to_depth_input: bool = False) -> keras.Sequential:
    """The stage "d_features": video -> last hidden volume, shared by the Discriminator and
    the ActionClassifier (same layer names, so weights move between them by name);
    space_to_depth_input: d_conv0 in its space-to-depth form."""
    widths = lay.widths[::-1]
    wrap = blocks.spectral_norm if spectral_norm else _plain
    layers = [
        wrap(blocks.down3d(widths[0], "d_conv0", space_to_depth=space_to_depth_input)),
        keras.layers.LeakyReLU(negative_slope=0.2, name="d_lrelu0"),
    ]
    for i, width in enumerate(widths[1:], start=1):
        layers += [
            wrap(blocks.down3d(width, f"d_conv{i}")),
            blocks.batch_norm(EPS, f"d_bn{i}"),
            keras.layers.LeakyReLU(negative_slope=0.2, name=f"d_lrelu{i}"),
        ]
    return stage("d_features", lay.video_shape, layers)


@keras.saving.register_keras_serializable(package="vgan_tf")
class Discriminator(StagedNetwork):

    float32_layers = ("d_logit", "d_flatten")

    def __init__(self, frames=32, size=64, base_width=64, spectral_norm=False,
                 space_to_depth_input=SPACE_TO_DEPTH_INPUT, **kwargs):
        super().__init__(**kwargs)
        self.layout = config_lib.layout(frames, size, base_width)
        self.spectral_norm = bool(spectral_norm)
        self.space_to_depth_input = bool(space_to_depth_input)
        self.feature_stack = feature_stack(self.layout, self.spectral_norm,
                                           self.space_to_depth_input)
        wrap = blocks.spectral_norm if self.spectral_norm else _plain
        self.logit_head = stage("d_head", self.feature_shape, [
            wrap(blocks.down3d(1, "d_logit", kernel=(self.layout.seed_frames, 4, 4),
                               strides=1, padding="valid", dtype="float32")),
            keras.layers.Flatten(dtype="float32", name="d_flatten"),
        ])
        self.built = True

    @property
    def video_shape(self) -> tuple:
        return self.layout.video_shape

    @property
    def feature_shape(self) -> tuple:
        """Shape of `features()` per video: (seed_frames, 4, 4, 8 * base_width)."""
        return self.layout.volume_shape

    def features(self, video, training=None):
        return self.feature_stack(video, training=training)

    def forward(self, video, run):
        return run(self.logit_head, run(self.feature_stack, video))

    def call(self, video, training=None):
        return self.forward(video, self._runner(training))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)

    def get_config(self):
        config = super().get_config()
        config.update(frames=self.layout.frames, size=self.layout.size,
                      base_width=self.layout.base_width)
        if self.spectral_norm:  # absent when off: the paper's D config as before
            config.update(spectral_norm=True)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
