"""Hidden-unit maps of the Discriminator on synthetic clips (sprites' pixels known)."""
import os

import keras
import numpy as np
import pytest
from PIL import Image

from vgan_tf.data import synthetic
from vgan_tf.models import Discriminator
from vgan_tf.viz import unit_maps, video_files

FRAMES, SIZE = 16, 32


@pytest.fixture(scope="module")
def scene():
    keras.utils.set_random_seed(0)
    clips = np.stack([synthetic.render_clip(1, i, FRAMES, SIZE)[0] for i in range(6)])
    return (Discriminator(FRAMES, SIZE, 16), clips.astype(np.float32) / 127.5 - 1.0,
            unit_maps.sprite_masks(clips))


def _peak_on_sprite(maps, moving) -> float:
    """Fraction of frames whose map maximum lies within 1 px of a sprite pixel."""
    hits = []
    for i in range(maps.shape[0]):
        for t in range(maps.shape[1]):
            y, x = np.unravel_index(maps[i, t].argmax(), maps[i, t].shape)
            hits.append(moving[i, t, max(0, y - 1):y + 2, max(0, x - 1):x + 2].any())
    return float(np.mean(hits))


def test_maps_have_the_input_shape(scene):
    network, videos, _ = scene
    for layer in ("d_lrelu0", "d_bn1", "d_conv2"):
        maps = unit_maps.unit_maps(network, videos[:2], layer, 3)
        assert maps.shape == (2, FRAMES, SIZE, SIZE)
    with pytest.raises(ValueError, match="units"):
        unit_maps.unit_maps(network, videos[:1], "d_lrelu0", 999)


def test_upsample_is_linear_in_time_and_keeps_constants():
    ramp = np.arange(4, dtype=np.float32)[None, :, None, None] * np.ones((1, 4, 2, 2))
    out = unit_maps.upsample(ramp, 8, 4, 4)
    assert out.shape == (1, 8, 4, 4)
    np.testing.assert_allclose(out[0, :, 0, 0], [0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3])
    np.testing.assert_allclose(unit_maps.upsample(np.full((1, 2, 3, 3), 5.0), 4, 6, 6), 5.0)


def test_the_top_ranked_unit_peaks_on_the_moving_sprite(scene):
    network, videos, moving = scene
    order, scores = unit_maps.rank_units(network, videos, moving, "d_lrelu0")
    assert sorted(order.tolist()) == list(range(16)) and list(scores) == sorted(scores)[::-1]
    best = _peak_on_sprite(unit_maps.unit_maps(network, videos, "d_lrelu0", order[0]), moving)
    worst = _peak_on_sprite(unit_maps.unit_maps(network, videos, "d_lrelu0", order[-1]),
                            moving)
    assert best >= 0.9 and worst < best - 0.2, (best, worst)


def test_rank_units_needs_moving_and_static_pixels(scene):
    network, videos, moving = scene
    with pytest.raises(ValueError, match="both"):
        unit_maps.rank_units(network, videos, np.ones_like(moving), "d_lrelu0")


def test_write_unit_maps_writes_overlays(scene, tmp_path):
    network, videos, _ = scene
    paths = unit_maps.write_unit_maps(network, videos[:2], "d_lrelu1", [0, 5], str(tmp_path))
    assert sorted(os.path.basename(p) for p in paths) == sorted(
        f"d_lrelu1_unit{u}_clip{i}.{e}" for u in (0, 5) for i in (0, 1) for e in ("gif", "png"))
    gif = video_files.decode_gif(open(paths[0], "rb").read())
    assert gif.shape == (FRAMES, SIZE, SIZE, 3)
    assert np.asarray(Image.open(paths[1])).shape == (SIZE, SIZE, 3)
    shown = unit_maps.overlay(np.zeros((1, 2, 4, 4, 3), np.uint8),
                              np.arange(32, dtype=np.float32).reshape(1, 2, 4, 4))
    assert shown[0, 0, 0, 0, 2] > shown[0, 0, 0, 0, 0]  # low values blue (JET)
    assert shown[0, 1, 3, 3, 0] > shown[0, 1, 3, 3, 2]  # high values red


def test_write_top_unit_maps_writes_the_best_ranked_units(scene, tmp_path):
    network, videos, moving = scene
    order, _ = unit_maps.rank_units(network, videos[:2], moving[:2], "d_lrelu0")
    best, paths = unit_maps.write_top_unit_maps(network, videos[:2], moving[:2], "d_lrelu0",
                                                str(tmp_path), top=2)
    assert best == [int(u) for u in order[:2]]
    assert len(paths) == 2 * 2 * 2 and all(f"unit{best[0]}_" in p or f"unit{best[1]}_" in p
                                           for p in paths)


@pytest.fixture(scope="module")
def still_scene(scene):
    """The future predictor's encoder on the first frames of the synthetic clips."""
    from vgan_tf.models import FuturePredictor

    _, videos, moving = scene
    keras.utils.set_random_seed(0)
    return FuturePredictor(FRAMES, SIZE, 16), videos[:, 0], moving[:, 0]


def test_encoder_maps_have_the_image_shape_and_rank_on_the_sprite(still_scene, tmp_path):
    network, images, moving = still_scene
    for layer in ("enc_relu0", "enc_bn1", "enc_conv2"):
        assert unit_maps.unit_maps(network, images[:2], layer, 1).shape == (2, SIZE, SIZE)
    order, scores = unit_maps.rank_units(network, images, moving, "enc_relu0")
    assert sorted(order.tolist()) == list(range(16)) and list(scores) == sorted(scores)[::-1]
    best = _peak_on_sprite(unit_maps.unit_maps(network, images, "enc_relu0", order[0])[:, None],
                           moving[:, None])
    worst = _peak_on_sprite(
        unit_maps.unit_maps(network, images, "enc_relu0", order[-1])[:, None], moving[:, None])
    assert best >= 0.8 and worst < best - 0.2, (best, worst)
    with pytest.raises(ValueError, match="both"):
        unit_maps.rank_units(network, images, np.zeros_like(moving), "enc_relu0")
    top, paths = unit_maps.write_top_unit_maps(network, images[:2], moving[:2], "enc_relu1",
                                               str(tmp_path), top=2)
    assert sorted(os.path.basename(p) for p in paths) == sorted(
        f"enc_relu1_unit{u}_clip{i}.png" for u in top for i in (0, 1))
    assert np.asarray(Image.open(paths[0])).shape == (SIZE, SIZE, 3)
