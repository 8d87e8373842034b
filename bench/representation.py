"""The paper's representation claim, re-measured on the synthetic scenes (not a test).

A VideoGAN trains on unlabelled synthetic clips; then the three regimes of
vgan_tf.training.classification train on a labelled synthetic task whose label needs motion
to be seen (the sprites' direction of motion, 8 classes, from the ground truth), with 1/8
and all of the labels, and are scored on held-out clips. Prints a table of top-1 per regime
and fraction (with chance level) and the lines

    finetune_vs_random_1/8: X      linear_vs_random_1/8: Y      (ratios of top-1)

    python bench/representation.py --gan_steps=1200 --epochs=20     # about 20 min, 2 cores
    python bench/representation.py --gan_steps=200 --epochs=3       # a quick look
    python bench/representation.py --augment=color,translation,cutout --seed=N  # a recipe
"""
from __future__ import annotations

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_integer("gan_steps", 600, "VideoGAN training steps (unlabelled clips).")
flags.DEFINE_integer("gan_clips", 1024, "Unlabelled synthetic clips for the VideoGAN.")
flags.DEFINE_integer("train_clips", 512, "Labelled training clips (all labels).")
flags.DEFINE_integer("test_clips", 256, "Held-out labelled clips.")
flags.DEFINE_integer("epochs", 10, "Classifier epochs.")
flags.DEFINE_integer("frames", 16, "Frames per clip.")
flags.DEFINE_integer("size", 32, "Frame size.")
flags.DEFINE_integer("base_width", 32, "Discriminator base width.")
flags.DEFINE_integer("seed", 0, "Seed.")
flags.DEFINE_string("work_dir", None, "Where to write (default: a temporary folder).")
# The recipe the VideoGAN trains with (what shapes D's features; G's average does not).
flags.DEFINE_string("loss", "nonsaturating", "The VideoGAN's loss (nonsaturating | hinge).")
flags.DEFINE_float("r1_gamma", 0.0, "The VideoGAN's R1 weight (0: off).")
flags.DEFINE_integer("r1_every", 1, "R1's lazy interval.")
flags.DEFINE_list("augment", [], "The VideoGAN's DiffAugment policies.")


def main(argv):
    del argv
    from vgan_tf import training
    from vgan_tf.data import synthetic
    from vgan_tf.training import classification as cls

    work = FLAGS.work_dir or tempfile.mkdtemp(prefix="vgan_representation_")
    sizes = dict(frames=FLAGS.frames, size=FLAGS.size, base_width=FLAGS.base_width)
    start = time.perf_counter()
    gan_dir = os.path.join(work, "gan")
    training.train(training.from_preset(
        "tiny_demo", model_dir=gan_dir, synthetic=True, synthetic_clips=FLAGS.gan_clips,
        steps=FLAGS.gan_steps, steps_per_epoch=min(100, FLAGS.gan_steps),
        checkpoint_every=FLAGS.gan_steps, seed=FLAGS.seed, verbose=0, log_every=0,
        loss=FLAGS.loss, r1_gamma=FLAGS.r1_gamma, r1_every=FLAGS.r1_every,
        augment=",".join(FLAGS.augment), **sizes))
    gan_seconds = time.perf_counter() - start
    train = synthetic.write_synthetic_dataset(os.path.join(work, "train"), FLAGS.train_clips,
                                              frames=FLAGS.frames, size=FLAGS.size,
                                              seed=FLAGS.seed + 101)
    test = synthetic.write_synthetic_dataset(os.path.join(work, "test"), FLAGS.test_clips,
                                             frames=FLAGS.frames, size=FLAGS.size,
                                             seed=FLAGS.seed + 202)
    results = {}
    for fraction in (0.125, 1.0):
        for regime in cls.REGIMES:
            config = cls.make(
                model_dir=os.path.join(work, f"{regime}_{fraction}"), train_list=(train,),
                test_list=(test,), num_classes=synthetic.NUM_CLASSES, regime=regime,
                pretrained="" if regime == "random_init" else gan_dir,
                label_fraction=fraction, batch_size=32, epochs=FLAGS.epochs,
                seed=FLAGS.seed, verbose=0, **sizes)
            t = time.perf_counter()
            report = cls.train_classifier(config)
            results[regime, fraction] = (report["top1"], report["trained_on"],
                                         time.perf_counter() - t)
    chance = 1.0 / synthetic.NUM_CLASSES
    print(f"VideoGAN: {FLAGS.gan_steps} steps on {FLAGS.gan_clips} unlabelled clips "
          f"({FLAGS.frames}x{FLAGS.size}x{FLAGS.size}, base width {FLAGS.base_width}), "
          f"{gan_seconds:.0f} s; classifiers: {FLAGS.epochs} epochs; test: "
          f"{FLAGS.test_clips} held-out clips; chance {chance:.3f}; seed {FLAGS.seed}; "
          f"recipe loss={FLAGS.loss} r1_gamma={FLAGS.r1_gamma} r1_every={FLAGS.r1_every} "
          f"augment={','.join(FLAGS.augment) or '-'}")
    print(f"{'regime':<12} {'labels':>7} {'clips':>6} {'top1':>6} {'seconds':>8}")
    for (regime, fraction), (top1, clips, seconds) in results.items():
        label = "1/8" if fraction < 1 else "all"
        print(f"{regime:<12} {label:>7} {clips:>6} {top1:>6.3f} {seconds:>8.0f}")
    base = max(results["random_init", 0.125][0], 1e-9)
    print(f"finetune_vs_random_1/8: {results['finetune', 0.125][0] / base:.2f}")
    print(f"linear_vs_random_1/8: {results['linear', 0.125][0] / base:.2f}")
    print(f"work dir: {work}")


if __name__ == "__main__":
    app.run(main)
