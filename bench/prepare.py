"""Benchmark: video preparation (SIFT + FLANN + RANSAC stabilisation) per core and per pool.

Makes shaky test videos (a textured scene, a known camera shake, MJPG), then
  per core: the per-video function in this process with OpenCV on one thread, on a
            video whose short side is already 128 and on one at --source size; prints
            frames/s (wall) and process CPU ms per frame;
  speed-up: --videos videos at --source size with 1 worker and with --workers; with
            --runner=local corpus.prepare_videos (1 worker: this process, one OpenCV
            thread; more: spawned processes), with --runner=beam the Beam pipeline on
            DirectRunner's multi_processing mode (--direct_num_workers worker
            processes, 1 included); wall time with the workers' start-up, the ratio,
            and the videos' own seconds summed (summary.json, start-up excluded).

  python bench/prepare.py --source=640x480 --frames=60 --videos=4 --workers=2
  PYTHONPATH=. python bench/prepare.py --runner=beam --source=640x480 --frames=40 \
      --videos=4 --workers=2        # Beam's workers import vgan_tf: run from the repo
"""
from __future__ import annotations

import os
import tempfile
import time

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("source", "640x480", "Source video size WIDTHxHEIGHT.")
flags.DEFINE_integer("frames", 60, "Frames per video.")
flags.DEFINE_integer("videos", 4, "Videos for the speed-up run.")
flags.DEFINE_integer("workers", os.cpu_count() or 1, "Processes for the speed-up run.")
flags.DEFINE_enum("runner", "local", ["local", "beam"], "Speed-up run: the local process "
                  "pool or Beam's DirectRunner in multi_processing mode.")


def _video(path, width, height, frames, seed):
    """A shaky camera over random discs and boxes (as tests/data/prepare/videos.py)."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(seed)
    canvas = np.full((height * 2, width * 2, 3), 110, np.uint8)
    scale = max(1, min(width, height) // 120)
    for i in range(canvas.shape[0] * canvas.shape[1] // (60 * scale * scale)):
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        x, y = int(rng.integers(0, width * 2)), int(rng.integers(0, height * 2))
        r = int(rng.integers(2, 10)) * scale
        cv2.circle(canvas, (x, y), r, colour, -1) if i % 2 else \
            cv2.rectangle(canvas, (x, y), (x + r, y + r // 2 + 1), colour, -1)
    writer = cv2.VideoWriter(path, cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*"MJPG"), 25,
                             (width, height))
    for _ in range(frames):
        dx, dy = rng.uniform(-4, 4, 2) * scale
        angle = rng.uniform(-1.5, 1.5)
        m = cv2.getRotationMatrix2D((width + dx, height + dy), angle, 1.0)
        m[0, 2] -= width / 2 + dx
        m[1, 2] -= height / 2 + dy
        writer.write(cv2.warpAffine(canvas, m, (width, height)))
    writer.release()
    return path


def _per_core(path, options):
    from vgan_tf.data.prepare import clips, reader

    cpu, wall = time.process_time(), time.perf_counter()
    with reader.FrameReader(path, options.skip_frames) as frames:
        kept = sum(c.reason is None for c in clips.cut_clips(frames, options))
        count = frames.frames_read
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return count, kept, wall, cpu


def _run(folder, out_dir, options, workers):
    """One speed-up run -> its summary."""
    from vgan_tf.data.prepare import beam, prepare_videos

    if FLAGS.runner == "local":
        return prepare_videos(folder, out_dir, options, workers, progress=False)
    return beam.run_pipeline(folder, out_dir, options, "DirectRunner",
                             ["--direct_running_mode=multi_processing",
                              f"--direct_num_workers={workers}"])


def main(argv):
    del argv
    import cv2

    from vgan_tf.data.prepare import PrepareOptions

    width, height = (int(v) for v in FLAGS.source.lower().split("x"))
    small = (round(width * 128 / min(width, height)), 128)
    options = PrepareOptions()
    cv2.setNumThreads(1)
    print(f"load average at the start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        for label, (w, h) in (("128", small), ("source", (width, height))):
            path = _video(os.path.join(tmp, f"{label}.avi"), w, h, FLAGS.frames, 0)
            _per_core(path, options)  # warm-up
            count, kept, wall, cpu = _per_core(path, options)
            print(f"per core, {label} ({w}x{h}): {count / wall:.1f} frames/s, "
                  f"{1000 * cpu / count:.2f} CPU ms/frame ({count} frames, {kept} clips)")
        folder = os.path.join(tmp, "videos")
        os.makedirs(folder)
        for i in range(FLAGS.videos):
            _video(os.path.join(folder, f"v{i}.avi"), width, height, FLAGS.frames, i + 1)
        total = FLAGS.videos * FLAGS.frames
        times = {}
        for workers in (1, FLAGS.workers):
            start = time.perf_counter()
            summary = _run(folder, os.path.join(tmp, f"out{workers}"), options, workers)
            times[workers] = time.perf_counter() - start
            busy = summary["total"]["seconds"]
            print(f"{FLAGS.runner}, {workers} worker(s), {FLAGS.videos} videos at "
                  f"{width}x{height}: {times[workers]:.2f} s, "
                  f"{total / times[workers]:.1f} frames/s; the videos' own seconds "
                  f"summed {busy:.2f} ({total / busy:.1f} frames/s a worker)")
        print(f"speed-up 1 -> {FLAGS.workers} workers: {times[1] / times[FLAGS.workers]:.2f}x "
              f"(on {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
              "spawned workers' start-up included)")


if __name__ == "__main__":
    app.run(main)
