"""Converts the strips named by list files into TFRecord shards (parallel, with progress).

  python -m tools.make_shards --list=data/train.txt --data_root=data \
      --out_dir=data/shards --num_shards=64

Every flag is a field of vgan_tf.data.shard_writer.ShardsConfig (its help, default and
bounds come from there).
"""
from absl import flags

from vgan_tf import config_flags
from vgan_tf.data.shard_writer import ShardsConfig

from . import entry

FLAGS = flags.FLAGS
config_flags.define_flags(ShardsConfig)
flags.mark_flag_as_required("out_dir")


def main(argv):
    del argv
    from vgan_tf.data import ListSource, write_shards

    config = config_flags.config_from_flags(ShardsConfig)
    report = write_shards(ListSource(config.list, config.data_root), config.out_dir,
                          config.num_shards, config.num_workers, config.prefix,
                          config.strip_size)
    skipped = {k: v for k, v in report.skipped.items() if v}
    print(f"wrote {report.written} strips into {len(report.shards)} shards in "
          f"{config.out_dir}; skipped {sum(skipped.values())} {skipped or ''}")


def run():
    entry.run(main)


if __name__ == "__main__":
    run()
