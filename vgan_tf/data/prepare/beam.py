"""The same per-video function as an Apache Beam pipeline (needs the [beam] extra).

    videos (path, id) -> Reshuffle -> prepare_video (one worker per video)
        -> all reports -> finish (train.txt + summary.json, as corpus.finish)
        [shards > 0: -> one job per shard (list entries i, i + n, ...) -> Reshuffle
         -> shard_writer.write_shard (one worker per shard)]

It writes the same strips, the same list and the same summary (apart from the
corpus.RUN_KEYS) as `corpus.prepare_videos` on the same inputs, and prints the same
corpus.problem_lines; both resume from the same markers. `runner` is any Beam runner
name (DirectRunner, DataflowRunner, FlinkRunner, SparkRunner, ...); `beam_args` are
Beam's own pipeline options (`--project=...`, `--region=...`,
`--temp_location=gs://...`; worker processes on this machine: DirectRunner with
`--direct_running_mode=multi_processing --direct_num_workers=N`, see `engine`).
`out_dir` must be a location every worker reaches (gs:// on Dataflow). With `shards`,
the strips of the list also become TFRecord shards
`<out_dir>/shards/strips-%05d-of-%05d.tfrecord`, the shards `vgan-make-shards
--list=<out_dir>/train.txt` writes (byte for byte), each under a temporary name renamed
when complete; shards of an earlier run with another count are removed. When the
running pipeline fails (a worker process killed, ...), `run_pipeline` runs it again, up
to `retries` times (vgan-prepare --beam_retries): the markers of the videos finished
before keep them from being redone. apache_beam is imported only here.
"""
from __future__ import annotations

import functools
import json
import sys
import time

from vgan_tf.data import shard_writer, sources, tfrecord
from vgan_tf.data.prepare import corpus, video
from vgan_tf.data.prepare import options as options_lib

SHARDS_DIR = "shards"
SHARD_PREFIX = "strips"


def _prepare(item, out_dir, options):
    path, video_id = item
    return video.prepare_video(path, video_id, out_dir, options)


def _finish(reports, out_dir, options, start):
    summary = corpus.finish(out_dir, reports, options, time.time() - start)
    return summary["total"]["clips_listed"]


def shard_pattern(out_dir: str, num_shards: int) -> str:
    """The glob pattern of the shards of a run with `num_shards` (vgan-train
    --data_shards)."""
    name = tfrecord.shard_name(SHARD_PREFIX, 0, num_shards).replace("-00000-", "-*-", 1)
    return video.join(out_dir, SHARDS_DIR, name)


def shard_jobs(clips_listed: int, out_dir: str, num_shards: int) -> list:
    """One job per shard of `<out_dir>/train.txt`: (shard path, the full paths of list
    entries i, i + n, ..., those entries, their labels), n = min(num_shards,
    clips_listed), as write_shards splits a list. Removes the shards of an earlier run
    with another count."""
    import tensorflow as tf

    folder = video.join(out_dir, SHARDS_DIR)
    tf.io.gfile.makedirs(folder)
    count = min(num_shards, clips_listed)
    names = [tfrecord.shard_name(SHARD_PREFIX, i, count) for i in range(count)]
    for stale in tf.io.gfile.glob(video.join(folder, f"{SHARD_PREFIX}-*-of-*.tfrecord")):
        if stale.replace("\\", "/").rsplit("/", 1)[-1] not in names:
            tf.io.gfile.remove(stale)
    if not count:
        return []
    entries = sources.ListSource(video.join(out_dir, corpus.LIST_NAME)).read()
    full, labels = entries.resolve(), entries.labels
    return [(video.join(folder, name), full[i::count], list(entries.paths[i::count]),
             list(labels[i::count])) for i, name in enumerate(names)]


def _write_shard(job):
    out_path, paths, rels, labels = job
    return shard_writer.write_shard(paths, rels, labels, out_path).written


def build_pipeline(pipeline, paths, ids, out_dir: str, options, start: float,
                   shards: int = 0):
    """Adds the preparation to a beam.Pipeline (for users who compose their own)."""
    import apache_beam as beam

    reports = (pipeline
               | "Videos" >> beam.Create(list(zip(paths, ids)))
               | "Spread" >> beam.Reshuffle()
               | "Prepare" >> beam.Map(_prepare, out_dir, options))
    listed = (reports
              | "AllReports" >> beam.combiners.ToList()
              | "Finish" >> beam.Map(_finish, out_dir, options, start))
    if not shards:
        return listed
    return (listed
            | "ShardJobs" >> beam.FlatMap(shard_jobs, out_dir, shards)
            | "SpreadShards" >> beam.Reshuffle()
            | "WriteShards" >> beam.Map(_write_shard))


def engine(runner: str, beam_args) -> str:
    """The runner that runs `runner` with `beam_args`: FnApiRunner for a DirectRunner
    given a --direct_running_mode other than in_memory, else `runner`. Beam's
    DirectRunner first tries its Prism runner (a binary it downloads when it can), which
    runs the workers in this process whatever the mode, and falls back to the
    FnApiRunner, the one that honours --direct_running_mode and --direct_num_workers."""
    from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions

    mode = PipelineOptions(list(beam_args)).view_as(DirectOptions).direct_running_mode
    return "FnApiRunner" if runner == "DirectRunner" and mode != "in_memory" else runner


def finished_videos(out_dir: str, ids) -> int:
    """How many of the videos `ids` have their marker in `out_dir` (one listing, not one
    look-up per video, unless out_dir's own name holds a glob character)."""
    import tensorflow as tf

    if any(char in out_dir for char in "*?[]"):
        return sum(tf.io.gfile.exists(video.join(out_dir, i, video.MARKER)) for i in ids)
    found = tf.io.gfile.glob(video.join(out_dir, "*", video.MARKER))
    return len({path.replace("\\", "/").rsplit("/", 2)[-2] for path in found} & set(ids))


def _error_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    line = f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
    return line if len(line) <= 200 else line[:197] + "..."


def _run_attempts(pipeline_options, build, runner: str, out_dir: str, ids,
                  retries: int):
    """Runs the pipeline `build(pipeline)` makes, again after a failure of the running
    pipeline, up to retries + 1 attempts, one stderr line per retry. A failure before
    it runs (making the pipeline: an unknown runner, ...) is raised at once."""
    import apache_beam as beam

    attempts = retries + 1
    for attempt in range(1, attempts + 1):
        built = False
        try:
            with beam.Pipeline(options=pipeline_options) as pipeline:
                build(pipeline)
                built = True
            return
        except Exception as error:
            if not built:
                raise
            if attempt == attempts:
                times = f" {attempts} times" if attempts > 1 else ""
                print(f"vgan_tf.prepare: the {runner} pipeline failed{times}; the videos "
                      f"it finished keep their strips and markers in {out_dir}: rerun "
                      "the same command to resume", file=sys.stderr)
                raise
            print(f"vgan_tf.prepare: the {runner} pipeline failed ({_error_line(error)}); "
                  f"retrying: attempt {attempt + 1} of {attempts}, the "
                  f"{finished_videos(out_dir, ids)} videos already done are kept",
                  file=sys.stderr)


def run_pipeline(inputs, out_dir: str, options, runner: str = "DirectRunner",
                 beam_args=(), shards: int = 0,
                 retries: int = options_lib.BEAM_RETRIES) -> dict:
    """Runs the preparation of every video of `inputs` on Beam -> the summary (read back
    from `<out_dir>/summary.json`). shards > 0: also writes the list's strips as that many
    TFRecord shards (fewer when fewer clips are listed), see the module docstring.

    When the running pipeline fails (a worker killed, ...), it is run again, up to
    `retries` times, each retry announced by one line on stderr: the videos finished
    keep their markers, so an attempt redoes only the others and the summary counts the
    finished ones' clips as `clips_from_earlier_run`. When the last attempt fails, a
    line on stderr says that a rerun resumes, and the error is raised. A mistake found
    before the pipeline runs (the inputs' checks, an unknown runner) is raised at once.
    """
    if retries < 0:
        raise ValueError(f"--beam_retries must be >= 0, got {retries}")
    import tensorflow as tf
    from apache_beam.options.pipeline_options import PipelineOptions

    paths = corpus.checked_videos(inputs, options)  # the local runner's checks
    ids = corpus.video_ids(paths)
    tf.io.gfile.makedirs(out_dir)
    start = time.time()
    pipeline_options = PipelineOptions(list(beam_args), runner=engine(runner, beam_args),
                                       save_main_session=False)
    build = functools.partial(build_pipeline, paths=paths, ids=ids, out_dir=out_dir,
                              options=options, start=start, shards=shards)
    _run_attempts(pipeline_options, build, runner, out_dir, ids, retries)
    with tf.io.gfile.GFile(video.join(out_dir, corpus.SUMMARY_NAME), "r") as f:
        summary = json.loads(f.read())
    for line in corpus.problem_lines(summary):
        print(line, file=sys.stderr)
    count = min(shards, summary["total"]["clips_listed"])
    if count:
        print(f"vgan_tf.prepare: wrote {count} TFRecord shards of the listed strips: "
              f"--data_shards='{shard_pattern(out_dir, count)}'", file=sys.stderr)
    return summary
