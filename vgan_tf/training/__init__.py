"""Training runs: configuration, strategies, precision, callbacks and the run loop."""
from vgan_tf.training.callbacks import NonFiniteLossError
from vgan_tf.training.config import PRESETS, TrainConfig, from_preset
from vgan_tf.training.run import InputError, build_gan, train
from vgan_tf.training.strategy import make_strategy

__all__ = ["PRESETS", "InputError", "NonFiniteLossError", "TrainConfig", "build_gan",
           "from_preset", "make_strategy", "train"]
