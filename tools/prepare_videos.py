"""Raw videos -> stabilised JPEG strips, a training list and a summary.

  python -m tools.prepare_videos --input=videos/ --out_dir=data/golf --workers=8
  vgan-train --data_list=data/golf/train.txt ...
  python -m tools.prepare_videos --input='gs://b/videos/*.mp4' --out_dir=gs://b/strips \
      --runner=DataflowRunner --beam_options='--project=P --region=R \
      --temp_location=gs://b/tmp'

Writes <out_dir>/<video id>/%04d.jpg, <out_dir>/train.txt and <out_dir>/summary.json.
Rerunning skips finished videos. Every flag but --input, --out_dir, --workers, --runner,
--beam_options and --progress is a field of vgan_tf.data.prepare.PrepareOptions (its
help, default and bounds come from there; the defaults are the original's);
docs/data.md has the details.

Exit status: 0 when every video was prepared whole; 3 (SOME_VIDEOS_FAILED_EXIT) when
the run finished but some videos failed to read or were truncated (each is named on
stderr and in summary.json); 2 for a mistake in the flags (one line); 130 on Ctrl-C.
"""
import shlex

from absl import flags

from vgan_tf import config_flags
from vgan_tf.data.prepare import options as options_lib

from . import entry

SOME_VIDEOS_FAILED_EXIT = 3

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
flags.DEFINE_boolean("progress", True, "Progress display on stderr (local runner).")
config_flags.define_flags(options_lib.PrepareOptions)
flags.mark_flags_as_required(["input", "out_dir"])


def main(argv):
    del argv
    from vgan_tf.data.prepare import corpus

    options = config_flags.config_from_flags(options_lib.PrepareOptions)
    if FLAGS.runner == "local":
        summary = corpus.prepare_videos(FLAGS.input, FLAGS.out_dir, options,
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
    print(corpus.outcome_line(summary, FLAGS.out_dir))
    total = summary["total"]
    if total["videos_failed"] or total["videos_truncated"]:
        return SOME_VIDEOS_FAILED_EXIT
    return 0


def run():
    entry.run(main)


if __name__ == "__main__":
    run()
