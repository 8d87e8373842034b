"""Benchmark: frames/s of the full clip pipeline against raw parallel JPEG decoding.

Writes synthetic 128x128 strips of 32 frames, then, in the same run and alternating, times
  raw:  read_file + tf.io.decode_jpeg of the same files, num_parallel_calls=AUTOTUNE
  full: video_dataset (checks, decode, 32 frames resized to 64x64, [-1, 1], batched),
        with the default resize='dct' (decoder-side scaling) and with the original's
        exact resize='bilinear'; and (--full_checks) the default with
        ReadOptions(full_checks=True), whose cost is printed against the default
and prints the rates and the ratios full/raw (target >= 0.9). With --before=REV (default
HEAD) the same pipelines as they were at git revision REV (vgan_tf/data/checks.py,
strips.py, pipeline.py, control.py and forensics.py of `git show REV:...`, those it has,
imported from a temp dir) are timed in the
same rounds, and their ratios new/old printed: the cost of a change, side by side. It also
prints the list-time file-type check's cost (lists.not_regular_files: one os.stat per
strip). Each figure is the best of
--rounds (and the median, the fairer figure on a shared machine); frames counted are
decoded strip frames (32 per clip for both). It also prints the process CPU time per frame
of each (all threads): on a machine shared with other jobs the wall-clock rates swing by
2x from round to round, the CPU cost per frame much less, and with every core busy the
rate ratio is the inverse of the CPU cost ratio.

  python bench/data_pipeline.py --clips=256 --rounds=3 --epochs=5
"""
from __future__ import annotations

import importlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_integer("clips", 256, "Strips to write and read per round.")
flags.DEFINE_integer("frames", 32, "Frames per strip.")
flags.DEFINE_integer("strip_size", 128, "Strip frame size in pixels.")
flags.DEFINE_integer("size", 64, "Output frame size.")
flags.DEFINE_integer("batch_size", 16, "Batch size of the full pipeline.")
flags.DEFINE_integer("rounds", 3, "Timed rounds of each (best is reported).")
flags.DEFINE_integer("epochs", 5, "Passes over the strips per timed round.")
flags.DEFINE_string("data_dir", None, "Where to write the strips (default: a temp dir).")
flags.DEFINE_bool("full_checks", True, "Also time the default pipeline with "
                  "ReadOptions(full_checks=True).")
flags.DEFINE_string("before", "HEAD", "Git revision whose data pipeline is timed beside the "
                    "working tree's ('' to skip).")

_OLD_MODULES = ("checks", "strips", "pipeline", "control", "forensics")


def _import_old(text, present):
    """`text` with each `from vgan_tf.data import a, b` line split: the modules of
    `present` (that revision's own) from vgan_old_data, the rest from today's package."""
    def rewrite(match):
        names = [n.strip() for n in match.group(1).split(",")]
        old = [n for n in names if n in present]
        new = [n for n in names if n not in present]
        lines = ([f"from vgan_old_data import {', '.join(old)}"] if old else []) + (
            [f"from vgan_tf.data import {', '.join(new)}"] if new else [])
        return "\n".join(lines)
    return re.sub(r"^from vgan_tf\.data import ([\w, ]+)$", rewrite, text, flags=re.M)


def _old_pipeline(revision):
    """vgan_tf.data.pipeline as it was at `revision` (with that revision's checks, strips
    and control; the other modules are today's), imported from a temp dir as
    vgan_old_data."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    package = os.path.join(tempfile.mkdtemp(prefix="vgan_old_"), "vgan_old_data")
    os.makedirs(package)
    open(os.path.join(package, "__init__.py"), "w").close()
    texts = {}
    for name in _OLD_MODULES:
        shown = subprocess.run(["git", "show", f"{revision}:vgan_tf/data/{name}.py"],
                               cwd=root, capture_output=True, text=True)
        if shown.returncode == 0:  # control.py, forensics.py are newer than some revisions
            texts[name] = shown.stdout
    for name, text in texts.items():
        with open(os.path.join(package, f"{name}.py"), "w") as f:
            f.write(_import_old(text, set(texts)))
    sys.path.insert(0, os.path.dirname(package))
    return importlib.import_module("vgan_old_data.pipeline")


def _rate(dataset, frames_per_element):
    """(frames/s wall clock, CPU microseconds per frame) of one pass over `dataset`."""
    start, cpu = time.perf_counter(), time.process_time()
    frames = 0
    for element in dataset:
        frames += int(element.shape[0]) * frames_per_element
    return (frames / (time.perf_counter() - start),
            (time.process_time() - cpu) / frames * 1e6)


def main(argv):
    del argv
    import tensorflow as tf

    from vgan_tf.data import (ClipOptions, ListSource, ReadOptions, lists, synthetic,
                              video_dataset)
    old = _old_pipeline(FLAGS.before) if FLAGS.before else None

    data_dir = FLAGS.data_dir or tempfile.mkdtemp(prefix="vgan_bench_")
    list_file = os.path.join(data_dir, synthetic.LIST_NAME)
    if not tf.io.gfile.exists(list_file):
        synthetic.write_synthetic_dataset(data_dir, FLAGS.clips, frames=FLAGS.frames,
                                          size=FLAGS.strip_size)
    source = ListSource(list_file, data_dir)
    paths = source.read().resolve(data_dir)
    autotune = tf.data.AUTOTUNE

    def raw():
        ds = tf.data.Dataset.from_tensor_slices(paths).repeat(FLAGS.epochs)
        ds = ds.map(lambda p: tf.io.decode_jpeg(tf.io.read_file(p), channels=3),
                    num_parallel_calls=autotune, deterministic=False)
        # One strip per element: count its frames.
        return ds.map(lambda image: tf.shape(image)[:1]).prefetch(autotune)

    def full(resize, make_dataset=video_dataset, **read):
        batches = FLAGS.epochs * len(paths) // FLAGS.batch_size
        clip = ClipOptions(FLAGS.frames, FLAGS.size, resize=resize)
        return lambda: make_dataset(source, clip, FLAGS.batch_size,
                                    ReadOptions(shuffle=True, **read)).take(batches)

    makers = {"raw parallel decode_jpeg": raw,
              "full pipeline (default, dct)": full("dct"),
              "full pipeline, resize=bilinear": full("bilinear")}
    if FLAGS.full_checks:
        makers["full pipeline, full_checks"] = full("dct", full_checks=True)
    if old is not None:
        makers[f"BEFORE ({FLAGS.before}), dct"] = full("dct", old.video_dataset)
        makers[f"BEFORE ({FLAGS.before}), bilinear"] = full("bilinear", old.video_dataset)
    for make in makers.values():  # warm-up: graph building, page cache
        for _ in make().take(20):
            pass
    rates = {name: [] for name in makers}
    for _ in range(FLAGS.rounds):
        for name, make in makers.items():
            rates[name].append(_rate(make(), FLAGS.frames))
    print(f"strips: {len(paths)} x {FLAGS.frames} frames of {FLAGS.strip_size}px -> "
          f"{FLAGS.size}px, batch {FLAGS.batch_size}, {os.cpu_count()} CPUs")
    best = {name: max(r[0] for r in runs) for name, runs in rates.items()}
    median = {name: statistics.median(r[0] for r in runs) for name, runs in rates.items()}
    cpu = {name: min(r[1] for r in runs) for name, runs in rates.items()}
    for name, runs in rates.items():
        print(f"{name:32s} {best[name]:9.0f} frames/s best, {median[name]:9.0f} median, "
              f"{cpu[name]:6.1f} CPU us/frame  (rounds: "
              f"{', '.join(f'{r[0]:.0f}' for r in runs)})")
    raw = "raw parallel decode_jpeg"
    for name in list(makers)[1:]:
        print(f"ratio {name} / raw: {best[name] / best[raw]:.3f} best, "
              f"{median[name] / median[raw]:.3f} median, {cpu[raw] / cpu[name]:.3f} by CPU "
              f"time (target >= 0.9)")
    if old is not None:
        for resize, new in (("dct", "full pipeline (default, dct)"),
                            ("bilinear", "full pipeline, resize=bilinear")):
            before = f"BEFORE ({FLAGS.before}), {resize}"
            print(f"after / before, {resize}: CPU us/frame {cpu[before]:.1f} -> {cpu[new]:.1f} "
                  f"({cpu[new] / cpu[before]:.3f}x), median frames/s {median[before]:.0f} -> "
                  f"{median[new]:.0f} ({median[new] / median[before]:.3f}x)")
    if FLAGS.full_checks:
        default, checked = "full pipeline (default, dct)", "full pipeline, full_checks"
        print(f"full_checks / default: CPU us/frame {cpu[default]:.1f} -> {cpu[checked]:.1f} "
              f"({cpu[checked] / cpu[default]:.3f}x), median frames/s {median[default]:.0f} "
              f"-> {median[checked]:.0f} ({median[checked] / median[default]:.3f}x)")
    start = time.perf_counter()
    for _ in range(5):
        lists.not_regular_files(paths)
    print(f"list-time file-type check (os.stat per strip): "
          f"{(time.perf_counter() - start) / 5 / len(paths) * 1e6:.2f} us per strip, once per "
          f"pipeline made")
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    app.run(main)
