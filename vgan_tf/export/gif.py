"""Animated GIF encoding with TensorFlow ops only, so a SavedModel can return GIF bytes.

TensorFlow has no GIF encoder op, and `tf.py_function` does not survive a SavedModel, so
this builds the file from tensor ops, for static frame sizes:
  * colours: a fixed 256-colour palette (3 bits red, 3 green, 2 blue) with 4x4 ordered
    (Bayer) dithering;
  * LZW: literal codes only, with a clear code every `LITERALS_PER_CLEAR` pixels, so the code
    table never grows past 9-bit codes. Files are about 1.14 bytes per pixel (no
    compression), which is valid GIF89a that every decoder reads;
  * bytes -> tf.string: `tf.io.serialize_tensor` of a uint8 vector ends with the raw bytes
    (TensorProto.tensor_content is its last field), so a `substr` of its tail is the file.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

LITERALS_PER_CLEAR = 127
CLEAR, END = 256, 257
CODE_BITS = 9
BAYER_4X4 = (np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]],
                      np.float32) + 0.5) / 16.0


def palette() -> np.ndarray:
    """The 256 RGB colours, uint8 [256, 3]: index = r << 5 | g << 2 | b (3-3-2 bits)."""
    index = np.arange(256)
    levels = np.stack([(index >> 5) & 7, (index >> 2) & 7, index & 3], axis=1)
    return np.round(levels * 255.0 / np.array([7, 7, 3])).astype(np.uint8)


def palette_indices(video: tf.Tensor) -> tf.Tensor:
    """uint8 [T, H, W, 3] -> int32 [T, H, W] palette indices, ordered-dithered."""
    height, width = video.shape[1], video.shape[2]
    tiles = np.tile(BAYER_4X4, ((height + 3) // 4, (width + 3) // 4))[:height, :width]
    threshold = tf.constant(tiles[None, :, :, None])
    steps = tf.constant([7.0, 7.0, 3.0])
    levels = tf.floor(tf.cast(video, tf.float32) * steps / 255.0 + threshold)
    levels = tf.cast(tf.minimum(levels, steps), tf.int32)
    return levels[..., 0] * 32 + levels[..., 1] * 4 + levels[..., 2]


def _frame_code_layout(pixels: int) -> np.ndarray:
    """Indices into concat([pixels, [CLEAR, END]]) giving one frame's code stream."""
    order = []
    for start in range(0, pixels, LITERALS_PER_CLEAR):
        order.append(pixels)  # CLEAR
        order.extend(range(start, min(pixels, start + LITERALS_PER_CLEAR)))
    order.append(pixels + 1)  # END
    return np.array(order, np.int32)


def _sub_block_layout(length: int) -> np.ndarray:
    """Indices into concat([data, [255, last, 0]]) splitting data into sub-blocks."""
    order = []
    for start in range(0, length, 255):
        size = min(255, length - start)
        order.append(length if size == 255 else length + 1)
        order.extend(range(start, start + size))
    order.append(length + 2)  # block terminator
    return np.array(order, np.int32)


def _le16(value: int) -> list:
    return [value & 255, value >> 8]


def _headers(height: int, width: int, delay_cs: int):
    header = (list(b"GIF89a") + _le16(width) + _le16(height) + [0xF7, 0, 0]
              + palette().reshape(-1).tolist()
              + [0x21, 0xFF, 11] + list(b"NETSCAPE2.0") + [3, 1, 0, 0, 0])
    frame = ([0x21, 0xF9, 4, 0x04] + _le16(delay_cs) + [0, 0]
             + [0x2C, 0, 0, 0, 0] + _le16(width) + _le16(height) + [0]
             + [8])  # LZW minimum code size
    return np.array(header, np.uint8), np.array(frame, np.uint8)


def _bytes_to_string(data: tf.Tensor) -> tf.Tensor:
    serialized = tf.io.serialize_tensor(data)
    size = tf.size(data)
    return tf.strings.substr(serialized, tf.strings.length(serialized) - size, size)


def encode_gif(video: tf.Tensor, fps: float = 8.0) -> tf.Tensor:
    """uint8 [T, H, W, 3] (static shape) -> scalar tf.string holding an animated GIF."""
    frames, height, width, channels = video.shape
    if None in (frames, height, width) or channels != 3:
        raise ValueError(f"encode_gif needs a static [T, H, W, 3] shape, got {video.shape}")
    if height > 65535 or width > 65535:
        raise ValueError("GIF frames are at most 65535 pixels on a side")
    pixels = height * width
    indices = tf.reshape(palette_indices(video), [frames, pixels])
    specials = tf.tile(tf.constant([[CLEAR, END]], tf.int32), [frames, 1])
    codes = tf.gather(tf.concat([indices, specials], axis=1),
                      _frame_code_layout(pixels), axis=1)              # [T, codes]
    bits = tf.bitwise.bitwise_and(
        tf.bitwise.right_shift(codes[..., None], tf.range(CODE_BITS)), 1)
    bits = tf.reshape(bits, [frames, -1])                               # LSB first
    num_bits = bits.shape[1]
    num_bytes = -(-num_bits // 8)
    bits = tf.pad(bits, [[0, 0], [0, num_bytes * 8 - num_bits]])
    data = tf.reduce_sum(tf.reshape(bits, [frames, num_bytes, 8])
                         * tf.constant([1, 2, 4, 8, 16, 32, 64, 128]), axis=2)
    last = num_bytes % 255 or 255
    trailer_values = tf.tile(tf.constant([[255, last, 0]], tf.int32), [frames, 1])
    blocks = tf.gather(tf.concat([data, trailer_values], axis=1),
                       _sub_block_layout(num_bytes), axis=1)
    header, frame_header = _headers(height, width, max(1, int(round(100.0 / fps))))
    per_frame = tf.concat([tf.tile(tf.constant(frame_header[None], tf.int32), [frames, 1]),
                           blocks], axis=1)
    file_bytes = tf.concat([tf.constant(header, tf.int32), tf.reshape(per_frame, [-1]),
                            tf.constant([0x3B], tf.int32)], axis=0)
    return _bytes_to_string(tf.cast(file_bytes, tf.uint8))
