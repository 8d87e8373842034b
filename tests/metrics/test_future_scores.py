"""metrics.future_scores: first-frame L1, layout drift and motion of a predictor's videos
against the held-out clips whose first frames it was given (stand-in predictors, so the
scores' ends are known)."""
import numpy as np
import pytest

from vgan_tf.metrics import future_scores, scene_scores

FRAMES, SIZE = 16, 16


class _Runner:
    """A stand-in PredictorRunner: uint8 frames [n, S, S, 3] -> {"video": uint8 clips}."""

    def __init__(self, make):
        self.frames, self.size, self._make = FRAMES, SIZE, make

    def __call__(self, images):
        return {"video": self._make(np.asarray(images, np.uint8))}


def _held_out(n):
    return scene_scores.held_out_clips(scene_scores.SceneOptions("simple", n), FRAMES, SIZE)


def test_a_predictor_that_returns_the_real_clip_scores_the_real_ends():
    real = _held_out(8)
    lookup = {clip[0].tobytes(): clip for clip in real}
    report = future_scores.score_predictor(
        _Runner(lambda frames: np.stack([lookup[f.tobytes()] for f in frames])),
        future_scores.FutureOptions("simple", 8, batch_size=4))
    assert report.values["first_frame_l1"] == 0.0 and report.values["layout_l1"] == 0.0
    assert report.values["motion"] == pytest.approx(report.real["motion"])
    assert report.real["motion"] > 0.01
    assert report.values["background_std"] == pytest.approx(report.real["background_std"])
    assert "fvd" not in report.values and report.floor == {}  # no features given


def test_a_copy_of_the_frame_does_not_move_and_noise_loses_the_layout():
    copy = future_scores.score_predictor(
        _Runner(lambda frames: np.repeat(frames[:, None], FRAMES, axis=1)),
        future_scores.FutureOptions("simple", 8, batch_size=8))
    assert copy.values["motion"] == 0.0 and copy.values["first_frame_l1"] == 0.0
    assert copy.values["layout_l1"] == 0.0
    rng = np.random.default_rng(0)
    noise = future_scores.score_predictor(
        _Runner(lambda frames: rng.integers(0, 256, (len(frames), FRAMES, SIZE, SIZE, 3),
                                            dtype=np.uint8)),
        future_scores.FutureOptions("simple", 8, batch_size=8))
    assert noise.values["first_frame_l1"] > 0.3 and noise.values["layout_l1"] > 0.3
    assert noise.values["motion"] > 0.3
    lines = noise.lines()
    assert [line.split(":")[0] for line in lines] == [
        "first_frame_l1", "layout_l1", "motion", "background_std", "count_mean"]
    assert "held-out real clips" in lines[2]


def test_frame_scores_measure_layout_only_on_the_still_background():
    real = future_scores._unit(_held_out(2))
    moved = real.copy()
    still = ~np.stack([future_scores.dynamics.foreground_masks(c).any(0) for c in real])
    moved[:, 1:][np.broadcast_to(~still[:, None], moved[:, 1:].shape[:-1])] = 1.0  # movers
    scores = future_scores.frame_scores(moved, real)
    assert scores["layout_l1"] == 0.0  # only pixels that move in the real clip changed


def test_scores_on_given_clips_are_those_on_the_same_held_out_clips():
    def runner_make(frames):
        return np.repeat(frames[:, None], FRAMES, axis=1) // 2

    options = future_scores.FutureOptions("simple", 8, batch_size=4)
    synthetic = future_scores.score_predictor(_Runner(runner_make), options)
    given = future_scores.score_on_clips(_Runner(runner_make), _held_out(8), 4)
    assert given.values == pytest.approx(synthetic.values)
    assert given.real == pytest.approx(synthetic.real)
    assert given.values["first_frame_l1"] > 0.1 and given.held_out_features is None


def test_a_predictor_run_is_told_from_a_generator_run(tmp_path):
    assert not future_scores.is_predictor_run(str(tmp_path))  # no config.json
    (tmp_path / "config.json").write_text('{"model": "future"}')
    assert future_scores.is_predictor_run(str(tmp_path))
    (tmp_path / "config.json").write_text('{"model": "video"}')
    assert not future_scores.is_predictor_run(str(tmp_path))


@pytest.mark.slow
def test_score_synthetic_scores_a_trained_predictor(real_i3d, tmp_path):
    import os
    import subprocess
    import sys

    from tests.helpers import REPO

    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", VGAN_TF_CACHE_DIR=real_i3d[1])
    run = tmp_path / "future"
    trained = subprocess.run(
        [sys.executable, "-m", "tools.train", "--synthetic", "--preset=future_tiny",
         "--frames=16", "--synthetic_scene=simple", "--steps=2", "--steps_per_epoch=1",
         "--checkpoint_every=1", "--sample_every=1000", f"--model_dir={run}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert trained.returncode == 0, trained.stderr[-3000:]
    scored = subprocess.run(
        [sys.executable, "-m", "tools.score_synthetic", f"--generator={run}",
         "--num_samples=4", f"--cache_dir={tmp_path / 'cache'}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert scored.returncode == 0, scored.stderr[-3000:]
    lines = scored.stdout.splitlines()
    assert "predicted from the first frames of as many held-out simple clips" in lines[0]
    assert [line.split(":")[0] for line in lines[1:8]] == [
        "fvd", "kvd", "first_frame_l1", "layout_l1", "motion", "background_std",
        "count_mean"]
    assert "(real vs real floor: " in lines[1]
    # real footage: the first clips of a list of strips (here 32x32 strips, resized to the
    # predictor's 16x16)
    from vgan_tf.data import synthetic
    list_file = synthetic.write_synthetic_dataset(str(tmp_path / "strips"), 5, frames=16,
                                                  size=32, seed=3)
    scored = subprocess.run(
        [sys.executable, "-m", "tools.score_synthetic", f"--generator={run}",
         "--num_samples=8", f"--data_list={list_file}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert scored.returncode == 0, scored.stderr[-3000:]
    lines = scored.stdout.splitlines()
    assert lines[0] == (f"scores of 5 videos predicted from the first frames of the first 5 "
                        f"clips of {list_file}:")
    assert [line.split(":")[0] for line in lines[1:]] == [
        "fvd", "kvd", "first_frame_l1", "layout_l1", "motion", "background_std",
        "count_mean"]
