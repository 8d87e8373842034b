"""The unconditional video family (noise -> video): two-stream or one-stream generator."""
from __future__ import annotations

from vgan_tf.models.discriminator import Discriminator
from vgan_tf.models.family import Family, layer_forms
from vgan_tf.models.video.networks import OneStreamGenerator, TwoStreamGenerator

GENERATORS = {"two_stream": TwoStreamGenerator, "one_stream": OneStreamGenerator}


def build_generator(model):
    cls = GENERATORS[model.generator]
    return cls(model.frames, model.size, model.latent_dim, model.base_width,
               depth_to_space_heads=layer_forms(model).g_heads, name="generator")


def build_discriminator(model):
    return Discriminator(model.frames, model.size, model.base_width,
                         spectral_norm=model.spectral_norm,
                         space_to_depth_input=layer_forms(model).d_input, name="discriminator")


def build_task(generator, discriminator, config):
    from vgan_tf import tasks

    return tasks.VideoGAN(generator, discriminator, mask_weight=config.model.mask_weight,
                          seed=config.training.seed, g_step=config.training.g_step,
                          recipe=config.recipe)


def export(generator, export_base, options):
    from vgan_tf.export import writer

    return writer.export_generator(generator, export_base, options)


def write_samples(generator, inputs, out_dir, pictures):
    from vgan_tf.viz import samples

    return samples.write_samples(generator, out_dir, pictures.num, 0, pictures.fps,
                                 pictures.scale)


FAMILY = Family(
    name="video", summary="the unconditional video GAN (noise -> video)",
    final_file="generator.keras", served_name="generator",
    build_generator=build_generator, build_discriminator=build_discriminator,
    build_task=build_task, export=export, conditional=False, write_samples=write_samples,
    accepts=lambda network: isinstance(network, tuple(GENERATORS.values())))
