"""FVD/KVD: the distance math on fixed features, the cache, and I3D on synthetic clips."""
import os
import warnings

import numpy as np
import pytest

from vgan_tf.data import synthetic
from vgan_tf.metrics import fvd, registry


def test_frechet_distance_matches_hand_computed_cases():
    # mu diff (1, 2): 5; traces 2 + 8 - 2 * tr(sqrt(4 I)) = 10 - 8 = 2.
    assert fvd.frechet_distance([0, 0], np.eye(2), [1, 2], 4 * np.eye(2)) == \
        pytest.approx(7.0, abs=1e-9)
    # commuting covariances in a rotated basis: FD = sum (sqrt(a) - sqrt(b))^2 over
    # eigenvalues (1, 4) and (9, 36): (1 - 3)^2 + (2 - 6)^2 = 20.
    angle = 0.3
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    s1, s2 = rot @ np.diag([1.0, 4.0]) @ rot.T, rot @ np.diag([9.0, 36.0]) @ rot.T
    assert fvd.frechet_distance([1, 1], s1, [1, 1], s2) == pytest.approx(20.0, abs=1e-8)
    assert fvd.frechet_distance([3, -1], s1, [3, -1], s1) == pytest.approx(0.0, abs=1e-8)


def test_statistics_use_the_unbiased_covariance():
    mu, sigma = fvd.statistics([[0.0, 1.0], [2.0, 1.0]])
    np.testing.assert_allclose(mu, [1.0, 1.0])
    np.testing.assert_allclose(sigma, [[2.0, 0.0], [0.0, 0.0]])  # N - 1 = 1, not N = 2
    with pytest.raises(ValueError, match="n >= 2"):
        fvd.statistics([[1.0, 2.0]])


def test_a_large_imaginary_square_root_warns_and_a_tiny_one_does_not():
    with pytest.warns(RuntimeWarning, match="imaginary"):
        value = fvd.frechet_distance([0, 0], np.eye(2), [0, 0], np.diag([1.0, -1.0]))
    assert np.isfinite(value)
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(50, 8)), rng.normal(size=(50, 8)) + 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fvd.fvd_from_features(a, b) > 0


def _brute_force_mmd(x, y):
    k = lambda a, b: (a @ b / x.shape[1] + 1.0) ** 3  # noqa: E731
    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_polynomial_mmd_is_the_unbiased_estimate():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(7, 5)), rng.normal(size=(9, 5)) + 0.3
    assert fvd.polynomial_mmd(x, y) == pytest.approx(_brute_force_mmd(x, y), rel=1e-10)
    # Unbiased: over many same-distribution draws the mean is near 0 (and some are < 0).
    same = [fvd.polynomial_mmd(rng.normal(size=(20, 5)), rng.normal(size=(20, 5)))
            for _ in range(200)]
    shifted = fvd.polynomial_mmd(rng.normal(size=(20, 5)), rng.normal(size=(20, 5)) + 1.0)
    assert abs(np.mean(same)) < 0.05 * shifted
    assert min(same) < 0


def test_distances_on_fixed_features_grow_with_the_shift():
    rng = np.random.default_rng(2)
    real = rng.normal(size=(200, 16))
    other = rng.normal(size=(200, 16))
    fvds = [fvd.fvd_from_features(real, other + s) for s in (0.0, 0.5, 1.0, 2.0)]
    kvds = [fvd.polynomial_mmd(real, other + s) for s in (0.0, 0.5, 1.0, 2.0)]
    assert fvds == sorted(fvds) and kvds == sorted(kvds)
    assert fvds[0] < 0.25 * fvds[1]  # sampling noise only, next to |shift|^2 = 4
    out = registry.compute({"all": real, "first16": real}, {"all": other + 1.0})
    assert set(out) == {"fvd", "kvd"}
    assert out["fvd"] == pytest.approx(fvds[2])


def test_statistics_cache_computes_once_per_description(tmp_path):
    cache = fvd.StatisticsCache(str(tmp_path))
    calls = []

    def compute():
        calls.append(1)
        return {"all": np.full((3, 4), float(len(calls)), np.float32)}

    first, hit1 = cache.get_or_compute({"list": "a.txt", "num_samples": 3}, compute)
    second, hit2 = cache.get_or_compute({"num_samples": 3, "list": "a.txt"}, compute)
    third, hit3 = cache.get_or_compute({"list": "a.txt", "num_samples": 4}, compute)
    assert (hit1, hit2, hit3) == (False, True, False) and len(calls) == 2
    np.testing.assert_array_equal(first["all"], second["all"])
    assert third["all"][0, 0] == 2.0
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".tmp")]


def test_preprocess_resizes_to_224_in_range():
    import tensorflow as tf
    clip = np.linspace(-1, 1, 2 * 10 * 8 * 8 * 3, dtype=np.float32).reshape(2, 10, 8, 8, 3)
    out = fvd.preprocess(clip).numpy()
    assert out.shape == (2, 10, 224, 224, 3)
    assert out.min() >= -1.0 and out.max() <= 1.0
    flat = fvd.preprocess(np.full((1, 10, 8, 8, 3), 0.25, np.float32)).numpy()
    np.testing.assert_allclose(flat, 0.25, atol=1e-6)
    del tf


# -- the real I3D on synthetic clips (few, short clips: I3D at 224x224 is heavy on CPU) ----
FRAMES, CLIPS = 16, 6


def _synthetic(seed, n, frames=FRAMES):
    clips = [synthetic.render_clip(seed, i, frames, 64)[0] for i in range(n)]
    return np.stack(clips).astype(np.float32) / 127.5 - 1.0


def _corrupt(clips, kind, strength, rng):
    out = clips.copy()
    if kind == "noise":
        return np.clip(out + rng.normal(0, strength, out.shape), -1, 1).astype(np.float32)
    if kind == "frozen":  # the last `strength` fraction of frames repeats the one before
        start = int(round(out.shape[1] * (1 - strength)))
        out[:, start:] = out[:, start - 1:start]
        return out
    if kind == "shuffled":  # a `strength` fraction of frames permuted
        k = int(round(out.shape[1] * strength))
        picked = rng.choice(out.shape[1], k, replace=False)
        out[:, picked] = clips[:, np.roll(picked, 1)]  # a cycle: every picked frame moves
        return out
    if kind == "blur":
        import cv2
        sigma = strength
        return np.stack([[cv2.GaussianBlur(f, (0, 0), sigma) for f in c] for c in out])
    raise ValueError(kind)


@pytest.fixture(scope="module")
def features(real_i3d):
    model, _ = real_i3d
    return fvd.ClipFeatures(model)


@pytest.fixture(scope="module")
def clean_features(features):
    clean = _synthetic(10, 4, frames=10)
    return clean, features(clean)["all"]


@pytest.mark.slow
def test_fvd_of_real_against_real_is_small_next_to_noise(features):
    real_a, real_b = _synthetic(10, CLIPS), _synthetic(11, CLIPS)
    noise = np.random.default_rng(0).uniform(-1, 1, real_a.shape).astype(np.float32)
    fa, fb, fn = features(real_a), features(real_b), features(noise)
    assert set(fa) == {"all", "first16"}
    np.testing.assert_array_equal(fa["all"], fa["first16"])  # 16 frames: FVD16 = FVD
    same, far = registry.compute(fa, fb), registry.compute(fa, fn)
    # 6 clips per set: FVD's trace terms carry a large small-sample bias (measured 0.25 of
    # the noise FVD here, 0.17 with 12 clips); KVD is unbiased (measured 0.05).
    assert same["fvd"] < 0.3 * far["fvd"]
    assert same["kvd"] < 0.1 * far["kvd"]


@pytest.mark.parametrize("kind,levels", [
    ("noise", (0.1, 0.4)), ("frozen", (0.5, 0.9)),
    ("shuffled", (0.25, 1.0)), ("blur", (1.0, 3.0))])
@pytest.mark.slow
def test_fvd_grows_with_corruption_strength(features, clean_features, kind, levels):
    """Paired: the same clips, clean and corrupted (so the only change is the corruption;
    4 clips of 10 frames keep the I3D passes short)."""
    clean, base = clean_features
    rng = np.random.default_rng(3)
    values = [fvd.fvd_from_features(base, base)]
    for level in levels:
        values.append(fvd.fvd_from_features(
            base, features(_corrupt(clean, kind, level, rng))["all"]))
    assert values[0] == pytest.approx(0.0, abs=1e-2)  # sqrtm of a rank-3 product
    assert values == sorted(values) and values[1] > 0, values
    assert values[2] > 1.2 * values[1], values


@pytest.mark.slow
def test_clips_longer_than_16_frames_get_a_separate_fvd16(features):
    clips = np.concatenate([_synthetic(12, 2), _synthetic(12, 2)[:, ::-1]], axis=1)  # 32
    out = features(clips)
    direct = features.logits(clips[:, :16])
    np.testing.assert_allclose(out["first16"], direct, rtol=1e-5, atol=1e-5)
    assert np.abs(out["all"] - out["first16"]).max() > 1e-2
    with pytest.raises(ValueError, match="at least 9 frames"):
        features(clips[:, :8])


@pytest.mark.slow
def test_of_batches_stops_at_num_samples_and_reports_progress(features):
    clips = _synthetic(13, 3)[:, :10]
    seen = []
    out = features.of_batches(iter([clips[:2], clips[2:]]), 3, lambda d, t: seen.append((d, t)))
    assert out["all"].shape == (3, 400) and "first16" not in out
    assert seen == [(2, 3), (3, 3)]
    with pytest.raises(ValueError, match="only 3 clips"):
        features.of_batches(iter([clips]), 5)
