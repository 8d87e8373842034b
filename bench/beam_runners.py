"""Benchmark: vgan-prepare's Beam pipeline on two runners with 2 worker processes each.

  direct: Beam's DirectRunner in multi_processing mode, --direct_num_workers=2 (run on
          the FnApiRunner: beam.engine), what docs/data.md recommends on one machine;
  dask:   Beam's DaskRunner (apache_beam.runners.dask) on a dask.distributed
          LocalCluster of 2 worker processes, 1 thread each, started for the run and
          closed after it (what a command pays), one Dask partition per video.

The same small job (--videos shaky synthetic videos of --frames frames at --source,
clips of 8..12 frames) on each, --rounds rounds with the order rotated; per run: wall
time (the cluster's start and close included for dask, its start also shown apart),
and whether the strips, list and summary (sans corpus.RUN_KEYS) are byte-identical to
the local runner's (corpus.prepare_videos, 1 worker). Then, with --kill, one run per
runner in which a worker process is SIGKILLed inside its second video: did the run
finish, did run_pipeline have to retry (its "retrying" lines: the runner itself did not
recover), how many clips were filtered again, are the outputs still identical.
Ratios (dask / direct) come from the same run: the machine may be shared.

dask is not a dependency of vgan_tf: install it apart and put it on the path for this
script only, e.g.
  pip install --target /tmp/dask_site "dask[distributed]"
  PYTHONPATH=/tmp/dask_site:. python bench/beam_runners.py
Without dask (or apache_beam) it prints one line and exits 0.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import statistics
import tempfile
import threading
import time

from absl import app, flags

FLAGS = flags.FLAGS


def _define_flags():
    """Only when run as a script: the workers import this module for its scene filter."""
    flags.DEFINE_integer("videos", 6, "Videos in the job.")
    flags.DEFINE_integer("frames", 40, "Frames per video (40: 3 clips of 12 a video).")
    flags.DEFINE_string("source", "160x120", "Source video size WIDTHxHEIGHT.")
    flags.DEFINE_integer("rounds", 3, "Rounds, each running both runners (order "
                         "rotated).")
    flags.DEFINE_bool("kill", True, "Also one run per runner with a worker SIGKILLed "
                      "mid-video.")


DASK_RUNNER = "apache_beam.runners.dask.dask_runner.DaskRunner"
MULTI_PROCESS = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]
PIDS_FILE = "VGAN_BENCH_PIDS_FILE"
CLIPS_PER_VIDEO = 3


def record_process(frame) -> bool:
    """The scene filter of every run: keeps the clip, appends this process's id to the
    file named by $VGAN_BENCH_PIDS_FILE (which worker filtered which clip)."""
    del frame
    with open(os.environ[PIDS_FILE], "a") as f:
        f.write(f"{os.getpid()}\n")
    return True


def _video(path, width, height, frames, seed):
    """A shaky camera over random discs and boxes (as bench/prepare.py's videos)."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(seed)
    canvas = np.full((height * 2, width * 2, 3), 110, np.uint8)
    for i in range(canvas.shape[0] * canvas.shape[1] // 60):
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        x, y = int(rng.integers(0, width * 2)), int(rng.integers(0, height * 2))
        r = int(rng.integers(2, 10))
        cv2.circle(canvas, (x, y), r, colour, -1) if i % 2 else \
            cv2.rectangle(canvas, (x, y), (x + r, y + r // 2 + 1), colour, -1)
    writer = cv2.VideoWriter(path, cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*"MJPG"), 25,
                             (width, height))
    for k in range(frames):
        dx, dy = rng.uniform(-4, 4, 2)
        m = cv2.getRotationMatrix2D((width + dx, height + dy), rng.uniform(-1.5, 1.5), 1)
        m[0, 2] -= width / 2 + dx
        m[1, 2] -= height / 2 + dy
        view = canvas.copy()
        cv2.rectangle(view, (width // 2 + 2 * k, height // 2 + k),
                      (width // 2 + 2 * k + 14, height // 2 + k + 14), (20, 240, 250), -1)
        writer.write(cv2.warpAffine(view, m, (width, height)))
    writer.release()


def _outputs(out_dir) -> dict:
    """{relative path: bytes} of strips, lists and contact sheet; summary sans RUN_KEYS."""
    from vgan_tf.data.prepare import corpus

    found = {}
    for folder, _, names in os.walk(out_dir):
        for name in names:
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, out_dir)
            if name.endswith((".jpg", ".png", ".txt")):
                found[rel] = open(path, "rb").read()
            elif name == corpus.SUMMARY_NAME:
                found[rel] = corpus.without_run_keys(json.load(open(path)))
    return found


def _close_dask_client():
    """DaskRunner makes a Client it never closes: close it before its cluster."""
    from distributed import default_client
    with contextlib.suppress(ValueError):
        default_client().close()


def _run(runner, folder, out_dir, options) -> dict:
    """One run -> {wall, cluster_start and cluster_close (dask), summary or error,
    stderr}."""
    from vgan_tf.data.prepare import beam

    start, err = time.perf_counter(), io.StringIO()
    result = {"cluster_start": None, "cluster_close": None}
    with contextlib.redirect_stderr(err):
        try:
            if runner == "direct":
                result["summary"] = beam.run_pipeline(folder, out_dir, options,
                                                      "DirectRunner", MULTI_PROCESS)
            else:
                from distributed import LocalCluster
                with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
                    result["cluster_start"] = time.perf_counter() - start
                    args = [f"--dask_client_address={cluster.scheduler_address}",
                            f"--dask_npartitions={FLAGS.videos}"]
                    try:
                        result["summary"] = beam.run_pipeline(folder, out_dir, options,
                                                              DASK_RUNNER, args)
                    finally:
                        _close_dask_client()
                        closing = time.perf_counter()
                result["cluster_close"] = time.perf_counter() - closing
        except Exception as error:  # the kill runs report a failure, not raise it
            result["error"] = f"{type(error).__name__}: {str(error).splitlines()[0]}"
    result.update(wall=time.perf_counter() - start, stderr=err.getvalue())
    return result


def _killer(pids_file, done: threading.Event, killed: list):
    """Kills (SIGKILL) the first worker that has filtered 4 or 5 clips (3 a video: it
    is inside its second video)."""
    while not done.is_set():
        found = open(pids_file).read().split() if os.path.exists(pids_file) else []
        busy = [pid for pid in set(found) if found.count(pid) in (4, 5)]
        if busy:
            os.kill(int(busy[0]), signal.SIGKILL)
            killed.append(int(busy[0]))
            return
        time.sleep(0.005)


def _one(runner, folder, out_dir, options, kill=False) -> dict:
    pids_file = out_dir + ".pids"
    os.environ[PIDS_FILE] = pids_file  # inherited by the workers started for the run
    done, killed = threading.Event(), []
    watcher = threading.Thread(target=_killer, args=(pids_file, done, killed))
    if kill:
        watcher.start()
    try:
        result = _run(runner, folder, out_dir, options)
    finally:
        done.set()
        if kill:
            watcher.join()
    result["killed"] = killed
    result["filtered"] = len(open(pids_file).read().split()) \
        if os.path.exists(pids_file) else 0
    return result


def _same(result, out_dir, reference) -> str:
    if "error" in result:
        return f"failed ({result['error']})"
    return "identical" if _outputs(out_dir) == reference else "DIFFERENT"


def _rounds(folder, tmp, options, reference) -> dict:
    walls = {"direct": [], "dask": []}
    for r in range(FLAGS.rounds):
        order = ("direct", "dask") if r % 2 == 0 else ("dask", "direct")
        for runner in order:
            out_dir = os.path.join(tmp, f"{runner}{r}")
            result = _one(runner, folder, out_dir, options)
            cluster = (f" (cluster start {result['cluster_start']:.2f} s, close "
                       f"{result['cluster_close']:.2f} s)" if runner == "dask" else "")
            busy = result["summary"]["total"]["seconds"] if "summary" in result else 0
            print(f"round {r + 1} {runner}: {result['wall']:.2f} s{cluster}; the videos' "
                  f"own seconds summed {busy:.2f}; outputs "
                  f"{_same(result, out_dir, reference)} to the local runner's",
                  flush=True)
            walls[runner].append(result["wall"])
            shutil.rmtree(out_dir, ignore_errors=True)
    return walls


def _kills(folder, tmp, options, reference):
    for runner in ("direct", "dask"):
        out_dir = os.path.join(tmp, f"{runner}-killed")
        result = _one(runner, folder, out_dir, options, kill=True)
        retries = result["stderr"].count("retrying: attempt")
        if retries:
            recovery = f"no: run_pipeline retried {retries} time(s)"
        else:
            recovery = "failed, no retry left" if "error" in result else "yes"
        again = result["filtered"] - CLIPS_PER_VIDEO * FLAGS.videos
        print(f"killed {runner}: worker {result['killed'] or 'none (the run ended first)'}"
              f" SIGKILLed inside its second video; {result['wall']:.2f} s; the run went "
              f"on by itself: {recovery}; clips filtered again {again}; outputs "
              f"{_same(result, out_dir, reference)} to the local runner's", flush=True)


def main(argv):
    del argv
    try:
        import apache_beam  # noqa: F401
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as error:
        print(f"beam_runners: skipped, {error.name} is not importable (pip install "
              "--target DIR 'dask[distributed]'; PYTHONPATH=DIR:. python "
              "bench/beam_runners.py)")
        return 0
    from vgan_tf.data.prepare import PrepareOptions, prepare_videos

    here = os.path.dirname(os.path.abspath(__file__))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [
        here, os.path.dirname(here), os.environ.get("PYTHONPATH")]))  # workers import
    options = PrepareOptions(min_frames=8, max_frames=12,
                             scene_filter="beam_runners:record_process")
    width, height = (int(v) for v in FLAGS.source.lower().split("x"))
    print(f"load average at the start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          f"{FLAGS.videos} videos of {FLAGS.frames} frames at {width}x{height}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = os.path.join(tmp, "videos")
        os.makedirs(folder)
        for i in range(FLAGS.videos):
            _video(os.path.join(folder, f"v{i}.avi"), width, height, FLAGS.frames, i)
        os.environ[PIDS_FILE] = os.path.join(tmp, "local.pids")
        prepare_videos(folder, os.path.join(tmp, "local"), options, 1, progress=False)
        reference = _outputs(os.path.join(tmp, "local"))
        walls = _rounds(folder, tmp, options, reference)
        direct, dask_wall = (statistics.median(walls[k]) for k in ("direct", "dask"))
        print(f"median wall: direct {direct:.2f} s, dask {dask_wall:.2f} s; dask / direct "
              f"{dask_wall / direct:.2f}x (load average {os.getloadavg()[0]:.1f})",
              flush=True)
        if FLAGS.kill:
            _kills(folder, tmp, options, reference)
    return 0


if __name__ == "__main__":
    _define_flags()
    app.run(main)
