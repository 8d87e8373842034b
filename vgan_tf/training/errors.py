"""Typed errors of a training run: what a binary turns into one line for the user."""
from __future__ import annotations


class InputError(ValueError):
    """The training data could not be set up (missing or empty list files, ...)."""


class BadDataError(InputError):
    """--strict_data met a bad strip during training (the message names it)."""


class DataRanOutError(InputError):
    """The training stream ended before the last step: no strip of the data gave a clip
    (every one refused; the pipeline names each)."""


class NonFiniteLossError(RuntimeError):
    """Training met a NaN or infinite loss (or weights); nothing was saved for that step."""
