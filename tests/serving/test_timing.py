"""CallTimer: one line per call, the summary of several (throughput, mean / p50 / p90)."""
import pytest

from vgan_tf.serving import timing


class FakeClock:
    """Returns the given instants in turn (start, end of each call)."""

    def __init__(self, *instants):
        self.instants = list(instants)

    def __call__(self):
        return self.instants.pop(0)


def test_each_call_is_reported_as_it_ends():
    lines = []
    timer = timing.CallTimer(lines.append, clock=FakeClock(10.0, 10.1532, 11.0, 11.25))
    with timer.call(rows=2):
        assert lines == []
    assert lines == ["call 1: 2 videos in 153.2 ms"]
    with timer.call(rows=1):
        pass
    assert lines[1] == "call 2: 1 video in 250.0 ms"
    assert [c.rows for c in timer.calls] == [2, 1]


def test_summary_of_several_calls():
    # latencies 0.1, 0.2, 0.3, 0.4 s; 2 + 2 + 2 + 2 videos
    timer = timing.CallTimer(clock=FakeClock(0, 0.1, 1, 1.2, 2, 2.3, 3, 3.4))
    for _ in range(4):
        with timer.call(rows=2):
            pass
    summary = timer.summary()
    assert (summary.calls, summary.videos) == (4, 8)
    assert summary.seconds == pytest.approx(1.0)
    assert summary.videos_per_second == pytest.approx(8.0)
    assert summary.calls_per_second == pytest.approx(4.0)
    assert summary.mean == pytest.approx(0.25)
    assert summary.p50 == pytest.approx(0.25)   # between the 2nd and 3rd
    assert summary.p90 == pytest.approx(0.37)   # 0.3 + 0.7 * (0.4 - 0.3)
    assert summary.line() == ("4 calls, 8 videos in 1.000 s of calls: 8.00 videos/s, "
                              "4.00 calls/s; latency mean 250.0 ms, p50 250.0 ms, "
                              "p90 370.0 ms")


def test_a_call_that_raises_is_not_counted():
    lines = []
    timer = timing.CallTimer(lines.append, clock=FakeClock(0.0, 1.0))
    with pytest.raises(RuntimeError):
        with timer.call(rows=3):
            raise RuntimeError("server went away")
    assert timer.calls == [] and lines == []
    with pytest.raises(ValueError, match="no calls"):
        timer.summary()
