"""The training recipe of a task beyond the paper's: loss, R1, augmentation, G's average.

`Recipe()` (every option off) is the paper's recipe. A task made with another recipe
keeps it in its config (`to_config` / `from_config`), so a saved and loaded task trains
the same way, and applies it itself when it is made (inside the strategy scope it is
built in): the R1 penalty is registered as a D penalty, the EMA copy of G is created.

  loss       "nonsaturating" (the paper's BCE pair) or "hinge" (losses.LOSSES).
  r1_gamma   R1 penalty weight on real videos (regularizers.R1Penalty); 0: off.
  r1_every   R1's lazy interval (applied every r1_every steps with gamma * r1_every).
  augment    DiffAugment policies applied to real and fake videos before D (augment.py).
  ema_decay  the exponential moving average of G's weights, updated after each G step:
             avg = decay * avg + (1 - decay) * weight, then the average run once in
             training mode so that its BatchNorm statistics are its own; 0: off.
"""
from __future__ import annotations

import dataclasses

from vgan_tf.tasks import augment as augment_lib
from vgan_tf.tasks import losses

DEFAULT_LOSS = "nonsaturating"


@dataclasses.dataclass(frozen=True)
class Recipe:
    """What a task trains with beyond its networks (see the module docstring)."""

    loss: str = DEFAULT_LOSS
    r1_gamma: float = 0.0
    r1_every: int = 1
    augment: tuple = ()
    ema_decay: float = 0.0

    def __post_init__(self):
        if self.loss not in losses.LOSSES:
            raise ValueError(f"loss must be one of {tuple(losses.LOSSES)}, got {self.loss!r}")
        if not self.r1_gamma >= 0:
            raise ValueError(f"r1_gamma must be >= 0, got {self.r1_gamma}")
        if int(self.r1_every) != self.r1_every or self.r1_every < 1:
            raise ValueError(f"r1_every must be an integer >= 1, got {self.r1_every}")
        if not 0 <= self.ema_decay < 1:
            raise ValueError(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        object.__setattr__(self, "augment", augment_lib.parse_policies(self.augment))
        object.__setattr__(self, "r1_gamma", float(self.r1_gamma))
        object.__setattr__(self, "r1_every", int(self.r1_every))
        object.__setattr__(self, "ema_decay", float(self.ema_decay))

    @property
    def is_paper(self) -> bool:
        """Every option off: the paper's recipe."""
        return self == Recipe()

    def to_config(self) -> dict:
        """JSON-friendly dict (augment as a list)."""
        values = dataclasses.asdict(self)
        values["augment"] = list(self.augment)
        return values

    @classmethod
    def from_config(cls, values) -> "Recipe":
        """A Recipe from `to_config`'s dict (a Recipe passes through)."""
        return values if isinstance(values, Recipe) else cls(**dict(values))
