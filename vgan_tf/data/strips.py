"""JPEG strips: a clip stored as ONE JPEG, its square frames stacked vertically.

A clip of T frames of S x S pixels is an image S wide and T * S tall; frame k is rows
k*S .. (k+1)*S - 1. The frame size is detected from the width, the number of frames from
the height. This module has the NumPy side (encode, write, read: tools and tests) and the
in-graph side (`decode_clip`: what the tf.data pipeline runs, no Python per element).

It comes after `scans` (whether a scan is whole: scan_damaged, re-exported here) and
`options` (`decode_clip` cuts the clip that a ClipOptions describes).
"""
from __future__ import annotations

import os

import cv2
import numpy as np
import tensorflow as tf

from vgan_tf.data import control, scans
from vgan_tf.data.options import RESIZE_METHODS, ClipOptions  # noqa: F401 (re-exported)
from vgan_tf.data.scans import FILL_VALUE, scan_damaged  # noqa: F401 (re-exported)

DEFAULT_QUALITY = 95


def _check_frames(frames: np.ndarray, what: str) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.dtype != np.uint8:
        raise ValueError(f"{what}: frames must be uint8, got {frames.dtype}")
    if frames.ndim != 4 or frames.shape[1] != frames.shape[2] or frames.shape[3] != 3 \
            or frames.shape[0] < 1 or frames.shape[1] < 1:
        raise ValueError(f"{what}: frames must be [T, S, S, 3] with T, S >= 1, got "
                         f"{frames.shape}")
    return frames


def frames_to_strip(frames: np.ndarray) -> np.ndarray:
    """[T, S, S, 3] uint8 -> [T*S, S, 3] uint8 (np.vstack of the frames)."""
    frames = _check_frames(frames, "frames_to_strip")
    return frames.reshape(-1, frames.shape[2], 3)


def strip_to_frames(strip: np.ndarray, what: str = "strip") -> np.ndarray:
    """[T*S, S, 3] -> [T, S, S, 3]; ValueError unless the height is a multiple of the width."""
    strip = np.asarray(strip)
    if strip.ndim != 3 or strip.shape[2] != 3:
        raise ValueError(f"{what}: expected an RGB image, got shape {strip.shape}")
    height, width = strip.shape[:2]
    if width == 0 or height == 0 or height % width:
        raise ValueError(f"{what}: height {height} is not a multiple of width {width}; "
                         "frames must be square")
    return strip.reshape(height // width, width, width, 3)


def encode_strip(frames: np.ndarray, quality: int = DEFAULT_QUALITY) -> bytes:
    """[T, S, S, 3] uint8 RGB -> JPEG bytes of the strip (deterministic for equal input)."""
    strip = frames_to_strip(frames)
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(strip[..., ::-1]),
                           [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError(f"JPEG encoding failed for a strip of shape {strip.shape}")
    return buf.tobytes()


def write_strip(path: str, frames_uint8: np.ndarray, quality: int = DEFAULT_QUALITY) -> str:
    """Writes [T, S, S, 3] uint8 RGB frames as one JPEG strip at `path` (any gfile path)."""
    data = encode_strip(_check_frames(frames_uint8, path), quality)
    parent = os.path.dirname(path)
    if parent and not tf.io.gfile.exists(parent):
        tf.io.gfile.makedirs(parent)
    with tf.io.gfile.GFile(path, "wb") as f:
        f.write(data)
    return path


def decode_strip_bytes(data: bytes, what: str = "strip") -> np.ndarray:
    """JPEG bytes -> [T, S, S, 3] uint8 with TensorFlow's decoder (the pipeline's)."""
    try:
        image = tf.io.decode_jpeg(data, channels=3).numpy()
    except (tf.errors.InvalidArgumentError, tf.errors.UnknownError) as e:
        raise ValueError(f"{what}: not a decodable JPEG ({e.message.strip()})") from None
    return strip_to_frames(image, what)


def read_strip(path: str) -> np.ndarray:
    """Reads a strip file -> [T, S, S, 3] uint8 RGB. Errors name `path`."""
    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(f"strip {path!r} does not exist")
    with tf.io.gfile.GFile(path, "rb") as f:
        data = f.read()
    return decode_strip_bytes(data, path)


def frame_indices(num_strip_frames, frames: int, stride: int = 1, start=0):
    """The strip frames a clip takes -> (indices int32 [frames], last index used).

    start, start + stride, ... while they fit in the strip; a clip that runs out repeats
    the last frame it took (the original loader's padding of short clips, here at any
    stride). A start past the end takes the strip's last frame.
    """
    start = tf.cast(start, tf.int32)
    num = tf.cast(num_strip_frames, tf.int32)
    start = tf.minimum(start, num - 1)
    used = tf.maximum(tf.minimum(frames, (num - 1 - start) // stride + 1), 1)
    return start + tf.minimum(tf.range(frames, dtype=tf.int32), used - 1) * stride, \
        start + (used - 1) * stride


def center_start(num_strip_frames, frames: int, stride: int,
                 position: float = 0.5) -> tf.Tensor:
    """The start frame of the window of `frames` frames at `stride` placed at `position`
    of the strip's slack (0 the top, 0.5 the middle, rounded down; 0 for a clip too
    short, which then repeats its last frame). int32 scalar."""
    span = (frames - 1) * stride + 1
    slack = tf.maximum(tf.cast(num_strip_frames, tf.int32) - span, 0)
    if position == 0.5:  # exact integer halving
        return slack // 2
    return tf.cast(tf.floor(tf.cast(slack, tf.float32) * position), tf.int32)


def window_start(num_strip_frames, frames: int, stride: int, seed) -> tf.Tensor:
    """A uniform start frame for a random window of `frames` frames at `stride`.

    The window fits inside the strip where it can; a clip too short starts at 0 (and then
    repeats its last frame). `seed` is a stateless [2] int seed. int32 scalar.
    """
    span = (frames - 1) * stride + 1
    slack = tf.maximum(tf.cast(num_strip_frames, tf.int32) - span, 0)
    return tf.random.stateless_uniform([], seed=seed, minval=0, maxval=slack + 1,
                                       dtype=tf.int32)


DCT_FACTORS = (2, 4, 8)
"""Frame-size ratios (strip frame / clip frame) at which resize='dct' scales in the decoder."""


def _decode_frames(encoded, indices, num_frames, width, clip: ClipOptions,
                   check_fill: bool = False):
    """Decodes the top `num_frames` frames of a strip `width` wide and takes `indices`
    -> [len(indices), clip.size, clip.size, 3]: uint8 with resize='dct', float32 in
    [0, 255] with 'bilinear'; with check_fill, (frames, suspect): suspect is True where
    the bottom-right block of the rows decoded is exactly libjpeg's fill (FILL_VALUE).

    With resize='dct' and a width of 2, 4 or 8 times `size`, libjpeg decodes straight to
    `size` (scaled inverse DCT, the `ratio` attribute): the frames come out at their final
    size. Otherwise they are decoded at full size and resized bilinearly ('dct' then
    rounds the result to 8 bits: at most 0.5/255 off, and exact when the sizes are
    equal). Only the rows down to the last frame used are decoded.
    """
    rows = num_frames * width
    size, resize = clip.size, clip.resize

    def at_ratio(ratio):
        def decode():
            crop = tf.stack([0, 0, rows // ratio, width // ratio])

            def decode_bytes(data):
                return tf.io.decode_and_crop_jpeg(data, crop, channels=3, ratio=ratio)

            image = decode_bytes(encoded)
            if check_fill:  # one block (a quarter of a 4:2:0 MCU) at this ratio
                corner = max(1, 8 // ratio)
                suspect = tf.reduce_all(tf.equal(image[-corner:, -corner:], FILL_VALUE))
            if ratio > 1:
                frames = tf.reshape(image, [num_frames, size, size, 3])
                frames = tf.gather(frames, indices)
            else:
                frames = tf.gather(tf.reshape(image, [num_frames, width, width, 3]), indices)
                frames = tf.image.resize(frames, [size, size], method="bilinear")
                if resize != "bilinear":
                    frames = tf.cast(tf.round(frames), tf.uint8)  # in [0, 255]: no saturation
            return (frames, suspect) if check_fill else frames
        return decode

    if resize == "bilinear":
        return at_ratio(1)()
    exact = tf.equal(width % size, 0)
    branch = tf.zeros([], tf.int32)
    for index, factor in enumerate(DCT_FACTORS, start=1):
        branch = tf.where(exact & tf.equal(width // size, factor), index, branch)
    return control.switch_case(branch, [at_ratio(1)] + [at_ratio(f) for f in DCT_FACTORS])


def _ran_out(encoded, suspect, height, width, full_checks):
    """decode_clip's ran_out_of_data: with full_checks, scan_damaged of every strip;
    otherwise scans.ran_out_of_data, asked only of a `suspect` strip (one cond outside the
    ratio branches). full_checks may be a bool tensor (per strip: the verdict cache)."""
    def fill():
        return control.cond(suspect, lambda: scans.ran_out_of_data(encoded, height, width),
                            lambda: tf.constant(False))

    if isinstance(full_checks, bool):
        return scan_damaged(encoded, height, width) if full_checks else fill()
    return control.cond(full_checks, lambda: scan_damaged(encoded, height, width), fill)


def to_unit_range(video) -> tf.Tensor:
    """[0, 255] -> float32 [-1, 1]: x * float32(1 / 127.5) - 1.

    uint8 input takes one op (Dequantize), which gives exactly x * float32(1 / 127.5) - 1
    for all 256 values, as the float32 path does (tested). That is not the correctly
    rounded float32 division: 111 of the 256 values differ from
    float32(x) / float32(127.5) - 1, by at most 2**-23 (1.19e-7, tested); 0 and 255 map to
    -1 and 1 exactly. The pipeline maps whole batches with it (docs/data.md)."""
    if video.dtype == tf.uint8:
        return tf.raw_ops.Dequantize(input=tf.bitcast(video, tf.quint8), min_range=-1.0,
                                     max_range=1.0, mode="MIN_COMBINED")
    return video * (1.0 / 127.5) - 1.0


def decode_clip(encoded, clip: ClipOptions, start=0, height=None, width=None,
                unit_range: bool = True, check_fill: bool = False,
                full_checks=False):
    """In-graph: JPEG strip bytes -> [clip.frames, clip.size, clip.size, 3] float32 in
    [-1, 1].

    Decodes the strip once (only the rows down to the last frame used, which saves the
    bottom of tall strips), takes the frames of `frame_indices` (clip.frames from `start`
    at clip.stride) in one gather, resizes each frame (not cropped; clip.resize) and maps
    [0, 255] to [-1, 1]. The window (clip.window, clip.position) is the caller's: it
    passes `start`. `height` and `width` are the strip's pixel sizes when already known
    from its header (saves a header parse). unit_range=False skips the mapping: uint8
    [0, 255] with 'dct', float32 [0, 255] with 'bilinear' (the pipeline maps whole
    batches with to_unit_range: cheaper).

    resize='bilinear' is the original loader's: decode at full size, then TF's bilinear
    resize (at exactly 2x: the mean of each 2x2 block). resize='dct' (the default) lets
    libjpeg decode straight to the clip size when the strip's frames are 2, 4 or 8 times
    larger (scaled inverse DCT: less decoding work and no resize at all) and is bilinear
    rounded to 8 bits otherwise (exact when the sizes are equal). Why it is the default:
    its frames are no further from the frames before compression than bilinear's, and
    differ from them a little (tests/data/test_strips.py; the figures: docs/data.md,
    "Resize"). At 4x and 8x it low-passes where bilinear reads only 2 of every 4 or 8
    pixels, so the two differ more there.

    check_fill=True returns (clip, ran_out_of_data): a bool scalar, True where libjpeg
    filled the end of the decoded rows with its flat grey because the scan ran out of data
    (a scan cut and closed with an end-of-image marker, or desynchronised by flipped bits
    until the data ran out; libjpeg only warns on stderr). See scans.ran_out_of_data; a cut
    below the last row decoded is not seen (those clips are exact). full_checks=True (with
    check_fill) asks scan_damaged of every strip instead: also a scan that ran out below
    the rows decoded or in its last block, and one that ended before its data (flipped
    bits); about three more decodes (scans.py). full_checks may be a bool tensor: the
    pipeline asks them only of strips without a verdict (verdicts.py).
    """
    if not isinstance(clip, ClipOptions):
        raise TypeError(f"clip must be a ClipOptions, got {type(clip).__name__}")
    if height is None or width is None:
        shape = tf.image.extract_jpeg_shape(encoded, output_type=tf.int32)
        height, width = shape[0], shape[1]
    height = tf.cast(height, tf.int32)
    width = tf.cast(width, tf.int32)
    indices, last = frame_indices(height // width, clip.frames, clip.stride, start)
    video = _decode_frames(encoded, indices, last + 1, width, clip, check_fill)
    if check_fill:
        video, suspect = video
        ran_out = _ran_out(encoded, suspect, height, width, full_checks)
    video = tf.ensure_shape(video, [clip.frames, clip.size, clip.size, 3])
    video = to_unit_range(video) if unit_range else video
    return (video, ran_out) if check_fill else video
