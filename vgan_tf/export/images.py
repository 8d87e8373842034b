"""Image inputs of the future predictor, in TensorFlow ops (the serving graph and
vgan-predict share them, so a file gives the same input either way).

`prepare_image(uint8 [h, w, 3], size, crop)` -> uint8 [size, size, 3]: the centre square
(crop="centre", the default) or the whole image (crop="none", aspect ratio not kept),
resized with antialiased bilinear filtering and rounded to uint8. `to_model_range` maps
uint8 to the model's [-1, 1]. `decode_image_bytes(data, size, crop)` checks one encoded
file first, with messages that name the input `image_bytes` (empty, not an image, a JPEG
without its end-of-image marker, a PNG without its IEND chunk), then decodes it (JPEG,
PNG, GIF: first frame, BMP) and prepares it.
"""
from __future__ import annotations

import tensorflow as tf

from vgan_tf.serving import api

_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF8", b"BM")
JPEG_END = b"\xff\xd9"
PNG_END = b"IEND\xaeB`\x82"


def check_crop(crop: str) -> str:
    if crop not in api.CROPS:
        raise ValueError(f"crop must be one of {api.CROPS}, got {crop!r}")
    return crop


def prepare_image(image, size: int, crop: str = "centre"):
    """uint8 [h, w, 3] -> uint8 [size, size, 3] (see the module docstring)."""
    check_crop(crop)
    image = tf.convert_to_tensor(image)
    if crop == "centre":
        shape = tf.shape(image)
        side = tf.minimum(shape[0], shape[1])
        image = tf.image.crop_to_bounding_box(image, (shape[0] - side) // 2,
                                              (shape[1] - side) // 2, side, side)
    resized = tf.image.resize(tf.cast(image, tf.float32), [size, size], method="bilinear",
                              antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(resized), 0.0, 255.0), tf.uint8)


def to_model_range(images_uint8):
    """uint8 pixels -> float32 in [-1, 1] (x / 127.5 - 1, the training data's mapping)."""
    return tf.cast(images_uint8, tf.float32) / 127.5 - 1.0


def _ends_with(data, length, suffix: bytes):
    start = tf.maximum(length - len(suffix), 0)
    return tf.equal(tf.strings.substr(data, start, len(suffix)), suffix)


def decode_image_bytes(data, size: int, crop: str = "centre"):
    """One encoded image (a scalar tf.string) -> uint8 [size, size, 3], or
    InvalidArgumentError naming `image_bytes`."""
    return prepare_image(decode_image(data), size, crop)


def is_served_format(data: bytes) -> bool:
    """Whether `data` starts like a JPEG, PNG, GIF or BMP (what `decode_image` reads)."""
    return any(data.startswith(magic) for magic in _MAGIC)


def decode_image(data):
    """One encoded image (a scalar tf.string) -> uint8 [h, w, 3] as the served model
    decodes it (16-bit PNGs scaled to 8 bits, grey and palette images expanded to RGB,
    alpha dropped), after the checks of the module docstring."""
    name = api.IMAGE_BYTES
    length = tf.strings.length(data)
    head = [tf.equal(tf.strings.substr(data, 0, len(magic)), magic) for magic in _MAGIC]
    is_jpeg, is_png = head[0], head[1]
    checks = [
        tf.debugging.Assert(length > 0, [f"{name}: a row is empty (no image)"]),
        tf.debugging.Assert(tf.reduce_any(tf.stack(head)) | tf.equal(length, 0), [
            f"{name}: a row is not a JPEG, PNG, GIF or BMP image"]),
        tf.debugging.Assert(tf.logical_not(is_jpeg) | _ends_with(data, length, JPEG_END), [
            f"{name}: a JPEG row is truncated (no end-of-image marker)"]),
        tf.debugging.Assert(tf.logical_not(is_png) | _ends_with(data, length, PNG_END), [
            f"{name}: a PNG row is truncated (no IEND chunk)"]),
    ]
    with tf.control_dependencies(checks):
        data = tf.identity(data)
    image = tf.io.decode_image(data, channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    return image
