"""Mixed precision benchmark (not a test): speed and loss curves of fp32 vs bf16 vs fp16.

For each precision, trains the same GAN (same initial weights, data and noise) for
--steps steps on synthetic data and reports seconds per step (after --warmup steps) and
the D and G loss curves, compared with fp32 as ratios and as the mean absolute difference
of the smoothed curves next to the spread between two fp32 seeds (the "noise" level).

    python bench/precision.py --size=32 --frames=16 --base_width=32 --batch_size=8
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time

import numpy as np
from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402

from vgan_tf import training  # noqa: E402
from vgan_tf.training import input as input_lib  # noqa: E402

flags.DEFINE_list("precisions", ["fp32", "bf16", "fp16"], "Precisions to compare.")
flags.DEFINE_integer("steps", 60, "Training steps per run.")
flags.DEFINE_integer("warmup", 5, "Steps not timed (tracing).")
flags.DEFINE_integer("frames", 16, "Frames per clip.")
flags.DEFINE_integer("size", 32, "Frame size.")
flags.DEFINE_integer("base_width", 32, "Base width of the networks.")
flags.DEFINE_integer("latent_dim", 100, "Size of z.")
flags.DEFINE_integer("batch_size", 8, "Global batch.")
flags.DEFINE_integer("smooth", 10, "Moving-average window of the loss curves.")
flags.DEFINE_string("json", "", "Also write the results here.")
FLAGS = flags.FLAGS


def one_run(precision: str, seed: int, work: str):
    config = training.from_preset(
        "tiny", model_dir=os.path.join(work, f"{precision}_{seed}"), synthetic=True,
        synthetic_clips=64, frames=FLAGS.frames, size=FLAGS.size,
        base_width=FLAGS.base_width, latent_dim=FLAGS.latent_dim,
        batch_size=FLAGS.batch_size, precision=precision, seed=seed)
    source = input_lib.data_source(config)
    dataset = input_lib.training_data(config, source)
    keras.utils.set_random_seed(seed)
    gan = training.build_gan(config)
    gan.make_train_function()
    step_fn = gan.train_function
    iterator = iter(dataset)
    d_losses, g_losses, times = [], [], []
    for step in range(FLAGS.steps):
        start = time.perf_counter()
        logs = step_fn(iterator)
        d, g = float(logs["d_loss"]), float(logs["g_loss"])  # waits for the step
        if step >= FLAGS.warmup:
            times.append(time.perf_counter() - start)
        gan.reset_metrics()
        d_losses.append(d)
        g_losses.append(g)
    return np.median(times), np.array(d_losses), np.array(g_losses)


def smooth(curve):
    kernel = np.ones(FLAGS.smooth) / FLAGS.smooth
    return np.convolve(curve, kernel, mode="valid")


def main(argv):
    del argv
    work = tempfile.mkdtemp(prefix="vgan_precision_")
    results = {}
    _, d_other, g_other = one_run("fp32", 1, work)
    for precision in FLAGS.precisions:
        results[precision] = one_run(precision, 0, work)
    t32, d32, g32 = results["fp32"]
    noise = {"d": float(np.mean(np.abs(smooth(d32) - smooth(d_other)))),
             "g": float(np.mean(np.abs(smooth(g32) - smooth(g_other))))}
    print(f"sizes {FLAGS.frames}x{FLAGS.size}x{FLAGS.size}, base width {FLAGS.base_width},"
          f" batch {FLAGS.batch_size}, {FLAGS.steps} steps")
    print(f"noise (fp32 seed 0 vs seed 1, mean |smoothed diff|): d {noise['d']:.4f} "
          f"g {noise['g']:.4f}")
    report = {"noise": noise, "runs": {}}
    for precision, (t, d, g) in results.items():
        diff_d = float(np.mean(np.abs(smooth(d) - smooth(d32))))
        diff_g = float(np.mean(np.abs(smooth(g) - smooth(g32))))
        print(f"{precision}: {t * 1000:.0f} ms/step, speed-up x{t32 / t:.2f} vs fp32; "
              f"loss curve vs fp32: d {diff_d:.4f} ({diff_d / max(noise['d'], 1e-9):.2f}x "
              f"noise), g {diff_g:.4f} ({diff_g / max(noise['g'], 1e-9):.2f}x noise); "
              f"final d {d[-1]:.3f} g {g[-1]:.3f}")
        report["runs"][precision] = dict(sec_per_step=t, speedup=t32 / t, d_diff=diff_d,
                                         g_diff=diff_g, d_final=d[-1], g_final=g[-1])
    if FLAGS.json:
        with open(FLAGS.json, "w") as handle:
            json.dump(report, handle, indent=2, default=float)


if __name__ == "__main__":
    app.run(main)
