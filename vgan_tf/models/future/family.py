"""The future-prediction family (a still frame -> video; the original's
main_conditional.lua): the FuturePredictor trained by FuturePredictionGAN."""
from __future__ import annotations

from vgan_tf.models.family import Family, layer_forms
from vgan_tf.models.future.networks import FuturePredictor
from vgan_tf.models.video.family import build_discriminator


def build_generator(model):
    return FuturePredictor(model.frames, model.size, model.base_width, name="predictor")


def build_task(predictor, discriminator, config):
    from vgan_tf import tasks

    return tasks.FuturePredictionGAN(predictor, discriminator,
                                     l1_weight=config.model.l1_weight,
                                     seed=config.training.seed,
                                     g_step=config.training.g_step, recipe=config.recipe)


def export(predictor, export_base, options):
    from vgan_tf.export import writer

    return writer.export_predictor(predictor, export_base, options)


def write_samples(predictor, images, out_dir, pictures):
    from vgan_tf.viz import samples

    return samples.write_predictions(predictor, images[:pictures.num], out_dir,
                                     pictures.fps, pictures.scale)


def validate(model):
    if model.generator != "two_stream":
        raise ValueError("--generator applies to --model=video only: the future "
                         "predictor is always two-stream")
    if layer_forms(model).g_heads:
        raise ValueError(f"--layer_forms={model.layer_forms}: the future predictor has no "
                         "depth-to-space heads; use plain or d_input")


FAMILY = Family(
    name="future", summary="future prediction (frame 1 of each clip -> the clip)",
    final_file="predictor.keras", served_name="predictor",
    build_generator=build_generator, build_discriminator=build_discriminator,
    build_task=build_task, export=export, conditional=True, write_samples=write_samples,
    accepts=lambda network: isinstance(network, FuturePredictor), validate=validate)
