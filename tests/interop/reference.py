"""An independent numpy forward pass of main.lua's networks in inference mode.

Written from Torch7's definitions, channels-first as Torch computes (N, C, [T,] H, W),
straight from the Torch-layout weights of torch_nets.py (nothing shared with the
importer): a full convolution scatters input[i, y] * weight[i, o, k] to output
position y * stride - pad + k; a convolution gathers input[i, y * stride - pad + k] *
weight[o, i, k]; BatchNormalization uses the running statistics (net:evaluate()).
"""
from __future__ import annotations

import itertools

import numpy as np


def full_conv(x, weight, bias, stride, pad):
    """Torch's Spatial/VolumetricFullConvolution; weight [in, out, *kernel]."""
    x = x.astype(np.float64)
    rank = weight.ndim - 2
    n, _, *size = x.shape
    kernel = weight.shape[2:]
    full = [(s - 1) * stride + k for s, k in zip(size, kernel)]
    out = np.zeros((n, weight.shape[1], *full))
    for offset in itertools.product(*[range(k) for k in kernel]):
        taps = np.einsum("nc...,cd->nd...", x, weight[(slice(None), slice(None)) + offset])
        where = tuple(slice(o, o + stride * (s - 1) + 1, stride) for o, s in zip(offset, size))
        out[(slice(None), slice(None)) + where] += taps
    crop = tuple(slice(pad, f - pad) for f in full)
    out = out[(slice(None), slice(None)) + crop]
    return out + bias.reshape((1, -1) + (1,) * rank)


def conv(x, weight, bias, stride, pad):
    """Torch's VolumetricConvolution; weight [out, in, *kernel]."""
    x = x.astype(np.float64)
    rank = weight.ndim - 2
    x = np.pad(x, [(0, 0), (0, 0)] + [(pad, pad)] * rank)
    n, _, *size = x.shape
    kernel = weight.shape[2:]
    outs = [(s - k) // stride + 1 for s, k in zip(size, kernel)]
    out = np.zeros((n, weight.shape[0], *outs))
    for offset in itertools.product(*[range(k) for k in kernel]):
        where = tuple(slice(o, o + stride * (m - 1) + 1, stride) for o, m in zip(offset, outs))
        out += np.einsum("nc...,dc->nd...", x[(slice(None), slice(None)) + where],
                         weight[(slice(None), slice(None)) + offset])
    return out + bias.reshape((1, -1) + (1,) * rank)


def batch_norm(x, p, eps):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return ((x - p["running_mean"].reshape(shape)) / np.sqrt(p["running_var"].reshape(shape) + eps)
            * p["weight"].reshape(shape) + p["bias"].reshape(shape))


def generator(weights, z, num_blocks, eps=1e-5):
    """Video [N, 3, T, H, W] (and parts) of main.lua's net for z [N, latent]."""
    def stream(prefix, rank):
        h = z.reshape((z.shape[0], -1) + (1,) * rank)
        for i in range(num_blocks):
            p = weights[f"{prefix}_up{i}"]
            h = full_conv(h, p["weight"], p["bias"], 1 if i == 0 else 2, 0 if i == 0 else 1)
            h = np.maximum(batch_norm(h, weights[f"{prefix}_bn{i}"], eps), 0)
        return h

    hidden = stream("fg", 3)
    foreground = np.tanh(full_conv(hidden, weights["fg_out"]["weight"],
                                   weights["fg_out"]["bias"], 2, 1))
    mask = 1 / (1 + np.exp(-full_conv(hidden, weights["mask_out"]["weight"],
                                      weights["mask_out"]["bias"], 2, 1)))
    background = np.tanh(full_conv(stream("bg", 2), weights["bg_out"]["weight"],
                                   weights["bg_out"]["bias"], 2, 1))
    mask_rgb = np.repeat(mask, 3, axis=1)
    frames = foreground.shape[2]
    static = np.repeat(background[:, :, None], frames, axis=2)
    video = foreground * mask_rgb + static * (1 - mask_rgb)
    return {"video": video, "foreground": foreground, "mask": mask, "background": background}


def discriminator(weights, video, num_blocks, eps=1e-3):
    """The two logits [N, 2] = [real, fake] of main.lua's netD for video [N, 3, T, H, W]."""
    h = video
    for i in range(num_blocks):
        p = weights[f"d_conv{i}"]
        h = conv(h, p["weight"], p["bias"], 2, 1)
        if i:
            h = batch_norm(h, weights[f"d_bn{i}"], eps)
        h = np.where(h > 0, h, 0.2 * h)
    p = weights["d_logit"]
    return conv(h, p["weight"], p["bias"], 1, 0).reshape(video.shape[0], 2)


def to_channels_last(x):
    return np.moveaxis(x, 1, -1)
