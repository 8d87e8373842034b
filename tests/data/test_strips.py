"""The strip codec: NumPy encode/write/read, and the in-graph decode and [-1, 1] mapping."""
import numpy as np
import pytest
import tensorflow as tf

from tests.data.frames import random_frames
from vgan_tf.data import ClipOptions, strips, synthetic


def test_strip_round_trip_and_layout(tmp_path):
    frames = random_frames(5, 16)
    path = strips.write_strip(str(tmp_path / "a" / "clip.jpg"), frames)
    raw = tf.io.decode_jpeg(tf.io.read_file(path)).numpy()
    assert raw.shape == (5 * 16, 16, 3)  # frames stacked vertically
    back = strips.read_strip(path)
    assert back.shape == (5, 16, 16, 3) and back.dtype == np.uint8
    assert np.abs(back.astype(int) - frames).mean() < 10  # 4:2:0 chroma loss
    assert np.abs(back[::-1].astype(int) - frames).mean() > 20
    np.testing.assert_array_equal(back[2], raw[32:48])


def test_strip_writer_rejects_bad_shapes(tmp_path):
    with pytest.raises(ValueError, match="S, S, 3"):
        strips.write_strip(str(tmp_path / "x.jpg"), np.zeros((4, 16, 12, 3), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        strips.write_strip(str(tmp_path / "x.jpg"), np.zeros((4, 16, 16, 3), np.float32))
    assert not (tmp_path / "x.jpg").exists()


def test_read_strip_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.jpg"):
        strips.read_strip(str(tmp_path / "missing.jpg"))
    bad = tmp_path / "wide.jpg"
    bad.write_bytes(tf.io.encode_jpeg(np.zeros((16, 24, 3), np.uint8)).numpy())
    with pytest.raises(ValueError, match="wide.jpg.*multiple"):
        strips.read_strip(str(bad))


def test_dct_resize_is_as_close_to_the_source_as_bilinear():
    """resize='dct' (decoder-side 2x scaling), measured against the exact 2x2 mean of the
    frames before JPEG compression, is no worse than the original's decode-then-bilinear;
    the two differ by a small amount."""
    errors = {"bilinear": [], "dct": []}
    between = []
    for index in range(4):
        frames, _ = synthetic.render_clip(3, index, frames=8, size=128)
        truth = frames.astype(np.float64).reshape(8, 64, 2, 64, 2, 3).mean((2, 4))
        encoded = strips.encode_strip(frames, 95)
        out = {m: (strips.decode_clip(encoded, ClipOptions(8, 64, resize=m)).numpy() + 1) * 127.5
               for m in errors}
        for method, video in out.items():
            errors[method].append(np.abs(video - truth).mean())
        between.append(np.abs(out["dct"] - out["bilinear"]).mean())
    assert np.mean(errors["dct"]) <= np.mean(errors["bilinear"]) * 1.05, errors
    assert 0.3 < np.mean(between) < 3.0, between
    with pytest.raises(ValueError, match="resize"):
        ClipOptions(8, 64, resize="nearest")
    with pytest.raises(TypeError, match="ClipOptions"):
        strips.decode_clip(encoded, 8)


def test_unit_range_mapping_for_every_byte():
    """What the batch-level uint8 -> [-1, 1] op (Dequantize) computes, for all 256 values:
    exactly x * float32(1 / 127.5) - 1 (as the float path does), which is within 2**-23 of
    the correctly rounded float32(x) / float32(127.5) - 1 but not equal to it for 111
    values (docs/data.md)."""
    values = np.arange(256, dtype=np.uint8).reshape(4, 4, 16)
    x = values.astype(np.float32)
    mapped = strips.to_unit_range(tf.constant(values)).numpy()
    assert mapped.dtype == np.float32
    np.testing.assert_array_equal(mapped, x * np.float32(1 / 127.5) - np.float32(1))
    np.testing.assert_array_equal(strips.to_unit_range(tf.constant(x)).numpy(), mapped)
    divided = x / np.float32(127.5) - np.float32(1)
    assert divided.dtype == np.float32
    assert int((mapped != divided).sum()) == 111
    assert float(np.abs(mapped - divided).max()) == 2.0 ** -23
    assert mapped.min() == -1.0 and mapped.max() == 1.0
