"""Plain configuration objects: network sizes and the layer plan derived from them.

`layout(frames, size, base_width)` derives the layer plan of the paper's networks for any
legal clip shape and rejects impossible combinations with a message naming the value; the
discriminator needs nothing more. `NetworkSizes` adds the generator's latent size.
"""
from __future__ import annotations

import dataclasses
import math

from vgan_tf.validation import positive_int


@dataclasses.dataclass(frozen=True)
class Layout:
    """The layer plan shared by the generator and the discriminator.

    The generator starts from a (seed_frames, 4, 4) volume and doubles time and space
    `num_upsamplings` times up to (frames, size, size); `widths` are the hidden widths
    from the latent outwards. The discriminator mirrors it: widths reversed, ending at
    (seed_frames, 4, 4).
    """

    frames: int
    size: int
    base_width: int
    num_upsamplings: int
    seed_frames: int
    widths: tuple

    @property
    def video_shape(self) -> tuple:
        """(frames, size, size, 3): one clip."""
        return (self.frames, self.size, self.size, 3)

    @property
    def image_shape(self) -> tuple:
        """(size, size, 3): one frame."""
        return (self.size, self.size, 3)

    @property
    def volume_shape(self) -> tuple:
        """(seed_frames, 4, 4, widths[0]): the smallest hidden volume (G's first, D's
        last; 512x2x4x4 at the paper's sizes)."""
        return (self.seed_frames, 4, 4, self.widths[0])

    @property
    def code_shape(self) -> tuple:
        """(4, 4, widths[0]): the smallest hidden image (the frame encoder's code)."""
        return (4, 4, self.widths[0])


def layout(frames: int, size: int, base_width: int) -> Layout:
    """Returns the layer plan of clips [frames, size, size, 3]; raises ValueError for
    impossible sizes."""
    for name, value in (("frames", frames), ("size", size), ("base_width", base_width)):
        positive_int(name, value)
    ups = math.log2(size / 4) if size >= 8 else -1
    if ups < 1 or ups != int(ups):
        raise ValueError(
            f"size must be 4 * 2**n with n >= 1 (8, 16, 32, 64, 128, ...), got {size}")
    ups = int(ups)
    if frames % (2 ** ups):
        raise ValueError(
            f"frames must be a multiple of {2 ** ups} for size {size} (the networks halve "
            f"time and space together {ups} times), got {frames}")
    widths = tuple(base_width * 2 ** (ups - 1 - i) for i in range(ups))
    return Layout(frames=frames, size=size, base_width=base_width, num_upsamplings=ups,
                  seed_frames=frames // 2 ** ups, widths=widths)


@dataclasses.dataclass(frozen=True)
class NetworkSizes:
    """Sizes of the generator (and, without `latent_dim`, of the discriminator).

    Defaults are the paper's: 32 frames of 64x64, z of 100 dimensions, and a base width of
    64 channels (so the widths run 512, 256, 128, 64 from the latent outwards).
    """

    frames: int = 32
    size: int = 64
    latent_dim: int = 100
    base_width: int = 64

    def __post_init__(self):
        layout(self.frames, self.size, self.base_width)  # validates the clip shape
        positive_int("latent_dim", self.latent_dim)

    @property
    def layout(self) -> Layout:
        return layout(self.frames, self.size, self.base_width)


TINY = NetworkSizes(frames=8, size=16, latent_dim=16, base_width=8)
