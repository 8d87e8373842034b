"""The recipe's settings (--loss, --r1_gamma, --r1_every, --augment, --ema_decay,
--spectral_norm) in a training run: off by default in every preset, flags in their
sections, errors naming the flag, the task and D built with them, an EMA run that
resumes exactly and whose outputs are the average."""
import os
import types

import keras
import numpy as np
import pytest
import tensorflow as tf
from absl import flags
from PIL import Image

from vgan_tf import tasks, training
from vgan_tf.training import checkpoints as checkpoints_lib
from vgan_tf.training import config as config_lib
from vgan_tf.training import run as run_lib
from vgan_tf.training import summaries
from vgan_tf.viz import samples

ALL_ON = dict(loss="hinge", r1_gamma=1.0, r1_every=2, augment="color,translation,cutout",
              ema_decay=0.9, spectral_norm=True)


def tiny_config(tmp_path, name="run", **overrides):
    values = dict(model_dir=str(tmp_path / name), synthetic=True, synthetic_clips=16,
                  steps=4, steps_per_epoch=2, checkpoint_every=2, keep_checkpoints=4,
                  batch_size=4, num_samples=2, verbose=0, log_every=0)
    values.update(overrides)
    return training.from_preset("tiny", **values)


# The demos train the recipe docs/recipes.md chose; every other preset the paper's.
DEMO_RECIPES = {name: tasks.Recipe(augment=("translation",))
                for name in ("demo", "real_demo", "future_demo")}


def test_every_preset_but_the_demos_trains_the_papers_recipe():
    assert training.TrainConfig().recipe == tasks.Recipe()
    for name in training.PRESETS:
        config = training.from_preset(name, model_dir="x", synthetic=True)
        assert config.recipe == DEMO_RECIPES.get(name, tasks.Recipe()), name
        assert not config.model.spectral_norm, name
    assert training.from_preset("paper", model_dir="x", synthetic=True).recipe.is_paper


def test_recipe_flags_sit_in_their_sections():
    from tools import train as train_tool
    argv = ["train", "--preset=tiny", "--model_dir=/tmp/x", "--synthetic", "--loss=hinge",
            "--r1_gamma=0.5", "--r1_every=4", "--augment=translation,cutout",
            "--ema_decay=0.999", "--spectral_norm"]
    values = flags.FlagValues()  # not the global flags: other binaries define theirs
    train_tool.define_flags(values)
    values(argv)
    config = train_tool.config_from_flags(values).validate()
    assert (config.training.loss, config.training.augment, config.training.ema_decay) == (
        "hinge", "translation,cutout", 0.999)
    assert (config.model.r1_gamma, config.model.r1_every, config.model.spectral_norm) == (
        0.5, 4, True)
    assert config.recipe == tasks.Recipe(loss="hinge", r1_gamma=0.5, r1_every=4,
                                         augment=("translation", "cutout"), ema_decay=0.999)
    assert config_lib.load_config(config.flat()) == config  # config.json stays flat


@pytest.mark.parametrize("overrides,needle", [
    (dict(augment="color,blur"), "--augment: unknown augmentation policy 'blur'"),
    (dict(augment="cutout,cutout"), "--augment: augmentation policy given twice"),
    (dict(ema_decay=1.0), "--ema_decay must be in [0, 1)"),
    (dict(ema_decay=-0.1), "--ema_decay must be in [0, 1)"),
    (dict(r1_gamma=-1.0), "--r1_gamma must be >= 0"),
    (dict(r1_every=0), "--r1_every must be a positive integer"),
    (dict(r1_every=4), "--r1_every applies with --r1_gamma > 0"),
    (dict(loss="wgan"), "--loss must be one of"),
])
def test_recipe_errors_name_the_flag(tmp_path, overrides, needle):
    with pytest.raises(ValueError) as info:
        tiny_config(tmp_path, **overrides).validate()
    assert needle in str(info.value)


def test_a_run_refuses_another_recipe_on_resume(tmp_path):
    run = str(tmp_path / "run")
    os.makedirs(run)
    run_lib.write_config(training.from_preset("tiny", model_dir=run, synthetic=True,
                                              ema_decay=0.9))
    assert config_lib.for_run({"model_dir": run}).training.ema_decay == 0.9
    with pytest.raises(ValueError) as info:
        config_lib.for_run({"model_dir": run, "ema_decay": 0.0, "spectral_norm": True,
                            "augment": "color"})
    message = str(info.value)
    for needle in ("--ema_decay=0.0 (the run: 0.9)", "--spectral_norm=True (the run: False)",
                   "--augment='color' (the run: '')"):
        assert needle in message


def test_build_gan_applies_every_option(tmp_path):
    config = tiny_config(tmp_path, **ALL_ON)
    gan = training.build_gan(config)
    assert gan.recipe == config.recipe and gan.adversarial_loss is tasks.losses.HINGE
    assert gan.discriminator_penalties == (tasks.R1Penalty(1.0, 2),)
    assert gan.discriminator.spectral_norm and gan.generator_ema is not None
    assert gan.inference_generator is gan.generator_ema
    assert "generator_ema" in checkpoints_lib.gan_checkpoint(gan)._trackable_children()
    paper = training.build_gan(tiny_config(tmp_path))
    assert "generator_ema" not in checkpoints_lib.gan_checkpoint(paper)._trackable_children()
    assert not paper.discriminator.spectral_norm and paper.discriminator_penalties == ()


def test_tensorboard_samples_come_from_the_inference_generator(monkeypatch):
    seen = []
    monkeypatch.setattr(summaries, "write_samples",
                        lambda generator, *args: seen.append(generator))
    callback = summaries.TensorBoardSummaries(tf.summary.create_noop_writer(), 1, 1, 4)
    callback.set_model(types.SimpleNamespace(inference_generator="average", generator="g"))
    callback._samples(3)
    assert seen == ["average"]
    assert summaries.SCALAR_LOGS["r1"] == "losses/r1"


def _checkpoint_arrays(path):
    reader = tf.train.load_checkpoint(path)
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
            if name != "_CHECKPOINTABLE_OBJECT_GRAPH" and "save_counter" not in name}


@pytest.mark.slow
def test_a_recipe_run_resumes_exactly_and_leaves_the_average(tmp_path):
    """Every option on: a run stopped at step 2 and resumed to 4 ends with the checkpoint
    of the uninterrupted run (G's average included); generator.keras and the samples are
    the average's, the raw G stays in the checkpoint."""
    whole = training.train(tiny_config(tmp_path, "whole", **ALL_ON))
    training.train(tiny_config(tmp_path, "split", steps=2, **ALL_ON))
    split = training.train(tiny_config(tmp_path, "split", **ALL_ON))
    assert split.history.epoch == [1]  # resumed: only steps 3-4 trained
    got = _checkpoint_arrays(str(tmp_path / "split" / "checkpoints" / "ckpt-4"))
    want = _checkpoint_arrays(str(tmp_path / "whole" / "checkpoints" / "ckpt-4"))
    assert sorted(got) == sorted(want)
    assert any(name.startswith("generator_ema/") for name in got)
    assert any(name.startswith("generator/") for name in got)
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=0, atol=1e-6, err_msg=name)

    run = tmp_path / "whole"
    final = keras.saving.load_model(str(run / "generator.keras"), safe_mode=True)
    for a, b in zip(final.weights, whole.generator_ema.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert max(float(np.abs(a.numpy() - b.numpy()).max())
               for a, b in zip(final.weights, whole.generator.weights)) > 1e-6
    background = np.asarray(Image.open(run / "samples" / "background.png"))
    want_picture = samples.sample_pictures(whole.generator_ema, 2)["background"]
    np.testing.assert_array_equal(background[::4, ::4], want_picture)  # sample_scale 4
    assert not np.array_equal(
        background[::4, ::4], samples.sample_pictures(whole.generator, 2)["background"])
