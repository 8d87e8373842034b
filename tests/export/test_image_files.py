"""vgan-predict reads an image file exactly as the exported model decodes its bytes."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from vgan_tf.export import future_files, images

BASE = (np.linspace(0, 255, 48)[None, :, None] * np.ones((40, 1, 3))).astype(np.uint8)
BASE[10:20, 10:30] = [200, 30, 90]


def _write(folder, kind):
    path = str(folder / kind)
    if kind == "rgb16.png":
        cv2.imwrite(path, BASE[..., ::-1].astype(np.uint16) * 257)
    elif kind == "grey16.png":
        cv2.imwrite(path, BASE[..., 0].astype(np.uint16) * 257)
    elif kind == "grey.png":
        Image.fromarray(BASE[..., 0]).save(path)
    elif kind == "palette.png":
        Image.fromarray(BASE).convert("P").save(path)
    elif kind == "alpha.png":
        Image.fromarray(np.dstack([BASE, np.full(BASE.shape[:2], 9, np.uint8)])).save(path)
    elif kind == "cmyk.jpg":
        Image.fromarray(BASE).convert("CMYK").save(path, quality=95)
    elif kind == "progressive.jpg":
        Image.fromarray(BASE).save(path, quality=95, progressive=True)
    else:
        Image.fromarray(BASE).save(path)
    return path


KINDS = ["rgb8.png", "rgb16.png", "grey16.png", "grey.png", "palette.png", "alpha.png",
         "cmyk.jpg", "progressive.jpg"]


@pytest.mark.parametrize("kind", KINDS)
def test_the_cli_and_the_server_decode_a_file_the_same(tmp_path, kind):
    path = _write(tmp_path, kind)
    cli = future_files.read_image(path, 32)
    served = images.decode_image_bytes(tf.constant(open(path, "rb").read()), 32).numpy()
    np.testing.assert_array_equal(cli, served)


def test_16_bit_files_are_their_8_bit_content_not_white(tmp_path):
    rgb = future_files.read_image(_write(tmp_path, "rgb16.png"), 32)
    np.testing.assert_array_equal(rgb, images.prepare_image(BASE, 32).numpy())
    grey = future_files.read_image(_write(tmp_path, "grey16.png"), 32)
    np.testing.assert_array_equal(grey, future_files.read_image(_write(tmp_path, "grey.png"),
                                                                32))
    assert grey.min() < 50 and grey.std() > 30


def test_alpha_is_dropped_and_palette_and_cmyk_keep_the_picture(tmp_path):
    reference = images.prepare_image(BASE, 32).numpy().astype(int)
    for kind, tolerance in (("alpha.png", 0), ("palette.png", 24), ("cmyk.jpg", 16)):
        got = future_files.read_image(_write(tmp_path, kind), 32).astype(int)
        assert np.abs(got - reference).max() <= tolerance, kind
