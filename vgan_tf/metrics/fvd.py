"""FVD and KVD (Unterthiner et al. 2018, "Towards Accurate Generative Models of Video").

The feature of a clip is I3D's 400 Kinetics logits averaged over time
(`vgan_tf.metrics.i3d`), computed after resizing every frame bilinearly to 224x224 with
values in [-1, 1] (clips come in as float [batch, frames, height, width, 3] in [-1, 1],
the range of the data pipeline and of the generators).

- FVD: the Fréchet distance between Gaussians fitted to the real and the generated
  features: |mu_r - mu_g|^2 + tr(S_r + S_g - 2 (S_r S_g)^(1/2)), with unbiased (N - 1)
  covariances and scipy's float64 matrix square root; an imaginary part of the root is
  discarded when it is tiny (max |imag| <= 1e-3 max |real|) and reported with a warning
  otherwise.
- KVD: the unbiased estimate of the squared MMD with the polynomial kernel
  k(x, y) = (x.y / d + 1)^3 (d = 400), as KID does for images.

`FVD` is computed on all the frames of the clips given, `FVD16` on their first 16
(for comparison with later papers); `ClipFeatures` computes the features of both in one
pass, and metrics.registry turns two sides' features into the four values.
`StatisticsCache` keeps the real data's features on disk, keyed by a description of the
data and the settings.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings

import numpy as np

FEATURE_DIM = 400
FVD16_FRAMES = 16
PREPROCESSING_VERSION = 1  # bump when the resize or the feature changes (cache keys)


# -- the distances, on feature arrays ----------------------------------------------------
def statistics(features) -> tuple:
    """(mean [d], unbiased covariance [d, d]) of [n, d] features, float64; n >= 2."""
    features = np.asarray(features, np.float64)
    if features.ndim != 2 or features.shape[0] < 2:
        raise ValueError(f"need [n >= 2, d] features, got shape {features.shape}")
    return features.mean(0), np.cov(features, rowvar=False, ddof=1)


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """|mu1 - mu2|^2 + tr(sigma1 + sigma2 - 2 sqrtm(sigma1 sigma2)), in float64."""
    from scipy import linalg

    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(f"shapes differ: {mu1.shape}/{mu2.shape}, "
                         f"{sigma1.shape}/{sigma2.shape}")
    root = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(root).all():  # singular product: nudge as pytorch-fid does
        offset = np.eye(sigma1.shape[0]) * 1e-6
        root = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(root):
        imag, real = np.abs(root.imag).max(), np.abs(root.real).max()
        if imag > 1e-3 * max(real, 1e-12):
            warnings.warn(f"the matrix square root has a large imaginary part ({imag:.3g}, "
                          f"real part up to {real:.3g}); FVD uses its real part",
                          RuntimeWarning, stacklevel=2)
        root = root.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(root))


def fvd_from_features(real, fake) -> float:
    """Fréchet distance of two [n, d] feature sets (n >= 2 each)."""
    return frechet_distance(*statistics(real), *statistics(fake))


def polynomial_mmd(real, fake, degree: int = 3, coef0: float = 1.0) -> float:
    """Unbiased squared MMD with k(x, y) = (x.y / d + coef0)^degree; n >= 2 each.

    Can be slightly negative when the two sets come from one distribution."""
    x, y = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or min(len(x), len(y)) < 2:
        raise ValueError(f"need [n >= 2, d] features of one d, got {x.shape}, {y.shape}")
    d = x.shape[1]
    kxx = (x @ x.T / d + coef0) ** degree
    kyy = (y @ y.T / d + coef0) ** degree
    kxy = (x @ y.T / d + coef0) ** degree
    m, n = len(x), len(y)
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1))
                 + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
                 - 2.0 * kxy.mean())


# -- features of clips ---------------------------------------------------------------------
def preprocess(videos):
    """float [b, t, h, w, 3] in [-1, 1] -> float32 [b, t, 224, 224, 3] in [-1, 1]
    (bilinear resize of every frame, then clipped to [-1, 1])."""
    import tensorflow as tf

    from vgan_tf.metrics.i3d import SIZE

    videos = tf.convert_to_tensor(videos, tf.float32)
    shape = tf.shape(videos)
    frames = tf.reshape(videos, tf.concat([[-1], shape[2:]], 0))
    frames = tf.image.resize(frames, (SIZE, SIZE), method="bilinear")
    frames = tf.clip_by_value(frames, -1.0, 1.0)
    return tf.reshape(frames, tf.concat([shape[:2], [SIZE, SIZE, 3]], 0))


class ClipFeatures:
    """I3D features of batches of clips, for FVD ("all" frames) and FVD16 ("first16").

    `model` defaults to `i3d.load_i3d()` (the real weights). Clips must all have the same
    length, at least 9 frames; "first16" is computed when they have more than 16 frames
    and equals "all" when they have exactly 16 (it is left out below 16)."""

    def __init__(self, model=None):
        import tensorflow as tf

        from vgan_tf.metrics import i3d

        self.model = model if model is not None else i3d.load_i3d()
        self._features = tf.function(lambda v: self.model(preprocess(v), training=False),
                                     reduce_retracing=True)

    def logits(self, videos) -> np.ndarray:
        """[b, 400] float32 time-averaged logits of one batch of clips."""
        from vgan_tf.metrics.i3d import check_frames

        check_frames(int(np.shape(videos)[1]))
        return self._features(videos).numpy()

    def __call__(self, videos) -> dict:
        """{"all": [b, 400]} (+ "first16": [b, 400] for clips of >= 16 frames)."""
        frames = int(np.shape(videos)[1])
        out = {"all": self.logits(videos)}
        if frames == FVD16_FRAMES:
            out["first16"] = out["all"]
        elif frames > FVD16_FRAMES:
            out["first16"] = self.logits(np.asarray(videos)[:, :FVD16_FRAMES])
        return out

    def of_batches(self, batches, num_samples: int, progress=None) -> dict:
        """Features of the first `num_samples` clips of an iterable of clip batches;
        `progress(done, total)` is called after each batch. ValueError when the batches
        run out before `num_samples` clips."""
        parts, done = [], 0
        for batch in batches:
            batch = np.asarray(batch)[:num_samples - done]
            parts.append(self(batch))
            done += len(batch)
            if progress is not None:
                progress(done, num_samples)
            if done >= num_samples:
                break
        if done < num_samples:
            raise ValueError(f"only {done} clips were available, --num_samples is "
                             f"{num_samples}")
        return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


# -- the real data's features, cached ----------------------------------------------------
def cache_key(description: dict) -> str:
    """sha256 of the JSON of `description` (the data and the settings) plus the I3D
    weights and the preprocessing version."""
    from vgan_tf.metrics import i3d_weights

    full = dict(description, i3d_sha256=i3d_weights.SHA256,
                preprocessing=PREPROCESSING_VERSION)
    return hashlib.sha256(json.dumps(full, sort_keys=True, default=str).encode()).hexdigest()


class StatisticsCache:
    """Feature arrays on disk (`<folder>/<key>.npz`, written atomically), so the real
    data's I3D pass runs once per data set and settings."""

    def __init__(self, folder: str):
        self.folder = folder

    def path(self, key: str) -> str:
        return os.path.join(self.folder, f"real-features-{key[:32]}.npz")

    def get(self, key: str):
        path = self.path(key)
        if not os.path.isfile(path):
            return None
        with np.load(path) as data:
            if str(data["key"]) != key:
                return None
            return {name: data[name] for name in data.files if name != "key"}

    def put(self, key: str, features: dict) -> str:
        os.makedirs(self.folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=self.folder)
        os.close(fd)
        try:
            np.savez(tmp, key=np.array(key), **features)
            os.replace(tmp, self.path(key))
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        return self.path(key)

    def get_or_compute(self, description: dict, compute):
        """(features, True if they came from the cache)."""
        key = cache_key(description)
        found = self.get(key)
        if found is not None:
            return found, True
        features = compute()
        self.put(key, features)
        return features, False
