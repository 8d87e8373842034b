"""The recipe sweep of issue 26 (not a test): every recipe option alone and the promising
combinations, on the synthetic simple and digits scenes, several seeds each, an equal
wall-clock training budget per run, scored against the same held-out clips.

Each row is the `demo` preset (what `make demo` trains) plus the row's settings
(`--ema_decay`, `--r1_gamma`/`--r1_every`, `--augment`, `--loss`, `--spectral_norm`;
"baseline" is the preset alone: the paper's recipe, every option off). The budget: the
baseline trains --baseline_steps (1200: what the demo preset trains in about 240 s on 2
cores, its share of `make demo`'s 6 minutes); every other row trains for as long, in
steps the baseline's steps x (the baseline's seconds per step / the row's), to whole
epochs. The seconds per step come from one calibration per scene (step_costs): every
row's task built side by side in one process and timed on the same batch, in rounds whose
row order rotates, the fastest round kept. Side by side because this project's machine is
shared: timing each row alone (wall or CPU seconds) gave costs that moved by 25% with the
load, in both directions. Scores (vgan_tf.metrics.scene_scores, what vgan-score-synthetic prints): fvd, kvd,
background_std, count_mean, mask_contrast of --num_samples generated clips against as many
held-out clips (data-set seed 1000); mean and spread (standard deviation over the seeds)
per row. The real-vs-real floor: FVD and KVD between those held-out clips and as many
other real clips (seed 1001), the distance a perfect generator would still show.

    python bench/recipes.py --dry_run                       # the plan, nothing trained
    python bench/recipes.py --tiny --out_dir=/tmp/recipes_tiny   # every step, in minutes
    python bench/recipes.py --seeds=3 --out_dir=/tmp/recipes --workers=2

`--workers=N` trains N runs at once, each in a process of its own on one thread
(TF_NUM_INTRAOP_THREADS=1): at this size TF's two threads barely help one run (4.44
steps/s on 2 threads against 4.3 on 1 with a neighbour), so two 1-thread runs train about
twice the steps per hour. The calibration runs first, in the parent process. A run's
steps, and so its scores, do not depend on the load (the same seed gives the same
losses); only its seconds do.

A finished run (its scores.json) is not trained again; a calibration is reused. The tables
for docs/recipes.md are what the last lines print.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import time

import numpy as np
from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from vgan_tf import training  # noqa: E402

ALL_AUGMENT = "color,translation,cutout"
EMA = dict(ema_decay=0.999)  # a half-life of about 700 steps
R1 = dict(r1_gamma=1.0, r1_every=4)  # DIGAN's gamma, lazy as in StyleGAN2
ROWS = {
    "baseline": {},
    "ema": EMA,
    "ema0.99": dict(ema_decay=0.99),  # a half-life of about 70 steps
    "r1": R1,
    "augment": dict(augment=ALL_AUGMENT),
    "translation": dict(augment="translation"),
    "hinge": dict(loss="hinge"),
    "spectral_norm": dict(spectral_norm=True),
    "ema+augment": dict(EMA, augment=ALL_AUGMENT),
    "translation+ema": dict(EMA, augment="translation"),
    "translation+ema0.99": dict(ema_decay=0.99, augment="translation"),
    "translation+hinge": dict(augment="translation", loss="hinge"),  # the two stillest
    "ema+augment+r1": dict(EMA, augment=ALL_AUGMENT, **R1),
    "ema+augment+r1+hinge": dict(EMA, augment=ALL_AUGMENT, loss="hinge", **R1),
    "all": dict(EMA, augment=ALL_AUGMENT, loss="hinge", spectral_norm=True, **R1),
    # The paper's ablation (two-stream vs one-stream generator), with and without the recipe.
    "one_stream": dict(generator="one_stream"),
    "translation+one_stream": dict(augment="translation", generator="one_stream"),
}
PAPER_RECIPE = dict(augment="", ema_decay=0.0, r1_gamma=0.0, r1_every=1,
                    loss="nonsaturating", spectral_norm=False)
"""Every recipe option off, under every row: the demo preset itself trains translation
since the sweep chose it, and a row is the paper's recipe plus its own settings."""
SCENES = ("simple", "digits")
FIELDS = ("fvd", "kvd", "background_std", "count_mean", "mask_contrast")
HELD_OUT_SEED, FLOOR_SEED = 1000, 1001
PRESET = "demo"
# --tiny: the tiny preset at 16 frames (I3D needs 9 or more), seconds per run.
TINY = dict(preset="tiny", overrides=dict(frames=16, synthetic_clips=64, num_samples=2,
                                          sample_every=1000), rows=("baseline", "all"),
            baseline_steps=20, seeds=1, num_samples=8)

flags.DEFINE_list("only", None, f"Rows to run (default all: {', '.join(ROWS)}).")
flags.DEFINE_list("scenes", list(SCENES), "Synthetic scene families.")
flags.DEFINE_integer("seeds", 3, "Seeds per row (0 .. seeds - 1: weights, noise, data).")
flags.DEFINE_integer("first_seed", 0, "The first seed to run (first_seed .. seeds - 1): "
                     "adds seeds to a sweep whose earlier runs are gone or elsewhere.")
flags.DEFINE_integer("baseline_steps", 1200, "Steps of the baseline (the paper's recipe "
                     "on the demo preset); every other row trains as long as it does.")
flags.DEFINE_integer("rounds", 15, "Calibration rounds (the fastest per row is kept).")
flags.DEFINE_integer("calibration_steps", 10, "Train steps per row per calibration round.")
flags.DEFINE_integer("num_samples", 128, "Clips per side for the scores and the floor.")
flags.DEFINE_string("out_dir", "/tmp/vgan_recipes", "Runs, calibrations and scores.")
flags.DEFINE_bool("dry_run", False, "Print the plan (every run's settings, validated) and "
                  "stop.")
flags.DEFINE_bool("tiny", False, "The smallest sweep that runs every step: preset tiny "
                  "at 16 frames, rows baseline and all, one seed, 5 s, 8 clips.")
flags.DEFINE_integer("workers", 1, "Runs trained at once, each a process on one thread.")
flags.DEFINE_integer("worker", -1, "Internal: this process is worker N of --workers.")
FLAGS = flags.FLAGS


def plan() -> dict:
    """What to run: preset, overrides, rows, budget, seeds, num_samples (--tiny or flags)."""
    if FLAGS.tiny:
        chosen = dict(TINY)
        chosen["rows"] = tuple(FLAGS.only or chosen["rows"])
        chosen["first_seed"] = FLAGS.first_seed
        return chosen
    return dict(preset=PRESET, overrides={}, rows=tuple(FLAGS.only or ROWS),
                baseline_steps=FLAGS.baseline_steps, seeds=FLAGS.seeds,
                first_seed=FLAGS.first_seed, num_samples=FLAGS.num_samples)


def make_config(chosen: dict, row: str, scene: str, seed: int, **values):
    """The TrainConfig of one run of the sweep (validated)."""
    settings = dict(PAPER_RECIPE, **chosen["overrides"])
    settings.update(ROWS[row])
    settings.update(synthetic=True, synthetic_scene=scene, seed=seed, verbose=0,
                    synthetic_dir=os.path.join(FLAGS.out_dir, "data", f"{scene}_seed{seed}"))
    settings.update(values)
    return training.from_preset(chosen["preset"], **settings).validate()


def _timed_train(config) -> float:
    start = time.perf_counter()
    training.train(config)
    return time.perf_counter() - start


def step_costs(chosen: dict, scene: str) -> dict:
    """{row: seconds per train step, its fastest round} of every row of the plan, measured side by
    side in this process: each row's task built as training builds it (training.
    build_gan), fed one fixed batch of the scene's real clips, warmed up, then --rounds
    rounds of --calibration_steps steps per row, the row order rotated each round (so
    load that changes between rounds, and a slow slot, hit every row alike). Cached in
    <out_dir>/calibration/<scene>_costs.json: rows measured earlier are kept, rows added
    later are measured beside the baseline again and scaled by its two costs' ratio."""
    import tensorflow as tf

    from vgan_tf.metrics import scene_scores

    path = os.path.join(FLAGS.out_dir, "calibration", f"{scene}_costs.json")
    known = {}
    if os.path.isfile(path):
        with open(path) as handle:
            known = json.load(handle)
    rows = [row for row in chosen["rows"] if row not in known.get("costs", {})]
    if not rows:
        return known["costs"]
    if "baseline" not in rows:  # measured beside the new rows, to scale them by
        rows.insert(0, "baseline")
    config = make_config(chosen, "baseline", scene, 0, model_dir="x")
    clips = scene_scores.held_out_clips(
        scene_scores.SceneOptions(scene, config.training.batch_size, FLOOR_SEED + 1),
        config.model.frames, config.model.size).astype(np.float32) / 127.5 - 1.0
    tasks = {}
    for row in rows:
        task = training.build_gan(make_config(chosen, row, scene, 0, model_dir="x"))
        iterator = iter(tf.data.Dataset.from_tensors(clips).repeat())
        task.make_train_function()
        tasks[row] = (task, iterator)
        for _ in range(3):
            float(task.train_function(iterator)["d_loss"])
    times = {row: [] for row in rows}
    for round_index in range(FLAGS.rounds):
        shift = round_index % len(rows)
        for row in rows[shift:] + rows[:shift]:
            task, iterator = tasks[row]
            start = time.perf_counter()
            for _ in range(FLAGS.calibration_steps):
                float(task.train_function(iterator)["d_loss"])  # waits for the step
            times[row].append((time.perf_counter() - start) / FLAGS.calibration_steps)
    # The fastest round: load from other jobs only ever adds time (timeit's rule). Rows
    # added to an earlier calibration are scaled by its baseline over this one's.
    fastest = {row: min(t) for row, t in times.items()}
    scale = known["costs"]["baseline"] / fastest["baseline"] if known else 1.0
    costs = dict(known.get("costs", {}), **{row: cost * scale for row, cost in
                                            fastest.items() if row not in known.get(
                                                "costs", {})})
    rounds = dict(known.get("rounds", {}))
    for row, values in times.items():
        rounds[row if row not in rounds else f"{row} (beside {', '.join(times)})"] = values
    _write_json(path, dict(costs=costs, rounds=rounds, load=os.getloadavg(),
                           threads=os.environ.get("TF_NUM_INTRAOP_THREADS", "default")))
    return costs


def steps_for_budget(chosen: dict, row: str, scene: str) -> dict:
    """{"steps", "seconds_per_step"} of (row, scene): the baseline's --baseline_steps
    scaled by the baseline's cost over the row's (step_costs), to whole epochs, so that
    every row trains for the same time as the baseline."""
    costs = step_costs(chosen, scene)
    epoch = make_config(chosen, row, scene, 0, model_dir="x").training.steps_per_epoch
    steps = chosen["baseline_steps"] * costs["baseline"] / costs[row]
    return dict(steps=max(epoch, int(round(steps / epoch)) * epoch),
                seconds_per_step=costs[row])


def _write_json(path: str, value) -> None:
    """Atomically (another worker may be waiting for the file)."""
    with open(path + ".tmp", "w") as handle:
        json.dump(value, handle, default=float)
    os.replace(path + ".tmp", path)


def run_one(chosen: dict, row: str, scene: str, seed: int, features) -> dict:
    """Trains one run (unless done) and scores it; the scores are kept in scores.json."""
    from vgan_tf.metrics import model_sources, scene_scores

    model_dir = os.path.join(FLAGS.out_dir, scene, row, f"seed{seed}")
    path = os.path.join(model_dir, "scores.json")
    if os.path.isfile(path):
        with open(path) as handle:
            return json.load(handle)
    budget = steps_for_budget(chosen, row, scene)
    seconds = _timed_train(make_config(chosen, row, scene, seed, model_dir=model_dir,
                                       steps=budget["steps"]))
    options = scene_scores.SceneOptions(scene, chosen["num_samples"], HELD_OUT_SEED,
                                        cache_dir=os.path.join(FLAGS.out_dir, "fvd_stats"))
    report = scene_scores.score_generator(model_sources.load_video_source(model_dir),
                                          options, features)
    result = dict(report.values, steps=budget["steps"], seconds=seconds,
                  real={k: float(v) for k, v in report.real.items()})
    _write_json(path, result)
    print(f"{scene} {row} seed {seed}: " + ", ".join(
        f"{k} {report.values[k]:.4f}" for k in FIELDS if k in report.values), flush=True)
    return result


def real_floor(chosen: dict, scene: str, features) -> dict:
    """FVD and KVD between the held-out clips and as many other real clips
    (scene_scores.floor_distances: what vgan-score-synthetic prints beside the scores)."""
    from vgan_tf.metrics import scene_scores

    config = make_config(chosen, "baseline", scene, 0, model_dir="x")
    shape = (config.model.frames, config.model.size)
    options = scene_scores.SceneOptions(scene, chosen["num_samples"], HELD_OUT_SEED,
                                        cache_dir=os.path.join(FLAGS.out_dir, "fvd_stats"),
                                        floor_seed=FLOOR_SEED)
    return scene_scores.floor_distances(
        options, shape, features, scene_scores.real_features(options, shape, features))


def _cell(values) -> str:
    values = [v for v in values if v is not None and np.isfinite(v)]
    if not values:
        return "-"
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f} ± {spread:.3f}"


def table(scene: str, rows: dict, floor: dict, chosen: dict) -> list:
    """Markdown lines: one row per recipe (mean ± std over seeds), the floor, real clips."""
    lines = [f"held-out {scene} clips, {chosen['num_samples']} per side, "
             f"{len(_seeds(chosen))} seeds, each run as long as the baseline's "
             f"{chosen['baseline_steps']} steps",
             "| recipe | steps | " + " | ".join(FIELDS) + " |",
             "|---|---|" + "---|" * len(FIELDS)]
    real = {}
    for row, results in rows.items():
        real = results[0]["real"]
        lines.append(f"| {row} | {results[0]['steps']} | " + " | ".join(
            _cell([r.get(k) for r in results]) for k in FIELDS) + " |")
    lines.append(f"| real vs real (floor) | - | {floor['fvd']:.3f} | {floor['kvd']:.3f} | "
                 "- | - | - |")
    lines.append(f"| real clips | - | - | - | {real.get('background_std', float('nan')):.3f}"
                 f" | {real.get('count_mean', float('nan')):.3f} | - |")
    return lines


def _seeds(chosen: dict) -> range:
    return range(chosen["first_seed"], chosen["seeds"])


def jobs(chosen: dict) -> list:
    """(scene, row, seed) of every run, seed-major so that a cut-short sweep has whole
    seeds."""
    return [(scene, row, seed) for seed in _seeds(chosen) for scene in FLAGS.scenes
            for row in chosen["rows"]]


def run_worker(chosen: dict, index: int) -> None:
    """Worker `index` of --workers: its share of the runs (the calibration is done)."""
    from vgan_tf.metrics import fvd

    features = fvd.ClipFeatures()
    for scene, row, seed in jobs(chosen)[index::FLAGS.workers]:
        run_one(chosen, row, scene, seed, features)


def run_workers(chosen: dict) -> None:
    """Writes the synthetic sets, then runs --workers processes of this script (one
    thread each) and waits for them; stops them all when one fails."""
    import subprocess

    from vgan_tf.data import synthetic

    config = make_config(chosen, "baseline", FLAGS.scenes[0], 0, model_dir="x")
    for scene in FLAGS.scenes:
        for seed in _seeds(chosen):
            synthetic.write_synthetic_dataset(
                os.path.join(FLAGS.out_dir, "data", f"{scene}_seed{seed}"),
                config.data.synthetic_clips, frames=config.model.frames,
                size=config.model.size, seed=seed, scene=scene)
    for scene in FLAGS.scenes:
        print(f"{scene} seconds per step: {step_costs(chosen, scene)}", flush=True)
    env = dict(os.environ, TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1")
    processes = [subprocess.Popen([sys.executable] + sys.argv + [f"--worker={i}"], env=env)
                 for i in range(FLAGS.workers)]
    while any(p.poll() is None for p in processes):
        if any(p.poll() not in (None, 0) for p in processes):
            for p in processes:
                p.kill()
            raise SystemExit("a worker failed (its output is above)")
        time.sleep(2.0)
    if any(p.returncode != 0 for p in processes):
        raise SystemExit("a worker failed (its output is above)")


def main(argv):
    del argv
    chosen = plan()
    unknown = sorted(set(chosen["rows"]) - set(ROWS))
    if unknown:
        raise app.UsageError(f"--only: unknown rows {unknown} (rows: {', '.join(ROWS)})")
    if FLAGS.dry_run:
        print(f"preset {chosen['preset']} {chosen['overrides']}, baseline "
              f"{chosen['baseline_steps']} steps, {chosen['seeds']} seeds, "
              f"{chosen['num_samples']} clips per side")
        for scene in FLAGS.scenes:
            for row in chosen["rows"]:
                config = make_config(chosen, row, scene, 0, model_dir="x")
                print(f"{scene:7s} {row:22s} recipe {config.recipe}, spectral_norm "
                      f"{config.model.spectral_norm}")
        return
    os.makedirs(os.path.join(FLAGS.out_dir, "calibration"), exist_ok=True)
    if FLAGS.worker >= 0:
        run_worker(chosen, FLAGS.worker)
        return
    if FLAGS.workers > 1:
        run_workers(chosen)
    from vgan_tf.metrics import fvd

    features = fvd.ClipFeatures()
    output = []
    for scene in FLAGS.scenes:
        rows = {row: [run_one(chosen, row, scene, seed, features)
                      for seed in _seeds(chosen)] for row in chosen["rows"]}
        output += table(scene, rows, real_floor(chosen, scene, features), chosen) + [""]
    print(f"\nload average at the end: {os.getloadavg()}")
    print("\n".join(output))


if __name__ == "__main__":
    app.run(main)
