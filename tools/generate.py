"""Pictures of a trained generator: sample grids (GIF + MP4), the parts, an interpolation.

  python -m tools.generate --generator=runs/golf --out_dir=pictures --num=16 --seed=0
  python -m tools.generate --generator=export/generator/3 --out_dir=pictures \
      --interpolate=3,7 --steps=10

--generator is a training directory, a .keras file or an exported SavedModel folder.
Writes samples.gif, samples.mp4, mask.gif, background.png, foreground.gif and
masked_foreground.gif (where the model has those parts), interpolation.gif and
interpolation.png (see vgan_tf/viz/movies.py); prints each path. --sample_files=N also
writes N videos as one GIF each (samples/seed_<s>.gif, from --seed), e.g. for
`vgan-evaluate --generator=<out_dir>/samples`.
"""
import os

from absl import flags

from . import entry

FLAGS = flags.FLAGS
flags.DEFINE_string("generator", None, "Training directory, .keras file or SavedModel folder.")
flags.DEFINE_string("out_dir", None, "Folder for the pictures (created).")
flags.DEFINE_integer("num", 16, "Videos in the sample grid.", lower_bound=1)
flags.DEFINE_integer("seed", 0, "First seed of the sample grid.")
flags.DEFINE_list("interpolate", ["0", "1"], "Two seeds to interpolate between (slerp).")
flags.DEFINE_integer("steps", 8, "Videos along the interpolation.", lower_bound=2)
flags.DEFINE_integer("sample_files", 0, "Also write this many videos as one GIF each into "
                     "<out_dir>/samples/ (0: none).", lower_bound=0)
flags.DEFINE_float("fps", 8.0, "Frames per second of the GIFs and the MP4.", lower_bound=0.1)
flags.DEFINE_integer("scale", 1, "Enlarge pictures by pixel repetition.", lower_bound=1)
flags.mark_flags_as_required(["generator", "out_dir"])


def _two_seeds(values) -> tuple:
    try:
        seeds = tuple(int(v) for v in values)
    except ValueError:
        seeds = ()
    if len(seeds) != 2:
        raise entry.UsageError(f"--interpolate must be two integer seeds, got "
                               f"{','.join(values)!r}")
    return seeds


def main(argv):
    del argv
    from vgan_tf.metrics import model_sources
    from vgan_tf.viz import movies

    seeds = _two_seeds(FLAGS.interpolate)
    source = model_sources.load_video_source(FLAGS.generator)
    for path in movies.write_generated(source, FLAGS.out_dir, FLAGS.num, FLAGS.seed, seeds,
                                       FLAGS.steps, FLAGS.fps, FLAGS.scale):
        print(path)
    if FLAGS.sample_files:
        from vgan_tf.metrics.evaluation import ProgressBar

        folder = os.path.join(FLAGS.out_dir, "samples")
        movies.write_sample_files(source, folder, FLAGS.sample_files, FLAGS.seed, FLAGS.fps,
                                  progress=ProgressBar("sample files"))
        print(f"{folder}/ ({FLAGS.sample_files} GIFs)")


def run():
    entry.run(main)


if __name__ == "__main__":
    run()
