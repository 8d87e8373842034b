"""What a run shows: TensorBoard event contents, log lines, the non-finite stop, and the
binary's --flagfile and --helpfull."""
import glob
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from absl import flags

from vgan_tf import training
from vgan_tf.viz import video_files
from vgan_tf.training import callbacks as callbacks_lib

from tests.helpers import REPO
SETTINGS = dict(synthetic=True, synthetic_clips=16, steps=4, steps_per_epoch=2,
                checkpoint_every=2, keep_checkpoints=5, batch_size=4, num_samples=2,
                verbose=0, log_every=2, summary_every=2, sample_every=2, summary_samples=3)


def read_events(log_dir):
    """{tag: [(step, tensor proto)]} from every event file under log_dir."""
    events = {}
    for path in glob.glob(os.path.join(log_dir, "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                events.setdefault(value.tag, []).append((event.step, value))
    return events


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("visible") / "run"
    config = training.from_preset("tiny", model_dir=str(run), **SETTINGS)
    gan = training.train(config)
    return config, gan, run


@pytest.mark.slow
def test_tensorboard_events(finished_run):
    config, _, run = finished_run
    events = read_events(str(run / "tensorboard"))
    scalars = ["losses/d_loss", "losses/g_loss", "accuracy/d_real", "accuracy/d_fake",
               "mask/mean", "mask/sample_mean", "mask/sparsity", "learning_rate/g",
               "learning_rate/d", "speed/steps_per_sec", "speed/videos_per_sec"]
    for tag in scalars:
        assert tag in events, (tag, sorted(events))
        steps = [step for step, _ in events[tag]]
        assert steps == [2, 4], (tag, steps)
        for _, value in events[tag]:
            assert value.metadata.plugin_data.plugin_name == "scalars"
            assert np.isfinite(tf.make_ndarray(value.tensor))
    lr = tf.make_ndarray(events["learning_rate/g"][0][1].tensor)
    assert lr == pytest.approx(config.training.g_learning_rate)
    sparsity = tf.make_ndarray(events["mask/sparsity"][-1][1].tensor)
    assert 0.0 <= sparsity <= 1.0
    assert tf.make_ndarray(events["speed/videos_per_sec"][-1][1].tensor) > 0

    frames, size, n = config.model.frames, config.model.size, config.runtime.summary_samples
    for name in ("video", "foreground", "mask"):
        (step, value), *_ = events[f"samples/{name}"]
        assert value.metadata.plugin_data.plugin_name == "images"
        strings = tf.make_ndarray(value.tensor)
        assert int(strings[0]) == frames * size and int(strings[1]) == size
        assert len(strings) == 2 + n
        strip = tf.io.decode_png(strings[2]).numpy()  # one seed's frames side by side
        assert strip.shape == (size, frames * size, 3)
        gif = tf.make_ndarray(events[f"samples/{name}_gif"][-1][1].tensor)
        video = video_files.decode_gif(gif[2])
        # A 2x2 grid of the 3 seeds (1-pixel borders); PIL merges identical frames, so at
        # most `frames` frames.
        assert video.shape[1:] == (2 * (size + 1) + 1, 2 * (size + 1) + 1, 3)
        assert 1 <= video.shape[0] <= frames
    background = tf.make_ndarray(events["samples/background"][0][1].tensor)
    assert tf.io.decode_png(background[2]).numpy().shape == (size, size, 3)
    assert [s for s, _ in events["samples/video"]] == [2, 4]


@pytest.mark.slow
def test_log_lines_with_rates(finished_run, monkeypatch):
    config, gan, _ = finished_run
    logger = callbacks_lib.ProgressLog(every=1, total_steps=5, global_batch=4)
    logger.set_model(gan)
    logger.on_train_begin()
    gan.step.assign_add(1)
    lines = []
    monkeypatch.setattr(callbacks_lib.logging, "info",
                        lambda fmt, *args: lines.append(fmt % args))
    logger.on_train_batch_end(0, {"d_loss": np.array([1.5]), "g_loss": 0.7})
    line = lines[-1]
    assert f"step {int(gan.step.numpy())}/5" in line and "d_loss 1.5000" in line
    assert "steps/s" in line and "videos/s" in line
    gan.step.assign_add(-1)


def run_tool(*args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=REPO)
    return subprocess.run([sys.executable, "-m", "tools.train", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=180)


@pytest.mark.slow
def test_non_finite_loss_stops_with_step_and_keeps_last_checkpoint(finished_run, tmp_path):
    """Resumes the finished 4-step run from a --flagfile with an absurd learning rate."""
    config, _, run = finished_run
    ckpts = str(run / "checkpoints")
    before = tf.train.latest_checkpoint(ckpts)
    assert before.endswith("ckpt-4")
    flagfile = tmp_path / "explode.flags"
    lines = ["--preset=tiny", f"--model_dir={run}", "--steps=12", "--checkpoint_every=1",
             "--g_learning_rate=1e30", "--d_learning_rate=1e30"] + [
        f"--{k}={v}" if not isinstance(v, bool) else f"--{k}"
        for k, v in SETTINGS.items() if k not in ("steps", "checkpoint_every")]
    flagfile.write_text("\n".join(lines) + "\n")
    result = run_tool(f"--flagfile={flagfile}")
    assert result.returncode == 1, result.stderr[-3000:]  # the run stopped
    assert "Traceback" not in result.stderr
    assert "Resumed from" in result.stderr  # the flag file was read: same model_dir
    message = [l for l in result.stderr.splitlines() if l.startswith("Training stopped:")]
    assert message and "non-finite" in message[0] and " at step " in message[0], result.stderr
    bad_step = int(message[0].split(" at step ")[1].split(":")[0])
    assert bad_step > 4
    # Every checkpoint on disk loads and is finite; none is at or after the bad step.
    state = tf.train.get_checkpoint_state(ckpts)
    assert state.model_checkpoint_path in message[0]
    for path in state.all_model_checkpoint_paths:
        assert int(path.rsplit("-", 1)[1]) < bad_step
        reader = tf.train.load_checkpoint(path)
        for name in reader.get_variable_to_shape_map():
            value = np.asarray(reader.get_tensor(name))
            if value.dtype.kind == "f":
                assert np.all(np.isfinite(value)), (path, name)


@pytest.mark.slow
def test_every_flag_documented():
    """Every TrainConfig field is a flag with the field's default, choices and help."""
    from tools import train as train_tool
    from vgan_tf import config_flags
    module_flags = {f.name: f for f in flags.FLAGS.get_flags_for_module(train_tool)}
    fields = config_flags.settings(training.TrainConfig)
    assert {f.name for f in fields} | {"preset"} == set(module_flags)
    for field in fields:
        flag = module_flags[field.name]
        assert field.metadata["help"] in flag.help and len(flag.help) >= 15, field.name
        default = list(field.default) if isinstance(field.default, tuple) else field.default
        assert flag.default == default, field.name
        choices = field.metadata["choices"]
        if choices and isinstance(field.default, str):
            assert list(flag.parser.enum_values) == list(choices), field.name
    result = run_tool("--helpfull")
    assert result.returncode == 1  # absl's help flags exit 1 after printing
    for name in ("--strategy:", "--precision:", "--[no]jit_compile:", "--flagfile:",
                 "--[no]resume:", "--summary_every:", "--[no]deterministic:"):
        assert name in result.stdout, name
    assert "<default|mirrored|multi_worker|one_device>" in result.stdout  # choices shown
