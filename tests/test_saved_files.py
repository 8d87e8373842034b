"""Files written by an earlier version (tests/fixtures/written_by_b19c887) still load and compute the same."""
from __future__ import annotations

import json
import os

import keras
import numpy as np
import pytest

import vgan_tf as vg
import vgan_tf.models  # noqa: F401  (registers the classes .keras files name)
from tests.helpers import REPO

OLD = os.path.join(REPO, "tests", "fixtures", "written_by_b19c887")


@pytest.fixture(scope="module")
def expected():
    return dict(np.load(os.path.join(OLD, "expected.npz")))


def test_an_old_generator_keras_file_samples_the_same_videos(expected):
    generator = keras.saving.load_model(os.path.join(OLD, "video_run", "generator.keras"))
    parts = vg.sample(generator, 2, seed=3, parts=True)
    np.testing.assert_allclose(parts["video"], expected["video"], atol=1e-6)
    np.testing.assert_allclose(parts["mask"], expected["mask"], atol=1e-6)


def test_an_old_predictor_keras_file_predicts_the_same_videos(expected):
    predictor = keras.saving.load_model(os.path.join(OLD, "future_run", "predictor.keras"))
    parts = predictor.generate_parts(expected["image"], training=False)
    np.testing.assert_allclose(parts["video"], expected["future_video"], atol=1e-6)


def test_an_old_discriminator_keras_file_gives_the_same_logits(expected):
    discriminator = keras.saving.load_model(os.path.join(OLD, "discriminator.keras"))
    logits = discriminator(expected["video"], training=False)
    np.testing.assert_allclose(logits, expected["d_logits"], atol=1e-5)


@pytest.mark.parametrize("run", ["video_run", "future_run"])
def test_an_old_run_folder_resumes_at_its_step_with_its_weights(run, expected):
    from vgan_tf.training import checkpoints, config as config_lib
    from vgan_tf.training import run as run_lib

    with open(os.path.join(OLD, run, "config.json")) as handle:
        config = config_lib.load_config(json.load(handle))
    gan = run_lib.build_gan(config)
    manager = checkpoints.checkpoint_manager(gan, os.path.join(OLD, run, "checkpoints"), 1)
    assert checkpoints.restore_latest(gan, manager) == int(expected["step"])
    if run == "video_run":
        parts = vg.sample(gan.generator, 2, seed=3, parts=True)
        np.testing.assert_allclose(parts["video"], expected["video"], atol=1e-6)
        np.testing.assert_allclose(gan.discriminator(expected["video"], training=False),
                                   expected["d_logits"], atol=1e-5)
    else:
        parts = gan.generator.generate_parts(expected["image"], training=False)
        np.testing.assert_allclose(parts["video"], expected["future_video"], atol=1e-6)


def test_a_discriminator_file_given_as_a_generator_is_one_line(tmp_path):
    """vgan-import-torch7 writes discriminator .keras files; the generator tools name it."""
    import shutil

    from vgan_tf.metrics import model_sources
    old = os.path.join(OLD, "discriminator.keras")
    with pytest.raises(ValueError, match="holds a Discriminator, not a video generator"):
        model_sources.load_video_source(old)
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(old, run / "generator.keras")  # in a run folder too
    with pytest.raises(ValueError, match="holds a Discriminator"):
        model_sources.load_video_source(str(run))
