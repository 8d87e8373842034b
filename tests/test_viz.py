"""Grids and the sample set written after training."""
import os

import numpy as np
import pytest
from PIL import Image

from vgan_tf.viz import video_files
from vgan_tf.models import OneStreamGenerator, TwoStreamGenerator
from vgan_tf.viz import grid, samples


def test_to_uint8_maps_range_and_clips():
    out = grid.to_uint8(np.array([[-2.0, -1.0, 0.0, 1.0, 3.0]])[..., None])
    assert out.dtype == np.uint8 and out.shape == (1, 5, 3)
    np.testing.assert_array_equal(out[0, :, 0], [0, 0, 128, 255, 255])


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


def test_write_samples_two_stream(tiny, tmp_path):
    g = TwoStreamGenerator(tiny.frames, tiny.size, tiny.latent_dim, tiny.base_width)
    paths = samples.write_samples(g, str(tmp_path), num=4, seed=0, scale=2)
    names = sorted(os.path.basename(p) for p in paths)
    assert names == ["background.png", "foreground.gif", "mask.gif",
                     "masked_foreground.gif", "video.gif"]
    video = video_files.decode_gif(open(tmp_path / "video.gif", "rb").read())
    # 4 videos in a 2x2 grid, 16x16 frames doubled, 1-pixel padding doubled.
    assert video.shape == (tiny.frames, 2 * (2 * 17) + 2, 2 * (2 * 17) + 2, 3)
    assert Image.open(tmp_path / "background.png").size == (70, 70)


def test_write_samples_one_stream(tiny, tmp_path):
    g = OneStreamGenerator(tiny.frames, tiny.size, tiny.latent_dim, tiny.base_width)
    paths = samples.write_samples(g, str(tmp_path), num=2)
    assert [os.path.basename(p) for p in paths] == ["video.gif"]
