"""Training runs: configuration, callbacks and the run loop around VideoGAN.fit."""
from vgan_tf.training.config import PRESETS, TrainConfig, from_preset
from vgan_tf.training.run import build_gan, train

__all__ = ["PRESETS", "TrainConfig", "build_gan", "from_preset", "train"]
