"""Benchmark: how fast the built-in synthetic scenes are written, against JPEG encoding alone.

In the same run and alternating, times per round
  render: synthetic.render_clip of every clip (NumPy: background, sprites, ground truth)
  encode: strips.encode_strip of the same, already rendered clips (OpenCV's JPEG encoder)
  write:  synthetic.write_synthetic_dataset (render + encode + files + list + ground truth)
and prints clips/s (best and median round) and the ratio write / encode: how many times
slower writing a synthetic set is than encoding its strips, a figure that moves much less
with the machine's load than either rate.

  python bench/synthetic_data.py --clips=100 --rounds=3
"""
from __future__ import annotations

import os
import statistics
import tempfile
import time

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_integer("clips", 100, "Clips per round.")
flags.DEFINE_integer("frames", 32, "Frames per clip.")
flags.DEFINE_integer("size", 64, "Frame size in pixels.")
flags.DEFINE_integer("rounds", 3, "Timed rounds of each.")


def main(argv):
    del argv
    from vgan_tf.data import strips, synthetic

    clips, frames, size = FLAGS.clips, FLAGS.frames, FLAGS.size
    rendered = [synthetic.render_clip(0, i, frames, size)[0] for i in range(clips)]  # warm-up

    def render():
        for i in range(clips):
            synthetic.render_clip(0, i, frames, size)

    def encode():
        for video in rendered:
            strips.encode_strip(video)

    def write():
        with tempfile.TemporaryDirectory(prefix="vgan_synthetic_bench_") as out:
            synthetic.write_synthetic_dataset(os.path.join(out, "set"), clips, frames, size)

    jobs = {"render": render, "encode": encode, "write": write}
    rates = {name: [] for name in jobs}
    for _ in range(FLAGS.rounds):
        for name, job in jobs.items():
            start = time.perf_counter()
            job()
            rates[name].append(clips / (time.perf_counter() - start))
    print(f"{clips} clips of {frames} frames of {size}x{size}, {os.cpu_count()} CPUs, "
          f"{FLAGS.rounds} rounds")
    for name, runs in rates.items():
        print(f"{name:7s} {max(runs):8.1f} clips/s best, {statistics.median(runs):8.1f} "
              f"median  (rounds: {', '.join(f'{r:.1f}' for r in runs)})")
    ratios = [e / w for e, w in zip(rates["encode"], rates["write"])]
    print(f"write takes {statistics.median(ratios):.2f}x the time of encoding alone "
          f"(median of per-round ratios; rounds: {', '.join(f'{r:.2f}' for r in ratios)}); "
          f"{clips} clips written in {clips / statistics.median(rates['write']):.2f} s "
          f"(median)")


if __name__ == "__main__":
    app.run(main)
