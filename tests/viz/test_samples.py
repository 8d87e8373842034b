"""The sample set of generate.lua: files, grid sizes, and the pixels the export serves."""
import os

import numpy as np
from PIL import Image

from vgan_tf import sampling
from vgan_tf.models import OneStreamGenerator, TwoStreamGenerator
from vgan_tf.viz import samples, video_files


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


def test_sample_pixels_are_the_served_mapping(tiny):
    g = TwoStreamGenerator(tiny.frames, tiny.size, tiny.latent_dim, tiny.base_width)
    parts, pixels = samples.sample_uint8(g, num=2, seed=3)
    np.testing.assert_array_equal(pixels["video"], sampling.to_uint8(parts["video"]).numpy())
    mask = sampling.to_uint8(parts["mask"], 0.0, 1.0).numpy()
    assert pixels["mask"].shape == mask.shape[:-1] + (3,)  # grey RGB for the GIF
    for channel in range(3):
        np.testing.assert_array_equal(pixels["mask"][..., channel], mask[..., 0])
