"""Scores a generator trained on the synthetic scenes against held-out synthetic clips.

  python -m tools.score_synthetic --generator=demo_out
  python -m tools.score_synthetic --generator=runs/simple/generator.keras --scene=simple

--generator is a training directory, a .keras file or an exported SavedModel folder; the
scene family is the training run's (its config.json) unless --scene says otherwise.
Prints one `name: value` line per score (fvd, kvd, background_std, count_mean and, for a
generator with a mask, mask_movers, mask_background, mask_contrast; see
vgan_tf/metrics/scene_scores.py) and where the run's pictures are; --picture=PNG also writes
frame strips of four samples with their masks. `make demo` ends with it.
"""
import json
import os

from absl import flags

from . import entry

FLAGS = flags.FLAGS
flags.DEFINE_string("generator", None, "Training directory, .keras file or SavedModel folder.")
flags.DEFINE_enum("scene", None, ["digits", "simple"], "Scene family of the held-out clips "
                  "(default: the training run's, else digits).")
flags.DEFINE_integer("num_samples", 128, "Clips per side.", lower_bound=2)
flags.DEFINE_integer("held_out_seed", 1000, "Data-set seed of the held-out clips (training "
                     "uses --seed, default 0).")
flags.DEFINE_string("cache_dir", None, "Cache of the held-out clips' I3D features (default: "
                    "the user cache dir); empty: no cache.")
flags.DEFINE_string("picture", None, "Also write a PNG of frame strips (every 2nd frame of "
                    "4 samples, each with its mask beneath) to this path.")
flags.mark_flag_as_required("generator")


def _run_scene(path: str) -> str | None:
    config = os.path.join(path, "config.json")
    if os.path.isfile(config):
        with open(config) as handle:
            return json.load(handle).get("synthetic_scene")
    return None


def main(argv):
    del argv
    from vgan_tf.metrics import model_sources, scene_scores

    try:
        source = model_sources.load_video_source(FLAGS.generator)
    except (FileNotFoundError, ValueError) as error:
        raise entry.UsageError(f"--generator: {error}")
    scene = FLAGS.scene or _run_scene(FLAGS.generator) or "digits"
    options = scene_scores.SceneOptions(scene, FLAGS.num_samples, FLAGS.held_out_seed,
                                        cache_dir=FLAGS.cache_dir)
    report = scene_scores.score_generator(source, options)
    print(f"scores of {FLAGS.num_samples} generated clips against {FLAGS.num_samples} "
          f"held-out {scene} clips (seed {FLAGS.held_out_seed}):")
    for line in report.lines():
        print(line)
    if FLAGS.picture:
        from PIL import Image

        from vgan_tf.viz import movies

        picture = movies.frame_strips(source, range(4), every=2, scale=2)
        Image.fromarray(picture).save(FLAGS.picture + ".tmp.png")
        os.replace(FLAGS.picture + ".tmp.png", FLAGS.picture)
        print(f"frame strips: {FLAGS.picture}")
    samples = os.path.join(FLAGS.generator, "samples")
    if os.path.isdir(samples):
        print(f"pictures: {samples}/")


def run():
    entry.run(main)


if __name__ == "__main__":
    run()
