"""Future prediction (the original's main_conditional.lua): one still image -> a video.

Shapes are channels-last. An image [batch, size, size, 3] in [-1, 1] becomes a video
[batch, frames, size, size, 3] in [-1, 1] that starts from it; no noise, deterministic.

  FrameEncoder: conv k4 s2 to base_width + ReLU (no BN), then k4 s2 convs doubling the
    width, each + BatchNorm (eps 1e-3) + ReLU, down to a 4x4 code:
    64x64x3 -> 32x32x128 -> 16x16x256 -> 8x8x512 -> 4x4x1024 at the default sizes.
  ConditionalTwoStreamGenerator: from that code [batch, 4, 4, C],
    background: k4 s2 transposed convs halving the width (BN eps 1e-5, ReLU), then a k4 s2
      transposed conv to 3 + tanh (4x4x1024 -> 8x8x512 -> ... -> 64x64x3);
    foreground: the code viewed as [1, 4, 4, C], a transposed conv3d to C with kernel
      (seed_frames, 1, 1), stride 1 (-> 2x4x4x1024), BN, ReLU, then k4 s2 transposed convs
      halving the width (-> 16x32x32x128), and the heads foreground (3, tanh) and mask
      (1, sigmoid), k4 s2 (-> 32x64x64);
    video = m * f + (1 - m) * b, as in the unconditional model (no mask prior here).
  FuturePredictor: encoder + generator as one network, image -> video, with
    `generate_parts(image)` like TwoStreamGenerator's.

The layer plan is `vgan_tf.config.layout(frames, size, base_width)` with the widths read
from the image outwards: the paper's predictor is base_width 128 (widths 128, 256, 512,
1024); its widened discriminator is `Discriminator(base_width=128)`.

Stages (keras.Sequential): "encoder" (enc_conv0, enc_relu0, enc_conv1, enc_bn1, enc_relu1,
...), "fg_stream" (fg_code, fg_up0, fg_bn0, fg_relu0, ...), "fg_head" (fg_out, fg_tanh),
"mask_head" (mask_out, mask_sigmoid), "bg_stream" (bg_up0, bg_bn0, bg_relu0, ..., bg_out,
bg_tanh). Init as the unconditional model (blocks.py).
"""
from __future__ import annotations

import keras

from vgan_tf import config as config_lib
from vgan_tf.models import blocks
from vgan_tf.models.video.networks import output_head
from vgan_tf.models.stages import StagedNetwork, stage
from vgan_tf.validation import positive_int

ENCODER_EPS = blocks.DISCRIMINATOR_BN_EPSILON
GENERATOR_EPS = blocks.GENERATOR_BN_EPSILON
PAPER_BASE_WIDTH = 128


def image_layout(size: int, base_width: int) -> config_lib.Layout:
    """The layer plan of the encoder for images [size, size, 3] (frames do not matter)."""
    positive_int("size", size)
    return config_lib.layout(max(1, size // 4), size, base_width)


def encoder_layers(lay: config_lib.Layout) -> list:
    """[size, size, 3] -> [4, 4, widths[0]]: k4 s2 convs, BN on all but the first."""
    layers = []
    for i, width in enumerate(lay.widths[::-1]):
        layers.append(keras.layers.Conv2D(
            width, 4, strides=2, padding="same", kernel_initializer=blocks.conv_init(),
            bias_initializer="zeros", name=f"enc_conv{i}"))
        if i:
            layers.append(blocks.batch_norm(ENCODER_EPS, f"enc_bn{i}"))
        layers.append(keras.layers.ReLU(name=f"enc_relu{i}"))
    return layers


def _up_block(rank, width, prefix, i, **kwargs):
    return [blocks.up(rank, width, f"{prefix}_up{i}", **kwargs),
            blocks.batch_norm(GENERATOR_EPS, f"{prefix}_bn{i}"),
            keras.layers.ReLU(name=f"{prefix}_relu{i}")]


def foreground_layers(lay: config_lib.Layout) -> list:
    """[4, 4, C] -> [frames / 2, size / 2, size / 2, widths[-1]]."""
    code_width = lay.widths[0]
    layers = [keras.layers.Reshape((1, 4, 4, code_width), name="fg_code")]
    layers += _up_block(3, code_width, "fg", 0, kernel=(lay.seed_frames, 1, 1), strides=1,
                        padding="valid")
    for i, width in enumerate(lay.widths[1:], start=1):
        layers += _up_block(3, width, "fg", i)
    return layers


def background_layers(lay: config_lib.Layout) -> list:
    """[4, 4, C] -> [size, size, 3] in [-1, 1]."""
    layers = []
    for i, width in enumerate(lay.widths[1:]):
        layers += _up_block(2, width, "bg", i)
    return layers + output_head(2, 3, "bg_out", "tanh", "bg_tanh")


class _ConditionalStreams(StagedNetwork):
    """The two streams from a code, and the plumbing shared by the generator and the
    predictor: sizes, config round trip, output shape."""

    float32_layers = ("fg_tanh", "mask_sigmoid", "bg_tanh")

    def __init__(self, frames=32, size=64, base_width=PAPER_BASE_WIDTH, **kwargs):
        super().__init__(**kwargs)
        self.layout = config_lib.layout(frames, size, base_width)

    def _build_streams(self):
        lay = self.layout
        self.foreground_stream = stage("fg_stream", self.code_shape, foreground_layers(lay))
        hidden = self.foreground_stream.output_shape[1:]
        self.foreground_head = stage("fg_head", hidden,
                                     output_head(3, 3, "fg_out", "tanh", "fg_tanh"))
        self.mask_head = stage("mask_head", hidden,
                               output_head(3, 1, "mask_out", "sigmoid", "mask_sigmoid"))
        self.background_stream = stage("bg_stream", self.code_shape, background_layers(lay))
        self.built = True

    @property
    def video_shape(self) -> tuple:
        """[frames, size, size, 3] of one generated video."""
        return self.layout.video_shape

    @property
    def image_shape(self) -> tuple:
        """[size, size, 3] of one input image (and of the first frame)."""
        return self.layout.image_shape

    @property
    def code_shape(self) -> tuple:
        """[4, 4, widths[0]] of the encoder's code (4x4x1024 at the default sizes)."""
        return self.layout.code_shape

    def _decode(self, code, run):
        hidden = run(self.foreground_stream, code)
        foreground = run(self.foreground_head, hidden)
        mask = run(self.mask_head, hidden)
        background = run(self.background_stream, code)
        video = mask * foreground + (1.0 - mask) * background[:, None]
        return {"video": video, "foreground": foreground, "mask": mask,
                "background": background}

    def call(self, inputs, training=None):
        return self.generate_parts(inputs, training=training)["video"]

    def generate_parts(self, inputs, training=None):
        """{"video", "foreground" [b,T,H,W,3], "mask" [b,T,H,W,1], "background" [b,H,W,3]}."""
        return self.forward(inputs, self._runner(training))

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self.video_shape

    def get_config(self):
        config = super().get_config()
        config.update(frames=self.layout.frames, size=self.layout.size,
                      base_width=self.layout.base_width)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@keras.saving.register_keras_serializable(package="vgan_tf")
class FrameEncoder(StagedNetwork):
    """Image [b, size, size, 3] -> code [b, 4, 4, 8 * base_width] (11,021,696 parameters
    at the default sizes). No bottleneck, no noise."""

    def __init__(self, size=64, base_width=PAPER_BASE_WIDTH, **kwargs):
        super().__init__(**kwargs)
        self.layout = image_layout(size, base_width)
        self.encoder = stage("encoder", self.image_shape, encoder_layers(self.layout))
        self.built = True

    @property
    def image_shape(self) -> tuple:
        return self.layout.image_shape

    @property
    def code_shape(self) -> tuple:
        return self.layout.code_shape

    def forward(self, image, run):
        return run(self.encoder, image)

    def call(self, image, training=None):
        return self.forward(image, self._runner(training))

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self.code_shape

    def compute_output_spec(self, inputs, training=None):
        return keras.KerasTensor(self.compute_output_shape(inputs.shape),
                                 dtype=self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update(size=self.layout.size, base_width=self.layout.base_width)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@keras.saving.register_keras_serializable(package="vgan_tf")
class ConditionalTwoStreamGenerator(_ConditionalStreams):
    """Code [b, 4, 4, C] -> video [b, frames, size, size, 3]: the predictor's two streams."""

    def __init__(self, frames=32, size=64, base_width=PAPER_BASE_WIDTH, **kwargs):
        super().__init__(frames, size, base_width, **kwargs)
        self._build_streams()

    def forward(self, code, run):
        return self._decode(code, run)


@keras.saving.register_keras_serializable(package="vgan_tf")
class FuturePredictor(_ConditionalStreams):
    """Image [b, size, size, 3] in [-1, 1] -> video [b, frames, size, size, 3] in [-1, 1].

    FrameEncoder's layers (stage "encoder") followed by ConditionalTwoStreamGenerator's
    stages; 68,216,455 parameters at the default sizes (32 frames of 64x64, base width
    128). `encode(image)` returns the code; `generate_parts(image)` the video and its
    parts.
    """

    def __init__(self, frames=32, size=64, base_width=PAPER_BASE_WIDTH, **kwargs):
        super().__init__(frames, size, base_width, **kwargs)
        self.encoder = stage("encoder", self.image_shape, encoder_layers(self.layout))
        self._build_streams()

    def encode(self, image, training=None):
        return self.encoder(image, training=training)

    def forward(self, image, run):
        return self._decode(run(self.encoder, image), run)
