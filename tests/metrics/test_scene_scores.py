"""The demo's scores: FVD/KVD against held-out synthetic clips, stillness, object count and
the mask on movers vs background; the demo preset trains and `make demo`'s score lines."""
import dataclasses
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.helpers import REPO
from vgan_tf import training
from vgan_tf.data import synthetic
from vgan_tf.metrics import fvd, model_sources, scene_scores
from vgan_tf.metrics.model_sources import VideoSource

FRAMES, SIZE = 16, 16


def _clip_source(scene: str, seed: int, corrupt=None):
    """A stand-in generator whose seed s is the synthetic clip s of data set `seed`, with
    the exact mask of its movers (so the scores' ends are known)."""
    def parts(z):
        clips = np.stack([synthetic.render_clip(seed, i, FRAMES, SIZE, scene)[0]
                          for i in range(len(z))]).astype(np.float32) / 127.5 - 1.0
        if corrupt is not None:
            clips = corrupt(clips)
        moving = np.abs(clips - np.median(clips, axis=1, keepdims=True)).max(-1) > 0.25
        return {"video": clips, "mask": moving[..., None].astype(np.float32)}

    return VideoSource(4, (FRAMES, SIZE, SIZE, 3), parts, "clips")


def test_mask_scores_see_a_mask_on_the_movers_and_one_off_them():
    clips = np.stack([synthetic.render_clip(0, i, FRAMES, SIZE, "simple")[0]
                      for i in range(3)]).astype(np.float32) / 127.5 - 1.0
    moving = np.abs(clips - np.median(clips, axis=1, keepdims=True)).max(-1) > 0.25
    good = scene_scores.mask_scores(clips, moving[..., None].astype(np.float32))
    assert good["mask_movers"] == 1.0 and good["mask_background"] == 0.0
    bad = scene_scores.mask_scores(clips, 1.0 - moving[..., None].astype(np.float32))
    assert bad["mask_contrast"] == -1.0
    flat = scene_scores.mask_scores(clips, np.full(moving.shape + (1,), 0.5, np.float32))
    assert flat["mask_contrast"] == 0.0


def test_the_simple_scene_is_deterministic_and_differs_from_digits():
    a, truth = synthetic.render_clip(3, 5, FRAMES, 32, "simple")
    b, _ = synthetic.render_clip(3, 5, FRAMES, 32, "simple")
    np.testing.assert_array_equal(a, b)
    assert truth["scene"] == "simple" and truth["count"] in (1, 2)
    static = (a == a[0]).all(axis=(0, 3))  # never covered by a mover
    steps = np.abs(np.diff(a[0].astype(int), axis=1)).max(-1)
    both = static[:, 1:] & static[:, :-1]
    assert both.sum() > 200 and steps[both].max() <= 6  # a smooth gradient: no texture
    digits, _ = synthetic.render_clip(3, 5, FRAMES, 32)
    assert not np.array_equal(a, digits)
    with pytest.raises(ValueError, match="scene must be one of"):
        synthetic.render_clip(0, 0, FRAMES, 32, "cubes")


def test_the_floor_is_never_made_of_the_held_out_clips():
    with pytest.raises(ValueError, match="must not be the held-out ones"):
        scene_scores.SceneOptions("simple", 8, held_out_seed=7, floor_seed=7)


@pytest.mark.slow
def test_scores_rank_real_clips_above_corrupted_ones(real_i3d, tmp_path):
    features = fvd.ClipFeatures(real_i3d[0])
    options = scene_scores.SceneOptions("simple", 8, cache_dir=str(tmp_path), floor_seed=1001)
    real = scene_scores.score_generator(_clip_source("simple", 5), options, features)
    # The floor is the distance of the held-out clips to the clips of seed 1001: exactly
    # what a "generator" of those clips scores.
    of_floor_clips = scene_scores.score_generator(
        _clip_source("simple", 1001), dataclasses.replace(options, floor_seed=None), features)
    assert of_floor_clips.floor == {}
    assert real.floor == pytest.approx({k: of_floor_clips.values[k] for k in ("fvd", "kvd")})
    rng = np.random.default_rng(0)
    noisy = scene_scores.score_generator(_clip_source(
        "simple", 5, lambda c: np.clip(c + rng.normal(0, 0.5, c.shape), -1, 1)
        .astype(np.float32)), options, features)
    flicker = scene_scores.score_generator(_clip_source(  # below the mover threshold
        "simple", 5, lambda c: np.clip(c + rng.uniform(-0.15, 0.15, (len(c), FRAMES, 1, 1, 1)),
                                       -1, 1).astype(np.float32)), options, features)
    assert real.values["fvd"] < noisy.values["fvd"]
    assert real.floor["fvd"] < noisy.values["fvd"]
    assert real.values["background_std"] < 1e-3 < flicker.values["background_std"]
    assert real.values["mask_contrast"] > 0.9
    assert real.values["count_mean"] == pytest.approx(real.real["count_mean"], abs=0.5)
    lines = real.lines()
    assert [l.split(":")[0] for l in lines] == ["fvd", "kvd", "background_std", "count_mean",
                                                 "mask_movers", "mask_background",
                                                 "mask_contrast"]
    assert "held-out real clips" in lines[2]
    assert f"(real vs real floor: {real.floor['fvd']:.4f})" in lines[0]
    assert "real vs real floor" in lines[1] and "real vs real" not in lines[2]
    assert os.listdir(tmp_path)  # the held-out features were cached


@pytest.mark.slow
def test_the_demo_preset_trains_and_make_demo_prints_the_score_lines(real_i3d, tmp_path):
    config = training.from_preset("demo")
    assert config.data.synthetic_scene in synthetic.SCENES and config.model.frames >= 9  # I3D needs 9
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", VGAN_TF_CACHE_DIR=real_i3d[1])
    model_dir = tmp_path / "demo"
    trained = subprocess.run(
        [sys.executable, "-m", "tools.train", "--synthetic", "--preset=demo", "--steps=2",
         "--steps_per_epoch=1", "--checkpoint_every=1", "--sample_every=1",
         "--synthetic_clips=8", "--batch_size=4", f"--model_dir={model_dir}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert trained.returncode == 0, trained.stderr[-3000:]
    scored = subprocess.run(
        [sys.executable, "-m", "tools.score_synthetic", f"--generator={model_dir}",
         "--num_samples=4", f"--cache_dir={tmp_path / 'cache'}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert scored.returncode == 0, scored.stderr[-3000:]
    lines = scored.stdout.splitlines()
    assert f"held-out {config.data.synthetic_scene} clips" in lines[0]
    names = [l.split(":")[0] for l in lines[1:]]
    assert names == ["fvd", "kvd", "background_std", "count_mean", "mask_movers",
                     "mask_background", "mask_contrast", "pictures"]
    assert float(lines[1].split(":")[1].split()[0]) > 0
    assert "(real vs real floor: " in lines[1] and "(real vs real floor: " in lines[2]
    assert lines[-1] == f"pictures: {model_dir / 'samples'}/"
    bad = subprocess.run([sys.executable, "-m", "tools.score_synthetic",
                          f"--generator={tmp_path / 'none'}"], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "score_synthetic: error: --generator" in bad.stderr


@pytest.mark.slow
def test_make_synthetic_writes_the_simple_scene(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "tools.make_synthetic", f"--out_dir={tmp_path}",
         "--num_clips=2", "--frames=4", "--size=16", "--scene=simple"], cwd=REPO,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"), capture_output=True, text=True,
        timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    records = synthetic.read_ground_truth(str(tmp_path))
    assert [r["scene"] for r in records] == ["simple", "simple"]
    header = (tmp_path / synthetic.LIST_NAME).read_text().splitlines()[0]
    assert "synthetic simple scenes" in header


def test_score_config_keeps_the_flags_and_takes_the_run_scene(tmp_path):
    from absl import flags

    from vgan_tf import config_flags

    values = flags.FlagValues()
    config_flags.define_flags(scene_scores.ScoreConfig, flag_values=values)
    assert {name: values[name].default for name in values} == dict(
        generator=None, scene=None, num_samples=128, held_out_seed=1000, cache_dir=None,
        data_list=None, floor=True, picture=None)
    assert values["scene"].parser.enum_values == list(synthetic.SCENES)
    (tmp_path / "config.json").write_text('{"synthetic_scene": "simple"}')
    options = scene_scores.scene_options(scene_scores.ScoreConfig(generator=str(tmp_path)))
    assert options == scene_scores.SceneOptions("simple", floor_seed=1001)
    given = scene_scores.ScoreConfig(generator=str(tmp_path), scene="digits", num_samples=4,
                                     held_out_seed=7, floor=False)
    assert scene_scores.scene_options(given) == scene_scores.SceneOptions("digits", 4, 7)
    assert scene_scores.scene_options(scene_scores.ScoreConfig(
        generator=str(tmp_path / "none"))).scene == "digits"
    with pytest.raises(ValueError, match="--num_samples must be >= 2"):
        scene_scores.ScoreConfig(num_samples=1)
