"""Clip filters after stabilisation, and every reason a clip is dropped.

Each dropped clip is counted under exactly one reason (the first that applies, in
`DROP_REASONS` order): a matching failure of one of its frames (no_descriptors,
few_keypoints, few_matches, no_homography), out_of_frame (the warp left the frame before
min_frames), too_short (the video ended before min_frames), camera_motion, static,
scene_filter. The last three are off by default (the original had none).

Scene filters: the paper kept scenes with a Places CNN, which cannot ship offline; a user
supplies either `module:function` (a Python callable given the clip's middle frame,
uint8 RGB [size, size, 3]; a truthy result keeps the clip) or the path of a SavedModel
whose `serving_default` signature takes one uint8 tensor [1, size, size, 3] (RGB) and
returns one tensor whose first value is a keep score (> 0.5 keeps). TensorFlow is
imported only for a SavedModel filter, once per process.
"""
from __future__ import annotations

import importlib
import os

import numpy as np

from vgan_tf.data.prepare import stabilize

TOO_SHORT = "too_short"
CAMERA_MOTION = "camera_motion"
STATIC = "static"
SCENE_FILTER = "scene_filter"
DROP_REASONS = stabilize.MATCH_FAILURES + (stabilize.OUT_OF_FRAME, TOO_SHORT, CAMERA_MOTION,
                                           STATIC, SCENE_FILTER)


def foreground_motion(frames: np.ndarray) -> float:
    """Mean absolute difference (0..255) between consecutive frames of [T, S, S, 3]."""
    if len(frames) < 2:
        return 0.0
    return float(np.abs(np.diff(frames.astype(np.int16), axis=0)).mean())


def camera_motion(step_motion) -> float:
    """Mean of the per-frame corner displacements (ClipStabilizer.step_motion)."""
    return float(np.mean(step_motion)) if len(step_motion) else 0.0


_LOADED = {}


def load_scene_filter(spec: str | None):
    """'module:function' or a SavedModel directory -> a callable(middle_rgb) -> bool.

    Raises ValueError for a spec that is neither (naming it)."""
    if spec is None:
        return None
    if spec in _LOADED:
        return _LOADED[spec]
    if os.path.isdir(spec) or "://" in spec:
        keep = _saved_model_filter(spec)
    elif ":" in spec:
        module_name, _, attribute = spec.partition(":")
        try:
            function = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as error:
            raise ValueError(f"scene_filter {spec!r}: {error}") from None
        if not callable(function):
            raise ValueError(f"scene_filter {spec!r} is not callable")

        def keep(middle):
            return bool(function(middle))
    else:
        raise ValueError(f"scene_filter {spec!r} is neither 'module:function' nor a "
                         "SavedModel directory")
    _LOADED[spec] = keep
    return keep


def _saved_model_filter(path: str):
    import tensorflow as tf  # only here: per clip, and only with a SavedModel filter

    try:
        model = tf.saved_model.load(path)
        signature = model.signatures["serving_default"]
    except (OSError, KeyError, tf.errors.NotFoundError) as error:
        raise ValueError(f"scene_filter {path!r}: not a SavedModel with a "
                         f"serving_default signature ({error})") from None

    input_name = next(iter(signature.structured_input_signature[1]))

    def keep(middle):
        outputs = signature(**{input_name: tf.constant(middle[np.newaxis], tf.uint8)})
        score = next(iter(outputs.values())).numpy().reshape(-1)[0]
        return bool(score > 0.5)

    keep.model = model  # keeps the loaded object alive with the signature
    return keep
