"""One training run: data, models, resume, fit, final outputs.

Layout of `model_dir`:
    checkpoints/ckpt-<step>.*   G, D and both optimizers (the last `keep_checkpoints`)
    generator.keras             the final generator, loadable with keras.saving.load_model
    samples/                    video.gif, foreground.gif, mask.gif, masked_foreground.gif,
                                background.png for seeds 0 .. num_samples - 1
    config.json                 the TrainConfig of the run
"""
from __future__ import annotations

import dataclasses
import json
import os

import tensorflow as tf
from absl import logging

from vgan_tf import gan as gan_lib
from vgan_tf.data import pipeline, synthetic
from vgan_tf.models import Discriminator, OneStreamGenerator, TwoStreamGenerator
from vgan_tf.training import callbacks as callbacks_lib
from vgan_tf.training.config import TrainConfig
from vgan_tf.viz import samples


def build_gan(config: TrainConfig) -> gan_lib.VideoGAN:
    """The compiled VideoGAN of `config` (call inside a strategy scope to distribute)."""
    s = config.sizes
    generator_cls = TwoStreamGenerator if config.generator == "two_stream" else OneStreamGenerator
    generator = generator_cls(s.frames, s.size, s.latent_dim, s.base_width, name="generator")
    discriminator = Discriminator(s.frames, s.size, s.base_width, name="discriminator")
    gan = gan_lib.VideoGAN(generator, discriminator, mask_weight=config.mask_weight,
                           seed=config.seed)
    gan.compile(
        g_optimizer=gan_lib.paper_adam(config.g_learning_rate, config.beta_1, name="g_adam"),
        d_optimizer=gan_lib.paper_adam(config.d_learning_rate, config.beta_1, name="d_adam"))
    return gan


def training_data(config: TrainConfig) -> tf.data.Dataset:
    """Batches [batch, frames, size, size, 3] in [-1, 1], repeated forever."""
    if config.synthetic:
        root = config.synthetic_dir or os.path.join(config.model_dir, "synthetic_data")
        list_file = synthetic.write_synthetic_dataset(
            root, config.synthetic_clips, frames=config.frames, size=config.size,
            seed=config.seed)
        lists, data_root = [list_file], root
    else:
        lists, data_root = list(config.data_list), config.data_root
    return pipeline.video_dataset(
        lists, data_root, frames=config.frames, size=config.size,
        batch_size=config.batch_size, shuffle=True, seed=config.seed, repeat=True,
        drop_remainder=True)


def train(config: TrainConfig):
    """Trains (or resumes) the run described by `config`; returns the VideoGAN."""
    config.validate()
    os.makedirs(config.model_dir, exist_ok=True)
    with open(os.path.join(config.model_dir, "config.json"), "w") as handle:
        json.dump(dataclasses.asdict(config), handle, indent=2, default=list)

    dataset = training_data(config)
    gan = build_gan(config)
    manager = callbacks_lib.checkpoint_manager(
        gan, os.path.join(config.model_dir, "checkpoints"), config.keep_checkpoints)
    step = callbacks_lib.restore_latest(gan, manager) if config.resume else 0
    if step >= config.steps:
        logging.info("Already at step %d of %d: nothing to train", step, config.steps)
    else:
        logging.info("Training steps %d..%d (batch %d, %s)", step, config.steps,
                     config.batch_size, config.sizes)
        fit_callbacks = [callbacks_lib.CheckpointEvery(manager, config.checkpoint_every)]
        spe = config.steps_per_epoch
        epoch = step // spe
        if step % spe:  # resumed inside an epoch: finish it first so the step count is exact
            gan.fit(dataset, epochs=epoch + 1, initial_epoch=epoch,
                    steps_per_epoch=spe - step % spe, shuffle=False,
                    verbose=config.verbose, callbacks=fit_callbacks)
            epoch += 1
        if epoch * spe < config.steps:
            gan.fit(dataset, epochs=config.steps // spe, initial_epoch=epoch,
                    steps_per_epoch=spe, shuffle=False, verbose=config.verbose,
                    callbacks=fit_callbacks)
    gan.generator.save(os.path.join(config.model_dir, "generator.keras"))
    samples.write_samples(gan.generator, os.path.join(config.model_dir, "samples"),
                          config.num_samples, 0, config.sample_fps, config.sample_scale)
    return gan
