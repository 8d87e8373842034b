"""How long a client's calls take: one plain line per call, and a summary of several.

    timer = CallTimer(report=print)
    with timer.call(rows=2):              # prints "call 1: 2 videos in 153.2 ms"
        client.generate([0, 1])
    print(timer.summary().line())         # calls, videos/s, calls/s, mean / p50 / p90

A call's latency is the wall time of the request as the caller sees it (encoding, the
round trip, decoding); throughput is counted over the time spent in calls (their sum),
not the time between them (writing files). Standard library and numpy only.
"""
from __future__ import annotations

import contextlib
import dataclasses
import time

import numpy as np


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


@dataclasses.dataclass(frozen=True)
class Call:
    """One timed call: its number (from 1), the videos it returned, its latency."""

    number: int
    rows: int
    seconds: float

    def line(self) -> str:
        return f"call {self.number}: {_plural(self.rows, 'video')} in " \
               f"{self.seconds * 1e3:.1f} ms"


@dataclasses.dataclass(frozen=True)
class Summary:
    """Several calls: counts, time in calls, latency mean and percentiles (seconds)."""

    calls: int
    videos: int
    seconds: float
    mean: float
    p50: float
    p90: float

    @property
    def videos_per_second(self) -> float:
        return self.videos / self.seconds if self.seconds > 0 else float("inf")

    @property
    def calls_per_second(self) -> float:
        return self.calls / self.seconds if self.seconds > 0 else float("inf")

    def line(self) -> str:
        return (f"{_plural(self.calls, 'call')}, {_plural(self.videos, 'video')} in "
                f"{self.seconds:.3f} s of calls: {self.videos_per_second:.2f} videos/s, "
                f"{self.calls_per_second:.2f} calls/s; latency mean {self.mean * 1e3:.1f} "
                f"ms, p50 {self.p50 * 1e3:.1f} ms, p90 {self.p90 * 1e3:.1f} ms")


class CallTimer:
    """Times calls (`with timer.call(rows):`), keeps them, passes each one's line to
    `report` (e.g. print) as it ends. A call that raises is not counted."""

    def __init__(self, report=None, clock=time.perf_counter):
        self.calls: list[Call] = []
        self._report = report
        self._clock = clock

    @contextlib.contextmanager
    def call(self, rows: int):
        start = self._clock()
        yield
        record = Call(len(self.calls) + 1, int(rows), self._clock() - start)
        self.calls.append(record)
        if self._report is not None:
            self._report(record.line())

    def summary(self) -> Summary:
        """The calls so far (ValueError if there were none). Percentiles interpolate
        linearly between the sorted latencies (numpy's default)."""
        if not self.calls:
            raise ValueError("no calls were timed")
        latencies = np.array([c.seconds for c in self.calls], np.float64)
        p50, p90 = np.percentile(latencies, [50, 90])
        return Summary(calls=len(self.calls), videos=sum(c.rows for c in self.calls),
                       seconds=float(latencies.sum()), mean=float(latencies.mean()),
                       p50=float(p50), p90=float(p90))
