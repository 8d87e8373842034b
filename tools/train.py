"""Trains the VideoGAN on JPEG strips or on the built-in synthetic scenes.

    python -m tools.train --synthetic --preset=tiny_demo --model_dir=/tmp/run
    python -m tools.train --data_list=golf.txt --data_root=/data/frames --model_dir=/tmp/golf

    python -m tools.train --flagfile=golf.flags --strategy=mirrored --precision=bf16
    python -m tools.train --data_shards='/data/shards/*.tfrecord' --window=random \
        --data_service=grpc://dispatcher:5050 --model_dir=/tmp/golf

A preset sets sizes and schedule; any flag given explicitly overrides it. Rerunning with
the same --model_dir resumes from its latest checkpoint. --flagfile reads flags from a
file, one per line (absl). For multi_worker, set TF_CONFIG on every worker (see
docs/training.md). Exits non-zero with one line of explanation on bad input or when a loss
turns non-finite.
"""
from __future__ import annotations

import dataclasses

import sys

from absl import app, flags, logging

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
flags.DEFINE_multi_string("data_shards", [], "TFRecord shard file(s) or glob pattern(s) "
                          "written by tools/make_shards.py (repeat the flag or use globs); "
                          "instead of --data_list.")
flags.DEFINE_enum("window", _D.window, list(training.config.WINDOWS),
                  "Which frames of a strip make a clip: first (the top, the original "
                  "loader) or random (a random window that fits, seeded per clip).")
flags.DEFINE_integer("stride", _D.stride, "Take every stride-th frame of the strip.")
flags.DEFINE_integer("strip_size", _D.strip_size,
                     "Refuse (skip) strips whose frames are not this many pixels wide; "
                     "0 accepts any size (frames are resized to --size).")
flags.DEFINE_enum("resize", _D.resize, list(training.config.RESIZE_METHODS),
                  "dct: the JPEG decoder scales by 2, 4 or 8 (fast; about 1.4/255 from "
                  "bilinear, docs/faithfulness.md); bilinear: the original loader's resize, "
                  "exactly.")
flags.DEFINE_bool("data_cache", _D.data_cache,
                  "Cache the encoded strips in memory after the first pass (decoding "
                  "still happens every epoch); the data set must fit in RAM.")
flags.DEFINE_bool("strict_data", _D.strict_data,
                  "Stop on the first bad strip (naming it) instead of skipping and "
                  "counting it.")
flags.DEFINE_string("data_service", _D.data_service,
                    "tf.data service dispatcher address (grpc://host:5050): the input "
                    "pipeline runs on the service workers (see docs/data.md). Skipped "
                    "strips are then logged by the workers, not counted here.")
flags.DEFINE_bool("synthetic", _D.synthetic, "Train on the built-in synthetic sprite scenes.")
flags.DEFINE_integer("synthetic_clips", _D.synthetic_clips, "Clips in the synthetic set.")
flags.DEFINE_string("synthetic_dir", _D.synthetic_dir,
                    "Where the synthetic set is written (default <model_dir>/synthetic_data).")
flags.DEFINE_enum("generator", _D.generator, ["two_stream", "one_stream"],
                  "The paper's two-stream generator or its one-stream baseline.")
flags.DEFINE_integer("frames", _D.frames, "Frames per clip (multiple of size/4).")
flags.DEFINE_integer("size", _D.size, "Frame height and width: 8, 16, 32, 64, 128, ...")
flags.DEFINE_integer("latent_dim", _D.latent_dim,
                     "Size of the latent vector z (100 in the paper).")
flags.DEFINE_integer("base_width", _D.base_width,
                     "Channels of the widest-resolution hidden layer (64 in the paper).")
flags.DEFINE_integer("batch_size", _D.batch_size,
                     "GLOBAL batch size: split evenly over all replicas of all workers "
                     "(must be a multiple of the replica count).")
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
flags.DEFINE_integer("verbose", _D.verbose,
                     "Keras verbosity: 0 silent, 1 progress bar, 2 a line per epoch.")
flags.DEFINE_enum("strategy", _D.strategy, list(training.config.STRATEGIES),
                  "tf.distribute strategy: default (one device), one_device (first GPU, "
                  "else CPU), mirrored (all local GPUs), multi_worker (cluster from "
                  "TF_CONFIG).")
flags.DEFINE_enum("precision", _D.precision, list(training.config.PRECISIONS),
                  "fp32, bf16 (mixed_bfloat16) or fp16 (mixed_float16 with loss scaling); "
                  "losses and logits stay float32.")
flags.DEFINE_bool("jit_compile", _D.jit_compile,
                  "XLA-compile the train step. Off by default: about 100x slower on CPU; "
                  "try it on GPU.")
flags.DEFINE_bool("deterministic", _D.deterministic,
                  "tf.config.experimental.enable_op_determinism(): bit-identical reruns "
                  "and resumes, at some speed cost.")
flags.DEFINE_integer("log_every", _D.log_every,
                     "Steps between log lines with losses, steps/s and videos/s (0: none).")
flags.DEFINE_integer("summary_every", _D.summary_every,
                     "Steps between TensorBoard scalar summaries (<model_dir>/tensorboard).")
flags.DEFINE_integer("sample_every", _D.sample_every,
                     "Steps between TensorBoard video samples (also written at the end).")
flags.DEFINE_integer("summary_samples", _D.summary_samples,
                     "Fixed seeds 0..n-1 shown in the TensorBoard samples.")


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
    try:
        training.train(config)
    except training.BadDataError as error:
        logging.error("%s", error)
        print(f"Training stopped: {error}", file=sys.stderr)
        sys.exit(1)
    except training.InputError as error:
        raise app.UsageError(str(error)) from None
    except training.NonFiniteLossError as error:
        logging.error("%s", error)
        print(f"Training stopped: {error}", file=sys.stderr)
        sys.exit(2)


def run():
    app.run(main)


if __name__ == "__main__":
    run()
