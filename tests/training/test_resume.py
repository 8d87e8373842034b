"""Kill-and-resume: a training process SIGKILLed at several points resumes from its last
checkpoint, leaves no corrupt checkpoint, and matches an uninterrupted run."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import REPO

SETTINGS = dict(synthetic=True, synthetic_clips=16, steps=40, steps_per_epoch=8,
                checkpoint_every=2, keep_checkpoints=100, batch_size=4, num_samples=2,
                verbose=0, log_every=0, summary_every=4, sample_every=40, deterministic=True)


def _flags(model_dir):
    return ["--preset=tiny", f"--model_dir={model_dir}"] + [
        f"--{k}={v}" if not isinstance(v, bool) else f"--{k}" for k, v in SETTINGS.items()]


def _latest_step(ckpt_dir):
    state = tf.train.get_checkpoint_state(str(ckpt_dir))
    if state is None or not state.model_checkpoint_path:
        return 0
    return int(state.model_checkpoint_path.rsplit("-", 1)[1])


def _arrays(path):
    reader = tf.train.load_checkpoint(path)
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
            if name != "_CHECKPOINTABLE_OBJECT_GRAPH" and "save_counter" not in name}


def _assert_same_checkpoint(got_path, want_path):
    got, want = _arrays(got_path), _arrays(want_path)
    assert sorted(got) == sorted(want)
    # BatchNorm statistics of G and D are in the checkpoint (they were once missing).
    assert any("moving_mean" in name for name in got)
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=0, atol=1e-6, err_msg=name)


def _start(model_dir):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=REPO)
    return subprocess.Popen([sys.executable, "-m", "tools.train", *_flags(model_dir)],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def _kill_after(proc, ckpt_dir, step, timeout=120):
    """SIGKILLs `proc` as soon as checkpoint >= step is the latest; returns its stderr."""
    deadline = time.monotonic() + timeout
    while _latest_step(ckpt_dir) < step:
        assert proc.poll() is None, f"ended before step {step}: {proc.stderr.read()[-2000:]}"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return err


@pytest.mark.slow
def test_sigkill_and_resume_match_uninterrupted_run(tmp_path):
    # The uninterrupted run, in its own process (op determinism is process-wide), alongside.
    reference = _start(tmp_path / "ref")
    ref_ckpts = tmp_path / "ref" / "checkpoints"

    try:
        _, err = reference.communicate(timeout=180)
    finally:  # a hung run must not outlive the test
        if reference.poll() is None:
            reference.kill()
            reference.wait()
    assert reference.returncode == 0, err[-3000:]
    run = tmp_path / "killed"
    ckpts = run / "checkpoints"
    resumed_from = []
    proc = None
    try:
        for kill_at in (4, 18):
            proc = _start(run)
            err = _kill_after(proc, ckpts, kill_at)
            if resumed_from:
                assert f"at step {resumed_from[-1]}" in err, err[-2000:]
            step = _latest_step(ckpts)
            assert step >= kill_at and step < SETTINGS["steps"]
            # Every checkpoint the state file lists loads and equals the uninterrupted one.
            state = tf.train.get_checkpoint_state(str(ckpts))
            for path in state.all_model_checkpoint_paths:
                number = path.rsplit("-", 1)[1]
                _assert_same_checkpoint(path, str(ref_ckpts / f"ckpt-{number}"))
            resumed_from.append(step)
        proc = _start(run)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-3000:]
        assert f"Resumed from {ckpts / f'ckpt-{resumed_from[-1]}'} at step {resumed_from[-1]}" \
            in err
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
    assert _latest_step(ckpts) == SETTINGS["steps"]
    state = tf.train.get_checkpoint_state(str(ckpts))
    for path in state.all_model_checkpoint_paths:
        _assert_same_checkpoint(path, str(ref_ckpts / os.path.basename(path)))
    # No half-written leftovers next to the checkpoints.
    assert not [f for f in os.listdir(ckpts) if "tmp" in f or "temp" in f]
    assert (run / "generator.keras").exists()
