"""Raw videos -> stabilised JPEG strips, a training list and a summary.

  python -m tools.prepare_videos --input=videos/ --out_dir=data/golf --workers=8
  vgan-train --data_list=data/golf/train.txt ...
  python -m tools.prepare_videos --input='gs://b/videos/*.mp4' --out_dir=gs://b/strips \
      --runner=DataflowRunner --beam_options='--project=P --region=R \
      --temp_location=gs://b/tmp'
  python -m tools.prepare_videos --input=videos/ --out_dir=data/golf --shards=16 \
      --runner=DirectRunner --beam_options='--direct_running_mode=multi_processing \
      --direct_num_workers=8'                   # Beam's worker processes, one machine

Writes <out_dir>/<video id>/%04d.jpg, <out_dir>/train.txt, contact_sheet.png and
summary.json; --split_by=video adds test.txt, --hold_out_tail held_out.txt,
--labels_from=folder a labelled twin of each list and classes.txt (UCF101's layout:
--input=UCF-101/ --labels_from=folder --split_by=video); with --shards=N and a Beam
runner, also <out_dir>/shards/strips-*-of-N.tfrecord. Rerunning skips finished videos.
Every flag is a setting of vgan_tf.data.prepare.PrepareRun: --input, --out_dir,
--workers, --runner, --beam_options, --progress, --shards and --beam_retries its own,
the others those of its PrepareOptions (their help, default and bounds come from there;
the defaults are the original's); docs/data.md has the details.

Exit status: 0 when every video was prepared whole; 3 (SOME_VIDEOS_FAILED_EXIT) when
the run finished but some videos failed to read or were truncated (each is named on
stderr and in summary.json); 2 for a mistake in the flags (one line); 130 on Ctrl-C; 1
when a Beam pipeline still fails after --beam_retries reruns (default 2; each announced
by a line on stderr, finished videos kept): its error, after a line saying that a rerun
resumes.
"""
from absl import flags

from vgan_tf import config_flags
from vgan_tf.data.prepare import options as options_lib

from . import entry

SOME_VIDEOS_FAILED_EXIT = 3

FLAGS = flags.FLAGS
config_flags.define_flags(options_lib.PrepareRun)


def main(argv):
    del argv
    from vgan_tf.data.prepare import corpus

    settings = config_flags.config_from_flags(options_lib.PrepareRun)
    if settings.runner == "local":
        summary = corpus.prepare_videos(settings.input, settings.out_dir, settings.options,
                                        settings.workers, settings.progress)
    else:
        from vgan_tf.data.prepare import beam
        try:
            import apache_beam  # noqa: F401
        except ImportError:
            raise entry.UsageError(f"--runner={settings.runner} needs apache-beam: pip "
                                   "install 'vgan_tf[beam]'") from None
        summary = beam.run_pipeline(settings.input, settings.out_dir, settings.options,
                                    settings.runner, settings.beam_args, settings.shards,
                                    settings.beam_retries)
    print(corpus.outcome_line(summary, settings.out_dir))
    total = summary["total"]
    if total["videos_failed"] or total["videos_truncated"]:
        return SOME_VIDEOS_FAILED_EXIT
    return 0


def run():
    entry.run(main)


if __name__ == "__main__":
    run()
