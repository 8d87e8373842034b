"""Training runs: configuration, strategies, precision, callbacks and the run loop."""
from vgan_tf.training.config import PRESETS, TrainConfig, from_preset
from vgan_tf.training.errors import BadDataError, DataRanOutError, InputError, NonFiniteLossError
from vgan_tf.training.run import build_gan, train
from vgan_tf.training.strategy import make_strategy

__all__ = ["PRESETS", "BadDataError", "DataRanOutError", "InputError", "NonFiniteLossError",
           "TrainConfig", "build_gan", "from_preset", "make_strategy", "train"]
