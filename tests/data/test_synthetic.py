"""The built-in synthetic scenes: deterministic files, ground truth that matches the pixels.
(Their speed is measured by bench/synthetic_data.py, not asserted here.)"""
import filecmp
import os

import numpy as np
import pytest

from vgan_tf.data import lists, synthetic


def test_synthetic_is_deterministic_and_consistent(tmp_path):
    a = synthetic.write_synthetic_dataset(str(tmp_path / "a"), 6, frames=8, size=16, seed=3)
    b = synthetic.write_synthetic_dataset(str(tmp_path / "b"), 6, frames=8, size=16, seed=3)
    c = synthetic.write_synthetic_dataset(str(tmp_path / "c"), 6, frames=8, size=16, seed=4)
    names = ["train.txt", synthetic.GROUND_TRUTH_NAME] + [
        synthetic.clip_path(i) for i in range(6)]
    match, mismatch, errors = filecmp.cmpfiles(os.path.dirname(a), os.path.dirname(b), names,
                                               shallow=False)
    assert len(match) == len(names) and not mismatch and not errors
    assert not filecmp.cmp(os.path.join(os.path.dirname(a), synthetic.clip_path(0)),
                           os.path.join(os.path.dirname(c), synthetic.clip_path(0)),
                           shallow=False)
    truth = synthetic.read_ground_truth(os.path.dirname(a))
    entries = lists.read_lists(a)
    assert [t["path"] for t in truth] == list(entries.paths)
    assert [t["label"] for t in truth] == list(entries.labels)
    for t in truth:
        assert 1 <= t["count"] <= 3 and 0 <= t["label"] < synthetic.NUM_CLASSES
        assert np.array(t["positions"]).shape == (t["count"], 8, 2)
        assert np.array(t["velocities"]).shape == (t["count"], 8, 2)
        assert len(t["colours"]) == t["count"]


def test_synthetic_motion_matches_ground_truth():
    video, truth = synthetic.render_clip(seed=0, index=5, frames=32, size=64)
    pos = np.array(truth["positions"])
    vel = np.array(truth["velocities"])
    half = np.array(truth["sprite_size"]) / 2
    assert np.all(pos >= half - 1e-6) and np.all(pos <= 64 - half + 1e-6)
    speeds = np.linalg.norm(vel, axis=-1)
    assert np.all(speeds >= 1.0 - 1e-6) and np.all(speeds <= 3.0 + 1e-6)
    # Initial motion in the labelled compass direction (y up), within the 12-degree jitter.
    angle = np.degrees(np.arctan2(-vel[:, 0, 1], vel[:, 0, 0])) % 360
    diff = (angle - truth["label"] * 45 + 180) % 360 - 180
    assert np.all(np.abs(diff) <= 12.0 + 1e-6)
    # The sprite's colour is at its centre pixel in the first and last frames.
    for k, colour in enumerate(truth["colours"]):
        for t in (0, 31):
            x, y = pos[k, t]
            patch = video[t, int(y) - 3:int(y) + 4, int(x) - 3:int(x) + 4].reshape(-1, 3)
            assert (np.abs(patch.astype(int) - colour).sum(-1) == 0).any()
    moved = np.abs(video[-1].astype(int) - video[0]).sum(-1) > 0
    assert moved.mean() > 0.01


def test_synthetic_argument_errors(tmp_path):
    for kwargs, message in ((dict(num_clips=0), "num_clips"), (dict(frames=True), "frames"),
                            (dict(size=2.0), "size"), (dict(strip_size=4), "strip_size")):
        args = dict(out_dir=str(tmp_path), num_clips=2, frames=4, size=16)
        args.update(kwargs)
        with pytest.raises(ValueError, match=message):
            synthetic.write_synthetic_dataset(**args)
    assert not os.path.exists(tmp_path / synthetic.LIST_NAME)
