"""Training speed benchmark (not a test): VideoGAN's train step against plain PyTorch.

Steady-state train steps of VideoGAN at the paper's size (32x64x64, TwoStreamGenerator and
Discriminator at their default sizes), built by `training.build_gan` and run through the
model's compiled train function (`make_train_function()`, what `fit` calls), after
warm-up, for each batch size, precision (fp32, bf16 = mixed_bfloat16) and G-step form
(`--g_steps`). The same network and update in PyTorch (bench/torch_reference.py, run as a
worker process in its own venv) is timed the same way, its rounds interleaved with the
vgan_tf rounds (only one of the two computes at any time), so machine noise hits both.

Per variant it prints videos/s (median and best round), model GFLOP/s (MODEL_GFLOP per
video per step, the issue's figure; the bench also prints its own count from the layers)
and the fraction of the peak: the best rate of a 4096x4096 matmul (TF and torch) and of a
large 3-D convolution (TF), measured in the same run per precision. Then, each on its own
line: `ratio fp32: X` (vgan_tf / torch at fp32, default G step in both), `ratio best: Y`
(each framework at its best precision), `peak fraction fp32: Z`, `peak fraction bf16: W`,
all from the median rounds; beside them the median of per-round ratios of adjacent rounds
("paired rounds", robust to load that changes between rounds), the peak fractions of the
best rounds, and the load average per round. `--inter_op` / `--intra_op` set TF's thread
pools (0: TF's defaults, what `fit` gets).

`--forms` compares the stride-1 forms of the k4 s2 layers (blocks.py) side by side, each
form a variant of its own in the same interleaved rounds: plain (every layer a plain Keras
layer), d_input (D's first layer as space-to-depth + a stride-1 2x2x2 convolution),
g_heads (G's video heads as a stride-1 2x2x2 transposed convolution + depth-to-space),
both; "default" is what `training.build_gan` builds (the networks' defaults). It prints,
per precision, each form against plain (`form d_input / plain fp32: x..`). PyTorch runs
beside the first form only. The measurement behind the defaults (docs/performance.md):

    .venv/bin/python bench/train_step.py --batches=8 --g_steps=paper --notorch
        --forms=plain,d_input,g_heads,both --rounds=5    (one command line)

`--layers` times each rewritable layer alone instead (forward and both gradients, plain
against rewritten, interleaved): `bench/train_step.py --layers --batches=8 --rounds=9`.

Setup (torch in its own venv: installing it into .venv would upgrade setuptools there):

    python3 -m venv .venv-torch && .venv-torch/bin/pip install torch==2.14.1 numpy

Run (batch 64 takes tens of seconds per step on 2 cores; `--batches=8` runs one size):

    TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python bench/train_step.py --batches=8,64
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from absl import app, flags

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

training = None  # vgan_tf.training, imported in main() after the thread settings
blocks = None  # vgan_tf.models.blocks, imported by --layers

MODEL_GFLOP = 38.7
"""The issue's figure: GFLOP per video per step (G forward 4.5, D forward 4.2; forward and
backward of G, and of D on the real and the fake batch), the same for both frameworks."""

flags.DEFINE_list("batches", ["8", "64"], "Batch sizes.")
flags.DEFINE_list("precisions", ["fp32", "bf16"], "fp32 and/or bf16.")
flags.DEFINE_list("g_steps", ["updated_d", "paper"], "G-step forms of vgan_tf (and torch).")
flags.DEFINE_integer("rounds", 3, "Timed rounds per variant (interleaved).")
flags.DEFINE_integer("steps", 2, "Steps per round.")
flags.DEFINE_integer("warmup", 2, "Untimed steps per variant before the rounds.")
flags.DEFINE_bool("torch", True, "Time the PyTorch reference too.")
flags.DEFINE_string("torch_python", os.path.join(REPO, ".venv-torch", "bin", "python"),
                    "Python of the venv holding torch.")
flags.DEFINE_integer("frames", 32, "Frames per clip.")
flags.DEFINE_integer("size", 64, "Frame size.")
flags.DEFINE_integer("base_width", 64, "Base width.")
flags.DEFINE_string("json", "", "Also write the results here.")
flags.DEFINE_list("forms", ["default"], "Layer forms of vgan_tf, compared side by side: "
                  "default (the networks' defaults), plain, d_input, g_heads, both.")
flags.DEFINE_bool("layers", False, "Instead of the steps: each rewritable layer of the "
                  "paper's networks alone, plain against its stride-1 form (forward and both "
                  "gradients, batch --batches[0], interleaved rounds).")
flags.DEFINE_integer("inter_op", 0, "TF inter-op threads (0: TF's default).")
flags.DEFINE_integer("intra_op", 0, "TF intra-op threads (0: TF's default).")
FLAGS = flags.FLAGS


# -- FLOP count of the layers ---------------------------------------------------------


def _conv_macs(layer):
    """Multiply-adds of one forward of a conv / transposed conv layer for one example."""
    kernel = np.prod(layer.kernel.shape[:-2])
    if "Transpose" in type(layer).__name__:
        cout, cin = layer.kernel.shape[-2], layer.kernel.shape[-1]
        positions = np.prod(layer.input.shape[1:-1])  # every input position, every tap
    else:
        cin, cout = layer.kernel.shape[-2], layer.kernel.shape[-1]
        positions = np.prod(layer.output.shape[1:-1])
    return int(positions * kernel * cin * cout)


def conv_layers(network):
    return [layer for stage in network.layers for layer in stage.layers
            if "Conv" in type(layer).__name__]


def flop_count(generator, discriminator):
    """GFLOP per video: forwards and the executed steps of both G-step forms.

    A backward pass costs an input gradient and a weight gradient, each the forward's FLOP,
    except the input gradient of a network's first layer (z, or the real batch), which
    nothing needs; "G through D" needs D's input gradients only.
    """
    g = [2 * _conv_macs(layer) for layer in conv_layers(generator)]
    d = [2 * _conv_macs(layer) for layer in conv_layers(discriminator)]
    g_fwd, d_fwd = sum(g) / 1e9, sum(d) / 1e9
    g_bwd = (2 * sum(g) - g[0]) / 1e9
    d_bwd_weights = (2 * sum(d) - d[0]) / 1e9   # weight grads + input grads but layer 0
    d_input_grads = sum(d) / 1e9                # through D to its input
    g_total = g_fwd + g_bwd
    issue = g_total + 2 * (3 * d_fwd)           # the issue's coarse count
    updated_d = g_total + 2 * (d_fwd + d_bwd_weights) + d_fwd + d_input_grads
    paper = g_total + 2 * (d_fwd + d_bwd_weights) + d_input_grads
    return dict(g_forward=g_fwd, d_forward=d_fwd, coarse=issue, updated_d=updated_d,
                paper=paper)


# -- peak candidates --------------------------------------------------------------------


def _best_seconds(fn, reps):
    fn()
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def tf_matmul_rate(precision, n=4096, reps=5):
    dtype = tf.bfloat16 if precision == "bf16" else tf.float32
    a = tf.cast(tf.random.normal([n, n]), dtype)
    b = tf.cast(tf.random.normal([n, n]), dtype)
    fn = tf.function(lambda: tf.reduce_sum(tf.cast(tf.matmul(a, b)[0, :8], tf.float32)))
    return 2 * n ** 3 / _best_seconds(lambda: fn().numpy(), reps) / 1e9


def tf_conv3d_rate(precision, reps=3):
    """A large stride-1 3x3x3 conv, 128 -> 128 channels over [4, 16, 32, 32]."""
    dtype = tf.bfloat16 if precision == "bf16" else tf.float32
    x = tf.cast(tf.random.normal([4, 16, 32, 32, 128]), dtype)
    w = tf.cast(tf.random.normal([3, 3, 3, 128, 128]) * 0.01, dtype)
    fn = tf.function(lambda: tf.reduce_sum(tf.cast(tf.nn.conv3d(
        x, w, [1] * 5, "SAME")[0, 0, 0, 0], tf.float32)))
    flop = 2 * 4 * 16 * 32 * 32 * 27 * 128 * 128
    return flop / _best_seconds(lambda: fn().numpy(), reps) / 1e9


# -- the two frameworks' steps ----------------------------------------------------------


FORMS = {"plain": (False, False), "d_input": (True, False), "g_heads": (False, True),
         "both": (True, True)}
"""form -> (D's space_to_depth_input, G's depth_to_space_heads); "default": build_gan's."""


def build_gan(config, form):
    """`training.build_gan(config)`, with the networks built in `form` unless "default"."""
    if form == "default":
        return training.build_gan(config)
    from vgan_tf import tasks
    from vgan_tf.models import Discriminator, TwoStreamGenerator, families
    from vgan_tf.training import precision as precision_lib
    d_input, g_heads = FORMS[form]
    model, optim, precision = config.model, config.training, config.runtime.precision
    with precision_lib.policy(precision):
        generator = TwoStreamGenerator(model.frames, model.size, model.latent_dim,
                                       model.base_width, depth_to_space_heads=g_heads,
                                       name="generator")
        discriminator = Discriminator(model.frames, model.size, model.base_width,
                                      space_to_depth_input=d_input, name="discriminator")
    gan = families.family("video").build_task(generator, discriminator, config)
    gan.compile(
        g_optimizer=precision_lib.wrap_optimizer(
            tasks.paper_adam(optim.g_learning_rate, optim.beta_1, name="g_adam"), precision),
        d_optimizer=precision_lib.wrap_optimizer(
            tasks.paper_adam(optim.d_learning_rate, optim.beta_1, name="d_adam"), precision),
        jit_compile=False)
    return gan


class TfVariant:
    """One compiled VideoGAN at (batch, precision, g_step, form), driven like `fit`
    drives it."""

    def __init__(self, batch, precision, g_step, work, form="default"):
        config = training.from_preset(
            "paper", model_dir=work, synthetic=True, frames=FLAGS.frames, size=FLAGS.size,
            base_width=FLAGS.base_width, batch_size=batch, precision=precision,
            g_step=g_step)
        self.gan = build_gan(config, form)
        real = np.random.default_rng(0).uniform(
            -1, 1, (batch, FLAGS.frames, FLAGS.size, FLAGS.size, 3)).astype("float32")
        self.iterator = iter(tf.data.Dataset.from_tensors(real).repeat())
        self.gan.make_train_function()
        for _ in range(FLAGS.warmup):
            self._step()

    def _step(self):
        logs = self.gan.train_function(self.iterator)
        return float(logs["d_loss"])  # waits for the step

    def time_steps(self, steps):
        start = time.perf_counter()
        for _ in range(steps):
            self._step()
        return time.perf_counter() - start


class TorchWorker:
    """bench/torch_reference.py --worker in the torch venv; one command at a time."""

    def __init__(self, python):
        self.process = subprocess.Popen(
            [python, os.path.join(REPO, "bench", "torch_reference.py"), "--worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(self, **command):
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the torch worker died (see its stderr above)")
        return json.loads(line)

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=60)


def _summary(per_step, batch, peak, model_gflop):
    median, best = statistics.median(per_step), min(per_step)
    vps = batch / median
    return dict(videos_s=vps, videos_s_best=batch / best, gflops=vps * model_gflop,
                peak_fraction=vps * model_gflop / peak, per_step=per_step)


LAYER_CASES = {
    # name: (make(rewritten), input shape per example at the paper's size)
    "d_conv0 3->64": (lambda f: blocks.down3d(64, "d_conv0", space_to_depth=f),
                      (32, 64, 64, 3)),
    "fg_out 64->3": (lambda f: blocks.up(3, 3, "fg_out", depth_to_space=f), (16, 32, 32, 64)),
    "mask_out 64->1": (lambda f: blocks.up(3, 1, "mask_out", depth_to_space=f),
                       (16, 32, 32, 64)),
    "bg_out 2-D 64->3": (lambda f: blocks.up(2, 3, "bg_out", depth_to_space=f),
                         (32, 32, 64)),
}


def layer_step(make, shape, rewritten):
    """A tf.function: the layer's forward and its input and kernel gradients (a squared
    loss, so that the gradients need the forward's output and no pass is pruned)."""
    layer = make(rewritten)
    layer.build(shape)
    x = tf.random.normal(shape)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(tf.square(tf.cast(layer(x), tf.float32)))
        dx, dk = tape.gradient(loss, [x, layer.kernel])
        return loss + tf.reduce_sum(dx[0, 0]) + tf.reduce_sum(dk)
    return step


def layer_rounds(batch):
    """--layers: each case plain and rewritten, per precision, interleaved rounds."""
    import keras
    global blocks
    from vgan_tf.models import blocks
    steps = {}
    for precision in FLAGS.precisions:
        keras.config.set_dtype_policy("mixed_bfloat16" if precision == "bf16" else "float32")
        for name, (make, shape) in LAYER_CASES.items():
            for rewritten in (False, True):
                steps[(precision, name, rewritten)] = layer_step(make, (batch,) + shape,
                                                                 rewritten)
    keras.config.set_dtype_policy("float32")
    for step in steps.values():
        step(), step()
    times, loads = {key: [] for key in steps}, []
    for round_ in range(FLAGS.rounds):
        for key in (list(steps) if round_ % 2 == 0 else list(steps)[::-1]):
            start = time.perf_counter()
            steps[key]().numpy()
            times[key].append(time.perf_counter() - start)
        loads.append(os.getloadavg()[0])
    print(f"layers at batch {batch}, forward + input and kernel gradients, {FLAGS.rounds} "
          "interleaved rounds; load average per round " + ", ".join(f"{l:.2f}" for l in loads))
    print("| precision | layer | plain ms | rewritten ms | plain / rewritten (paired rounds) |")
    print("|---|---|---|---|---|")
    for precision in FLAGS.precisions:
        for name in LAYER_CASES:
            plain, fast = times[(precision, name, False)], times[(precision, name, True)]
            print(f"| {precision} | {name} | {statistics.median(plain) * 1e3:.1f} | "
                  f"{statistics.median(fast) * 1e3:.1f} | "
                  f"x{statistics.median(a / b for a, b in zip(plain, fast)):.2f} |")


def main(argv):
    del argv
    batches = [int(b) for b in FLAGS.batches]
    if FLAGS.layers:
        return layer_rounds(batches[0])
    if FLAGS.inter_op:
        tf.config.threading.set_inter_op_parallelism_threads(FLAGS.inter_op)
    if FLAGS.intra_op:
        tf.config.threading.set_intra_op_parallelism_threads(FLAGS.intra_op)
    global training
    from vgan_tf import training  # noqa: E402  (some modules make tensors on import)
    load0 = os.getloadavg()
    worker = TorchWorker(FLAGS.torch_python) if FLAGS.torch else None
    work = tempfile.mkdtemp(prefix="vgan_train_step_")
    tf_variants, keys, form_keys = {}, [], []
    first_form, other_forms = FLAGS.forms[0], FLAGS.forms[1:]
    for form in FLAGS.forms:
        if form != "default" and form not in FORMS:
            raise app.UsageError(f"--forms: unknown form {form!r}")
    for batch in batches:
        for precision in FLAGS.precisions:
            for g_step in FLAGS.g_steps:
                key = f"b{batch}_{precision}_{g_step}"
                keys.append((key, batch, precision, g_step))
                tf_variants[key] = TfVariant(batch, precision, g_step,
                                             os.path.join(work, key), first_form)
                for form in other_forms:  # vgan_tf only, timed right after its base
                    form_keys.append((f"{key}_{form}", key, form))
                    tf_variants[f"{key}_{form}"] = TfVariant(
                        batch, precision, g_step, os.path.join(work, f"{key}_{form}"), form)
                if worker:
                    worker.ask(cmd="build", key=key, batch=batch, precision=precision,
                               g_step=g_step, frames=FLAGS.frames, size=FLAGS.size,
                               base_width=FLAGS.base_width, warmup=FLAGS.warmup)
    times = {(key, fw): [] for key, *_ in keys for fw in ("vgan_tf", "torch")}
    times.update({(key, "vgan_tf"): [] for key, *_ in form_keys})
    units = []  # (variant, with torch beside it), each form right after its base
    for key, *_ in keys:
        units.append((key, True))
        units += [(form_key, False) for form_key, base, _ in form_keys if base == key]
    peaks = {p: {} for p in FLAGS.precisions}
    loads = []
    for round_ in range(FLAGS.rounds):
        # Peak candidates in every round too (the best round counts), then the variants,
        # the two frameworks back to back, in alternating order.
        for precision in FLAGS.precisions:
            candidates = {"tf matmul": tf_matmul_rate(precision),
                          "tf conv3d": tf_conv3d_rate(precision)}
            if worker:
                candidates["torch matmul"] = worker.ask(
                    cmd="matmul", precision=precision)["gflops"]
            for name, rate in candidates.items():
                peaks[precision][name] = max(peaks[precision].get(name, 0.0), rate)
        order = units if round_ % 2 == 0 else units[::-1]
        for key, with_torch in order:
            frameworks = ["vgan_tf", "torch"] if worker and with_torch else ["vgan_tf"]
            if round_ % 2:
                frameworks = frameworks[::-1]
            for framework in frameworks:
                if framework == "vgan_tf":
                    seconds = tf_variants[key].time_steps(FLAGS.steps)
                else:
                    seconds = worker.ask(cmd="round", key=key, steps=FLAGS.steps)["seconds"]
                times[(key, framework)].append(seconds / FLAGS.steps)
        loads.append(os.getloadavg())
    info = worker.ask(cmd="info") if worker else {}
    if worker:
        worker.close()

    any_gan = next(iter(tf_variants.values())).gan
    flop = flop_count(any_gan.generator, any_gan.discriminator)
    paper_size = (FLAGS.frames, FLAGS.size, FLAGS.base_width) == (32, 64, 64)
    model_gflop = MODEL_GFLOP if paper_size else flop["coarse"]
    print(f"machine: {os.cpu_count()} CPUs; TF {tf.__version__}; torch {info.get('torch')}"
          f" ({info.get('threads')} threads)")
    print(f"size {FLAGS.frames}x{FLAGS.size}x{FLAGS.size}, base width {FLAGS.base_width}; "
          f"{FLAGS.rounds} rounds x {FLAGS.steps} steps after {FLAGS.warmup} warm-up steps")
    print(f"FLOP count per video (GFLOP): G forward {flop['g_forward']:.2f}, D forward "
          f"{flop['d_forward']:.2f}; step, issue's coarse count {flop['coarse']:.1f} "
          f"(model GFLOP used: {model_gflop:.2f}); executed: updated_d {flop['updated_d']:.1f}, "
          f"paper {flop['paper']:.1f}")
    peak = {}
    for precision, candidates in peaks.items():
        peak[precision] = max(candidates.values())
        print(f"peak {precision}: {peak[precision]:.0f} GFLOP/s (" + ", ".join(
            f"{name} {rate:.0f}" for name, rate in candidates.items()) + ")")
    results = {}
    print("| batch | precision | g_step | framework | videos/s median | best | model "
          "GFLOP/s | peak fraction |")
    print("|---|---|---|---|---|---|---|---|")
    for key, batch, precision, g_step in keys:
        for framework in ("vgan_tf", "torch"):
            if not times[(key, framework)]:
                continue
            r = _summary(times[(key, framework)], batch, peak[precision], model_gflop)
            results[(key, framework)] = r
            print(f"| {batch} | {precision} | {g_step} | {framework} | {r['videos_s']:.2f} | "
                  f"{r['videos_s_best']:.2f} | {r['gflops']:.0f} | "
                  f"{r['peak_fraction']:.2f} |")
    for form_key, base, form in form_keys:
        batch, precision, g_step = next(k[1:] for k in keys if k[0] == base)
        r = _summary(times[(form_key, "vgan_tf")], batch, peak[precision], model_gflop)
        results[(form_key, "vgan_tf")] = r
        print(f"| {batch} | {precision} | {g_step} | vgan_tf {form} | {r['videos_s']:.2f} | "
              f"{r['videos_s_best']:.2f} | {r['gflops']:.0f} | {r['peak_fraction']:.2f} |")
    if form_keys:
        print(f"forms: the rows without a form are {first_form}")
    for form_key, base, form in form_keys:
        batch, precision, g_step = next(k[1:] for k in keys if k[0] == base)
        ratio = results[(form_key, "vgan_tf")]["videos_s"] / results[(base, "vgan_tf")][
            "videos_s"]
        paired = statistics.median(b / f for f, b in zip(times[(form_key, "vgan_tf")],
                                                         times[(base, "vgan_tf")]))
        print(f"form {form} / {first_form} {precision} b{batch} {g_step}: x{ratio:.2f} "
              f"(medians), x{paired:.2f} (paired rounds)")
    default_g = training.TrainConfig().training.g_step
    print(f"load average: start {load0[0]:.2f}, per round "
          + ", ".join(f"{l[0]:.2f}" for l in loads))
    if max(l[0] for l in loads) > os.cpu_count():
        print(f"note: load above {os.cpu_count()} (the cores): other processes shared the "
              "cores; torch's threads slow down more than TF's when they do, so the "
              "ratios are above those of an idle machine (docs/performance.md)")
    for batch in batches:
        def vps(precision, framework, g_step=default_g):
            r = results.get((f"b{batch}_{precision}_{g_step}", framework))
            return r["videos_s"] if r else None
        if "paper" in FLAGS.g_steps and "updated_d" in FLAGS.g_steps:
            for precision in FLAGS.precisions:
                a, b = vps(precision, "vgan_tf", "paper"), vps(precision, "vgan_tf", "updated_d")
                pairs = zip(times[(f"b{batch}_{precision}_paper", "vgan_tf")],
                            times[(f"b{batch}_{precision}_updated_d", "vgan_tf")])
                paired_g = statistics.median(u / p for p, u in pairs)
                print(f"batch {batch} {precision}: vgan_tf paper / updated_d: x{a / b:.2f} "
                      f"(medians), x{paired_g:.2f} (paired rounds)")
        tail = "" if len(batches) == 1 else f" (batch {batch})"
        def paired(precision, g_step=default_g):
            """Median over rounds of torch's step time / vgan_tf's, adjacent rounds."""
            key = f"b{batch}_{precision}_{g_step}"
            return statistics.median(
                b / a for a, b in zip(times[(key, "vgan_tf")], times[(key, "torch")]))

        if worker and default_g in FLAGS.g_steps:
            for g_step in FLAGS.g_steps:
                print(f"batch {batch} {g_step}: vgan_tf / torch per precision, paired "
                      "rounds: " + ", ".join(f"{p} x{paired(p, g_step):.2f}"
                                             for p in FLAGS.precisions))
            if "fp32" in FLAGS.precisions:
                print(f"ratio fp32{tail}: {vps('fp32', 'vgan_tf') / vps('fp32', 'torch'):.2f}")
            best_tf = max(vps(p, "vgan_tf") for p in FLAGS.precisions)
            best_torch = max(vps(p, "torch") for p in FLAGS.precisions)
            print(f"ratio best{tail}: {best_tf / best_torch:.2f}")
        for precision in FLAGS.precisions:
            r = results.get((f"b{batch}_{precision}_{default_g}", "vgan_tf"))
            if r:
                print(f"peak fraction {precision}{tail}: {r['peak_fraction']:.2f}")
        for precision in FLAGS.precisions:
            r = results.get((f"b{batch}_{precision}_{default_g}", "vgan_tf"))
            if r:
                print(f"(best round) peak fraction {precision}{tail}: "
                      f"{r['videos_s_best'] * model_gflop / peak[precision]:.2f}")
    if FLAGS.json:
        with open(FLAGS.json, "w") as handle:
            json.dump({"peaks": peaks, "flop": flop, "loads": loads,
                       "forms": FLAGS.forms,
                       "results": {f"{k}/{fw}": v for (k, fw), v in results.items()}},
                      handle, indent=2)


if __name__ == "__main__":
    app.run(main)
