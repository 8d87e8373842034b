"""GPU speed of training and serving (not a test): one script, under 8 minutes on an H100.

On a GPU it measures, at the paper's size (32x64x64, default G and D):
- the train step (VideoGAN built by `training.build_gan`, run through its compiled train
  function, what `fit` calls) at batch 64, in fp32 (TF32 tensor cores where TF enables
  them), bf16 (mixed_bfloat16) and fp16 (mixed_float16 with loss scaling), each with XLA
  off and on (`--jit_compile`), in each `--layer_forms` given (default plain; `plain,both`
  times the stride-1 layer forms against the plain layers); the variants' timed rounds
  interleaved;
- the exported generator (`export.export_generator`, fp32 and bf16, its serving_default
  signature: seeds in, uint8 videos and masks out) at batch 1 and 64;
and prints per variant videos/s, model GFLOP/s and MFU: the model FLOP rate over the
card's dense tensor-core peak of that precision, looked up from the card's name (PEAKS:
H100, H200, A100, L4; `--peak_tflops` for other cards). Model FLOP per video of a train
step is the count of bench/train_step.py (G forward and backward, D forward and backward
on the real and the fake batch; 38.7 GFLOP at the paper size); of the exported generator,
its convolutions' FLOP (4.51 GFLOP). The batch is prefetched to the GPU, so the step's
time is the model's. Last, the line `jit_compile on GPU:` says which XLA setting was
faster in every precision: the value for `training.config.GPU_JIT_COMPILE`; with two or
more forms, `layer_forms on GPU:` says which form was fastest in every (precision, XLA)
pair.

Without a GPU it says so and exits 0 (`--cpu_dry_run` runs the whole flow on the CPU at
tiny sizes, to check the script, not to measure). A time budget (`--budget_s`) skips
what would not fit, and says so.

    TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python bench/gpu.py --json=gpu.json
    TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python bench/gpu.py --jit=off --layer_forms=plain,both \
        --serving_batches= --json=gpu_forms.json         # the forms, about as long
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import statistics
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

PAPER_MODEL_GFLOP = 38.7
"""GFLOP per video of a train step at the paper's size (bench/train_step.py's figure)."""

PEAKS = (
    # (pattern of the device name, card, dense peak TFLOP/s per precision; "fp32" is the
    # TF32 tensor-core rate, what TF's float32 matmuls and convolutions run at by default
    # on these cards, "fp32_cuda" the plain FP32 rate); NVIDIA's data sheets
    (r"H100.*NVL", "H100 NVL", dict(fp32=418.0, fp32_cuda=60.0, bf16=835.0, fp16=835.0)),
    (r"H100.*PCIe", "H100 PCIe", dict(fp32=378.0, fp32_cuda=51.0, bf16=756.0, fp16=756.0)),
    (r"H100", "H100 SXM", dict(fp32=494.7, fp32_cuda=67.0, bf16=989.4, fp16=989.4)),
    (r"H200.*NVL", "H200 NVL", dict(fp32=418.0, fp32_cuda=60.0, bf16=835.0, fp16=835.0)),
    (r"H200", "H200 SXM", dict(fp32=494.7, fp32_cuda=67.0, bf16=989.4, fp16=989.4)),
    (r"A100", "A100", dict(fp32=156.0, fp32_cuda=19.5, bf16=312.0, fp16=312.0)),
    (r"\bL4\b", "L4", dict(fp32=60.0, fp32_cuda=30.3, bf16=121.0, fp16=121.0)),
)
PRECISIONS = ("fp32", "bf16", "fp16")


def card_peaks(device_name: str):
    """(card, {precision: dense TFLOP/s}) for a device name ("NVIDIA H100 80GB HBM3"),
    None for a card not in PEAKS."""
    for pattern, card, peaks in PEAKS:
        if re.search(pattern, device_name):
            return card, dict(peaks)
    return None


# -- FLOP counts from the layers ----------------------------------------------------------


def layer_macs(layer) -> int:
    """Multiply-adds of one forward of a (transposed) convolution for one example: every
    output position (conv) or every input position (transposed) times the whole kernel."""
    import keras
    transposed = isinstance(layer, (keras.layers.Conv2DTranspose,
                                    keras.layers.Conv3DTranspose))
    shape = layer.input.shape if transposed else layer.output.shape
    positions = 1
    for n in shape[1:-1]:
        positions *= int(n)
    kernel = 1
    for n in layer.kernel.shape:
        kernel *= int(n)
    return positions * kernel


def conv_layers(network) -> list:
    return [layer for stage in network.layers for layer in getattr(stage, "layers", ())
            if hasattr(layer, "kernel") and len(layer.kernel.shape) >= 4]


def forward_gflop(network) -> float:
    """GFLOP (2 x MACs) of one forward for one example, convolutions only."""
    return 2 * sum(layer_macs(layer) for layer in conv_layers(network)) / 1e9


def step_gflop(generator, discriminator) -> float:
    """The model GFLOP per video of a train step (bench/train_step.py's coarse count):
    G forward and backward (the backward twice the forward, less the input gradient of
    G's first layer) and D forward and backward on the real and on the fake batch."""
    g = [2 * layer_macs(layer) / 1e9 for layer in conv_layers(generator)]
    return 3 * sum(g) - g[0] + 2 * 3 * forward_gflop(discriminator)


def rates(seconds: list, batch: int, gflop: float, peak_tflops: float | None) -> dict:
    """videos/s (median and best of `seconds` per call of `batch` videos), model GFLOP/s
    and MFU (None without a peak)."""
    median, best = statistics.median(seconds), min(seconds)
    videos = batch / median
    gflops = videos * gflop
    return dict(videos_s=videos, videos_s_best=batch / best, gflops=gflops,
                mfu=gflops / (peak_tflops * 1e3) if peak_tflops else None,
                seconds=list(seconds))


def jit_choice(results: dict) -> bool | None:
    """True when XLA was faster in every (precision, layer forms) measured both ways, False
    when slower in every one, None when mixed or nothing was measured both ways. Keys of
    `results`: (precision, jit, forms)."""
    faster = [results[(p, True, f)]["videos_s"] > results[(p, False, f)]["videos_s"]
              for (p, jit, f) in results if jit and (p, False, f) in results]
    if not faster or len(set(faster)) > 1:
        return None
    return faster[0]


def forms_choice(results: dict) -> str | None:
    """The layer forms with the most videos/s in every (precision, jit) measured in two or
    more forms; None when they disagree or no pair was measured in two forms."""
    best = []
    for (p, jit) in dict.fromkeys((p, jit) for (p, jit, _) in results):
        rows = {f: r["videos_s"] for (q, j, f), r in results.items() if (q, j) == (p, jit)}
        if len(rows) > 1:
            best.append(max(rows, key=rows.get))
    if not best or len(set(best)) > 1:
        return None
    return best[0]


def gpu_name(tf) -> str | None:
    """The first GPU's name, None without one."""
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None
    details = tf.config.experimental.get_device_details(gpus[0])
    return details.get("device_name", gpus[0].name)


# -- the measurements ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Settings:
    """What one run measures (the flags)."""

    frames: int = 32
    size: int = 64
    base_width: int = 64
    batch: int = 64
    precisions: tuple = PRECISIONS
    jit: tuple = (False, True)
    layer_forms: tuple = ("plain",)
    rounds: int = 3
    steps: int = 5
    warmup: int = 2
    serving_batches: tuple = (1, 64)
    serving_calls: int = 5
    budget_s: float = 450.0
    peak_tflops: float = 0.0  # 0: from the card's name
    cpu_dry_run: bool = False


class Clock:
    """Seconds since the start; whether `need` more seconds fit in the budget."""

    def __init__(self, budget_s: float):
        self.start, self.budget_s = time.perf_counter(), budget_s

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def fits(self, need: float) -> bool:
        return self.elapsed() + need <= self.budget_s


class TrainVariant:
    """VideoGAN at (precision, jit, layer forms), compiled like `fit` compiles it, on a
    prefetched constant batch."""

    def __init__(self, settings: Settings, precision: str, jit: bool, forms: str,
                 work: str):
        import numpy as np
        import tensorflow as tf
        from vgan_tf import training

        config = training.from_preset(
            "paper", model_dir=work, synthetic=True, frames=settings.frames,
            size=settings.size, base_width=settings.base_width, batch_size=settings.batch,
            precision=precision, jit_compile=jit, layer_forms=forms)
        self.gan = training.build_gan(config)
        real = np.random.default_rng(0).uniform(
            -1, 1, (settings.batch, settings.frames, settings.size, settings.size, 3))
        data = tf.data.Dataset.from_tensors(real.astype("float32")).repeat()
        if not settings.cpu_dry_run:
            data = data.apply(tf.data.experimental.prefetch_to_device("/gpu:0", 2))
        self.iterator = iter(data)
        self.gan.make_train_function()
        start = time.perf_counter()
        for _ in range(settings.warmup):
            self.step()
        self.warm_s = time.perf_counter() - start

    def step(self):
        return float(self.gan.train_function(self.iterator)["d_loss"])  # waits

    def time_steps(self, steps: int) -> float:
        start = time.perf_counter()
        for _ in range(steps):
            self.step()
        return (time.perf_counter() - start) / steps


def build_variants(settings: Settings, clock: Clock, notes: list) -> dict:
    """{(precision, jit, forms): TrainVariant}, XLA-off ones first; a build that would not
    fit in the budget is skipped with a note (an XLA build is guessed at 3x the plain
    one)."""
    work = tempfile.mkdtemp(prefix="vgan_gpu_")
    variants, build_s = {}, {}
    for jit in sorted(settings.jit):
        for precision in settings.precisions:
            for forms in settings.layer_forms:
                guess = build_s.get(precision, 20.0) * (3 if jit else 1)
                name = f"{precision} jit={jit} forms={forms}"
                if not clock.fits(guess + 150):  # leave time for the rounds and serving
                    notes.append(f"skipped train {name}: budget")
                    continue
                start = time.perf_counter()
                variants[(precision, jit, forms)] = TrainVariant(
                    settings, precision, jit, forms,
                    os.path.join(work, f"{precision}_{jit}_{forms}"))
                build_s.setdefault(precision, time.perf_counter() - start)
                print(f"built train {name}: build + {settings.warmup} warm-up steps "
                      f"{time.perf_counter() - start:.1f} s", flush=True)
    return variants


def time_rounds(variants: dict, settings: Settings, clock: Clock, notes: list) -> dict:
    """{key: [seconds per step, one per round]}, every variant once per round, the order
    reversed every other round; stops early when the next round would not fit."""
    times = {key: [] for key in variants}
    keys = list(variants)
    round_s = None
    for round_ in range(settings.rounds):
        if round_s is not None and not clock.fits(round_s + 60):
            notes.append(f"train rounds: {round_} of {settings.rounds} (budget)")
            break
        start = time.perf_counter()
        for key in (keys if round_ % 2 == 0 else keys[::-1]):
            times[key].append(variants[key].time_steps(settings.steps))
        round_s = time.perf_counter() - start
    return times


def serving_rates(generator, settings: Settings, peaks: dict, clock: Clock,
                  notes: list) -> dict:
    """{(precision, batch): rates} of the exported generator's serving_default signature
    (seeds in, uint8 parts out), fp32 and bf16 exports, after two warm-up calls."""
    import numpy as np
    import tensorflow as tf
    from vgan_tf import export
    from vgan_tf.serving import api

    if not settings.serving_batches:
        return {}
    base = tempfile.mkdtemp(prefix="vgan_gpu_export_")
    gflop = forward_gflop(generator)
    out = {}
    for precision in ("fp32", "bf16"):
        if not clock.fits(45):
            notes.append(f"skipped serving {precision}: budget")
            continue
        path = export.export_generator(generator, base, model_name=f"generator_{precision}",
                                       warmup_batch_sizes=(), precision=precision)
        serve = tf.saved_model.load(path).signatures[api.SERVING_DEFAULT]
        for batch in settings.serving_batches:
            seeds = tf.constant(np.arange(batch, dtype=np.int64))

            def call():
                return [v.numpy() for v in serve(seed=seeds).values()]
            call(), call()
            seconds = []
            for _ in range(settings.serving_calls):
                start = time.perf_counter()
                call()
                seconds.append(time.perf_counter() - start)
            out[(precision, batch)] = rates(seconds, batch, gflop, peaks.get(precision))
    return out


def _cell(value, form="{:.2f}"):
    return "-" if value is None else form.format(value)


def report(device: str, peaks: dict, step: float, train: dict, serving: dict,
           serving_gflop: float, settings: Settings) -> list:
    """The printed lines: the peaks, a train table, a serving table, the XLA choice."""
    lines = [f"device: {device}; peak TFLOP/s used for MFU: " + (", ".join(
        f"{p} {peaks[p]:.1f}" for p in PRECISIONS if p in peaks) or "none (no MFU)")]
    lines += [f"train step, batch {settings.batch}, {settings.frames}x{settings.size}x"
              f"{settings.size}, base width {settings.base_width}: {step:.3g} model GFLOP "
              "per video", "| precision | XLA | layer forms | videos/s median | best | "
              "model TFLOP/s | MFU |", "|---|---|---|---|---|---|---|"]
    for (precision, jit, forms), r in train.items():
        lines.append(f"| {precision} | {'on' if jit else 'off'} | {forms} | "
                     f"{r['videos_s']:.1f} | {r['videos_s_best']:.1f} | "
                     f"{r['gflops'] / 1e3:.2f} | {_cell(r['mfu'])} |")
    lines += [f"exported generator (serving_default): {serving_gflop:.3g} GFLOP per video",
              "| precision | batch | ms per call | videos/s | model TFLOP/s | MFU |",
              "|---|---|---|---|---|---|"]
    for (precision, batch), r in serving.items():
        lines.append(f"| {precision} | {batch} | {batch / r['videos_s'] * 1e3:.2f} | "
                     f"{r['videos_s']:.1f} | {r['gflops'] / 1e3:.2f} | {_cell(r['mfu'])} |")
    ratios = ", ".join(
        f"{p}{'' if len(settings.layer_forms) == 1 else ' ' + f} "
        f"x{train[(p, True, f)]['videos_s'] / train[(p, False, f)]['videos_s']:.2f}"
        for (p, jit, f) in train if jit and (p, False, f) in train)
    choice = jit_choice(train)
    lines.append(f"jit_compile on GPU: {({True: 'on', False: 'off'}).get(choice, 'mixed')}"
                 f" (XLA on / off, videos/s: {ratios or 'not measured both ways'})")
    if len(settings.layer_forms) > 1:
        against = ", ".join(
            f"{p} {'XLA ' if jit else ''}{f} x{r['videos_s'] / train[(p, jit, 'plain')]['videos_s']:.2f}"
            for (p, jit, f), r in train.items() if f != "plain" and (p, jit, "plain") in train)
        lines.append(f"layer_forms on GPU: {forms_choice(train) or 'mixed'} (form / plain, "
                     f"videos/s: {against or 'plain not measured'})")
    return lines


def device_peaks(tf, name: str, settings: Settings) -> tuple:
    """(description, {precision: TFLOP/s}) of the device MFU divides by."""
    if settings.peak_tflops:
        return (f"{name} (peak given: {settings.peak_tflops} TFLOP/s)",
                {p: settings.peak_tflops for p in PRECISIONS})
    found = card_peaks(name)
    if found is None:
        return f"{name} (not in PEAKS: give --peak_tflops)", {}
    card, peaks = found
    tf32 = tf.config.experimental.tensor_float_32_execution_enabled()
    if not tf32:
        peaks["fp32"] = peaks["fp32_cuda"]
    return f"{name} ({card}; fp32 at the {'TF32' if tf32 else 'FP32'} rate)", peaks


def run(settings: Settings) -> dict | None:
    """Measures and prints (module docstring); returns the results, None without a GPU
    (nothing measured)."""
    import tensorflow as tf
    from absl import logging

    logging.set_verbosity(logging.WARNING)  # the SavedModel writer's info lines
    clock = Clock(settings.budget_s)
    name = gpu_name(tf)
    if name is None and not settings.cpu_dry_run:
        print("no GPU: TensorFlow sees no GPU device here, and bench/gpu.py measures on a "
              "GPU only; nothing measured")
        return None
    name = name or "CPU (dry run: checks the script, measures nothing)"
    description, peaks = device_peaks(tf, name, settings)
    notes = []
    variants = build_variants(settings, clock, notes)
    times = time_rounds(variants, settings, clock, notes)
    any_gan = next(iter(variants.values())).gan
    paper = (settings.frames, settings.size, settings.base_width) == (32, 64, 64)
    step = (PAPER_MODEL_GFLOP if paper
            else step_gflop(any_gan.generator, any_gan.discriminator))
    train = {key: rates(times[key], settings.batch, step, peaks.get(key[0]))
             for key in variants if times[key]}
    generator = variants.get(("fp32", False, "plain"),
                             next(iter(variants.values()))).gan.generator
    serving = serving_rates(generator, settings, peaks, clock, notes)
    for line in report(description, peaks, step, train, serving, forward_gflop(generator),
                       settings):
        print(line)
    for note in notes:
        print(f"note: {note}")
    print(f"total {clock.elapsed():.0f} s (budget {settings.budget_s:.0f} s)")
    return dict(device=description, peaks=peaks, step_gflop=step, notes=notes,
                train={f"{p} jit={'on' if j else 'off'}"
                       + ("" if f == "plain" else f" forms={f}"): r
                       for (p, j, f), r in train.items()},
                serving={f"{p} b{b}": r for (p, b), r in serving.items()},
                jit_compile_on_gpu=jit_choice(train), layer_forms_on_gpu=forms_choice(train))


DRY_RUN = dict(frames=8, size=16, base_width=8, batch=2, rounds=1, steps=1, warmup=1,
               serving_batches=(1, 2), serving_calls=1)
"""The tiny sizes of --cpu_dry_run."""


def settings_from_flags(FLAGS) -> Settings:
    values = dict(frames=FLAGS.frames, size=FLAGS.size, base_width=FLAGS.base_width,
                  batch=FLAGS.batch, precisions=tuple(FLAGS.precisions),
                  jit=tuple({"off": False, "on": True}[v] for v in FLAGS.jit),
                  layer_forms=tuple(FLAGS.layer_forms),
                  rounds=FLAGS.rounds, steps=FLAGS.steps, warmup=FLAGS.warmup,
                  serving_batches=tuple(int(b) for b in FLAGS.serving_batches),
                  serving_calls=FLAGS.serving_calls, budget_s=FLAGS.budget_s,
                  peak_tflops=FLAGS.peak_tflops, cpu_dry_run=FLAGS.cpu_dry_run)
    if FLAGS.cpu_dry_run:
        values.update(DRY_RUN)
    return Settings(**values)


def _define_flags():
    from absl import flags
    defaults = Settings()
    flags.DEFINE_integer("frames", defaults.frames, "Frames per clip.")
    flags.DEFINE_integer("size", defaults.size, "Frame size.")
    flags.DEFINE_integer("base_width", defaults.base_width, "Base width of G and D.")
    flags.DEFINE_integer("batch", defaults.batch, "Train batch.")
    flags.DEFINE_list("precisions", list(defaults.precisions), "fp32, bf16, fp16.")
    flags.DEFINE_list("jit", ["off", "on"], "XLA settings of the train step: off, on.")
    flags.DEFINE_list("layer_forms", list(defaults.layer_forms), "Layer forms of the train "
                      "step (vgan-train --layer_forms): plain, d_input, g_heads, both.")
    flags.DEFINE_integer("rounds", defaults.rounds, "Interleaved train rounds.")
    flags.DEFINE_integer("steps", defaults.steps, "Train steps per variant per round.")
    flags.DEFINE_integer("warmup", defaults.warmup, "Untimed steps per variant (XLA "
                         "compiles in the first).")
    flags.DEFINE_list("serving_batches", ["1", "64"], "Batches of the exported generator.")
    flags.DEFINE_integer("serving_calls", defaults.serving_calls, "Timed calls per batch.")
    flags.DEFINE_float("budget_s", defaults.budget_s, "Seconds the measurements may take "
                       "(what would not fit is skipped, with a note).")
    flags.DEFINE_float("peak_tflops", 0.0, "The card's peak TFLOP/s for MFU (0: from the "
                       "card's name, PEAKS).")
    flags.DEFINE_bool("cpu_dry_run", False, "Without a GPU: run the whole flow on the CPU "
                      "at tiny sizes (checks the script; its figures mean nothing).")
    flags.DEFINE_string("json", "", "Also write the results here.")
    return flags.FLAGS


def main(argv):
    del argv
    results = run(settings_from_flags(FLAGS))
    if results is not None and FLAGS.json:
        with open(FLAGS.json, "w") as handle:
            json.dump(results, handle, indent=2)
    return 0


if __name__ == "__main__":
    from absl import app
    FLAGS = _define_flags()
    app.run(main)
