"""The one progress display of every long job: tqdm on a terminal, plain lines elsewhere.

On a terminal (stderr is a TTY) the bar is tqdm's. Anywhere else (a log file, a pipe, CI)
it writes plain lines, one each time another tenth of the total is done and one at the
end, with no carriage returns or ANSI codes, so log files stay readable:

    with Progress(total=len(paths), unit="video", label="prepare") as bar:
        for path in paths:
            ...
            bar.update(1, failed=failures)

No TensorFlow here.
"""
from __future__ import annotations

import sys
import time


class Progress:
    """A progress display over `total` units (None: unknown) on `stream` (stderr)."""

    def __init__(self, total: int | None, unit: str = "item", label: str = "",
                 stream=None, lines: int = 10):
        self.total, self.unit, self.label = total, unit, label
        self.stream = sys.stderr if stream is None else stream
        self.done, self._lines, self._next_line = 0, max(1, lines), 1
        self._start, self._postfix, self._closed = time.monotonic(), {}, False
        isatty = getattr(self.stream, "isatty", None)
        self._bar = None
        if isatty is not None and isatty():
            from tqdm import tqdm
            self._bar = tqdm(total=total, unit=unit, desc=label or None, file=self.stream,
                             dynamic_ncols=True, leave=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def update(self, n: int = 1, **postfix) -> None:
        """Counts `n` more units done; `postfix` values (failed=2, ...) are shown beside."""
        self.done += n
        if postfix:
            self._postfix.update(postfix)
        if self._bar is not None:
            if postfix:
                self._bar.set_postfix(self._postfix, refresh=False)
            self._bar.update(n)
        elif self.total and self.done * self._lines >= self._next_line * self.total \
                and self.done < self.total:
            self._write_line()
            self._next_line = self.done * self._lines // self.total + 1

    def close(self) -> None:
        """Ends the display (a final line on a non-terminal); idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._bar is not None:
            self._bar.close()
        else:
            self._write_line()

    def _write_line(self):
        elapsed = max(time.monotonic() - self._start, 1e-9)
        total = f"/{self.total}" if self.total is not None else ""
        extra = "".join(f" {key} {value}" for key, value in self._postfix.items())
        prefix = f"{self.label}: " if self.label else ""
        rate = self.done / elapsed
        # Below one unit a second, seconds per unit (as tqdm does): "0.0 videos/s" says nothing.
        speed = f"{rate:.1f} {self.unit}s/s" if rate >= 1 or not self.done else \
            f"{elapsed / self.done:.1f} s/{self.unit}"
        self.stream.write(f"{prefix}{self.done}{total} {self.unit}s, {speed}{extra}\n")
        self.stream.flush()
