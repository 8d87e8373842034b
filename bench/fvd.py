"""I3D speed for FVD (not a test): clips/s at 16 and 32 frames, fp32 and bf16, the GFLOP
per clip, and the achieved rate as a fraction of this machine's measured matmul rate.

    python bench/fvd.py --batch_size=4 --rounds=3

Each setting: one untimed call (tracing), then --rounds timed calls of one batch of
64x64 clips in [-1, 1] through `fvd.ClipFeatures.logits` (the resize to 224 included).
The bf16 run also prints the largest logit difference from fp32 relative to the largest
fp32 logit.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np
from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from vgan_tf.metrics import fvd, i3d  # noqa: E402

flags.DEFINE_list("frames", ["16", "32"], "Clip lengths.")
flags.DEFINE_list("precisions", ["fp32", "bf16"], "fp32 and/or bf16 (mixed_bfloat16).")
flags.DEFINE_integer("batch_size", 4, "Clips per call.")
flags.DEFINE_integer("rounds", 3, "Timed calls per setting.")
FLAGS = flags.FLAGS


def conv_gflop(frames: int) -> float:
    """Multiply-adds x 2 of every conv of I3D for one clip (pools and BN not counted)."""
    model = i3d.build_i3d(frames)
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv3D):
            out = np.prod(layer.output.shape[1:])
            kernel = layer.kernel.shape
            total += 2 * out * np.prod(kernel[:3]) * kernel[3]
    return total / 1e9


def matmul_gflops(dtype, n: int = 4096, reps: int = 3) -> float:
    a = tf.random.normal([n, n], dtype=tf.float32)
    a = tf.cast(a, dtype)
    f = tf.function(lambda x: tf.matmul(x, x))
    f(a).numpy()
    start = time.perf_counter()
    for _ in range(reps):
        f(a).numpy()
    return 2 * n ** 3 * reps / (time.perf_counter() - start) / 1e9


def main(argv):
    del argv
    rng = np.random.default_rng(0)
    peaks = {"fp32": matmul_gflops(tf.float32), "bf16": matmul_gflops(tf.bfloat16)}
    print(f"matmul 4096^2: fp32 {peaks['fp32']:.0f} GFLOP/s, bf16 {peaks['bf16']:.0f} GFLOP/s")
    for frames in (int(f) for f in FLAGS.frames):
        clips = rng.uniform(-1, 1, (FLAGS.batch_size, frames, 64, 64, 3)).astype(np.float32)
        gflop = conv_gflop(frames)
        reference = None
        for precision in FLAGS.precisions:
            keras.config.set_dtype_policy("mixed_bfloat16" if precision == "bf16"
                                          else "float32")
            try:
                features = fvd.ClipFeatures(i3d.load_i3d(frames))
                out = features.logits(clips)
                times = []
                for _ in range(FLAGS.rounds):
                    start = time.perf_counter()
                    features.logits(clips)
                    times.append(time.perf_counter() - start)
            finally:
                keras.config.set_dtype_policy("float32")
            best = min(times)
            rate = FLAGS.batch_size / best
            line = (f"frames {frames} {precision}: {rate:.2f} clips/s (best of "
                    f"{FLAGS.rounds}), {gflop:.1f} GFLOP/clip, {gflop * rate:.0f} GFLOP/s = "
                    f"{gflop * rate / peaks[precision]:.2f} of the {precision} matmul rate")
            if reference is None:
                reference = out
            else:
                line += (f"; max |logit - fp32| / max |fp32| = "
                         f"{np.abs(out - reference).max() / np.abs(reference).max():.2e}")
            print(line, flush=True)


if __name__ == "__main__":
    app.run(main)
