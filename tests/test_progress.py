"""The one progress display: tqdm on a terminal, plain lines without control codes elsewhere."""
from __future__ import annotations

import io

from vgan_tf.progress import Progress


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_log_file_gets_plain_lines_at_each_tenth_and_the_end():
    stream = io.StringIO()
    with Progress(total=50, unit="clip", label="shards", stream=stream) as bar:
        for _ in range(50):
            bar.update(1, skipped=0)
    text = stream.getvalue()
    assert "\r" not in text and "\x1b" not in text
    lines = text.splitlines()
    assert len(lines) == 10  # 9 tenths before the end, then the final line
    assert lines[0].startswith("shards: 5/50 clips") and "skipped 0" in lines[0]
    assert lines[-1].startswith("shards: 50/50 clips")


def test_large_steps_write_one_line_per_step_not_per_tenth_passed():
    stream = io.StringIO()
    bar = Progress(total=4, unit="video", stream=stream)
    for failed in range(4):
        bar.update(1, failed=failed)
    bar.close()
    bar.close()  # idempotent
    assert [line.split(" videos")[0] for line in stream.getvalue().splitlines()] == \
        ["1/4", "2/4", "3/4", "4/4"]
    assert stream.getvalue().splitlines()[-1].endswith("failed 3")


def test_slow_units_are_shown_as_seconds_per_unit(monkeypatch):
    clock = iter([100.0, 358.0])
    monkeypatch.setattr("vgan_tf.progress.time.monotonic", lambda: next(clock))
    stream = io.StringIO()
    with Progress(total=1, unit="video", label="prepare", stream=stream) as bar:
        bar.update(1, failed=0)
    assert stream.getvalue() == "prepare: 1/1 videos, 258.0 s/video failed 0\n"


def test_an_unknown_total_writes_the_count_at_the_end():
    stream = io.StringIO()
    with Progress(total=None, unit="file", stream=stream) as bar:
        bar.update(3)
    assert stream.getvalue().startswith("3 files,")


def test_a_terminal_gets_the_tqdm_bar():
    stream = _Terminal()
    with Progress(total=3, unit="clip", label="eval", stream=stream) as bar:
        bar.update(3)
    text = stream.getvalue()
    assert "\r" in text and "eval" in text and "3/3" in text
