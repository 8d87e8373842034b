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
