"""The training run and its binary: outputs, resume, and errors that name the flag."""
import dataclasses
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from absl import flags

from vgan_tf import sampling, training
from vgan_tf.training import run as run_lib
from vgan_tf.viz import video_files

from tests.helpers import REPO


def tiny_config(tmp_path, **overrides):
    values = dict(model_dir=str(tmp_path / "run"), synthetic=True, synthetic_clips=16,
                  steps=4, steps_per_epoch=2, checkpoint_every=2, keep_checkpoints=2,
                  batch_size=4, num_samples=4, verbose=0)
    values.update(overrides)
    return training.from_preset("tiny", **values)


@pytest.mark.slow
def test_train_writes_outputs_and_resumes(tmp_path):
    config = tiny_config(tmp_path)
    gan = training.train(config)
    run = tmp_path / "run"
    assert int(gan.g_optimizer.iterations) == 4
    ckpts = sorted(f for f in os.listdir(run / "checkpoints") if f.endswith(".index"))
    assert ckpts == ["ckpt-2.index", "ckpt-4.index"]
    loaded = keras.saving.load_model(str(run / "generator.keras"), safe_mode=True)
    np.testing.assert_allclose(sampling.sample(loaded, 2), sampling.sample(gan.generator, 2),
                               atol=1e-6)
    video = video_files.decode_gif(open(run / "samples" / "video.gif", "rb").read())
    assert video.shape[0] == 8 and video.ndim == 4
    for name in ("mask.gif", "foreground.gif", "background.png", "masked_foreground.gif"):
        assert (run / "samples" / name).stat().st_size > 0
    assert (run / "config.json").exists()

    # A second run with more steps resumes at step 4 with the optimizer state restored.
    config = config.replace(steps=6)
    resumed = training.train(config)
    assert resumed.history.epoch == [2]  # only the third epoch (steps 5-6) was trained
    assert int(resumed.g_optimizer.iterations) == 6
    assert int(resumed.d_optimizer.iterations) == 6
    ckpts = sorted(f for f in os.listdir(run / "checkpoints") if f.endswith(".index"))
    assert ckpts == ["ckpt-4.index", "ckpt-6.index"]


@pytest.mark.slow
def test_resume_restores_exact_state(tmp_path):
    from vgan_tf.training import checkpoints as checkpoints_lib
    config = tiny_config(tmp_path, steps=2)
    gan = training.train(config)
    fresh = training.build_gan(config)
    manager = checkpoints_lib.checkpoint_manager(fresh, str(tmp_path / "run" / "checkpoints"), 2)
    assert checkpoints_lib.restore_latest(fresh, manager) == 2
    for a, b in zip(gan.g_optimizer.variables + gan.generator.weights,
                    fresh.g_optimizer.variables + fresh.generator.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.slow
def test_a_rerun_removes_partial_saves_of_a_killed_run(tmp_path):
    """What a kill inside a checkpoint save leaves (TF's temporary names) is removed when
    the run starts again; the real checkpoints and other files stay."""
    config = tiny_config(tmp_path, steps=2)
    training.train(config)
    ckpts = tmp_path / "run" / "checkpoints"
    kept = sorted(p.name for p in ckpts.iterdir())
    (ckpts / "ckpt-3_temp").mkdir()
    (ckpts / "ckpt-3_temp" / "part-00000-of-00001.data-00000-of-00001").write_bytes(b"x")
    (ckpts / "checkpoint.tmp9f3a41c0d2e84b7f").write_text("partial")
    (ckpts / "notes.txt").write_text("mine")
    training.train(config.replace(steps=4))
    names = sorted(p.name for p in ckpts.iterdir())
    assert "ckpt-3_temp" not in names and not any(n.startswith("checkpoint.tmp") for n in names)
    assert "notes.txt" in names and set(kept) - {"checkpoint"} <= set(names)
    assert "ckpt-4.index" in names


@pytest.mark.parametrize("overrides,needle", [
    (dict(batch_size=0), "--batch_size must be a positive integer"),
    (dict(steps=5, steps_per_epoch=2), "--steps (5) must be a multiple of --steps_per_epoch"),
    (dict(g_learning_rate=-1.0), "--g_learning_rate must be > 0"),
    (dict(beta_1=1.0), "--beta_1 must be in [0, 1)"),
    (dict(size=24), "--frames/--size/--latent_dim/--base_width: size must be 4 * 2**n"),
    (dict(model_dir=""), "--model_dir is required"),
    (dict(synthetic=False), "give --data_list"),
    (dict(generator="three_stream"), "--generator must be one of"),
])
def test_config_errors_name_the_flag(tmp_path, overrides, needle):
    with pytest.raises(ValueError) as info:
        tiny_config(tmp_path, **overrides).validate()
    assert needle in str(info.value)


def test_unknown_preset():
    with pytest.raises(ValueError, match="--preset must be one of"):
        training.from_preset("huge")


def test_paper_preset_is_the_paper():
    config = training.from_preset("paper", model_dir="x", synthetic=True).validate()
    model, optim = config.model, config.training
    assert (model.frames, model.size, model.latent_dim, model.base_width) == (32, 64, 100, 64)
    assert optim.batch_size == 64 and optim.g_learning_rate == optim.d_learning_rate == 2e-4
    assert config.training.beta_1 == 0.5 and config.model.mask_weight == 0.1


def test_flags_override_preset():
    from tools import train as train_tool
    argv = ["train", "--preset=tiny", "--model_dir=/tmp/x", "--synthetic", "--batch_size=3",
            "--steps=40"]
    values = flags.FlagValues()  # not the global flags: other binaries' required flags
    train_tool.define_flags(values)
    values(argv)
    config = train_tool.config_from_flags(values)
    assert config.training.batch_size == 3 and config.training.steps == 40
    assert config.model.size == 16 and config.model.base_width == 8  # from the preset
    assert config.data.synthetic and config.model_dir == "/tmp/x"


def run_tool(*args, cwd=REPO):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-m", "tools.train", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_binary_reports_bad_input(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("# only a comment\n\n")
    missing = tmp_path / "nope.txt"
    for list_file, needle in ((missing, "nope.txt"), (empty, "empty.txt")):
        result = run_tool("--preset=tiny", f"--model_dir={tmp_path / 'run'}",
                          f"--data_list={list_file}", f"--data_root={tmp_path}")
        assert result.returncode != 0
        assert needle in result.stderr
        assert "Traceback" not in result.stderr
    result = run_tool("--preset=tiny", f"--model_dir={tmp_path / 'run'}", "--synthetic",
                      "--batch_size=-2")
    assert result.returncode != 0 and "--batch_size must be a positive integer" in result.stderr


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_step(tmp_path, precision):
    import tensorflow as tf
    config = tiny_config(tmp_path, precision=precision)
    gan = training.build_gan(config)
    assert keras.config.dtype_policy().name == "float32"  # the policy does not leak
    assert gan.generator.dtype_policy.compute_dtype == {"bf16": "bfloat16",
                                                        "fp16": "float16"}[precision]
    if precision == "fp16":
        assert isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer)
    x = tf.random.uniform((4, 8, 16, 16, 3), -1, 1)
    assert gan.discriminator(x).dtype == tf.float32  # logits stay float32
    assert gan.generator(tf.zeros((2, 16))).dtype == tf.float32
    before = [v.numpy().copy() for v in gan.generator.trainable_variables]
    logs = gan.train_step(x)
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert all(v.dtype == "float32" for v in gan.generator.trainable_variables)
    assert max(float(np.abs(a - v.numpy()).max())
               for a, v in zip(before, gan.generator.trainable_variables)) > 0
    assert int(gan.step.numpy()) == 1


def test_a_run_folder_resumes_from_its_own_config_and_refuses_contradicting_flags(tmp_path):
    from vgan_tf.training import config as config_lib
    run = str(tmp_path / "run")
    os.makedirs(run)
    saved = training.from_preset("tiny_demo", model_dir=run, synthetic=True)
    path = run_lib.write_config(saved)
    before = open(path).read()
    assert config_lib.for_run({"model_dir": run}) == saved  # --model_dir alone resumes
    longer = config_lib.for_run({"model_dir": run, "steps": 2400, "log_every": 7})
    assert (longer.training.steps, longer.runtime.log_every) == (2400, 7)
    assert longer.model == saved.model
    with pytest.raises(ValueError) as info:
        config_lib.for_run({"model_dir": run, "frames": 32, "seed": 3})
    message = str(info.value)
    assert "--frames=32 (the run: 16)" in message and "--seed=3 (the run: 0)" in message
    with pytest.raises(ValueError, match="--size=64 \\(the run: 32\\)"):
        config_lib.for_run({"model_dir": run}, preset="paper")  # the paper's sizes
    assert open(path).read() == before  # nothing rewritten
    fresh = config_lib.for_run({"model_dir": run, "resume": False, "synthetic": True})
    assert fresh.model.frames == 32  # --noresume: a new run with the defaults
    with open(path, "w") as handle:
        handle.write("{not json")
    with pytest.raises(ValueError, match="config.json: not a training config"):
        config_lib.for_run({"model_dir": run})


@pytest.mark.slow
def test_a_failed_start_leaves_the_run_folder_as_it_was(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    saved = training.from_preset("tiny", model_dir=str(run), synthetic=True)
    run_lib.write_config(saved)
    before = (run / "config.json").read_text()
    missing = saved.replace(synthetic=False, data_list=(str(tmp_path / "missing.txt"),))
    with pytest.raises(training.InputError):
        training.train(missing)
    assert (run / "config.json").read_text() == before


def test_a_single_list_path_is_a_list_of_one():
    config = training.from_preset("tiny", model_dir="x", data_list="a.txt")
    assert config.data.data_list == ("a.txt",)


def test_learning_rates_are_logged_only_when_a_resume_changes_them(tiny, monkeypatch):
    from vgan_tf.training import checkpoints
    lines = []
    monkeypatch.setattr(checkpoints.logging, "info",
                        lambda message, *args: lines.append(message % args))
    gan = run_lib.build_gan(training.from_preset("tiny", model_dir="x", synthetic=True))
    optim = training.from_preset("tiny", model_dir="x").training
    checkpoints.set_learning_rates(gan, optim, resumed=False)
    checkpoints.set_learning_rates(gan, optim, resumed=True)  # the same rates
    assert not any("checkpoint had" in line for line in lines)
    changed = optim.__class__(**dict(vars(optim), g_learning_rate=1e-3))
    checkpoints.set_learning_rates(gan, changed, resumed=True)
    assert any("learning rate: 0.001 (checkpoint had 0.0002)" in line for line in lines)
    assert float(gan.g_optimizer.learning_rate.numpy()) == pytest.approx(1e-3)
