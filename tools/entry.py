"""The one way every binary starts: quiet TensorFlow, absl flags, then main, with user
mistakes as one line.

    def main(argv): ...
    def run():
        entry.run(main)

A bad flag (unknown name, a value that does not parse), a wrong setting (ValueError), a
missing file (OSError) or any `entry.UsageError` prints `<program>: error: <message>`
on stderr and exits 2, without a traceback or the usage text. Errors listed in `stopped`
(a run that began and then stopped for a reason the user can act on, e.g. a NaN loss)
print `<prefix><message>` and exit 1. Ctrl-C exits 130. Anything else is a bug and keeps
its traceback. `--help`, `--helpshort` and `--helpfull` work as absl makes them, and
`--help` lists the binary's own flags whether it runs as `python -m tools.X` or as the
console script `vgan-X`.

Quiet by default (`quiet_start`, called by tools/__init__.py before any binary imports
TensorFlow): TensorFlow's C++ log (start-up notices, `failed call to cuInit` on a machine
without a GPU, grappler's `remapper failed`) is off (TF_CPP_MIN_LOG_LEVEL=3 unless the
environment sets it), the lines TensorFlow writes while it is imported, which ignore that
setting, are filtered out, TensorFlow's Python INFO lines are dropped and so are the
warnings in QUIET_WARNINGS. Our own absl INFO lines stay. `-v 1` / `--verbosity=1` on the
command line brings all of it back (TF_CPP_MIN_LOG_LEVEL=0) and shows absl DEBUG lines.
Only TensorFlow's log level changes: oneDNN stays as TensorFlow chooses
(TF_ENABLE_ONEDNN_OPTS is left alone), so numerics do not move.
"""
from __future__ import annotations

import importlib.abc
import inspect
import logging as std_logging
import os
import re
import subprocess
import sys
import warnings

from absl import app, flags
from absl import logging as absl_logging

USAGE_EXIT = 2
STOPPED_EXIT = 1
INTERRUPTED_EXIT = 130

# Warnings that tell the user nothing they can act on (matched at the message's start).
QUIET_WARNINGS = (
    # Keras's fit with its default shuffle=True on a tf.data.Dataset (ours are shuffled).
    r"`shuffle=True` was passed, but will be ignored",
)

# A line of TensorFlow's C++ log: absl's form before absl::InitializeLog (which TensorFlow
# never calls: `I0000 00:00:1796587630.942187  12 x.cc:1] ...`, unlike the dated lines of
# absl's Python logging, ours included) or TensorFlow's older form (`2025-01-01
# 12:00:00.000001: I path/x.cc:12] ...`); group 1 or 2 is the severity. The banner line
# absl writes before its first message goes with them.
CHATTER = (r"^(?:([IWEF])0000 00:00:\d+\.\d+ +\d+ [^ \]]+:\d+\] "
           r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: ([IWEF]) [^ \]]+:\d+\] )")
ABSL_BANNER = "WARNING: All log messages before absl::InitializeLog() is called are written"

# The filter that TensorFlow's import writes its stderr through (a separate process, so
# that a fatal message, an F line and then abort, still reaches the terminal): the source
# of _line_is_chatter, then this loop.
_FILTER_LOOP = """
import re, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
level, chatter, banner = int(sys.argv[1]), re.compile(sys.argv[2]), sys.argv[3]
for line in sys.stdin.buffer:
    if not _line_is_chatter(line.decode("utf-8", "replace"), level, chatter, banner):
        sys.stdout.buffer.write(line)
        sys.stdout.buffer.flush()
"""


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


def verbosity_from_argv(argv) -> int | None:
    """The value of absl's -v/--verbosity in a command line (None: not given or not an
    integer; absl reports the latter when it parses). The last one wins, as in absl; a
    --flagfile is not read."""
    found = None
    args = list(argv[1:])
    for i, arg in enumerate(args):
        if arg == "--":
            break
        name, has_value, value = arg.lstrip("-").partition("=")
        if not arg.startswith("-") or name not in ("v", "verbosity"):
            continue
        if not has_value:
            value = args[i + 1] if i + 1 < len(args) else ""
        try:
            found = int(value)
        except ValueError:
            found = None
    return found


def is_chatter(line: str, level: int) -> bool:
    """Whether `line` is a TensorFlow C++ log line that TF_CPP_MIN_LOG_LEVEL=`level` hides
    (or absl's banner before the first one, for a level of 1 or more)."""
    return _line_is_chatter(line, level, re.compile(CHATTER), ABSL_BANNER)


def _line_is_chatter(line, level, chatter, banner):
    # Self-contained: the filter process runs this function's source.
    match = chatter.match(line)
    if match:
        return "IWEF".index(match.group(1) or match.group(2)) < level
    return level >= 1 and line.startswith(banner)


class filtered_stderr:
    """Within the block, what is written to file descriptor 2 (C++ code included) goes
    through a filter process that drops the lines `is_chatter(line, level)` names. Does
    nothing if stderr is not a file descriptor or the filter cannot start."""

    def __init__(self, level: int):
        self.level, self._saved, self._filter = level, None, None

    def __enter__(self):
        try:
            sys.stderr.flush()
            self._saved = os.dup(2)
            self._filter = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c",
                 inspect.getsource(_line_is_chatter) + _FILTER_LOOP, str(self.level),
                 CHATTER, ABSL_BANNER], stdin=subprocess.PIPE, stdout=self._saved)
            os.dup2(self._filter.stdin.fileno(), 2)
        except (OSError, ValueError, TypeError, AttributeError):  # no fd 2, no source
            self._restore()
        return self

    def __exit__(self, *exc):
        self._restore()

    def _restore(self):
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        if self._saved is not None:
            os.dup2(self._saved, 2)
            os.close(self._saved)
            self._saved = None
        if self._filter is not None:
            self._filter.stdin.close()
            try:
                self._filter.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._filter.kill()
            self._filter = None


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports `tensorflow` (once, whoever asks first) inside filtered_stderr: the notices
    its libraries write while they load ignore TF_CPP_MIN_LOG_LEVEL."""

    def __init__(self, level: int):
        self.level, self._loader = level, None

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = None if finder is self or find is None else find(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    self._loader, spec.loader = spec.loader, self
                return spec
        return None

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        loader = self._loader
        module.__loader__ = module.__spec__.loader = loader
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        with filtered_stderr(self.level):
            loader.exec_module(module)


class _DropTensorFlowInfo(std_logging.Filter):
    """Drops absl records below WARNING that TensorFlow's Python code logs (e.g.
    "Sharding callback duration" at every checkpoint); ours and warnings pass."""

    def filter(self, record):
        if record.levelno >= std_logging.WARNING:
            return True
        module = sys.modules.get("tensorflow")
        where = os.path.dirname(getattr(module, "__file__", None) or "")
        return not where or not record.pathname.startswith(where + os.sep)


def quiet_start(argv) -> None:
    """Sets the quiet defaults described in the module docstring for the command line
    `argv`; must run before TensorFlow is imported to quiet its C++ log."""
    verbosity = verbosity_from_argv(argv)
    if verbosity is not None and verbosity >= 1:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    std_logging.getLogger("tensorflow").setLevel(std_logging.WARNING)
    absl_logger = absl_logging.get_absl_logger()
    if not any(isinstance(f, _DropTensorFlowInfo) for f in absl_logger.filters):
        absl_logger.addFilter(_DropTensorFlowInfo())
    for message in QUIET_WARNINGS:
        warnings.filterwarnings("ignore", message=message)
    try:
        level = int(os.environ["TF_CPP_MIN_LOG_LEVEL"])
    except ValueError:
        return
    if level >= 1 and "tensorflow" not in sys.modules and not any(
            isinstance(finder, _QuietTensorFlowImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowImport(level))


def _parse_flags(argv):
    try:
        return flags.FLAGS(argv)
    except flags.Error as error:
        fail(str(error))


def _help_lists_flags_of(main) -> None:
    """absl's --help lists the flags of the module named by sys.argv[0] (the main module)
    and prints the __main__ module's docstring; a console script's main module is a
    stub, so the binary's own flags and docstring are lent to it."""
    name = getattr(main, "__module__", "__main__")
    if name == "__main__" or name not in sys.modules or not sys.argv:
        return
    for flag in flags.FLAGS.get_key_flags_for_module(name):
        flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)
    stub = sys.modules.get("__main__")
    if stub is not None and not getattr(stub, "__doc__", None):
        stub.__doc__ = sys.modules[name].__doc__


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

    _help_lists_flags_of(main)
    app.run(wrapped, flags_parser=_parse_flags)
