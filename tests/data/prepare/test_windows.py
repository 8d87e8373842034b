"""Overlapping windows (--clip_stride) and the held-out tail (--hold_out_tail): where
clips start, what they hold, how drops are counted, the lists they reach."""
from __future__ import annotations

import os

import numpy as np
import pytest

from tests.data.prepare import videos
from vgan_tf.data.prepare import PrepareOptions, clips, filters, prepare_video, stabilize
from vgan_tf.data.prepare import corpus, reader

SMALL = dict(size=32, min_frames=4, max_frames=6, contact_sheet=False)


def _frames(count: int = 20) -> list:
    """A still scene seen by a shaking camera, small (96 x 72) to keep SIFT cheap."""
    return videos.shaky_frames(count, moving_object=False, width=96, height=72)


def _fit(frame):
    return stabilize.fit_frame(frame, 32)[..., ::-1]  # a clip's first frame, unwarped


def test_a_stride_starts_a_clip_every_k_frames_and_each_holds_its_own_frames():
    frames = _frames()
    results = list(clips.cut_clips(frames, PrepareOptions(clip_stride=2, **SMALL)))
    assert [c.start for c in results] == list(range(0, 20, 2))
    assert [c.index for c in results] == list(range(10))
    # a window holds max_frames, or what is left of the stream (2 at the last start)
    assert [c.num_frames for c in results] == [6] * 8 + [4, 2]
    assert [c.reason for c in results] == [None] * 9 + [filters.TOO_SHORT]
    for clip in results[:9]:
        np.testing.assert_array_equal(clip.frames[0], _fit(frames[clip.start]))


@pytest.mark.parametrize("reference,index", [("chain", "linear"), ("first", "linear"),
                                             ("chain", "kdtree")])
def test_each_window_is_the_clip_it_would_be_alone_and_sift_runs_once_a_frame(
        monkeypatch, reference, index):
    frames = _frames(14)
    options = PrepareOptions(clip_stride=2, reference=reference, index=index, **SMALL)
    calls = []
    sift = stabilize.FrameMatcher.features
    monkeypatch.setattr(stabilize.FrameMatcher, "features",
                        lambda self, image: calls.append(1) or sift(self, image))
    strided = list(clips.cut_clips(frames, options))
    assert len(calls) == 14  # once per frame, not once per window it is in
    monkeypatch.undo()
    alone = PrepareOptions(clips_per_video=1, reference=reference, index=index, **SMALL)
    for clip in strided:
        (own,) = clips.cut_clips(frames[clip.start:], alone)
        assert (own.num_frames, own.reason) == (clip.num_frames, clip.reason)
        if clip.reason is None:
            np.testing.assert_array_equal(own.frames, clip.frames)
            assert own.camera_motion == clip.camera_motion


def test_back_to_back_is_the_default_and_a_stride_of_the_clip_length_matches_it():
    frames = _frames()
    default = list(clips.cut_clips(frames, PrepareOptions(**SMALL)))
    strided = list(clips.cut_clips(frames, PrepareOptions(clip_stride=6, **SMALL)))
    assert PrepareOptions().clip_stride is None
    assert [(c.start, c.num_frames, c.reason) for c in default] == \
        [(0, 6, None), (6, 6, None), (12, 6, None), (18, 2, filters.TOO_SHORT)]
    assert [(c.start, c.num_frames, c.reason) for c in strided] == \
        [(c.start, c.num_frames, c.reason) for c in default]
    for a, b in zip(default[:3], strided[:3]):
        np.testing.assert_array_equal(a.frames, b.frames)


def test_a_failing_frame_drops_every_window_that_holds_it_each_counted_once():
    frames = _frames()
    frames[10] = np.full_like(frames[10], 128)  # no SIFT keypoint
    results = list(clips.cut_clips(frames, PrepareOptions(clip_stride=2, **SMALL)))
    nd = stabilize.NO_DESCRIPTORS
    assert [(c.start, c.reason) for c in results] == [
        (0, None), (2, None), (4, None), (6, nd), (8, nd), (10, nd), (12, None),
        (14, None), (16, None), (18, filters.TOO_SHORT)]
    # clips_per_video bounds the windows attempted
    assert len(list(clips.cut_clips(frames, PrepareOptions(
        clip_stride=2, clips_per_video=3, **SMALL)))) == 3


def test_a_stride_beyond_the_clip_length_leaves_gaps():
    frames = _frames()
    results = list(clips.cut_clips(frames, PrepareOptions(clip_stride=8, **SMALL)))
    assert [(c.start, c.num_frames, c.reason) for c in results] == \
        [(0, 6, None), (8, 6, None), (16, 4, None)]
    np.testing.assert_array_equal(results[1].frames[0], _fit(frames[8]))


class _Counted:
    """Frames with a position counter, as a FrameReader's frames_read."""

    def __init__(self, frames):
        self.frames, self.read = iter(frames), 0

    def __iter__(self):
        return self

    def __next__(self):
        frame = next(self.frames)
        self.read += 1
        return frame


@pytest.mark.parametrize("stride", [None, 3])
def test_the_tail_is_cut_apart_and_no_clip_straddles_the_boundary(stride):
    frames = _frames()
    stream = _Counted(frames)
    options = PrepareOptions(clip_stride=stride, **SMALL)
    boundary = clips.tail_start(20, 0.3)
    assert boundary == 14
    results = list(clips.cut_with_tail(stream, options, None, None, boundary,
                                       lambda: stream.read - 1))
    head = [c for c, held in results if not held]
    tail = [c for c, held in results if held]
    assert head and tail
    assert all(c.start + c.num_frames <= boundary for c in head)
    assert all(c.start >= boundary for c in tail)
    assert [c.index for c, _ in results] == list(range(len(results)))
    assert tail[0].start == 14 and tail[0].reason is None
    np.testing.assert_array_equal(tail[0].frames[0], _fit(frames[14]))
    if stride is None:  # head 14 frames: 6, 6, 2; tail 6 frames: 6
        assert [(c.start, c.num_frames) for c in head] == [(0, 6), (6, 6), (12, 2)]
        assert [(c.start, c.num_frames) for c in tail] == [(14, 6)]
    else:  # windows at 0, 3, ..., 12 in the head; 14, 17 in the tail
        assert [c.start for c in head] == [0, 3, 6, 9, 12]
        assert [c.num_frames for c in head] == [6, 6, 6, 5, 2]
        assert [(c.start, c.num_frames) for c in tail] == [(14, 6), (17, 3)]


def test_the_clip_budget_covers_head_and_tail():
    frames = _frames()
    stream = _Counted(frames)
    options = PrepareOptions(clips_per_video=2, **SMALL)
    results = list(clips.cut_with_tail(stream, options, None, None, 14,
                                       lambda: stream.read - 1))
    assert [held for _, held in results] == [False, False]  # the tail was not reached


def test_a_video_shorter_than_its_boundary_has_no_tail():
    frames = _frames(8)
    stream = _Counted(frames)
    results = list(clips.cut_with_tail(stream, PrepareOptions(**SMALL), None, None, 50,
                                       lambda: stream.read - 1))
    assert [(c.num_frames, held) for c, held in results] == [(6, False), (2, False)]


def test_a_video_held_out_tail_is_listed_apart(tmp_path):
    # 24 frames, 2 skipped; the tail is the last quarter of the 24: decoded 18..23
    path = videos.shaky_video(str(tmp_path / "v.avi"), frames=24, moving_object=False)
    options = PrepareOptions(hold_out_tail=0.25, **SMALL)
    out = str(tmp_path / "out")
    report = prepare_video(path, "v", out, options)
    stats = [(s["start"], s["frames"], s["reason"], s["held_out"])
             for s in report["clip_stats"]]
    assert stats == [(0, 6, None, False), (6, 6, None, False), (12, 4, None, False),
                     (16, 6, None, True)]
    assert report["clips"] == ["v/0000.jpg", "v/0001.jpg", "v/0002.jpg"]
    assert report["held_out"] == ["v/0003.jpg"] and report["written"] == 4
    summary = corpus.finish(out, [report], options, 0.0)
    lines = open(os.path.join(out, "train.txt")).read().splitlines()
    held = open(os.path.join(out, "held_out.txt")).read().splitlines()
    assert lines[1:] == report["clips"] and held[1:] == ["v/0003.jpg"]
    assert summary["total"]["clips_held_out"] == 1
    assert summary["total"]["clips_listed"] == 4
    assert summary["lists"] == {"train.txt": 3, "held_out.txt": 1}
    # each strip's first frame is the decoded frame nearest to it: 2, 8, 14 (the skip
    # and back to back) and 18 (the tail's first); tiny JPEGs of a dense texture are
    # far from exact, so the test asks for the nearest frame, not for equality
    from vgan_tf.data import read_strip
    raw = [_fit(frame).astype(int) for frame in videos.read_frames(path)]
    nearest = [int(np.argmin([np.abs(read_strip(os.path.join(out, name))[0].astype(int) -
                                     frame).mean() for frame in raw]))
               for name in report["clips"] + report["held_out"]]
    assert nearest == [2, 8, 14, 18]


def test_without_a_declared_count_the_frames_are_counted(tmp_path):
    path = videos.static_video(str(tmp_path / "v.avi"), frames=12)
    assert reader.decoded_count(path) == 12
    assert reader.decoded_count(str(tmp_path / "missing.avi")) == 0
