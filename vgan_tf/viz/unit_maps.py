"""Hidden-unit maps, as in the paper's "people" / "train tracks" figures.

For a network that exposes `activations(inputs, names)` (e.g. `Discriminator`, layers
d_conv0.., d_bn1.., d_lrelu..), the activation of one unit (channel) of one layer is
upsampled to the input's [frames, height, width] (linear in time, bilinear in space) and
overlaid on the frames as a heat map. Networks of still images work the same way (the
future predictor's `FrameEncoder`, layers enc_conv0.., enc_bn1.., enc_relu..): their inputs
are images [b, H, W, 3], their maps [b, H, W], their moving masks [b, H, W] (e.g. the
first frame of `sprite_masks`), and the files hold one frame.

`rank_units` orders a layer's units by how much more they fire on moving regions than on
the static background over a set of clips (moving regions given as boolean masks; for the
synthetic scenes they are known exactly, `sprite_masks`); `write_top_unit_maps` writes
the maps of the best-ranked units. The score of a unit is
(mean activation on moving pixels - mean on static pixels) / (std of its activation + eps).
"""
from __future__ import annotations

import os

import numpy as np
from PIL import Image

from vgan_tf.viz import video_files


def _is_image_batch(inputs) -> bool:
    return np.ndim(inputs) == 4


def layer_activations(network, videos, layer: str) -> np.ndarray:
    """[b, t', h', w', units] float32 activations of `layer` for videos in [-1, 1]
    ([b, 1, h', w', units] for a network of images [b, H, W, 3])."""
    out = np.asarray(network.activations(np.asarray(videos, np.float32), [layer])[layer],
                     np.float32)
    return out[:, None] if _is_image_batch(videos) else out


def _as_videos(inputs) -> np.ndarray:
    """float32 [b, T, H, W, 3]: videos as they are, images as one-frame videos."""
    inputs = np.asarray(inputs, np.float32)
    return inputs[:, None] if _is_image_batch(inputs) else inputs


def upsample(maps: np.ndarray, frames: int, height: int, width: int) -> np.ndarray:
    """[b, t', h', w'] -> [b, frames, height, width]: bilinear in space (half-pixel
    centres), linear in time."""
    import tensorflow as tf

    b, t, h, w = maps.shape
    spatial = tf.image.resize(maps.reshape(b * t, h, w, 1), (height, width),
                              method="bilinear").numpy().reshape(b, t, height, width)
    if t == frames:
        return spatial
    centres = (np.arange(frames) + 0.5) * t / frames - 0.5
    low = np.clip(np.floor(centres).astype(int), 0, t - 1)
    high = np.clip(low + 1, 0, t - 1)
    frac = np.clip(centres - low, 0.0, 1.0)[None, :, None, None]
    return spatial[:, low] * (1 - frac) + spatial[:, high] * frac


def unit_maps(network, videos, layer: str, unit: int) -> np.ndarray:
    """[b, T, H, W] float32: unit `unit` of `layer`, upsampled to the videos' shape
    ([b, H, W] for images)."""
    acts = layer_activations(network, videos, layer)
    if not 0 <= unit < acts.shape[-1]:
        raise ValueError(f"{layer} has {acts.shape[-1]} units, got unit {unit}")
    maps = upsample(acts[..., unit], *_as_videos(videos).shape[1:4])
    return maps[:, 0] if _is_image_batch(videos) else maps


def rank_units(network, videos, moving, layer: str, eps: float = 1e-6) -> tuple:
    """(unit indices, best first; their scores) for `layer`: see the module docstring.
    moving: bool [b, T, H, W] ([b, H, W] for images), True on moving regions (both
    classes must occur)."""
    acts = layer_activations(network, videos, layer)
    moving = np.asarray(moving, bool)
    if moving.shape != np.shape(videos)[:-1] or moving.all() or not moving.any():
        raise ValueError("moving must be a bool mask of the inputs' [b, (T,) H, W] with "
                         "both moving and static pixels")
    videos = _as_videos(videos)
    moving = moving.reshape(videos.shape[:4])
    units = acts.shape[-1]
    full = upsample(np.moveaxis(acts, -1, 1).reshape(-1, *acts.shape[1:4]),
                    *videos.shape[1:4]).reshape(len(videos), units, *videos.shape[1:4])
    full = np.moveaxis(full, 1, -1)  # [b, T, H, W, units]
    on, off = full[moving].mean(0), full[~moving].mean(0)
    scores = (on - off) / (full.reshape(-1, units).std(0) + eps)
    order = np.argsort(-scores, kind="stable")
    return order, scores[order]


def sprite_masks(clips_uint8) -> np.ndarray:
    """[b, T, H, W] bool: the pixels of rendered synthetic clips that differ from the
    clip's temporal median (the moving sprites; exact for clips straight from
    data.synthetic.render_clip, whose static background is identical in every frame)."""
    clips = np.asarray(clips_uint8)
    median = np.median(clips, axis=1, keepdims=True)
    return (np.abs(clips.astype(np.int16) - median.astype(np.int16)) > 0).any(-1)


def overlay(videos_uint8, maps, alpha: float = 0.5) -> np.ndarray:
    """uint8 [b, T, H, W, 3]: each map (normalised to [0, 1] per video) as a JET heat map
    blended over its frames."""
    import cv2

    videos = np.asarray(videos_uint8)
    maps = np.asarray(maps, np.float32)
    low = maps.min(axis=(1, 2, 3), keepdims=True)
    high = maps.max(axis=(1, 2, 3), keepdims=True)
    norm = ((maps - low) / np.maximum(high - low, 1e-12) * 255).astype(np.uint8)
    heat = cv2.applyColorMap(norm.reshape(-1, norm.shape[-1]), cv2.COLORMAP_JET)
    heat = heat.reshape(*norm.shape, 3)[..., ::-1]  # BGR -> RGB
    return (videos * (1 - alpha) + heat * alpha).round().clip(0, 255).astype(np.uint8)


def write_unit_maps(network, videos, layer: str, units, out_dir: str,
                    fps: float = 8.0) -> list:
    """For each unit: `<layer>_unit<k>_clip<i>.gif` (the overlay) and `.png` (its frame
    where the map peaks), for every clip (images: the `.png` only); returns the paths."""
    from vgan_tf import sampling

    os.makedirs(out_dir, exist_ok=True)
    still = _is_image_batch(videos)
    videos = _as_videos(videos)
    pixels = sampling.to_uint8(videos).numpy()
    written = []
    for unit in units:
        maps = unit_maps(network, videos[:, 0] if still else videos, layer, int(unit))
        maps = maps[:, None] if still else maps
        shown = overlay(pixels, maps)
        for i, clip in enumerate(shown):
            base = os.path.join(out_dir, f"{layer}_unit{int(unit)}_clip{i}")
            if not still:
                written.append(video_files.write_gif(base + ".gif", clip, fps))
            peak = int(np.unravel_index(maps[i].argmax(), maps[i].shape)[0])
            Image.fromarray(clip[peak]).save(base + ".png")
            written.append(base + ".png")
    return written


def write_top_unit_maps(network, videos, moving, layer: str, out_dir: str, top: int = 3,
                        fps: float = 8.0) -> tuple:
    """Ranks `layer`'s units on (videos, moving) and writes the maps of the `top` best
    (write_unit_maps); returns (the top unit indices, the written paths)."""
    order, _ = rank_units(network, videos, moving, layer)
    best = [int(u) for u in order[:top]]
    return best, write_unit_maps(network, videos, layer, best, out_dir, fps)
