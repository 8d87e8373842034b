"""Layers shared by the paper's networks, with the paper's initialisation.

Every convolution and transposed convolution has weights N(0, 0.01) and a zero bias;
every BatchNorm has gamma N(1, 0.02) and beta 0. "k4 s2 p1" of the original Torch code is
`kernel_size=4, strides=2, padding="same"` here: for even inputs both pad one row on each
side, so the outputs line up exactly.

BatchNorm momentum is 0.9, the Keras spelling of Torch's default momentum 0.1.

`down3d(..., space_to_depth=True)` and `up(..., depth_to_space=True)` give a k4 s2 "same"
layer in a stride-1 form (below): the same weights, class name and outputs, another speed
(tests/models/test_layer_forms.py; docs/performance.md).
"""
from __future__ import annotations

import keras
from keras import ops

CONV_STDDEV = 0.01
GAMMA_STDDEV = 0.02
TORCH_BN_MOMENTUM = 0.9
GENERATOR_BN_EPSILON = 1e-5
DISCRIMINATOR_BN_EPSILON = 1e-3

_TRANSPOSED_CONV = {2: keras.layers.Conv2DTranspose, 3: keras.layers.Conv3DTranspose}


def conv_init():
    return keras.initializers.RandomNormal(mean=0.0, stddev=CONV_STDDEV)


def batch_norm(epsilon: float, name: str) -> keras.layers.BatchNormalization:
    return keras.layers.BatchNormalization(
        momentum=TORCH_BN_MOMENTUM,
        epsilon=epsilon,
        gamma_initializer=keras.initializers.RandomNormal(mean=1.0, stddev=GAMMA_STDDEV),
        beta_initializer="zeros",
        name=name,
    )


def _conv_kwargs(name: str, **kwargs) -> dict:
    return dict(kernel_initializer=conv_init(), bias_initializer="zeros", name=name,
                **kwargs)


def up(rank: int, filters: int, name: str, kernel=4, strides=2, padding="same",
       depth_to_space: bool = False, **kwargs):
    """Transposed convolution over images (rank 2) or videos (rank 3); kwargs (dtype)
    go to the Keras layer. depth_to_space: computed as `depth_to_space_conv_transpose`
    (k4 s2 "same" layers only; same weights and outputs)."""
    if rank not in _TRANSPOSED_CONV:
        raise ValueError(f"rank must be 2 (images) or 3 (videos), got {rank!r}")
    if depth_to_space:
        layer = {2: Conv2DTranspose, 3: Conv3DTranspose}[rank]
        kwargs["depth_to_space"] = True
    else:
        layer = _TRANSPOSED_CONV[rank]
    return layer(filters, kernel, strides=strides, padding=padding,
                 **_conv_kwargs(name, **kwargs))


def down3d(filters: int, name: str, kernel=4, strides=2, padding="same",
           space_to_depth: bool = False, **kwargs):
    """3-D convolution; space_to_depth: computed as `space_to_depth_conv` (k4 s2 "same"
    layers only; same weights and outputs)."""
    if space_to_depth:
        return Conv3D(filters, kernel, strides=strides, padding=padding,
                      space_to_depth=True, **_conv_kwargs(name, **kwargs))
    return keras.layers.Conv3D(filters, kernel, strides=strides, padding=padding,
                               **_conv_kwargs(name, **kwargs))


@keras.saving.register_keras_serializable(package="vgan_tf")
class SpectralNorm(keras.layers.Wrapper):
    """A convolution whose kernel is divided by its largest singular value in the forward
    (spectral normalisation, Miyato et al. 2018; not in the paper: an option of D).

    The kernel, reshaped to [-1, output channels], has its largest singular value sigma
    estimated by `power_iterations` steps of the power method from the stored vector `u`
    (updated in training calls only); the wrapped layer then runs with kernel / sigma.
    The gradient passes through sigma (u and v held constant), and the stored kernel is
    never overwritten (unlike keras.layers.SpectralNormalization, which assigns the
    normalised kernel to the variable in every training call). Takes the wrapped layer's
    name, so the network's layer names stay the same.
    """

    def __init__(self, layer, power_iterations: int = 1, **kwargs):
        kwargs.setdefault("name", layer.name)
        kwargs.setdefault("dtype", layer.dtype_policy)
        kwargs.setdefault("autocast", False)  # sigma in float32; the wrapped layer casts
        super().__init__(layer, **kwargs)
        self.power_iterations = int(power_iterations)

    def build(self, input_shape=None):
        if not self.layer.built:
            self.layer.build(input_shape)
        self.u = self.add_weight(
            shape=(1, self.layer.kernel.shape[-1]), name="u", trainable=False,
            dtype="float32", initializer=keras.initializers.RandomNormal(stddev=1.0))
        self.built = True

    def _matrix(self):
        kernel = keras.ops.convert_to_tensor(self.layer.kernel.value, "float32")
        return keras.ops.reshape(kernel, (-1, kernel.shape[-1]))

    def sigma(self, training=False):
        """The power-method estimate of the kernel's largest singular value (float32)."""
        matrix = self._matrix()
        u = keras.ops.convert_to_tensor(self.u.value, "float32")
        for _ in range(self.power_iterations):
            v = _l2_normalize(keras.ops.matmul(u, keras.ops.transpose(matrix)))
            u = _l2_normalize(keras.ops.matmul(v, matrix))
        u, v = keras.ops.stop_gradient(u), keras.ops.stop_gradient(v)
        if training:
            self.u.assign(u)
        return keras.ops.sum(keras.ops.matmul(v, matrix) * u)

    def normalized_kernel(self, training=False):
        """kernel / sigma: the kernel the forward uses."""
        return keras.ops.convert_to_tensor(self.layer.kernel.value, "float32") / self.sigma(
            training)

    def call(self, inputs, training=False):
        kernel = self.normalized_kernel(bool(training))
        with keras.StatelessScope(state_mapping=[(self.layer.kernel, kernel)]):
            return self.layer(inputs)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(power_iterations=self.power_iterations)
        return config


def _l2_normalize(x, epsilon=1e-12):
    return x / keras.ops.maximum(keras.ops.sqrt(keras.ops.sum(x * x)), epsilon)


def spectral_norm(layer):
    """`layer` wrapped in SpectralNorm (one power iteration per training call)."""
    return SpectralNorm(layer)
# -- k4 s2 layers as stride-1 2x..x2 convolutions (same weights, same sums) ------------
# Along each axis a k4 s2 "same" layer's tap t is t = 2k + q: k (0 or 1) says which of two
# neighbouring positions of the coarse grid a product belongs to, q (0 or 1) which of the
# two fine positions. A forward convolution (D's first layer) then reads the input, padded
# as "same" pads it and folded 2 per axis into channels (space-to-depth), with a 2x..x2
# stride-1 kernel whose input channels are (q, channel); a transposed convolution (G's
# output heads) writes 2^rank groups of channels (q, channel) with a 2x..x2 stride-1
# transposed kernel, unfolded into space (depth-to-space) and cropped by one on each side
# (what "same" crops). The stored kernel keeps Keras' layout [4]*rank + [..]; the 2x..x2
# kernel is a reshape and transpose of it inside the call, so gradients reach the stored
# kernel and checkpoints, .keras files and parameter counts do not change.
# The classes keep Keras' class names on purpose: a `.keras` file names the layers of a
# Sequential by their class name (keras saving_lib), so a network built with or without
# these forms reads the same files.


def fold_taps(kernel, rank: int):
    """k4 kernel [4]*rank + [a, b] -> [2]*rank + [2^rank * a, b] (tap 2k + q -> k, with
    q folded into the channel axis a as (q1, .., qr, a))."""
    a, b = kernel.shape[-2], kernel.shape[-1]
    split = ops.reshape(kernel, (2, 2) * rank + (a, b))  # k1 q1 k2 q2 .. a b
    order = ([2 * i for i in range(rank)] + [2 * i + 1 for i in range(rank)]
             + [2 * rank, 2 * rank + 1])
    return ops.reshape(ops.transpose(split, order), (2,) * rank + (2 ** rank * a, b))


def space_to_depth_conv(inputs, kernel):
    """The k4 s2 "same" convolution of inputs [b, *spatial, c] with kernel [4]*rank +
    [c, out], as pad, space-to-depth and a stride-1 2x..x2 convolution."""
    rank = len(inputs.shape) - 2
    spatial = [int(n) for n in inputs.shape[1:-1]]
    outs = [(n + 1) // 2 for n in spatial]
    totals = [2 * o + 2 - n for o, n in zip(outs, spatial)]  # "same": (o - 1) * 2 + 4 - n
    x = ops.pad(inputs, [[0, 0]] + [[t // 2, t - t // 2] for t in totals] + [[0, 0]])
    channels = inputs.shape[-1]
    x = ops.reshape(x, [-1] + [v for o in outs for v in (o + 1, 2)] + [channels])
    order = ([0] + [1 + 2 * i for i in range(rank)] + [2 + 2 * i for i in range(rank)]
             + [2 * rank + 1])
    x = ops.reshape(ops.transpose(x, order),
                    [-1] + [o + 1 for o in outs] + [2 ** rank * channels])
    return ops.conv(x, fold_taps(kernel, rank), strides=1, padding="valid")


def depth_to_space_conv_transpose(inputs, kernel):
    """The k4 s2 "same" transposed convolution of inputs [b, *spatial, c] with kernel
    [4]*rank + [out, c], as a stride-1 2x..x2 transposed convolution, depth-to-space and
    a crop of one on each side; -> [b, *(2 * spatial), out]."""
    rank = len(inputs.shape) - 2
    spatial = [int(n) for n in inputs.shape[1:-1]]
    filters = kernel.shape[-2]
    y = ops.conv_transpose(inputs, fold_taps(kernel, rank), strides=1, padding="valid")
    y = ops.reshape(y, [-1] + [n + 1 for n in spatial] + [2] * rank + [filters])
    order = [0] + [i for a in range(rank) for i in (1 + a, 1 + rank + a)] + [2 * rank + 1]
    y = ops.reshape(ops.transpose(y, order), [-1] + [2 * n + 2 for n in spatial] + [filters])
    return y[(slice(None),) + (slice(1, -1),) * rank]


def _check_k4_s2(layer, option: str):
    rank = layer.rank
    if (tuple(layer.kernel_size) != (4,) * rank or tuple(layer.strides) != (2,) * rank
            or layer.padding != "same" or tuple(layer.dilation_rate) != (1,) * rank
            or layer.data_format != "channels_last"):
        raise ValueError(f"{layer.name}: {option} needs kernel 4, strides 2, padding "
                         f"'same', dilation 1, channels-last; got kernel "
                         f"{layer.kernel_size}, strides {layer.strides}, padding "
                         f"{layer.padding!r}")


@keras.saving.register_keras_serializable(package="vgan_tf", name="SpaceToDepthConv3D")
class Conv3D(keras.layers.Conv3D):
    """keras.layers.Conv3D computed as pad + space-to-depth + stride-1 2x2x2 convolution
    (`space_to_depth_conv`); a k4 s2 "same" layer only. Same weights, same outputs."""

    def __init__(self, *args, space_to_depth: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.space_to_depth = bool(space_to_depth)
        if self.space_to_depth:
            _check_k4_s2(self, "space_to_depth")

    def convolution_op(self, inputs, kernel):
        if not self.space_to_depth:
            return super().convolution_op(inputs, kernel)
        return space_to_depth_conv(inputs, kernel)

    def get_config(self):
        return {**super().get_config(), "space_to_depth": self.space_to_depth}


class _DepthToSpace:
    """The call of a k4 s2 transposed convolution as `depth_to_space_conv_transpose`."""

    def __init__(self, *args, depth_to_space: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.depth_to_space = bool(depth_to_space)
        if self.depth_to_space:
            _check_k4_s2(self, "depth_to_space")

    def call(self, inputs):
        if not self.depth_to_space:
            return super().call(inputs)
        outputs = depth_to_space_conv_transpose(inputs, self.kernel)
        if self.use_bias:
            outputs = ops.add(outputs, ops.reshape(self.bias, (1,) * (self.rank + 1)
                                                   + (self.filters,)))
        return outputs if self.activation is None else self.activation(outputs)

    def get_config(self):
        return {**super().get_config(), "depth_to_space": self.depth_to_space}


@keras.saving.register_keras_serializable(package="vgan_tf",
                                          name="DepthToSpaceConv3DTranspose")
class Conv3DTranspose(_DepthToSpace, keras.layers.Conv3DTranspose):
    """keras.layers.Conv3DTranspose computed as a stride-1 2x2x2 transposed convolution
    + depth-to-space + crop; a k4 s2 "same" layer only. Same weights, same outputs."""


@keras.saving.register_keras_serializable(package="vgan_tf",
                                          name="DepthToSpaceConv2DTranspose")
class Conv2DTranspose(_DepthToSpace, keras.layers.Conv2DTranspose):
    """keras.layers.Conv2DTranspose computed as a stride-1 2x2 transposed convolution
    + depth-to-space + crop; a k4 s2 "same" layer only. Same weights, same outputs."""
