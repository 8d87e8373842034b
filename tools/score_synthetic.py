"""Scores a generator trained on the synthetic scenes against held-out synthetic clips.

  python -m tools.score_synthetic --generator=demo_out
  python -m tools.score_synthetic --generator=runs/simple/generator.keras --scene=simple

--generator is a training directory, a .keras file or an exported SavedModel folder; the
scene family is the training run's (its config.json) unless --scene says otherwise. A
future predictor's training directory is scored on videos predicted from the held-out
clips' first frames (vgan_tf/metrics/future_scores.py: first_frame_l1, layout_l1, motion
beside fvd, kvd, background_std, count_mean); with --data_list it is scored on the
first --num_samples strips of that list instead (real footage: a prepared video's
held_out.txt); --picture applies to generators only.
Prints one `name: value` line per score (fvd, kvd, background_std, count_mean and, for a
generator with a mask, mask_movers, mask_background, mask_contrast; see
vgan_tf/metrics/scene_scores.py; fvd and kvd with the real-vs-real floor beside them:
the distance between the held-out clips and as many other real clips, what a perfect
generator would still score; --nofloor skips it) and where the run's pictures are; --picture=PNG also writes
frame strips of four samples with their masks. `make demo` ends with it. Every flag is a
setting of vgan_tf.metrics.scene_scores.ScoreConfig.
"""
import os

from absl import flags

from vgan_tf import config_flags
from vgan_tf.metrics import future_scores, scene_scores

from . import entry

FLAGS = flags.FLAGS
config_flags.define_flags(scene_scores.ScoreConfig)
flags.mark_flag_as_required("generator")


def main(argv):
    del argv
    from vgan_tf.metrics import model_sources

    config = config_flags.config_from_flags(scene_scores.ScoreConfig)
    if future_scores.is_predictor_run(config.generator):
        return score_predictor(config)
    try:
        source = model_sources.load_video_source(config.generator)
    except (FileNotFoundError, ValueError) as error:
        raise entry.UsageError(f"--generator: {error}")
    options = scene_scores.scene_options(config)
    report = scene_scores.score_generator(source, options)
    print(f"scores of {options.num_samples} generated clips against {options.num_samples} "
          f"held-out {options.scene} clips (seed {options.held_out_seed}):")
    for line in report.lines():
        print(line)
    if config.picture:
        from PIL import Image

        from vgan_tf.viz import movies

        picture = movies.frame_strips(source, range(4), every=2, scale=2)
        Image.fromarray(picture).save(config.picture + ".tmp.png")
        os.replace(config.picture + ".tmp.png", config.picture)
        print(f"frame strips: {config.picture}")
    samples = os.path.join(config.generator, "samples")
    if os.path.isdir(samples):
        print(f"pictures: {samples}/")


def score_predictor(config) -> None:
    """A future predictor's run: its videos from held-out first frames (future_scores)."""
    from vgan_tf.export import future_files
    from vgan_tf.metrics import fvd

    runner = future_files.load_predictor(config.generator)
    if config.data_list:
        clips = future_scores.clips_of_list(config.data_list, config.num_samples,
                                             runner.size)
        report = future_scores.score_on_clips(runner, clips, features=fvd.ClipFeatures())
        print(f"scores of {len(clips)} videos predicted from the first frames of the "
              f"first {len(clips)} clips of {config.data_list}:")
        for line in scene_scores.SceneReport(report.values, report.real).lines():
            print(line)
        return
    scene = scene_scores.scene_options(config)
    options = future_scores.FutureOptions(scene.scene, scene.num_samples, scene.held_out_seed,
                                          cache_dir=scene.cache_dir,
                                          floor_seed=scene.floor_seed)
    report = future_scores.score_predictor(runner, options, fvd.ClipFeatures())
    print(f"scores of {options.num_samples} videos predicted from the first frames of as "
          f"many held-out {options.scene} clips (seed {options.held_out_seed}):")
    for line in report.lines():
        print(line)


def run():
    entry.run(main)


if __name__ == "__main__":
    run()
