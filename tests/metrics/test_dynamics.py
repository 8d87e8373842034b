"""Calibration of the dynamics scores on rendered synthetic clips and corrupted copies."""
import numpy as np
import pytest

from vgan_tf.data import synthetic
from vgan_tf.metrics import dynamics

FRAMES, SIZE, CLIPS = 32, 64, 8


@pytest.fixture(scope="module")
def rendered():
    clips, records = zip(*[synthetic.render_clip(0, i, FRAMES, SIZE) for i in range(CLIPS)])
    return np.stack(clips), list(records)


def _background_and_mask(clip):
    """The clip's static background (rendered pixels are exact: where no sprite is, every
    frame equals the temporal median) and the sprite pixels."""
    background = np.median(clip, axis=0).astype(np.uint8)
    return background, (clip != background[None]).any(-1)


def corrupt(clips, kind, rng):
    out = []
    for clip in clips:
        if kind == "shuffled":
            out.append(clip[rng.permutation(FRAMES)])
        elif kind == "jittered_background":  # sprites untouched, background shaken
            background, sprites = _background_and_mask(clip)
            shaken = np.stack([np.roll(background, tuple(rng.integers(-2, 3, 2)), (0, 1))
                               for _ in range(FRAMES)])
            out.append(np.where(sprites[..., None], clip, shaken))
        elif kind == "flicker":
            gain = rng.uniform(0.75, 1.25, size=(FRAMES, 1, 1, 1))
            out.append(np.clip(clip * gain, 0, 255).astype(np.uint8))
        elif kind == "noise":
            out.append(np.clip(clip + rng.normal(0, 12, clip.shape), 0, 255).astype(np.uint8))
        else:
            raise ValueError(kind)
    return np.stack(out)


@pytest.mark.slow
def test_clean_clips_recover_the_ground_truth(rendered):
    clips, records = rendered
    for clip, record in zip(clips, records):
        s = dynamics.clip_scores(clip)
        assert s["count_mean"] == record["count"]
        assert s["count_consistency"] == 1.0
        assert s["background_std"] < 1e-6
        assert s["acceleration"] <= 1.5  # integer sprite positions: +-1 px steps
    all_scores = dynamics.scores(clips, reference=dynamics.reference_speeds(records))
    assert all_scores["speed_w1"] < 0.4  # pixels per frame; truth speeds are 1-3
    truth = dynamics.reference_speeds(records)
    assert abs(np.median(all_scores["speeds"]) - np.median(truth)) < 0.3


def test_scores_survive_the_jpeg_strips_of_the_data_set(rendered):
    from vgan_tf.viz import video_files
    clips, records = rendered
    for clip, record in zip(clips[:3], records[:3]):
        decoded = video_files.decode_strip(video_files.encode_strip_jpeg(clip), FRAMES)
        s = dynamics.clip_scores(decoded)
        assert s["count_mean"] == pytest.approx(record["count"], abs=0.1)
        assert s["background_std"] < 0.02


# corruption -> {score: +1 (raised) or -1 (lowered)}: the documented effects.
EFFECTS = {
    "shuffled": {"acceleration": +1, "speed_w1": +1},
    "jittered_background": {"background_std": +1},
    "flicker": {"background_std": +1},
    "noise": {"background_std": +1},
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(EFFECTS))
def test_each_corruption_moves_its_scores_the_documented_way(rendered, kind):
    clips, records = rendered
    reference = dynamics.reference_speeds(records)
    clean = dynamics.scores(clips, reference=reference)
    bad = dynamics.scores(corrupt(clips, kind, np.random.default_rng(0)), reference=reference)
    for score, sign in EFFECTS[kind].items():
        margin = max(0.5 * abs(clean[score]), 0.01)
        assert sign * (bad[score] - clean[score]) > margin, (score, clean[score], bad[score])
    assert bad["count_consistency"] <= clean["count_consistency"]


def test_speed_w1_compares_distributions():
    rng = np.random.default_rng(0)
    a = rng.uniform(1, 3, 500)
    assert dynamics.speed_w1(a, a) == 0.0
    assert dynamics.speed_w1(a + 1.0, a) == pytest.approx(1.0)
    assert dynamics.speed_w1([], a) == float("inf")
    records = [{"size": 64, "velocities": [[[3.0, 4.0], [0.0, 2.0]]]}]
    np.testing.assert_allclose(dynamics.reference_speeds(records), [5.0, 2.0])
    np.testing.assert_allclose(dynamics.reference_speeds(records, size=32), [2.5, 1.0])
