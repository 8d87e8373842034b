"""The same per-video function as an Apache Beam pipeline (needs the [beam] extra).

    videos (path, id) -> Reshuffle -> prepare_video (one worker per video)
        -> all reports -> finish (train.txt + summary.json, as corpus.finish)

It writes the same strips, the same list and the same summary (apart from the
corpus.RUN_KEYS) as `corpus.prepare_videos` on the same inputs, and prints the same
corpus.problem_lines; both resume from the same markers. `runner` is any Beam runner
name (DirectRunner, DataflowRunner, FlinkRunner, SparkRunner, ...); `beam_args` are
Beam's own pipeline options (`--project=...`, `--region=...`,
`--temp_location=gs://...`, ...). `out_dir` must be a location every worker reaches
(gs:// on Dataflow). apache_beam is imported only here.
"""
from __future__ import annotations

import json
import sys
import time

from vgan_tf.data.prepare import corpus, filters, video


def _prepare(item, out_dir, options):
    path, video_id = item
    return video.prepare_video(path, video_id, out_dir, options)


def _finish(reports, out_dir, options, start):
    corpus.finish(out_dir, reports, options, time.time() - start)


def build_pipeline(pipeline, paths, ids, out_dir: str, options, start: float):
    """Adds the preparation to a beam.Pipeline (for users who compose their own)."""
    import apache_beam as beam

    reports = (pipeline
               | "Videos" >> beam.Create(list(zip(paths, ids)))
               | "Spread" >> beam.Reshuffle()
               | "Prepare" >> beam.Map(_prepare, out_dir, options))
    return (reports
            | "AllReports" >> beam.combiners.ToList()
            | "Finish" >> beam.Map(_finish, out_dir, options, start))


def run_pipeline(inputs, out_dir: str, options, runner: str = "DirectRunner",
                 beam_args=()) -> dict:
    """Runs the preparation of every video of `inputs` on Beam -> the summary (read back
    from `<out_dir>/summary.json`)."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions
    import tensorflow as tf

    filters.load_scene_filter(options.scene_filter)  # a bad spec fails before any video
    paths = corpus.find_videos(inputs)
    ids = corpus.video_ids(paths)
    tf.io.gfile.makedirs(out_dir)
    start = time.time()
    pipeline_options = PipelineOptions(list(beam_args), runner=runner,
                                       save_main_session=False)
    with beam.Pipeline(options=pipeline_options) as pipeline:
        build_pipeline(pipeline, paths, ids, out_dir, options, start)
    with tf.io.gfile.GFile(video.join(out_dir, corpus.SUMMARY_NAME), "r") as f:
        summary = json.loads(f.read())
    for line in corpus.problem_lines(summary):
        print(line, file=sys.stderr)
    return summary
