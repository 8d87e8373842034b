"""Serving speed of the exported generator and predictor against the machine's limits.

Every compared thing is measured in one process, interleaved in rounds: each round times
every variant once (batch 1: the median of a few calls), each time followed at once by a
4096x4096 matmul of its precision, and the fraction of the matmul rate is taken per round
from that adjacent pair, so a change in the load of other processes hits both sides of a
ratio alike; figures are medians and bests over the rounds.
The per-call CPU share (process CPU seconds / wall seconds / cores) and the load average are
printed beside them: a share well under 1 means other processes had part of the cores.

    python bench/serving.py                      # paper size; the lines of the README
    python bench/serving.py --threads --batching # + thread counts, batching parameters
    python bench/serving.py --frames=16 --size=32 --rounds=3   # smaller, quicker

Lines the issue asks for (one each, for the generator and the predictor):
  serving fraction fp32 b64: X    videos/s x FLOP per video / same-run fp32 matmul FLOP/s
  serving fraction bf16 b64: Y    ... / same-run bf16 matmul FLOP/s
  latency bound multiple fp32 b1: Z   s per batch-1 call / (FLOP per video / matmul FLOP/s)
  rest bytes vs grpc b1: X        REST generate_gif (b64 strings in JSON) / gRPC generate_gif
The predictor's lines start with "predictor " and use --predictor_batch (16) for the
throughput. Profiling: `ONEDNN_VERBOSE=1 python bench/serving.py --rounds=1 --norest`
names each convolution's oneDNN implementation and ISA (e.g. brgconv_strided:avx512_core,
:avx512_core_bf16, :avx512_core_amx where the CPU has AMX) and its time, and the weight
reorders done on every call.
FLOP per video: 2 x the MACs of every convolution and transposed convolution, from the
layer shapes (BN, activations and compositing left out). Not a test: the figures depend on
the machine and its load.
"""
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_integer("frames", 32, "Frames per video.")
flags.DEFINE_integer("size", 64, "Frame size.")
flags.DEFINE_integer("latent_dim", 100, "Latent size.")
flags.DEFINE_integer("base_width", 64, "Generator base width.")
flags.DEFINE_integer("predictor_base_width", 128, "Predictor base width (paper: 128).")
flags.DEFINE_integer("predictor_batch", 16, "Predictor throughput batch (b64 of the "
                     "paper-size predictor takes ~10 s a call on 2 cores).")
flags.DEFINE_integer("throughput_batch", 64, "Generator throughput batch.")
flags.DEFINE_integer("rounds", 5, "Interleaved rounds.")
flags.DEFINE_integer("latency_calls", 5, "Batch-1 calls per variant per round.")
flags.DEFINE_integer("matmul_size", 4096, "Square matmul size for the machine's rate.")
flags.DEFINE_bool("serving", True, "The interleaved rounds (the issue's lines); off: "
                  "only the sections asked for below.")
flags.DEFINE_bool("predictor", True, "Also measure the future predictor.")
flags.DEFINE_bool("levers", True, "Also the generator exported without each lever "
                  "(BN folding, forward-conv heads), built with its depth-to-space video "
                  "heads (fp32 heads), and the Keras model.")
flags.DEFINE_bool("rest", True, "REST vs gRPC at batch 1 through the development server.")
flags.DEFINE_bool("threads", False, "Intra/inter-op thread counts (child processes).")
flags.DEFINE_bool("batching", False, "Videos/s per execution batch size, 1 vs 2 "
                  "concurrent batches (for serving/batching.config).")
flags.DEFINE_integer("thread_rounds", 4, "Rounds of the --threads sweep.")
flags.DEFINE_integer("thread_batch", 16, "Throughput batch of the --threads sweep.")
flags.DEFINE_string("child", None, "Internal: 'intra,inter,export_dir' for --threads.")


def conv_flops(network) -> int:
    """2 x MACs of every (transposed) convolution for one example, from layer shapes."""
    import keras
    transposed = (keras.layers.Conv2DTranspose, keras.layers.Conv3DTranspose)
    convs = (keras.layers.Conv2D, keras.layers.Conv3D)
    total = 0
    for stage in network.layers:
        for layer in getattr(stage, "layers", ()):
            if isinstance(layer, transposed):  # every input position x the whole kernel
                positions = int(_prod(layer.input.shape[1:-1]))
            elif isinstance(layer, convs):     # every output position x the whole kernel
                positions = int(_prod(layer.output.shape[1:-1]))
            else:
                continue
            total += 2 * positions * int(_prod(layer.kernel.shape))
    return total


def _prod(values):
    out = 1
    for v in values:
        out *= int(v)
    return out


class Timer:
    """Wall seconds and CPU share of calls, kept per variant name."""

    def __init__(self):
        self.wall, self.share, self.first = {}, {}, {}
        self.cores = os.cpu_count()

    def time(self, name, call, times=1):
        for _ in range(times):
            cpu, start = time.process_time(), time.perf_counter()
            call()
            wall = time.perf_counter() - start
            self.wall.setdefault(name, []).append(wall)
            self.share.setdefault(name, []).append(
                (time.process_time() - cpu) / wall / self.cores)

    def warm(self, name, call):
        start = time.perf_counter()
        call()
        self.first[name] = time.perf_counter() - start

    def median(self, name):
        return statistics.median(self.wall[name])

    def best(self, name):
        return min(self.wall[name])


def matmul_calls(n):
    import tensorflow as tf
    calls = {}
    for dtype, label in ((tf.float32, "matmul fp32"), (tf.bfloat16, "matmul bf16")):
        a = tf.cast(tf.random.normal([n, n]), dtype)
        b = tf.cast(tf.random.normal([n, n]), dtype)
        step = tf.function(lambda a=a, b=b: tf.reduce_sum(tf.cast(tf.matmul(a, b),
                                                                  tf.float32)))
        calls[label] = lambda step=step: step().numpy()
    return calls


def calibrate_batch_norm(network, inputs):
    """Sets every BatchNorm's moving statistics to those of one training-mode pass on
    `inputs` (what a trained model holds), so inference outputs span the pixel range."""
    import keras
    norms = [layer for stage in network.layers for layer in getattr(stage, "layers", ())
             if isinstance(layer, keras.layers.BatchNormalization)]
    saved = [n.momentum for n in norms]
    for n in norms:
        n.momentum = 0.0
    network.generate_parts(inputs, training=True)
    for n, m in zip(norms, saved):
        n.momentum = m


def uint8_difference(a, b) -> str:
    import numpy as np
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16)).reshape(-1)
    return (f"|uint8 difference|: p50 {np.percentile(diff, 50):.0f}, p99 "
            f"{np.percentile(diff, 99):.0f}, p99.9 {np.percentile(diff, 99.9):.0f}, max "
            f"{diff.max()}, {np.mean(diff <= 1):.2%} of values within 1 level, "
            f"{np.mean(diff <= 2):.2%} within 2")


def run_child(spec):
    """--threads child: set thread counts, load the export, time b64 and b1 calls."""
    import tensorflow as tf
    intra, inter, path = spec.split(",", 2)
    tf.config.threading.set_intra_op_parallelism_threads(int(intra))
    tf.config.threading.set_inter_op_parallelism_threads(int(inter))
    import numpy as np
    serve = tf.saved_model.load(path).signatures["serving_default"]
    timer = Timer()
    for batch, times in ((FLAGS.throughput_batch, 2), (1, 10)):
        seeds = tf.constant(np.arange(batch, dtype=np.int64))
        call = lambda seeds=seeds: [v.numpy() for v in serve(seed=seeds).values()]  # noqa
        call()
        timer.time(batch, call, times)
    print(f"RESULT {timer.median(FLAGS.throughput_batch):.4f} {timer.median(1):.5f} "
          f"{statistics.median(timer.share[FLAGS.throughput_batch]):.2f}")


def thread_sweep(path):
    """Child processes per (intra, inter) setting, interleaved; each round's times are
    divided by the default setting's of the same round (adjacent in time)."""
    configs = [(0, 0), (1, 1), (2, 1), (1, 2), (4, 1)]
    results = {c: [] for c in configs}
    for _ in range(FLAGS.thread_rounds):
        row = {}
        for intra, inter in configs:
            out = subprocess.run(
                [sys.executable, os.path.abspath(__file__), f"--child={intra},{inter},{path}",
                 f"--throughput_batch={FLAGS.thread_batch}"],
                capture_output=True, text=True, timeout=600)
            line = [x for x in out.stdout.splitlines() if x.startswith("RESULT")]
            if not line:
                print(out.stderr[-2000:])
                continue
            row[(intra, inter)] = tuple(float(v) for v in line[0].split()[1:])
        if (0, 0) in row:
            for config, values in row.items():
                results[config].append((values[0] / row[(0, 0)][0],
                                        values[1] / row[(0, 0)][1], values[2]))
    print(f"\nthreads (fp32 export, child processes interleaved, {FLAGS.thread_rounds} "
          f"rounds; load average {os.getloadavg()[0]:.2f}); time / the same round's "
          "default (0 = TF's default: one thread per core), median of rounds:")
    for (intra, inter), rows in results.items():
        if rows:
            print(f"  intra {intra} inter {inter}: b{FLAGS.thread_batch} x"
                  f"{statistics.median(r[0] for r in rows):.2f}, b1 x"
                  f"{statistics.median(r[1] for r in rows):.2f}, cpu share "
                  f"{statistics.median(r[2] for r in rows):.2f}")


def batching_sweep(serves, rate):
    import numpy as np
    import tensorflow as tf
    timer = Timer()
    sizes = [1, 2, 4, 8, 16, 32, 64]
    for precision, serve in serves.items():  # first calls per shape: oneDNN primitives
        for b in sizes:
            serve(seed=tf.constant(np.arange(b, dtype=np.int64)))
    for _ in range(max(2, FLAGS.rounds // 2)):
        for precision, serve in serves.items():
            for b in sizes:
                seeds = tf.constant(np.arange(b, dtype=np.int64))
                timer.time((precision, b), lambda: [v.numpy() for v in
                                                    serve(seed=seeds).values()])
            half = tf.constant(np.arange(32, dtype=np.int64))

            def two_at_once():
                threads = [threading.Thread(target=lambda: [
                    v.numpy() for v in serve(seed=half).values()]) for _ in range(2)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
            timer.time((precision, "2x32"), two_at_once)
    print(f"\nbatching (videos/s per execution batch; load average "
          f"{os.getloadavg()[0]:.2f}):")
    for precision in serves:
        row = "  ".join(f"b{b} {b / timer.median((precision, b)):.1f}" for b in sizes)
        print(f"  {precision}: {row}; two concurrent b32 "
              f"{64 / timer.median((precision, '2x32')):.1f}")


def main(argv):
    del argv
    if FLAGS.child:
        return run_child(FLAGS.child)
    import numpy as np
    import tensorflow as tf
    from absl import logging
    logging.set_verbosity(logging.WARNING)
    tf.get_logger().setLevel("WARNING")
    from vgan_tf import export, sampling
    from vgan_tf.models import FuturePredictor, TwoStreamGenerator
    from vgan_tf.serving import DevServer, GrpcClient, RestClient, api

    load_start = os.getloadavg()
    generator = TwoStreamGenerator(FLAGS.frames, FLAGS.size, FLAGS.latent_dim,
                                   FLAGS.base_width)
    z16 = sampling.latents_for_seeds(np.arange(16, dtype=np.int64), FLAGS.latent_dim)
    calibrate_batch_norm(generator, z16)
    g_flops = conv_flops(generator)
    print(f"machine: {os.cpu_count()} CPU cores, load average {load_start[0]:.2f} "
          f"{load_start[1]:.2f} {load_start[2]:.2f} at start; TF {tf.__version__}")
    print(f"generator {FLAGS.frames}x{FLAGS.size}x{FLAGS.size}: "
          f"{generator.count_params() / 1e6:.2f}M parameters, {g_flops / 1e9:.2f} GFLOP "
          "per video")

    base = tempfile.mkdtemp(prefix="vgan_bench_")
    paths = {}
    for precision in ("fp32", "bf16"):
        paths[precision] = export.export_generator(
            generator, base, model_name=f"generator_{precision}", warmup_batch_sizes=(),
            precision=precision)
    if FLAGS.levers:
        paths["fp32 no fold"] = export.export_generator(
            generator, base, model_name="generator_nofold", warmup_batch_sizes=(),
            fold_batch_norm=False, subpixel_channels=0)
        paths["fp32 fold"] = export.export_generator(
            generator, base, model_name="generator_fold", warmup_batch_sizes=(),
            subpixel_channels=0)
        paths["bf16 fold"] = export.export_generator(
            generator, base, model_name="generator_bf16fold", warmup_batch_sizes=(),
            precision="bf16", subpixel_channels=0)
        # the foreground and mask heads as two convolutions (before fuse_heads)
        for precision in ("fp32", "bf16"):
            paths[f"{precision} heads apart"] = export.export_generator(
                generator, base, model_name=f"generator_{precision}_apart",
                warmup_batch_sizes=(), precision=precision, fuse_heads=False)
        # The generator built with its video heads in the depth-to-space form (issue 28;
        # the same weights), exported with the defaults.
        heads = TwoStreamGenerator(FLAGS.frames, FLAGS.size, FLAGS.latent_dim,
                                   FLAGS.base_width, depth_to_space_heads=True)
        heads(z16[:1], training=False)
        heads.set_weights(generator.get_weights())
        paths["fp32 heads"] = export.export_generator(
            heads, base, model_name="generator_heads", warmup_batch_sizes=())
    loaded = {k: tf.saved_model.load(p) for k, p in paths.items()}
    serves = {k: m.signatures[api.SERVING_DEFAULT] for k, m in loaded.items()}

    # the outputs: bf16 against fp32 on the same seeds (BN calibrated: spread outputs)
    seeds = tf.constant(np.arange(16, dtype=np.int64))
    fp32_out = {k: v.numpy() for k, v in serves["fp32"](seed=seeds).items()}
    bf16_out = {k: v.numpy() for k, v in serves["bf16"](seed=seeds).items()}
    print(f"bf16 vs fp32 export, 16 videos, video {uint8_difference(fp32_out['video'], bf16_out['video'])}")
    print(f"  mask {uint8_difference(fp32_out['mask'], bf16_out['mask'])}")

    calls = matmul_calls(FLAGS.matmul_size)
    variants = {}  # name -> (batch, call, flops, precision)
    predictor = None
    if FLAGS.predictor:
        predictor = FuturePredictor(FLAGS.frames, FLAGS.size, FLAGS.predictor_base_width)
        images = tf.random.uniform([16, FLAGS.size, FLAGS.size, 3], -1.0, 1.0)
        predictor(images[:1], training=False)
        calibrate_batch_norm(predictor, images)
        p_flops = conv_flops(predictor)
        print(f"predictor {FLAGS.frames}x{FLAGS.size}x{FLAGS.size} (base width "
              f"{FLAGS.predictor_base_width}): {predictor.count_params() / 1e6:.2f}M "
              f"parameters, {p_flops / 1e9:.2f} GFLOP per video")
        for precision in ("fp32", "bf16"):
            path = export.export_predictor(predictor, base,
                                           model_name=f"predictor_{precision}",
                                           warmup_batch_sizes=(), precision=precision)
            loaded[f"predictor {precision}"] = tf.saved_model.load(path)
    keras_parts = tf.function(lambda z: generator.generate_parts(z, training=False))

    def add(name, batch, fn, flops, precision):
        variants[name] = (batch, fn, flops, precision)

    for batch in (1, FLAGS.throughput_batch):
        s = tf.constant(np.arange(batch, dtype=np.int64))
        for k, serve in serves.items():
            add(f"generator {k} b{batch}", batch,
                lambda serve=serve, s=s: [v.numpy() for v in serve(seed=s).values()],
                g_flops, k.split()[0])
        if FLAGS.levers:
            z = sampling.latents_for_seeds(s, FLAGS.latent_dim)
            add(f"generator keras b{batch}", batch,
                lambda z=z: [v.numpy() for v in keras_parts(z).values()], g_flops, "fp32")
    if predictor is not None:
        for batch in (1, FLAGS.predictor_batch):
            img = tf.cast(tf.random.uniform([batch, FLAGS.size, FLAGS.size, 3], 0, 255),
                          tf.uint8)
            for precision in ("fp32", "bf16"):
                fn = loaded[f"predictor {precision}"].signatures[api.PREDICT_FROM_IMAGE]
                add(f"predictor {precision} b{batch}", batch,
                    lambda fn=fn, img=img: [v.numpy() for v in fn(image=img).values()],
                    p_flops, precision)

    if FLAGS.serving:
        serving_rounds(variants, calls, g_flops, predictor and p_flops, predictor)
    print(f"peak memory (max RSS) {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB")

    if FLAGS.rest:
        rest_vs_grpc(base, DevServer, GrpcClient, RestClient, api)
    if FLAGS.batching:
        batching_sweep({p: serves[p] for p in ("fp32", "bf16")}, None)
    if FLAGS.threads:
        thread_sweep(paths["fp32"])


def serving_rounds(variants, calls, g_flops, p_flops, predictor):
    timer = Timer()
    for name, (batch, fn, _, _) in variants.items():
        timer.warm(name, fn)
    for name, fn in calls.items():
        timer.warm(name, fn)
    n = FLAGS.matmul_size
    ratios = {name: [] for name in variants}  # per round: rate / adjacent matmul rate
    loads = []
    for _ in range(FLAGS.rounds):
        for name, (batch, fn, flops, precision) in variants.items():
            before = len(timer.wall.get(name, []))
            timer.time(name, fn, FLAGS.latency_calls if batch == 1 else 1)
            seconds = statistics.median(timer.wall[name][before:])
            timer.time(f"matmul {precision}", calls[f"matmul {precision}"])
            matmul_rate = 2.0 * n ** 3 / timer.wall[f"matmul {precision}"][-1]
            ratios[name].append(batch * flops / seconds / matmul_rate)
        loads.append(os.getloadavg()[0])
    rates = {p: 2.0 * n ** 3 / timer.median(f"matmul {p}") for p in ("fp32", "bf16")}
    best_rates = {p: 2.0 * n ** 3 / timer.best(f"matmul {p}") for p in ("fp32", "bf16")}

    print(f"\n{FLAGS.rounds} interleaved rounds (each call followed by a matmul of its "
          "precision); load average per round: " + " ".join(f"{v:.2f}" for v in loads))
    for p in ("fp32", "bf16"):
        print(f"matmul {p} {n}^2: median {rates[p] / 1e9:.1f} GFLOP/s, best "
              f"{best_rates[p] / 1e9:.1f}, cpu share "
              f"{statistics.median(timer.share[f'matmul {p}']):.2f}")
    print(f"  {'variant':28s} {'median s':>9s} {'best s':>8s} {'videos/s':>9s} "
          f"{'GFLOP/s':>8s}  of adjacent matmul: median  best   cpu share  first call")
    for name, (batch, _, flops, precision) in variants.items():
        med = timer.median(name)
        print(f"  {name:28s} {med:9.4f} {timer.best(name):8.4f} {batch / med:9.1f} "
              f"{batch * flops / med / 1e9:8.1f}  {statistics.median(ratios[name]):25.1%} "
              f"{max(ratios[name]):6.1%} {statistics.median(timer.share[name]):8.2f} "
              f"{timer.first[name]:10.3f} s")

    print()
    for model, flops, tbatch in (("generator", g_flops, FLAGS.throughput_batch),
                                 ("predictor", predictor and p_flops, FLAGS.predictor_batch)):
        if model == "predictor" and predictor is None:
            continue
        prefix = "" if model == "generator" else "predictor "
        for p in ("fp32", "bf16"):
            r = ratios[f"{model} {p} b{tbatch}"]
            of32 = [x * rates[p] / rates["fp32"] for x in r]
            print(f"{prefix}serving fraction {p} b{tbatch}: {statistics.median(r):.3f} "
                  f"(best {max(r):.3f}; {statistics.median(of32):.3f} of the median fp32 "
                  "matmul rate)")
        for p in ("fp32", "bf16"):
            r = ratios[f"{model} {p} b1"]
            print(f"{prefix}latency bound multiple {p} b1: {statistics.median(1 / x for x in r):.2f}"
                  f" (best {1 / max(r):.2f}; median {timer.median(f'{model} {p} b1') * 1e3:.1f}"
                  f" ms, bound at the median {p} matmul rate "
                  f"{flops / rates[p] * 1e3:.1f} ms)")


def rest_vs_grpc(base, DevServer, GrpcClient, RestClient, api):
    """Batch 1 through the development server: gRPC and REST, numbers vs file bytes."""
    timer = Timer()
    seeds = [0]
    with DevServer.from_export_base(base) as server, \
            GrpcClient(server.grpc_address, model_name="generator_fp32") as grpc_client:
        rest = RestClient(server.rest_url, model_name="generator_fp32")
        variants = {
            "gRPC serving_default (uint8 tensors)": lambda: grpc_client.generate(seeds),
            "gRPC generate_gif (bytes)": lambda: grpc_client.generate_gifs(seeds),
            "REST serving_default (JSON number lists)": lambda: rest.generate(seeds),
            "REST generate_gif (b64 in JSON)": lambda: rest.generate_gifs(seeds),
            "REST generate_jpeg_strip (b64 in JSON)": lambda: rest.generate_jpeg_strips(seeds),
        }
        for name, call in variants.items():
            timer.warm(name, call)
        for _ in range(FLAGS.rounds):
            for name, call in variants.items():
                timer.time(name, call, 1 if "JSON number" in name else 3)
    print(f"\nREST vs gRPC at batch 1, fp32 export, development server on loopback (load "
          f"average {os.getloadavg()[0]:.2f}):")
    for name in variants:
        print(f"  {name:44s} median {timer.median(name) * 1e3:8.1f} ms, best "
              f"{timer.best(name) * 1e3:8.1f} ms")
    grpc_gif = timer.median("gRPC generate_gif (bytes)")
    grpc_uint8 = timer.median("gRPC serving_default (uint8 tensors)")
    print(f"rest bytes vs grpc b1: {timer.median('REST generate_gif (b64 in JSON)') / grpc_gif:.2f}"
          f" (REST generate_gif / gRPC generate_gif; vs gRPC serving_default "
          f"{timer.median('REST generate_gif (b64 in JSON)') / grpc_uint8:.2f})")
    print(f"rest json vs grpc b1: "
          f"{timer.median('REST serving_default (JSON number lists)') / grpc_uint8:.2f} "
          "(REST serving_default / gRPC serving_default)")


if __name__ == "__main__":
    app.run(main)
