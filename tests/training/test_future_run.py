"""--model=future: the training run, its outputs, resume, TensorBoard, and the binary."""
import glob
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import REPO
from vgan_tf import training
from vgan_tf.models import FuturePredictor
from vgan_tf.tasks import FuturePredictionGAN
from vgan_tf.training import run as run_lib
from vgan_tf.viz import video_files


def future_config(tmp_path, **overrides):
    values = dict(model_dir=str(tmp_path / "run"), synthetic=True, synthetic_clips=16,
                  steps=4, steps_per_epoch=2, checkpoint_every=2, keep_checkpoints=2,
                  batch_size=4, num_samples=3, summary_samples=2, summary_every=2,
                  sample_every=2, verbose=0)
    values.update(overrides)
    return training.from_preset("future_tiny", **values)


def test_presets():
    paper = training.from_preset("future_paper", model_dir="x", synthetic=True)
    assert (paper.model.model, paper.training.batch_size, paper.model.base_width, paper.model.l1_weight) == (
        "future", 32, 128, 10.0)
    assert (paper.training.g_learning_rate, paper.training.d_learning_rate, paper.training.beta_1) == (2e-4, 2e-4, 0.5)
    assert (paper.model.frames, paper.model.size) == (32, 64)
    gan = run_lib.build_gan(training.from_preset("future_tiny", model_dir="x",
                                                 synthetic=True, l1_weight=3.0))
    assert isinstance(gan, FuturePredictionGAN) and isinstance(gan.generator, FuturePredictor)
    assert gan.l1_weight == 3.0 and gan.discriminator.layout.base_width == 8


def test_one_stream_is_refused_for_the_predictor(tmp_path):
    with pytest.raises(ValueError, match="--generator applies to --model=video"):
        future_config(tmp_path, generator="one_stream").validate()
    with pytest.raises(ValueError, match="--l1_weight"):
        future_config(tmp_path, l1_weight=-1.0).validate()


def test_train_writes_outputs_and_resumes_exactly(tmp_path):
    config = future_config(tmp_path)
    gan = training.train(config)
    run = tmp_path / "run"
    assert isinstance(gan, FuturePredictionGAN) and int(gan.step.numpy()) == 4
    loaded = keras.saving.load_model(str(run / "predictor.keras"), safe_mode=True)
    images = run_lib.sample_images(config, None, 3)
    assert images.shape == (3, 16, 16, 3) and -1 <= images.min() < images.max() <= 1
    np.testing.assert_allclose(loaded(images, training=False),
                               gan.generator(images, training=False), atol=1e-6)
    beside = video_files.decode_gif(open(run / "samples" / "beside.gif", "rb").read())
    from vgan_tf.viz import samples
    want = samples.prediction_pictures(loaded, images)["beside"]  # input | video per cell
    assert want.shape[0] == 8 and want.shape[2] > want.shape[1]
    # (Pillow merges identical consecutive frames: an early predictor barely moves)
    assert 1 <= beside.shape[0] <= 8
    assert beside.shape[1:3] == (want.shape[1] * 4, want.shape[2] * 4)  # sample_scale 4
    for name in ("video.gif", "input.png", "mask.gif", "background.png"):
        assert (run / "samples" / name).stat().st_size > 0
    assert not (run / "generator.keras").exists()
    assert json.loads((run / "config.json").read_text())["model"] == "future"

    tags = set()
    for path in glob.glob(str(run / "tensorboard" / "*")):
        for record in tf.data.TFRecordDataset(path):
            event = tf.compat.v1.Event.FromString(record.numpy())
            tags |= {v.tag for v in event.summary.value}
    assert {"losses/l1", "losses/g_loss", "mask/mean", "samples/input", "samples/beside",
            "samples/beside_gif", "samples/video"} <= tags

    fresh = run_lib.build_gan(config)
    from vgan_tf.training import checkpoints as checkpoints_lib
    manager = checkpoints_lib.checkpoint_manager(fresh, str(run / "checkpoints"), 2)
    assert checkpoints_lib.restore_latest(fresh, manager) == 4
    for a, b in zip(gan.g_optimizer.variables + gan.generator.weights,
                    fresh.g_optimizer.variables + fresh.generator.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())

    config = config.replace(steps=6)
    resumed = training.train(config)
    assert resumed.history.epoch == [2]
    assert int(resumed.g_optimizer.iterations) == 6


def test_binary_trains_the_predictor(tmp_path):
    run = tmp_path / "run"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=REPO)
    result = subprocess.run(
        [sys.executable, "-m", "tools.train", "--model=future", "--preset=future_tiny",
         "--synthetic", f"--model_dir={run}", "--synthetic_clips=16", "--steps=4",
         "--steps_per_epoch=2", "--batch_size=4", "--l1_weight=5", "--verbose=0"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (run / "predictor.keras").exists() and (run / "samples" / "beside.gif").exists()
    config = json.loads((run / "config.json").read_text())
    assert (config["model"], config["l1_weight"]) == ("future", 5.0)

    bad = subprocess.run(
        [sys.executable, "-m", "tools.train", "--preset=future_tiny", "--synthetic",
         f"--model_dir={tmp_path / 'bad'}", "--model=futur"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "model" in bad.stderr.strip().splitlines()[-1]
