"""The in-graph GIF encoder: every decoded pixel is the dithered palette colour."""
import numpy as np
import pytest
import tensorflow as tf

from vgan_tf.export import gif
from vgan_tf.viz import video_files


def test_in_graph_gif_encoder_on_odd_sizes():
    rng = np.random.default_rng(1)
    for shape in ((1, 1, 1, 3), (3, 5, 7, 3), (2, 40, 33, 3)):  # sub-block/clear edges
        video = rng.integers(0, 256, size=shape).astype(np.uint8)
        data = gif.encode_gif(tf.constant(video)).numpy()
        expected = gif.palette()[gif.palette_indices(tf.constant(video)).numpy()]
        np.testing.assert_array_equal(video_files.decode_gif(data), expected)
        assert np.abs(expected.astype(int) - video.astype(int)).mean() < 24
    smooth = np.tile(np.linspace(0, 255, 16, dtype=np.uint8)[None, None, :, None],
                     (2, 16, 1, 3))
    decoded = video_files.decode_gif(gif.encode_gif(tf.constant(smooth)).numpy())
    assert abs(decoded.astype(float).mean() - smooth.astype(float).mean()) < 4  # dithering
    with pytest.raises(ValueError, match="static"):
        gif.encode_gif(tf.zeros([2, 4, 4, 1], tf.uint8))
