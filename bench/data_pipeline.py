"""Benchmark: frames/s of the full clip pipeline against raw parallel JPEG decoding.

Writes synthetic 128x128 strips of 32 frames, then, in the same run and alternating, times
  raw:  read_file + tf.io.decode_jpeg of the same files, num_parallel_calls=AUTOTUNE
  full: video_dataset (checks, decode, 32 frames resized to 64x64, [-1, 1], batched),
        with resize='dct' (decoder-side scaling) and the original's exact
        resize='bilinear', and (--verdicts) the full checks (ReadOptions.full_checks, the
        default) every way they are paid:
          light:        full_checks=False (the default before the verdict cache)
          full, every:  full_checks=True, verdicts=False (the full checks on every read;
                        one epoch of a finite stream per pass, as the first epoch)
          first epoch:  the default with an empty verdict directory (checks + recording;
                        one epoch of a finite stream, its verdicts written at its end)
          later epochs: the default, epochs after the first of one pipeline (the verdicts
                        it learned; the first epoch runs untimed before)
          later runs:   the default with every verdict on disk (read when the pipeline is
                        made)
and prints the rates and the ratios to raw (target >= 0.9), later epochs / light and first
epoch / full-every. With --before=REV (default HEAD) the same pipelines as they were at
git revision REV (vgan_tf/data/checks.py, strips.py, pipeline.py, control.py and
forensics.py of `git show REV:...`, those it has, imported from a temp dir) are timed in
the same rounds, and their ratios new/old printed: the cost of a change, side by side. It
also prints the list-time file-type check's cost (lists.not_regular_files: one os.stat per
strip). Each figure is the best of --rounds (and the median, the fairer figure on a shared
machine); frames counted are decoded strip frames (32 per clip for both). It also prints
the process CPU time per frame of each (all threads). Round r times the variants in
the order rotated by r (each takes every position when --rounds >= the number of
variants), so position effects average out: on a machine shared with other jobs
the wall-clock rates swing by 2x from round to round, the CPU cost per frame much less, and
with every core busy the rate ratio is the inverse of the CPU cost ratio.

  python bench/data_pipeline.py --clips=128 --rounds=3 --epochs=2 --before=84c7d24
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
flags.DEFINE_bool("verdicts", True, "Also time the full checks every way they are paid "
                  "(light, every read, first epoch, later epochs, later runs).")
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


def _rate(dataset, frames_per_element, untimed: int = 0):
    """(frames/s wall clock, CPU microseconds per frame) of one pass over `dataset`, after
    its first `untimed` elements."""
    iterator = iter(dataset)
    for _ in range(untimed):
        next(iterator)
    start, cpu = time.perf_counter(), time.process_time()
    frames = 0
    for element in iterator:
        frames += int(element.shape[0]) * frames_per_element
    return (frames / (time.perf_counter() - start),
            (time.process_time() - cpu) / frames * 1e6)


LIGHT = "light checks (full_checks=False)"
BILINEAR = "light checks, resize=bilinear"
EVERY = "full checks, every read"
FIRST = "default: first epoch"
LATER_EPOCHS = "default: later epochs, one run"
LATER_RUNS = "default: later runs"


def _compare(title, cpu, median, before, after):
    print(f"{title}: CPU us/frame {cpu[before]:.1f} -> {cpu[after]:.1f} "
          f"({cpu[after] / cpu[before]:.3f}x), median frames/s {median[before]:.0f} -> "
          f"{median[after]:.0f} ({median[after] / median[before]:.3f}x)")


def main(argv):
    del argv
    import tensorflow as tf

    from vgan_tf.data import (ClipOptions, ListSource, ReadOptions, lists, synthetic,
                              video_dataset)
    old = _old_pipeline(FLAGS.before) if FLAGS.before else None

    # The default pipelines keep verdicts in the user cache: not this run's.
    os.environ["VGAN_TF_CACHE_DIR"] = tempfile.mkdtemp(prefix="vgan_bench_cache_")
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

    epoch = len(paths) // FLAGS.batch_size

    def full(resize, make_dataset=video_dataset, epochs=None, **read):
        batches = (epochs or FLAGS.epochs) * epoch
        clip = ClipOptions(FLAGS.frames, FLAGS.size, resize=resize)

        def make():
            options = dict(read)
            if options.get("verdicts") == "fresh":  # an empty directory every pass
                options["verdicts"] = tempfile.mkdtemp(prefix="vgan_verdicts_")
            return make_dataset(source, clip, FLAGS.batch_size,
                                ReadOptions(shuffle=True, **options)).take(batches)
        return make

    makers = {"raw parallel decode_jpeg": raw,
              "full pipeline (default, dct)": full("dct"),
              BILINEAR: full("bilinear", full_checks=False)}
    untimed = {}
    if FLAGS.verdicts:
        on_disk = tempfile.mkdtemp(prefix="vgan_verdicts_")
        for _ in video_dataset(source, ClipOptions(FLAGS.frames, FLAGS.size), None,
                               ReadOptions(repeat=False, verdicts=on_disk)):
            pass  # every verdict written (the end of a finite stream)
        makers.update({
            LIGHT: full("dct", full_checks=False),
            # One epoch of a finite stream each (no read-ahead into a second epoch).
            EVERY: full("dct", epochs=1, verdicts=False, repeat=False),
            FIRST: full("dct", epochs=1, verdicts="fresh", repeat=False),
            LATER_EPOCHS: full("dct", epochs=FLAGS.epochs + 1, verdicts="fresh"),
            LATER_RUNS: full("dct", verdicts=on_disk)})
        untimed[LATER_EPOCHS] = epoch
        del makers["full pipeline (default, dct)"]  # = later runs
    if old is not None:  # today's ReadOptions: the old default asked for (light checks)
        makers[f"BEFORE ({FLAGS.before}), dct"] = full("dct", old.video_dataset,
                                                       full_checks=False)
        makers[f"BEFORE ({FLAGS.before}), bilinear"] = full("bilinear", old.video_dataset,
                                                            full_checks=False)
    for make in makers.values():  # warm-up: graph building, page cache
        for _ in make().take(20):
            pass
    rates = {name: [] for name in makers}
    names = list(makers)
    for round_index in range(FLAGS.rounds):
        # Each round starts one variant later: every variant takes every position of the
        # order in turn, so a slot that is slower for all (seen: the last, 1.3x for the
        # same code) does not bias one variant.
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            rates[name].append(_rate(makers[name](), FLAGS.frames, untimed.get(name, 0)))
    print(f"strips: {len(paths)} x {FLAGS.frames} frames of {FLAGS.strip_size}px -> "
          f"{FLAGS.size}px, batch {FLAGS.batch_size}, {os.cpu_count()} CPUs")
    best = {name: max(r[0] for r in runs) for name, runs in rates.items()}
    median = {name: statistics.median(r[0] for r in runs) for name, runs in rates.items()}
    cpu = {name: min(r[1] for r in runs) for name, runs in rates.items()}
    for name, runs in rates.items():
        print(f"{name:36s} {best[name]:9.0f} frames/s best, {median[name]:9.0f} median, "
              f"{cpu[name]:6.1f} CPU us/frame  (rounds: "
              f"{', '.join(f'{r[0]:.0f}' for r in runs)})")
    raw = "raw parallel decode_jpeg"
    for name in list(makers)[1:]:
        print(f"ratio {name} / raw: {best[name] / best[raw]:.3f} best, "
              f"{median[name] / median[raw]:.3f} median, {cpu[raw] / cpu[name]:.3f} by CPU "
              f"time (target >= 0.9)")
    default = LATER_RUNS if FLAGS.verdicts else "full pipeline (default, dct)"
    if old is not None:
        for resize, new in (("dct", LIGHT if FLAGS.verdicts else default),
                            ("bilinear", BILINEAR)):
            before = f"BEFORE ({FLAGS.before}), {resize}"
            _compare(f"after / before, {resize}", cpu, median, before, new)
    if FLAGS.verdicts:
        _compare("later epochs / light", cpu, median, LIGHT, LATER_EPOCHS)
        _compare("later runs / light", cpu, median, LIGHT, LATER_RUNS)
        _compare("first epoch / full checks every read (target <= 1)", cpu, median, EVERY,
                 FIRST)
        _compare("full checks every read / light", cpu, median, LIGHT, EVERY)
    start = time.perf_counter()
    for _ in range(5):
        lists.not_regular_files(paths)
    print(f"list-time file-type check (os.stat per strip): "
          f"{(time.perf_counter() - start) / 5 / len(paths) * 1e6:.2f} us per strip, once per "
          f"pipeline made")
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    app.run(main)
