"""Whether a stream goes to a person at a terminal, and the Keras verbosity that suits it.

Keras's progress bar (`verbose=1`) redraws itself with carriage returns and ANSI colour
codes, which turn a log file into noise; where its stream (sys.stdout) is not a terminal,
`keras_verbose` asks for one plain line per epoch instead:

    model.fit(..., verbose=terminal.keras_verbose(config.verbose))

No TensorFlow here.
"""
from __future__ import annotations

import sys


def is_terminal(stream) -> bool:
    """True if `stream` is open and attached to a terminal (False for files, pipes, closed
    streams and objects without isatty)."""
    isatty = getattr(stream, "isatty", None)
    if isatty is None:
        return False
    try:
        return bool(isatty())
    except (ValueError, OSError):  # closed, or detached from its file descriptor
        return False


def keras_verbose(verbose: int, stream=None) -> int:
    """`verbose` for Keras's fit/evaluate/predict: 1 (the progress bar) becomes 2 (a line
    per epoch) when `stream` (default: sys.stdout, where Keras writes) is not a terminal;
    0 and 2 are returned unchanged."""
    stream = sys.stdout if stream is None else stream
    return 2 if verbose == 1 and not is_terminal(stream) else verbose
