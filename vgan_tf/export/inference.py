"""The network as it is exported: a copy for inference, BatchNorm folded, fp32 or bf16.

`inference_network(model, precision, fold_batch_norm, subpixel_channels, fuse_heads)`
rebuilds `model` (a TwoStreamGenerator, OneStreamGenerator, FuturePredictor: any
StagedNetwork with `get_config` and `forward(inputs, run)`) from its config and copies its
weights; the trained model is not changed.

Folding: a (transposed) convolution followed by a BatchNormalization in the same stage
becomes one convolution. In inference mode BN is y = gamma * (x - mean) / sqrt(var + eps)
+ beta, per output channel, so with s = gamma / sqrt(var + eps) the convolution's kernel is
scaled by s along its output-channel axis (the last axis of a Conv kernel
[*window, in, out], the one before it for a ConvTranspose kernel [*window, out, in]) and
its bias becomes (bias - mean) * s + beta; the BN layer is then skipped. Computed in
float64 from the trained float32 weights.

Precision "bf16": the copy is built under Keras' pure "bfloat16" policy, so the kernels
are stored in bfloat16 (cast once, at export, after folding) and the convolutions run in
bfloat16 without a per-call cast of the weights; the output activations (tanh, sigmoid)
are pinned to float32 by the networks, so the compositing and every output stay float32.

Output heads: k4 s2 transposed convolutions to at most `subpixel_channels` channels (the
3-channel foreground and background, the 1-channel mask) run as one forward convolution
and an interleave (`subpixel_transposed_conv`, below): the same sums, tested equal.
Heads that open their stage with such a convolution and read the same tensor (the
foreground and mask heads of the two-stream networks) run as one forward convolution whose
output channels are split between them (`fuse_heads`): the input is padded and read once.
Tests: tests/export/test_inference.py; speed: bench/serving.py.
"""
from __future__ import annotations

import contextlib

import keras
import numpy as np
import tensorflow as tf

from vgan_tf.export.options import PRECISIONS  # noqa: E402  (one list, no TF there)
"""Export precisions: "fp32" (the default) or "bf16" (bfloat16 convolutions)."""
_POLICIES = {"fp32": "float32", "bf16": "bfloat16"}
SUBPIXEL_CHANNELS = 4
"""k4 s2 transposed convolutions with at most this many output channels are computed as
one forward convolution (see `subpixel_transposed_conv`); chosen by bench/serving.py."""

_TRANSPOSED = (keras.layers.Conv2DTranspose, keras.layers.Conv3DTranspose)
_CONVS = (keras.layers.Conv2D, keras.layers.Conv3D) + _TRANSPOSED


def check_precision(precision: str) -> str:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}; got "
                         f"{precision!r}")
    return precision


@contextlib.contextmanager
def _policy(name: str):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def _stages(model):
    return [layer for layer in model.layers if isinstance(layer, keras.Sequential)]


def foldable_pairs(model) -> list:
    """[(stage name, conv layer name, bn layer name)] of every convolution (with a bias)
    directly followed by a BatchNormalization inside a stage."""
    pairs = []
    for stage in _stages(model):
        layers = stage.layers
        for conv, norm in zip(layers, layers[1:]):
            if (isinstance(conv, _CONVS) and conv.use_bias
                    and isinstance(norm, keras.layers.BatchNormalization)
                    and norm.axis in (-1, len(conv.output.shape) - 1)):
                pairs.append((stage.name, conv.name, norm.name))
    return pairs


def folded_weights(conv, norm):
    """(kernel, bias) of `conv` with the inference-mode `norm` after it folded in, as
    float64 numpy arrays."""
    kernel = np.asarray(conv.kernel.numpy(), np.float64)
    bias = np.asarray(conv.bias.numpy(), np.float64)
    channels = kernel.shape[-2] if isinstance(conv, _TRANSPOSED) else kernel.shape[-1]
    gamma = (np.asarray(norm.gamma.numpy(), np.float64) if norm.scale
             else np.ones(channels))
    beta = (np.asarray(norm.beta.numpy(), np.float64) if norm.center
            else np.zeros(channels))
    mean = np.asarray(norm.moving_mean.numpy(), np.float64)
    var = np.asarray(norm.moving_variance.numpy(), np.float64)
    scale = gamma / np.sqrt(var + norm.epsilon)
    if isinstance(conv, _TRANSPOSED):
        kernel = kernel * scale[:, None]
    else:
        kernel = kernel * scale
    return kernel, (bias - mean) * scale + beta


class InferenceNetwork(tf.Module):
    """A rebuilt copy of a staged network for serving (see the module docstring).

    Offers what the serving modules use: `generate_parts(inputs, training=False)`,
    `video_shape`, `latent_dim` (generators) or `image_shape` (predictors), and
    `precision`, `folded` (the (stage, conv, bn) names folded away), `subpixel_kernels`
    ("stage/layer" -> the forward kernel of each rewritten transposed convolution),
    `fused_heads` (tuples of the stage names whose first convolutions run as one) and
    `run_stage(stage, x)`, the runner handed to the network's `forward`."""

    def __init__(self, model, precision: str = "fp32", fold_batch_norm: bool = True,
                 subpixel_channels: int = SUBPIXEL_CHANNELS, fuse_heads: bool = True):
        super().__init__(name="inference_network")
        self.precision = check_precision(precision)
        config = dict(model.get_config())
        config.pop("dtype", None)  # the copy's layers take the policy below
        with _policy(_POLICIES[precision]):
            copy = type(model).from_config(config)
        if len(copy.weights) != len(model.weights):
            raise ValueError(f"the rebuilt {type(model).__name__} has {len(copy.weights)} "
                             f"weights, the trained one {len(model.weights)}")
        for target, source in zip(copy.weights, model.weights):
            if tuple(target.shape) != tuple(source.shape):
                raise ValueError(f"weight {source.path}: shape {tuple(source.shape)} in the "
                                 f"trained model, {tuple(target.shape)} in the rebuilt one")
            target.assign(tf.cast(source.value, target.dtype))
        self.network = copy
        self.folded = tuple(foldable_pairs(model)) if fold_batch_norm else ()
        self._skipped = set()
        for stage_name, conv_name, norm_name in self.folded:
            source_stage = model.get_layer(stage_name)
            kernel, bias = folded_weights(source_stage.get_layer(conv_name),
                                          source_stage.get_layer(norm_name))
            target_conv = copy.get_layer(stage_name).get_layer(conv_name)
            target_conv.kernel.assign(tf.cast(kernel, target_conv.kernel.dtype))
            target_conv.bias.assign(tf.cast(bias, target_conv.bias.dtype))
            self._skipped.add((stage_name, norm_name))
        # k4 s2 transposed convs with at most subpixel_channels outputs -> forward convs
        self.subpixel_kernels = {}
        self._subpixel = {}
        for stage in _stages(copy):
            for layer in stage.layers:
                if is_subpixel_convertible(layer) and layer.filters <= subpixel_channels:
                    key = f"{stage.name}/{layer.name}"
                    self.subpixel_kernels[key] = tf.Variable(
                        tf.cast(subpixel_kernel(layer.kernel.numpy().astype(np.float64)),
                                layer.kernel.dtype), trainable=False,
                        name=f"{stage.name}_{layer.name}_subpixel")
                    self._subpixel[(stage.name, layer.name)] = key
        self._memo, self._group_of, self.fused_kernels = _Memo(), {}, {}
        self.fused_heads = self._fuse(copy) if fuse_heads else ()
        for name in ("latent_dim", "image_shape"):
            if hasattr(model, name):
                setattr(self, name, getattr(model, name))
        self.video_shape = tuple(model.video_shape)

    def _fuse(self, copy) -> tuple:
        """Groups the stages whose first layer is a rewritten convolution of the same rank
        and input channels; each group of two or more gets one concatenated kernel.
        Returns the groups' stage names."""
        groups = {}
        for stage in _stages(copy):
            first = stage.layers[0]
            if (stage.name, first.name) in self._subpixel:
                rank = len(first.kernel_size)
                groups.setdefault((rank, first.kernel.shape[-1]), []).append(stage)
        fused = tuple(tuple(s.name for s in group) for group in groups.values()
                      if len(group) > 1)
        for names in fused:
            parts, channels = [], []
            for name in names:
                layer = copy.get_layer(name).layers[0]
                kernel = self.subpixel_kernels[f"{name}/{layer.name}"]
                parts.append(tf.reshape(kernel, list(kernel.shape[:-1])
                                        + [-1, layer.filters]))
                channels.append(layer.filters)
            joined = tf.concat(parts, axis=-1)
            self.fused_kernels["+".join(names)] = tf.Variable(
                tf.reshape(joined, list(joined.shape[:-2]) + [-1]), trainable=False,
                name="_".join(names) + "_fused")
            for name in names:
                self._group_of[name] = (names, tuple(channels))
        return fused

    def _first_conv(self, stage, layer, x):
        """The (bias-free) output of a rewritten first convolution: from the group's one
        convolution when the group's last call had this same input, else alone."""
        if stage.name in self._group_of and layer is stage.layers[0]:
            names, channels = self._group_of[stage.name]
            memo = self._memo
            if memo.input is not x or memo.names != names:
                kernel = self.fused_kernels["+".join(names)]
                joined = subpixel_transposed_conv(tf.cast(x, kernel.dtype), kernel,
                                                  sum(channels))
                memo.input, memo.names = x, names
                memo.parts = dict(zip(names, tf.split(joined, list(channels), axis=-1)))
            return memo.parts[stage.name]
        kernel = self.subpixel_kernels[self._subpixel[(stage.name, layer.name)]]
        return subpixel_transposed_conv(tf.cast(x, kernel.dtype), kernel, layer.filters)

    def run_stage(self, stage, x):
        """Runs one stage of the copy on x in inference mode (folded BatchNorms skipped,
        rewritten convolutions as forward convolutions)."""
        for layer in stage.layers:
            key = (stage.name, layer.name)
            if key in self._skipped:
                continue
            if key in self._subpixel:
                x = self._first_conv(stage, layer, x)
                if layer.use_bias:
                    x = x + tf.cast(layer.bias, x.dtype)
                x = layer.activation(x)
            else:
                x = layer(x, training=False)
        return x

    def generate_parts(self, inputs, training=False):
        """The network's parts dict (e.g. "video", "mask", "background") in inference
        mode; `training` must be False."""
        if training:
            raise ValueError("an InferenceNetwork runs in inference mode only")
        try:
            return self.network.forward(inputs, self.run_stage)
        finally:
            self._memo.clear()


class _Memo:
    """The last fused convolution's input and its parts (plain attributes: not tracked
    by tf.Module, so nothing of a trace is saved)."""

    def __init__(self):
        self.clear()

    def clear(self):
        self.input, self.names, self.parts = None, None, None


def inference_network(model, precision: str = "fp32", fold_batch_norm: bool = True,
                      subpixel_channels: int = None, fuse_heads: bool = True
                      ) -> InferenceNetwork:
    """`InferenceNetwork(model, precision, fold_batch_norm, subpixel_channels, fuse_heads)`:
    what the writer exports (subpixel_channels None: SUBPIXEL_CHANNELS)."""
    if subpixel_channels is None:
        subpixel_channels = SUBPIXEL_CHANNELS
    return InferenceNetwork(model, precision, fold_batch_norm, subpixel_channels, fuse_heads)


# -- stride-2 transposed convolutions as one forward convolution -----------------------
# A k4 s2 "same" transposed convolution (what every up-step of these networks is) gives,
# along each axis, output 2m from inputs (m-1, m) with taps (3, 1) and output 2m+1 from
# (m, m+1) with taps (2, 0). So on the input padded by one on each side, a 2x..x2 "valid"
# forward convolution with 2^rank * C output channels (one group of C per output parity)
# computes every output; each parity's values are a shifted slice of that result, and
# interleaving them gives the transposed convolution's output: the same sums of the same
# products. oneDNN runs such a forward convolution far faster than the transposed one
# when C is small (the 3- and 1-channel heads).
_PHASE_TAPS = ((3, 1), (2, 0))


def is_subpixel_convertible(layer) -> bool:
    """A Conv2DTranspose/Conv3DTranspose with kernel 4, stride 2, padding "same",
    dilation 1, channels-last (each up-step of the paper's networks but the first)."""
    if not isinstance(layer, _TRANSPOSED):
        return False
    rank = len(layer.kernel_size)
    return (tuple(layer.kernel_size) == (4,) * rank and tuple(layer.strides) == (2,) * rank
            and layer.padding == "same" and tuple(layer.dilation_rate) == (1,) * rank
            and layer.data_format == "channels_last"
            and getattr(layer, "output_padding", None) in (None, (None,) * rank))


def subpixel_kernel(kernel) -> np.ndarray:
    """ConvTranspose kernel [4]*rank + [out, in] -> forward kernel [2]*rank + [in,
    2^rank * out], parity groups in row-major order of (parity per axis)."""
    kernel = np.asarray(kernel)
    rank = kernel.ndim - 2
    groups = []
    for phases in np.ndindex(*(2,) * rank):
        part = kernel
        for axis, phase in enumerate(phases):
            part = np.take(part, _PHASE_TAPS[phase], axis=axis)
        groups.append(np.swapaxes(part, -1, -2))  # [2]*rank + [in, out]
    return np.concatenate(groups, axis=-1)


def subpixel_transposed_conv(x, kernel, channels: int):
    """The k4 s2 "same" transposed convolution of x [b, *spatial, in] given
    `subpixel_kernel` of its kernel; -> [b, *(2 * spatial), channels]."""
    rank = len(x.shape) - 2
    spatial = list(x.shape[1:-1])
    padded = tf.pad(x, [[0, 0]] + [[1, 1]] * rank + [[0, 0]])
    conv = tf.nn.conv3d if rank == 3 else tf.nn.conv2d
    y = conv(padded, kernel, [1] * (rank + 2), "VALID")  # [b, *(n + 1), 2^rank * C]
    batch = tf.shape(x)[0]
    y = tf.reshape(y, [batch, *[n + 1 for n in spatial], 2 ** rank, channels])
    parts = []
    for index, phases in enumerate(np.ndindex(*(2,) * rank)):
        window = tuple(slice(p, p + n) for p, n in zip(phases, spatial))
        parts.append(y[(slice(None),) + window + (index,)])
    stacked = tf.reshape(tf.stack(parts, axis=rank + 1),
                         [batch, *spatial, *(2,) * rank, channels])
    # [b, n1, .., nr, p1, .., pr, C] -> [b, n1, p1, .., nr, pr, C]
    order = [0] + [i for a in range(rank) for i in (1 + a, 1 + rank + a)] + [2 * rank + 1]
    return tf.reshape(tf.transpose(stacked, order),
                      [batch, *[2 * n for n in spatial], channels])
