"""Writes the synthetic sprite scenes: JPEG strips, train.txt and ground_truth.jsonl.

  python -m tools.make_synthetic --out_dir=data/synthetic --num_clips=512 --frames=32 \
      --size=64
"""
from absl import flags

from . import entry

FLAGS = flags.FLAGS
flags.DEFINE_string("out_dir", None, "Directory to write (created).")
flags.DEFINE_integer("num_clips", 256, "Number of clips.", lower_bound=1)
flags.DEFINE_integer("frames", 32, "Frames per clip.", lower_bound=1)
flags.DEFINE_integer("size", 64, "Frame size in pixels.", lower_bound=8)
flags.DEFINE_integer("strip_size", None, "Strip frame size (default: --size).", lower_bound=8)
flags.DEFINE_integer("seed", 0, "Data set seed (clip i uses [seed, i]).")
flags.DEFINE_enum("scene", "digits", ["digits", "simple"], "Scene family: digits (1-3 digit "
                  "sprites over a texture) or simple (1-2 solid shapes over a gradient).")
flags.mark_flag_as_required("out_dir")


def main(argv):
    del argv
    from vgan_tf.data import synthetic

    list_file = synthetic.write_synthetic_dataset(
        FLAGS.out_dir, FLAGS.num_clips, frames=FLAGS.frames, size=FLAGS.size,
        seed=FLAGS.seed, strip_size=FLAGS.strip_size, scene=FLAGS.scene)
    print(f"wrote {FLAGS.num_clips} clips; list file {list_file}")


def run():
    entry.run(main)


if __name__ == "__main__":
    run()
