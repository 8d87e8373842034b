"""vgan_tf.terminal: Keras's progress bar on a terminal, one line per epoch elsewhere."""
from __future__ import annotations

import io
import os

from vgan_tf import terminal


class _Fake:
    def __init__(self, answer):
        self.answer = answer

    def isatty(self):
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_is_terminal_on_a_pty_file_pipe_and_closed_stream(tmp_path):
    leader, follower = os.openpty()
    with open(follower, "w") as tty:
        assert terminal.is_terminal(tty)
    os.close(leader)
    with open(tmp_path / "log.txt", "w") as log:
        assert not terminal.is_terminal(log)
    read, write = os.pipe()
    with open(read) as r, open(write, "w") as w:
        assert not terminal.is_terminal(w) and not terminal.is_terminal(r)
    closed = io.StringIO()
    closed.close()
    assert not terminal.is_terminal(closed)
    assert not terminal.is_terminal(object())
    assert not terminal.is_terminal(_Fake(ValueError("I/O operation on closed file")))


def test_keras_verbose_is_one_line_per_epoch_off_a_terminal():
    log, tty = io.StringIO(), _Fake(True)
    assert terminal.keras_verbose(1, log) == 2
    assert terminal.keras_verbose(1, tty) == 1
    for unchanged in (0, 2):
        assert terminal.keras_verbose(unchanged, log) == unchanged
        assert terminal.keras_verbose(unchanged, tty) == unchanged


def test_keras_verbose_looks_at_stdout_by_default(capsys):
    """Keras writes its bar to sys.stdout; under pytest's capture that is not a terminal."""
    assert terminal.keras_verbose(1) == 2
