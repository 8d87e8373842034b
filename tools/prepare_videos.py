"""Raw videos -> stabilised JPEG strips, a training list and a summary.

  python -m tools.prepare_videos --input=videos/ --out_dir=data/golf --workers=8
  vgan-train --data_list=data/golf/train.txt ...
  python -m tools.prepare_videos --input='gs://b/videos/*.mp4' --out_dir=gs://b/strips \
      --runner=DataflowRunner --beam_options='--project=P --region=R \
      --temp_location=gs://b/tmp'

Writes <out_dir>/<video id>/%04d.jpg, <out_dir>/train.txt and <out_dir>/summary.json.
Rerunning skips finished videos. The defaults are the original's
(vgan_tf/data/prepare/options.py); docs/data.md has the details.
"""
import shlex

from absl import flags

from . import entry

FLAGS = flags.FLAGS
flags.DEFINE_multi_string("input", None, "A folder (searched recursively), a glob, a list "
                          "file (.txt/.lst/.list, one video per line) or a video "
                          "(repeatable).")
flags.DEFINE_string("out_dir", None, "Output folder (local or gs://; created).")
flags.DEFINE_integer("workers", None, "Processes for the local runner (default: cores).",
                     lower_bound=1)
flags.DEFINE_string("runner", "local", "'local' (a process pool) or a Beam runner: "
                    "DirectRunner, DataflowRunner, FlinkRunner, SparkRunner, ...")
flags.DEFINE_string("beam_options", "", "Beam's own pipeline options, one string "
                    "(e.g. '--project=P --region=R').")
flags.DEFINE_boolean("progress", True, "Progress bar on stderr (local runner).")
# The options of PrepareOptions, with its defaults (tests/data/prepare/test_tool.py).
flags.DEFINE_integer("size", 128, "Frame size of the strips (short side resized, centre "
                     "crop).", lower_bound=1)
flags.DEFINE_integer("min_frames", 16, "Shortest clip kept.", lower_bound=2)
flags.DEFINE_integer("max_frames", 34, "A clip ends at this many frames.", lower_bound=2)
flags.DEFINE_integer("skip_frames", 2, "Frames skipped at the start of a video.",
                     lower_bound=0)
flags.DEFINE_integer("clips_per_video", 100, "Clips attempted per video.", lower_bound=1)
flags.DEFINE_float("fps", None, "Take frames at this rate, by time stamp (default: every "
                   "frame).")
flags.DEFINE_enum("reference", "chain", ["chain", "first"], "Match to the previous frame "
                  "and chain (original) or to the clip's first frame.")
flags.DEFINE_enum("index", "linear", ["linear", "kdtree"], "FLANN index: linear (exact, "
                  "what the original ran) or kdtree (--trees, --checks).")
flags.DEFINE_integer("trees", 5, "KD-trees (--index=kdtree).", lower_bound=1)
flags.DEFINE_integer("checks", 50, "FLANN checks (--index=kdtree).", lower_bound=1)
flags.DEFINE_float("ratio", 0.7, "Lowe's ratio test.")
flags.DEFINE_integer("min_matches", 10, "Fewest good matches per frame.", lower_bound=1)
flags.DEFINE_float("ransac_threshold", 5.0, "findHomography's RANSAC threshold (px).")
flags.DEFINE_integer("jpeg_quality", 95, "JPEG quality of the strips.", lower_bound=1,
                     upper_bound=100)
flags.DEFINE_float("max_camera_motion", None, "Drop clips whose mean corner displacement "
                   "per frame (output px) is above this (default: off).")
flags.DEFINE_float("min_foreground_motion", None, "Drop clips whose mean absolute "
                   "difference between stabilised frames (0..255) is below this "
                   "(default: off).")
flags.DEFINE_string("scene_filter", None, "'module:function' (given the middle frame, "
                    "uint8 RGB; truthy keeps) or a SavedModel directory (keep score > "
                    "0.5).")
flags.mark_flags_as_required(["input", "out_dir"])

OPTION_FLAGS = ("size", "min_frames", "max_frames", "skip_frames", "clips_per_video", "fps",
                "reference", "index", "trees", "checks", "ratio", "min_matches",
                "ransac_threshold", "jpeg_quality", "max_camera_motion",
                "min_foreground_motion", "scene_filter")


def main(argv):
    del argv
    from vgan_tf.data import prepare

    options = prepare.PrepareOptions(**{name: FLAGS[name].value for name in OPTION_FLAGS})
    if FLAGS.runner == "local":
        summary = prepare.prepare_videos(FLAGS.input, FLAGS.out_dir, options,
                                         FLAGS.workers, FLAGS.progress)
    else:
        from vgan_tf.data.prepare import beam
        try:
            import apache_beam  # noqa: F401
        except ImportError:
            raise entry.UsageError(f"--runner={FLAGS.runner} needs apache-beam: pip "
                                   "install 'vgan_tf[beam]'") from None
        summary = beam.run_pipeline(FLAGS.input, FLAGS.out_dir, options, FLAGS.runner,
                                    shlex.split(FLAGS.beam_options))
    total = summary["total"]
    dropped = {k: v for k, v in total["dropped"].items() if v}
    print(f"wrote {total['clips_written']} clips from {total['videos_prepared']} videos "
          f"to {FLAGS.out_dir} (list {summary['list']}); dropped "
          f"{total['clips_dropped']} {dropped or ''}; failed videos "
          f"{total['videos_failed']}")


def run():
    entry.run(main)


if __name__ == "__main__":
    run()
