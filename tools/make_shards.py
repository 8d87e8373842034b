"""Converts the strips named by list files into TFRecord shards (parallel, progress bar).

  python -m tools.make_shards --list=data/train.txt --data_root=data \
      --out_dir=data/shards --num_shards=64
"""
from absl import flags

from . import entry

FLAGS = flags.FLAGS
flags.DEFINE_multi_string("list", None, "List file or glob pattern (repeatable).")
flags.DEFINE_string("data_root", None, "What list entries are relative to (default: each "
                    "list file's directory).")
flags.DEFINE_string("out_dir", None, "Directory for the shards (created).")
flags.DEFINE_integer("num_shards", 16, "Number of shards (at least the number of workers "
                     "that will read them).", lower_bound=1)
flags.DEFINE_integer("num_workers", None, "Parallel shard writers (default: CPUs).",
                     lower_bound=1)
flags.DEFINE_string("prefix", "strips", "Shard file name prefix.")
flags.DEFINE_integer("strip_size", None, "Refuse strips whose frames are not this size.",
                     lower_bound=1)
flags.mark_flags_as_required(["list", "out_dir"])


def main(argv):
    del argv
    from vgan_tf.data import ListSource, write_shards

    report = write_shards(ListSource(FLAGS.list, FLAGS.data_root), FLAGS.out_dir,
                          FLAGS.num_shards, FLAGS.num_workers, FLAGS.prefix,
                          FLAGS.strip_size)
    skipped = {k: v for k, v in report.skipped.items() if v}
    print(f"wrote {report.written} strips into {len(report.shards)} shards in "
          f"{FLAGS.out_dir}; skipped {sum(skipped.values())} {skipped or ''}")


def run():
    entry.run(main)


if __name__ == "__main__":
    run()
