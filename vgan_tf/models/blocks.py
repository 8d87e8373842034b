"""Layers shared by the paper's networks, with the paper's initialisation.

Every convolution and transposed convolution has weights N(0, 0.01) and a zero bias;
every BatchNorm has gamma N(1, 0.02) and beta 0. "k4 s2 p1" of the original Torch code is
`kernel_size=4, strides=2, padding="same"` here: for even inputs both pad one row on each
side, so the outputs line up exactly.

BatchNorm momentum is 0.9, the Keras spelling of Torch's default momentum 0.1.
"""
from __future__ import annotations

import keras

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


def up(rank: int, filters: int, name: str, kernel=4, strides=2, padding="same", **kwargs):
    """Transposed convolution over images (rank 2) or videos (rank 3); kwargs (dtype)
    go to the Keras layer."""
    if rank not in _TRANSPOSED_CONV:
        raise ValueError(f"rank must be 2 (images) or 3 (videos), got {rank!r}")
    return _TRANSPOSED_CONV[rank](filters, kernel, strides=strides, padding=padding,
                                  **_conv_kwargs(name, **kwargs))


def down3d(filters: int, name: str, kernel=4, strides=2, padding="same", **kwargs):
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
