"""Tiling videos and images into one picture."""
import numpy as np
import pytest

from vgan_tf.viz import grid


def test_video_grid_places_each_video():
    videos = np.zeros((5, 2, 4, 6, 3), np.uint8)
    for i in range(5):
        videos[i] = 10 * (i + 1)
    out = grid.video_grid(videos, cols=3, pad=1)
    assert out.shape == (2, 2 * 5 + 1, 3 * 7 + 1, 3)
    assert out[0, 1, 1, 0] == 10 and out[1, 6, 8, 0] == 50  # row 1, col 1 is video 4
    assert out[0, 0, 0, 0] == 255  # padding
    with pytest.raises(ValueError, match="expected videos"):
        grid.video_grid(np.zeros((2, 4, 4, 3), np.uint8))


def test_image_grid_is_a_one_frame_video_grid():
    images = np.arange(4 * 2 * 2 * 3, dtype=np.uint8).reshape(4, 2, 2, 3)
    out = grid.image_grid(images)  # 4 images: 2 x 2
    assert out.shape == (2 * 3 + 1, 2 * 3 + 1, 3)
    np.testing.assert_array_equal(out[4:6, 4:6], images[3])
