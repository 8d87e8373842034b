"""The paper's ablation re-measured (not a test): two-stream vs one-stream generator.

Trains both generators on the built-in synthetic scenes with the same preset, budget and
seeds (preset tiny_demo: 16 frames of 32x32), then prints FVD, KVD (real: the training
clips through the pipeline; fake: seeds 0..) and the dynamics scores of generated and
real clips side by side, with the lines `fvd two_stream: X`, `fvd one_stream: Y`,
`background_std two_stream: ...`.

    python bench/ablation.py --steps=1200 --num_samples=256 --out_dir=/tmp/ablation

The paper's finding: two-stream is preferred and its background is static.
"""
from __future__ import annotations

import os
import sys

import numpy as np
from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from vgan_tf import data, training  # noqa: E402
from vgan_tf.data import synthetic  # noqa: E402
from vgan_tf.metrics import dynamics, evaluation, fvd, model_sources  # noqa: E402

flags.DEFINE_integer("steps", 600, "Training steps per generator.")
flags.DEFINE_integer("num_samples", 128, "Clips per side for FVD/KVD and the dynamics.")
flags.DEFINE_integer("seed", 0, "Seed of both runs.")
flags.DEFINE_string("out_dir", "/tmp/vgan_ablation", "Model dirs go here (reused: a run "
                    "with the same --steps resumes or is skipped).")
FLAGS = flags.FLAGS

GENERATORS = ("two_stream", "one_stream")
SCORES = ("background_std", "count_mean", "count_consistency", "acceleration", "speed_w1")


def main(argv):
    del argv
    features = fvd.ClipFeatures()
    results, real_scores = {}, None
    for name in GENERATORS:
        config = training.from_preset("tiny_demo", synthetic=True, generator=name,
                                      steps=FLAGS.steps, seed=FLAGS.seed,
                                      model_dir=os.path.join(FLAGS.out_dir, name),
                                      synthetic_dir=os.path.join(FLAGS.out_dir, "data"))
        training.train(config)
        source = model_sources.load_video_source(config.model_dir)
        clip = data.ClipOptions(frames=config.model.frames, size=config.model.size)
        report = evaluation.evaluate(
            data.ListSource(os.path.join(FLAGS.out_dir, "data", synthetic.LIST_NAME)), clip,
            source, evaluation.EvalOptions(FLAGS.num_samples, 16, FLAGS.seed,
                                           os.path.join(FLAGS.out_dir, "fvd_stats")),
            features=features)
        records = synthetic.read_ground_truth(os.path.join(FLAGS.out_dir, "data"))
        reference = dynamics.reference_speeds(records, size=config.model.size)
        fake = np.concatenate(list(source.batches(FLAGS.num_samples, 16, FLAGS.seed)))
        results[name] = dict(report.values, **{
            k: v for k, v in dynamics.scores(fake, reference=reference).items()
            if k in SCORES})
        if real_scores is None:
            real = np.stack([synthetic.render_clip(FLAGS.seed, i, config.model.frames,
                                                   config.model.size)[0]
                             for i in range(min(FLAGS.num_samples, len(records)))])
            real_scores = {k: v for k, v in dynamics.scores(real, reference=reference).items()
                           if k in SCORES}
    print(f"budget: {FLAGS.steps} steps of batch 16 (preset tiny_demo), "
          f"{FLAGS.num_samples} clips per side")
    print(f"{'':20s}" + "".join(f"{n:>14s}" for n in GENERATORS + ("real",)))
    for key in ("fvd", "kvd", "fvd16", "kvd16") + SCORES:
        row = [f"{results[n].get(key, float('nan')):14.4f}" for n in GENERATORS]
        row.append(f"{real_scores[key]:14.4f}" if key in SCORES else f"{'-':>14s}")
        print(f"{key:20s}" + "".join(row))
    for key in ("fvd", "kvd", "background_std"):
        for name in GENERATORS:
            print(f"{key} {name}: {results[name][key]:.4f}")


if __name__ == "__main__":
    app.run(main)
