"""The action classifier of the paper's representation experiment (main_ucf.lua).

The discriminator's layers up to its last hidden volume ("d_features", the same stage and
layer names as Discriminator, so weights move between them by name), then dropout 0.5 of
whole feature maps (Torch's VolumetricDropout = keras SpatialDropout3D) and a convolution to
`num_classes` whose kernel covers the whole (seed_frames, 4, 4) volume: one logit per class,
[batch, num_classes] float32.

    classifier = ActionClassifier(101)
    classifier.load_features(discriminator)     # the pretrained representation
    classifier.freeze_features()                # the paper's linear probe
"""
from __future__ import annotations

import keras

from vgan_tf import config as config_lib
from vgan_tf import validation
from vgan_tf.models import blocks
from vgan_tf.models.discriminator import feature_stack
from vgan_tf.models.stages import StagedNetwork, stage

DROPOUT = 0.5


@keras.saving.register_keras_serializable(package="vgan_tf")
class ActionClassifier(StagedNetwork):
    """Discriminator features -> SpatialDropout3D(0.5) -> conv3d to num_classes, valid."""

    float32_layers = ("c_logits", "c_flatten")

    def __init__(self, num_classes, frames=32, size=64, base_width=64, dropout=DROPOUT,
                 frozen_features=False, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = validation.positive_int("num_classes", num_classes)
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.dropout = float(dropout)
        self.layout = config_lib.layout(frames, size, base_width)
        self.feature_stack = feature_stack(self.layout)
        self.class_head = stage("c_head", self.feature_shape, [
            keras.layers.SpatialDropout3D(self.dropout, name="c_dropout"),
            blocks.down3d(self.num_classes, "c_logits",
                          kernel=(self.layout.seed_frames, 4, 4), strides=1,
                          padding="valid", dtype="float32"),
            keras.layers.Flatten(dtype="float32", name="c_flatten"),
        ])
        if frozen_features:
            self.freeze_features()
        self.built = True

    @property
    def video_shape(self) -> tuple:
        return self.layout.video_shape

    @property
    def feature_shape(self) -> tuple:
        return self.layout.volume_shape

    def forward(self, video, run):
        return run(self.class_head, run(self.feature_stack, video))

    def call(self, video, training=None):
        return self.forward(video, self._runner(training))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    # -- the representation ----------------------------------------------------------------
    def load_features(self, discriminator) -> int:
        """Copies the feature layers' weights (BatchNorm statistics included) from a
        Discriminator of the same sizes; returns the number of arrays copied. Raises
        ValueError naming the sizes when they differ."""
        theirs = getattr(discriminator, "feature_stack", None)
        if theirs is None or tuple(discriminator.video_shape) != self.video_shape or tuple(
                discriminator.feature_shape) != self.feature_shape:
            raise ValueError(
                f"the discriminator (videos {getattr(discriminator, 'video_shape', '?')}, "
                f"features {getattr(discriminator, 'feature_shape', '?')}) does not match "
                f"the classifier (videos {self.video_shape}, features {self.feature_shape}):"
                " give --frames/--size/--base_width of the pretrained run")
        copied = 0
        for layer in self.feature_stack.layers:
            weights = theirs.get_layer(layer.name).get_weights()
            layer.set_weights(weights)
            copied += len(weights)
        return copied

    def freeze_features(self):
        """The linear probe: the feature stack stops training and its BatchNorm layers run
        in inference mode (Keras runs a non-trainable BatchNormalization that way)."""
        self.feature_stack.trainable = False

    @property
    def frozen_features(self) -> bool:
        return not self.feature_stack.trainable

    def get_config(self):
        config = super().get_config()
        config.update(num_classes=self.num_classes, frames=self.layout.frames,
                      size=self.layout.size, base_width=self.layout.base_width,
                      dropout=self.dropout, frozen_features=self.frozen_features)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
