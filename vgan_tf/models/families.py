"""The registry of model families: a plain dict from `--model` name to its `Family`."""
from __future__ import annotations

from vgan_tf.models.family import Family
from vgan_tf.models.future.family import FAMILY as FUTURE
from vgan_tf.models.video.family import FAMILY as VIDEO

FAMILIES = {family.name: family for family in (VIDEO, FUTURE)}
NAMES = tuple(FAMILIES)


def family(name: str) -> Family:
    """The family called `name`; ValueError naming the known ones otherwise."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"--model must be one of {NAMES}, got {name!r}") from None


def of_file(path: str) -> Family | None:
    """The family whose final .keras file is called like `path`'s base name, or None."""
    import os

    name = os.path.basename(path)
    return next((f for f in FAMILIES.values() if f.final_file == name), None)
