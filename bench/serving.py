"""Serving speed of the exported generator: latency at batch 1, throughput at batch 64.

Measures, on one machine and in one process:
  * the Keras generator (tf.function over `generate_parts`, float output) as the baseline,
  * the exported SavedModel's `serving_default` called directly (seeds -> uint8), and its
    `generate_gif` (seeds -> GIF bytes, encoded in the graph),
  * the same SavedModel through the loopback development server
    (vgan_tf.serving.dev_server: gRPC client, and REST at batch 1), i.e. including
    proto/JSON encoding and the loopback transport,
and prints each as a ratio to the baseline and as a fraction of the machine's measured
fp32 matmul rate, from the generator's FLOPs per video (2 x the MACs of its transposed
convolutions, counted from the layer shapes; BN/activations/compositing are left out).

    python bench/serving.py                        # paper size: 32 frames of 64x64
    python bench/serving.py --frames=16 --size=32  # a reduced size
Not a test: numbers depend on the machine and its load (printed with the results).
"""
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_integer("frames", 32, "Frames per video.")
flags.DEFINE_integer("size", 64, "Frame size.")
flags.DEFINE_integer("latent_dim", 100, "Latent size.")
flags.DEFINE_integer("base_width", 64, "Base width.")
flags.DEFINE_integer("latency_batch", 1, "Batch for the latency figures.")
flags.DEFINE_integer("throughput_batch", 64, "Batch for the throughput figures.")
flags.DEFINE_integer("latency_repeats", 10, "Timed calls at the latency batch.")
flags.DEFINE_integer("throughput_repeats", 3, "Timed calls at the throughput batch.")
flags.DEFINE_integer("matmul_size", 4096, "Square matmul size for the peak rate.")


def conv_flops_per_video(generator) -> int:
    """2 x MACs of every transposed convolution for one video, from the stages' shapes."""
    total = 0
    for stage in generator.layers:
        for layer in stage.layers:
            if isinstance(layer, (keras.layers.Conv2DTranspose,
                                  keras.layers.Conv3DTranspose)):
                kernel = layer.kernel.shape  # (*window, out_channels, in_channels)
                positions = int(np.prod(layer.input.shape[1:-1]))
                total += 2 * positions * int(np.prod(kernel))
    return total


def matmul_rate(n: int, repeats: int = 10) -> float:
    """Measured fp32 FLOP/s of an n x n matmul."""
    a = tf.random.normal([n, n])
    b = tf.random.normal([n, n])
    step = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))
    step().numpy()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step().numpy()
        times.append(time.perf_counter() - start)
    return 2.0 * n ** 3 / statistics.median(times)


def timed(call, repeats: int) -> float:
    """Median seconds of `call()` after one untimed warm-up call."""
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv):
    del argv
    from absl import logging
    logging.set_verbosity(logging.WARNING)
    tf.get_logger().setLevel("WARNING")
    from vgan_tf import export, sampling
    from vgan_tf.serving import DevServer, GrpcClient, RestClient, api
    from vgan_tf.models import TwoStreamGenerator

    generator = TwoStreamGenerator(FLAGS.frames, FLAGS.size, FLAGS.latent_dim,
                                   FLAGS.base_width)
    generator(tf.zeros([1, FLAGS.latent_dim]), training=False)
    flops = conv_flops_per_video(generator)
    peak = matmul_rate(FLAGS.matmul_size)
    print(f"machine: {os.cpu_count()} CPU cores, load average "
          f"{os.getloadavg()[0]:.1f}; TF {tf.__version__}")
    print(f"generator {FLAGS.frames}x{FLAGS.size}x{FLAGS.size}: "
          f"{generator.count_params() / 1e6:.2f}M parameters, "
          f"{flops / 1e9:.2f} GFLOP per video (conv MACs x 2)")
    print(f"fp32 matmul {FLAGS.matmul_size}^2: {peak / 1e9:.1f} GFLOP/s")

    base = tempfile.mkdtemp(prefix="vgan_bench_")
    start = time.perf_counter()
    path = export.export_generator(generator, base, warmup_batch_sizes=())
    print(f"export: {time.perf_counter() - start:.1f} s -> {path}")
    loaded = tf.saved_model.load(path)
    serve = loaded.signatures[api.SERVING_DEFAULT]
    serve_gif = loaded.signatures[api.GENERATE_GIF]
    keras_parts = tf.function(lambda z: generator.generate_parts(z, training=False),
                              reduce_retracing=True)

    rows = []

    def record(name, batch, repeats, call, baseline=None):
        seconds = timed(call, repeats)
        rate = batch / seconds
        rows.append((name, batch, seconds, rate, baseline))
        return seconds

    with DevServer.from_export_base(base) as server, \
            GrpcClient(server.grpc_address) as grpc_client:
        rest_client = RestClient(server.rest_url)
        for batch, repeats in ((FLAGS.latency_batch, FLAGS.latency_repeats),
                               (FLAGS.throughput_batch, FLAGS.throughput_repeats)):
            seeds = np.arange(batch, dtype=np.int64)
            z = sampling.latents_for_seeds(seeds, FLAGS.latent_dim)
            base_s = record("keras generate_parts (float)", batch, repeats,
                            lambda: [v.numpy() for v in keras_parts(z).values()])
            record("SavedModel serving_default", batch, repeats,
                   lambda: [v.numpy() for v in serve(seed=tf.constant(seeds)).values()],
                   base_s)
            record("SavedModel generate_gif", batch, repeats,
                   lambda: serve_gif(seed=tf.constant(seeds))[api.GIF_BYTES].numpy(), base_s)
            record("dev server gRPC client", batch, repeats,
                   lambda: grpc_client.generate(seeds), base_s)
            if batch <= 8:
                record("dev server REST client (JSON)", batch, repeats,
                       lambda: rest_client.generate(seeds), base_s)

    print(flush=True)
    print(f"{'path':32s} {'batch':>5s} {'s/call':>8s} {'videos/s':>9s} {'x keras':>8s} "
          f"{'GFLOP/s':>8s} {'of matmul':>9s}")
    for name, batch, seconds, rate, baseline in rows:
        ratio = "1.00" if baseline is None else f"{baseline / seconds:.2f}"
        achieved = rate * flops
        print(f"{name:32s} {batch:5d} {seconds:8.3f} {rate:9.1f} {ratio:>8s} "
              f"{achieved / 1e9:8.1f} {achieved / peak:9.1%}")


if __name__ == "__main__":
    app.run(main)
