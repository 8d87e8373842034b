"""Network sizes and the layer plan (vgan_tf.config) and the shared value checks."""
import dataclasses

import pytest

from vgan_tf import config
from vgan_tf.validation import positive_int


def test_paper_layout():
    lay = config.layout(32, 64, 64)
    assert (lay.num_upsamplings, lay.seed_frames, lay.widths) == (4, 2, (512, 256, 128, 64))
    assert (lay.frames, lay.size, lay.base_width) == (32, 64, 64)


@pytest.mark.parametrize("frames,size,base_width,ups,seed,widths", [
    (8, 16, 8, 2, 2, (16, 8)),
    (4, 8, 2, 1, 2, (2,)),
    (64, 128, 4, 5, 2, (64, 32, 16, 8, 4)),
    (16, 16, 3, 2, 4, (6, 3)),
])
def test_layout_of_other_sizes(frames, size, base_width, ups, seed, widths):
    lay = config.layout(frames, size, base_width)
    assert (lay.num_upsamplings, lay.seed_frames, lay.widths) == (ups, seed, widths)
    # The generator's volume doubles `ups` times from (seed, 4, 4) to the clip.
    assert (seed * 2 ** ups, 4 * 2 ** ups) == (frames, size)


@pytest.mark.parametrize("args,needle", [
    ((32, 48, 64), "size must be 4 \\* 2\\*\\*n"),
    ((32, 4, 64), "size must be 4 \\* 2\\*\\*n"),
    ((12, 64, 64), "frames must be a multiple of 16 for size 64"),
    ((0, 64, 64), "frames must be a positive integer, got 0"),
    ((32, 64.0, 64), "size must be a positive integer, got 64.0"),
    ((32, 64, False), "base_width must be a positive integer, got False"),
])
def test_layout_rejects_impossible_sizes(args, needle):
    with pytest.raises(ValueError, match=needle):
        config.layout(*args)


def test_network_sizes_validate_the_latent_size_too():
    assert config.NetworkSizes().layout == config.layout(32, 64, 64)
    with pytest.raises(ValueError, match="latent_dim must be a positive integer, got 0"):
        config.NetworkSizes(latent_dim=0)
    with pytest.raises(ValueError, match="frames must be a multiple of 4 for size 16"):
        config.NetworkSizes(frames=6, size=16)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.TINY.frames = 4  # shared by every test: it must not change


@pytest.mark.parametrize("value", [1, 7, 10 ** 12])
def test_positive_int_accepts(value):
    assert positive_int("steps", value) == value


@pytest.mark.parametrize("value", [0, -2, 2.0, True, "3", None])
def test_positive_int_rejects_naming_the_value(value):
    with pytest.raises(ValueError) as error:
        positive_int("--batch_size", value)
    assert str(error.value) == f"--batch_size must be a positive integer, got {value!r}"
