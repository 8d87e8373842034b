"""Writes the synthetic sprite scenes: JPEG strips, train.txt and ground_truth.jsonl.

  python -m tools.make_synthetic --out_dir=data/synthetic --num_clips=512 --frames=32 \
      --size=64

Every flag is a field of vgan_tf.data.synthetic.SyntheticConfig (its help, default and
bounds come from there) and an argument of write_synthetic_dataset.
"""
import dataclasses

from absl import flags

from vgan_tf import config_flags
from vgan_tf.data.synthetic import SyntheticConfig

from . import entry

FLAGS = flags.FLAGS
config_flags.define_flags(SyntheticConfig)
flags.mark_flag_as_required("out_dir")


def main(argv):
    del argv
    from vgan_tf.data import synthetic

    config = config_flags.config_from_flags(SyntheticConfig)
    list_file = synthetic.write_synthetic_dataset(**dataclasses.asdict(config))
    print(f"wrote {config.num_clips} clips; list file {list_file}")


def run():
    entry.run(main)


if __name__ == "__main__":
    run()
