"""The one way every binary starts: absl flags, then main, with user mistakes as one line.

    def main(argv): ...
    def run():
        entry.run(main)

A bad flag (unknown name, a value that does not parse), a wrong setting (ValueError), a
missing file (OSError) or any `entry.UsageError` prints `<program>: error: <message>`
on stderr and exits 2, without a traceback or the usage text. Errors listed in `stopped`
(a run that began and then stopped for a reason the user can act on, e.g. a NaN loss)
print `<prefix><message>` and exit 1. Ctrl-C exits 130. Anything else is a bug and keeps
its traceback. `--help`, `--helpshort` and `--helpfull` work as absl makes them.
"""
from __future__ import annotations

import os
import sys

from absl import app, flags

USAGE_EXIT = 2
STOPPED_EXIT = 1
INTERRUPTED_EXIT = 130


class UsageError(ValueError):
    """A user mistake found by a binary itself (e.g. two flags that exclude each other)."""


def program_name() -> str:
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "vgan"
    if name in ("__main__.py", "-m", "-c"):
        return "vgan"
    return name[:-3] if name.endswith(".py") else name


def fail(message: str, code: int = USAGE_EXIT, prefix: str | None = None):
    """Prints one line (the first line of `message`) and exits with `code`."""
    text = str(message).strip().splitlines()
    line = text[0] if text else "failed"
    print(f"{program_name()}: error: {line}" if prefix is None else prefix + line,
          file=sys.stderr, flush=True)
    sys.exit(code)


def _parse_flags(argv):
    try:
        return flags.FLAGS(argv)
    except flags.Error as error:
        fail(str(error))


def run(main, stopped: tuple = (), stopped_prefix: str | None = None):
    """app.run(main) with the error handling described in the module docstring.

    stopped: exception classes that mean "the run stopped" (exit 1, `stopped_prefix` +
    message; also logged with absl so the log file has it too)."""
    from absl import logging

    def wrapped(argv):
        if len(argv) > 1:
            fail(f"unexpected arguments {argv[1:]} (flags are written --name=value)")
        try:
            return main(argv)
        except stopped as error:  # the run began, then stopped for a stated reason
            logging.error("%s", error)
            fail(error, STOPPED_EXIT, stopped_prefix)
        except (UsageError, app.UsageError, ValueError, OSError) as error:
            fail(error)
        except KeyboardInterrupt:
            fail("interrupted", INTERRUPTED_EXIT)

    app.run(wrapped, flags_parser=_parse_flags)
