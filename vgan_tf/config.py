"""Plain configuration objects: clip shape and network sizes.

`VideoShape` names the clip the networks produce and consume; `NetworkSizes` adds the
latent size and the base width. `layout()` derives the layer plan of the paper's networks
for any legal size and rejects impossible combinations with a message naming the value.
"""
from __future__ import annotations

import dataclasses
import math


@dataclasses.dataclass(frozen=True)
class NetworkSizes:
    """Sizes of the generator and discriminator.

    Defaults are the paper's: 32 frames of 64x64, z of 100 dimensions, and a base width of
    64 channels (so the widths run 512, 256, 128, 64 from the latent outwards).
    """

    frames: int = 32
    size: int = 64
    latent_dim: int = 100
    base_width: int = 64

    def __post_init__(self):
        layout(self)  # validates

    @property
    def num_upsamplings(self) -> int:
        return layout(self).num_upsamplings


@dataclasses.dataclass(frozen=True)
class Layout:
    """The layer plan shared by the generator and the discriminator.

    The generator starts from a (seed_frames, 4, 4) volume and doubles time and space
    `num_upsamplings` times; `widths` are the hidden widths from the latent outwards.
    The discriminator mirrors it: widths reversed, ending at (seed_frames, 4, 4).
    """

    num_upsamplings: int
    seed_frames: int
    widths: tuple


def layout(sizes: NetworkSizes) -> Layout:
    """Returns the layer plan for `sizes`; raises ValueError for impossible sizes."""
    for name in ("frames", "size", "latent_dim", "base_width"):
        value = getattr(sizes, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    size = sizes.size
    ups = math.log2(size / 4) if size >= 8 else -1
    if ups < 1 or ups != int(ups):
        raise ValueError(
            f"size must be 4 * 2**n with n >= 1 (8, 16, 32, 64, 128, ...), got {size}")
    ups = int(ups)
    if sizes.frames % (2 ** ups):
        raise ValueError(
            f"frames must be a multiple of {2 ** ups} for size {size} (the networks halve "
            f"time and space together {ups} times), got {sizes.frames}")
    widths = tuple(sizes.base_width * 2 ** (ups - 1 - i) for i in range(ups))
    return Layout(num_upsamplings=ups, seed_frames=sizes.frames // 2 ** ups, widths=widths)


PAPER = NetworkSizes()
TINY = NetworkSizes(frames=8, size=16, latent_dim=16, base_width=8)
