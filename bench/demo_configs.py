"""Chooses the `make demo` configuration by measurement (not a test).

Trains each candidate configuration on the built-in synthetic scenes from scratch (the
demo's budget: a few minutes on 2 CPU cores), then scores its samples against held-out
synthetic clips with vgan_tf.metrics.scene_scores (FVD, KVD, background stillness, object
count, the mask on movers vs background), and prints one table row per configuration with
its training time. Every configuration is also scored against the held-out clips of the
other scene family, so that any two rows can be compared on the same clips.

    python bench/demo_configs.py --out_dir=/tmp/demo_configs            # all candidates
    python bench/demo_configs.py --only=today,simple --num_samples=128

The table in docs/demo.md comes from one run of this script.
"""
from __future__ import annotations

import json
import os
import sys
import time

from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from vgan_tf import training  # noqa: E402
from vgan_tf.metrics import fvd, model_sources, scene_scores  # noqa: E402

# name -> (preset, overrides). "today" is `make demo` as it was before this bench (the
# tiny_demo preset, G against the updated D); "demo" is the preset chosen from the others.
CANDIDATES = {
    "today": ("tiny_demo", dict(synthetic_scene="digits", g_step="updated_d")),
    "demo": ("demo", dict(synthetic_scene="simple")),
    "demo_paper_g_step": ("demo", dict(synthetic_scene="simple", g_step="paper")),
    "simple": ("tiny_demo", dict(synthetic_scene="simple")),
    "simple_mask1": ("tiny_demo", dict(synthetic_scene="simple", mask_weight=1.0)),
    "simple_lr1e-3": ("tiny_demo", dict(synthetic_scene="simple", g_learning_rate=1e-3)),
    "simple_bf16": ("tiny_demo", dict(synthetic_scene="simple", precision="bf16")),
    "simple_w16_2400": ("tiny_demo", dict(synthetic_scene="simple", base_width=16,
                                          steps=2400)),
    "simple_mask10": ("tiny_demo", dict(synthetic_scene="simple", mask_weight=10.0)),
    "simple_lr1e-3_mask1": ("tiny_demo", dict(synthetic_scene="simple", g_learning_rate=1e-3,
                                              mask_weight=1.0)),
    "simple_bf16_2400": ("tiny_demo", dict(synthetic_scene="simple", precision="bf16",
                                           steps=2400)),
    "simple_mask3": ("tiny_demo", dict(synthetic_scene="simple", mask_weight=3.0)),
    "simple_mask10_bf16_2400": ("tiny_demo", dict(synthetic_scene="simple", mask_weight=10.0,
                                                  precision="bf16", steps=2400)),
    "digits_mask10": ("tiny_demo", dict(synthetic_scene="digits", mask_weight=10.0)),
}
FIELDS = ("fvd", "kvd", "background_std", "count_mean", "mask_movers", "mask_background",
          "mask_contrast")

flags.DEFINE_list("only", None, f"Candidates to run (default all: {', '.join(CANDIDATES)}).")
flags.DEFINE_integer("num_samples", 128, "Clips per side for the scores.")
flags.DEFINE_string("out_dir", "/tmp/vgan_demo_configs", "Model dirs and results go here "
                    "(a finished candidate is not trained again).")
FLAGS = flags.FLAGS


def _train(name: str) -> float:
    preset, overrides = CANDIDATES[name]
    model_dir = os.path.join(FLAGS.out_dir, name)
    timing = os.path.join(model_dir, "train_seconds.json")
    if os.path.isfile(timing):
        with open(timing) as handle:
            return json.load(handle)["seconds"]
    config = training.from_preset(preset, synthetic=True, model_dir=model_dir, **overrides)
    start = time.perf_counter()
    training.train(config)
    seconds = time.perf_counter() - start
    with open(timing, "w") as handle:
        json.dump({"seconds": seconds, "load": os.getloadavg()}, handle)
    return seconds


def main(argv):
    del argv
    names = FLAGS.only or list(CANDIDATES)
    features = fvd.ClipFeatures()
    rows = {}
    for name in names:
        seconds = _train(name)
        source = model_sources.load_video_source(os.path.join(FLAGS.out_dir, name))
        own = CANDIDATES[name][1]["synthetic_scene"]
        for scene in ("simple", "digits"):
            options = scene_scores.SceneOptions(scene, FLAGS.num_samples, cache_dir=os.path.join(
                FLAGS.out_dir, "fvd_stats"))
            report = scene_scores.score_generator(source, options, features)
            rows[(name, scene)] = dict(report.values, seconds=seconds, own=scene == own)
            print(f"{name} on {scene} held-out clips: " + ", ".join(
                f"{k} {v:.4f}" for k, v in report.values.items()), flush=True)
            if (scene, "real") not in rows:
                rows[(scene, "real")] = report.real
    print(f"\nload average at the end: {os.getloadavg()}")
    for scene in ("simple", "digits"):
        print(f"\nheld-out {scene} clips ({FLAGS.num_samples} per side; * = trained on them)")
        print("| configuration | train s | " + " | ".join(FIELDS) + " |")
        print("|---|---|" + "---|" * len(FIELDS))
        for name in names:
            row = rows[(name, scene)]
            mark = "*" if row["own"] else ""
            print(f"| {name}{mark} | {row['seconds']:.0f} | " + " | ".join(
                f"{row.get(k, float('nan')):.3f}" for k in FIELDS) + " |")
        real = rows[(scene, "real")]
        print(f"| real clips | - | - | - | {real['background_std']:.3f} | "
              f"{real['count_mean']:.3f} | - | - | - |")


if __name__ == "__main__":
    app.run(main)
