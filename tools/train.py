"""Trains the VideoGAN on JPEG strips or on the built-in synthetic scenes.

    python -m tools.train --synthetic --preset=tiny_demo --model_dir=/tmp/run
    python -m tools.train --data_list=golf.txt --data_root=/data/frames --model_dir=/tmp/golf

A preset sets sizes and schedule; any flag given explicitly overrides it. Rerunning with
the same --model_dir resumes from its latest checkpoint.
"""
from __future__ import annotations

import dataclasses

from absl import app, flags

from vgan_tf import training

FLAGS = flags.FLAGS
_D = training.TrainConfig()

flags.DEFINE_enum("preset", None, sorted(training.PRESETS),
                  "Named settings: paper (the paper's), tiny (seconds on CPU), tiny_demo "
                  "(make demo). Explicit flags override the preset.")
flags.DEFINE_string("model_dir", None, "Folder for checkpoints, samples and generator.keras.")
flags.DEFINE_multi_string("data_list", [], "List file(s) of JPEG strips, one path per line "
                          "relative to --data_root (repeat the flag or use globs).")
flags.DEFINE_string("data_root", _D.data_root, "Folder the list file paths are relative to.")
flags.DEFINE_bool("synthetic", _D.synthetic, "Train on the built-in synthetic sprite scenes.")
flags.DEFINE_integer("synthetic_clips", _D.synthetic_clips, "Clips in the synthetic set.")
flags.DEFINE_string("synthetic_dir", _D.synthetic_dir,
                    "Where the synthetic set is written (default <model_dir>/synthetic_data).")
flags.DEFINE_enum("generator", _D.generator, ["two_stream", "one_stream"],
                  "The paper's two-stream generator or its one-stream baseline.")
flags.DEFINE_integer("frames", _D.frames, "Frames per clip (multiple of size/4).")
flags.DEFINE_integer("size", _D.size, "Frame height and width: 8, 16, 32, 64, 128, ...")
flags.DEFINE_integer("latent_dim", _D.latent_dim, "Size of z.")
flags.DEFINE_integer("base_width", _D.base_width,
                     "Channels of the widest-resolution hidden layer (64 in the paper).")
flags.DEFINE_integer("batch_size", _D.batch_size, "Global batch size.")
flags.DEFINE_integer("steps", _D.steps, "Total training steps (G and D updates).")
flags.DEFINE_integer("steps_per_epoch", _D.steps_per_epoch,
                     "Steps per Keras epoch (one progress bar line).")
flags.DEFINE_float("g_learning_rate", _D.g_learning_rate, "Adam learning rate of G.")
flags.DEFINE_float("d_learning_rate", _D.d_learning_rate, "Adam learning rate of D.")
flags.DEFINE_float("beta_1", _D.beta_1, "Adam beta_1 of both networks.")
flags.DEFINE_float("mask_weight", _D.mask_weight, "Weight of the L1 mask prior.")
flags.DEFINE_integer("seed", _D.seed, "Seed of the training noise and data order.")
flags.DEFINE_integer("shuffle_buffer", _D.shuffle_buffer, "Clips in the shuffle buffer.")
flags.DEFINE_integer("checkpoint_every", _D.checkpoint_every, "Steps between checkpoints.")
flags.DEFINE_integer("keep_checkpoints", _D.keep_checkpoints, "Checkpoints kept.")
flags.DEFINE_bool("resume", _D.resume, "Continue from the latest checkpoint in --model_dir.")
flags.DEFINE_integer("num_samples", _D.num_samples, "Videos in the final sample grid.")
flags.DEFINE_integer("sample_scale", _D.sample_scale, "Pixel repetition of sample pictures.")
flags.DEFINE_float("sample_fps", _D.sample_fps, "Frames per second of sample GIFs.")
flags.DEFINE_integer("verbose", _D.verbose, "Keras verbosity: 0 silent, 1 bar, 2 a line.")


def config_from_flags() -> training.TrainConfig:
    """Preset values, then every flag the user set explicitly."""
    overrides = {}
    for field in dataclasses.fields(training.TrainConfig):
        flag = FLAGS[field.name]
        if flag.present or (FLAGS.preset is None and flag.value is not None):
            value = flag.value
            overrides[field.name] = tuple(value) if isinstance(value, list) else value
    if FLAGS.preset:
        return training.from_preset(FLAGS.preset, **overrides)
    return training.TrainConfig(**overrides)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    try:
        config = config_from_flags().validate()
    except ValueError as error:
        raise app.UsageError(str(error)) from None
    training.train(config)


def run():
    app.run(main)


if __name__ == "__main__":
    run()
