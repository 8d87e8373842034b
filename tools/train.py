"""Trains the VideoGAN on JPEG strips or on the built-in synthetic scenes.

    python -m tools.train --synthetic --preset=tiny_demo --model_dir=/tmp/run
    python -m tools.train --data_list=golf.txt --data_root=/data/frames --model_dir=/tmp/golf

    python -m tools.train --flagfile=golf.flags --strategy=mirrored --precision=bf16
    python -m tools.train --data_shards='/data/shards/*.tfrecord' --window=random \
        --data_service=grpc://dispatcher:5050 --model_dir=/tmp/golf

A preset sets sizes and schedule; any flag given explicitly overrides it. Every flag but
--preset is a field of vgan_tf.training.TrainConfig (its help, default and choices come
from there). Rerunning with the same --model_dir resumes from its latest checkpoint
with the settings in its config.json (flags that would contradict them are refused).
--flagfile reads flags from a file, one per line (absl). For multi_worker, set TF_CONFIG
on every worker (see docs/training.md). A mistake in the flags or the data exits 2 with
one line; a run that stops (a non-finite loss, a bad strip with --strict_data) exits 1.
"""
from __future__ import annotations

import sys

from absl import flags

from vgan_tf import config_flags
from vgan_tf.training import config as config_lib

from . import entry

FLAGS = flags.FLAGS
_MODULE = sys.argv[0] if __name__ == "__main__" else __name__  # absl's key for --help


def define_flags(flag_values=FLAGS):
    """--preset and one flag per TrainConfig setting, in `flag_values`."""
    flags.DEFINE_enum("preset", None, sorted(config_lib.PRESETS),
                      "Named settings: paper (the paper's), tiny (seconds on CPU), demo (make "
                      "demo), tiny_demo (the old demo), future_paper, future_tiny, "
                      "future_demo. Explicit flags override the preset.",
                      flag_values=flag_values, module_name=_MODULE)
    config_flags.define_flags(config_lib.TrainConfig, flag_values, module_name=_MODULE)


define_flags()


def config_from_flags(flag_values=FLAGS) -> config_lib.TrainConfig:
    """A new run: preset values, then every flag the user set explicitly. An existing
    --model_dir: its config.json, then the flags it allows to change (config_lib.for_run)."""
    return config_lib.for_run(
        config_flags.overrides_from_flags(config_lib.TrainConfig, flag_values),
        flag_values["preset"].value)


def main(argv):
    del argv
    from vgan_tf.training import run as run_lib

    run_lib.train(config_from_flags().validate())


def run():
    from vgan_tf.training import errors
    entry.run(main, stopped=(errors.BadDataError, errors.NonFiniteLossError),
              stopped_prefix="Training stopped: ")


if __name__ == "__main__":
    run()
