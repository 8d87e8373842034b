"""Cutting a stream of frames into stabilised clips, the original's loop (no TensorFlow).

Up to `clips_per_video` clips. Back to back (the original; `clip_stride` None): a clip
starts at the next unused frame. With `clip_stride` k: clip i starts at frame i * k of
the stream, whatever became of the clips before (windows overlap when k is below the
clip length; each is stabilised on its own, as if cut alone, but a frame's SIFT features
and the homography of a pair of frames are computed once for all the windows that hold
them). Either way a clip takes frames until it
holds `max_frames`, the warp leaves the frame (that frame is used up, not kept), a frame
fails matching (the clip is dropped) or the stream ends; a clip is attempted whenever
its first frame exists. Then the filters of filters.py apply. Every clip attempted is
yielded as a `ClipResult`. `cut_with_tail` cuts the head and the held-out tail of a
video apart (`hold_out_tail`), so that no clip holds frames of both.
"""
from __future__ import annotations

import dataclasses
import itertools
from typing import Callable, Iterator

import numpy as np

from vgan_tf.data.prepare import filters, stabilize


@dataclasses.dataclass
class ClipResult:
    """One attempted clip: `frames` (uint8 RGB [T, size, size, 3]) when kept, else None
    with the drop `reason`; `camera_motion` and `foreground_motion` as filters.py defines
    them (None when the clip never got that far)."""

    index: int
    frames: np.ndarray | None
    reason: str | None
    num_frames: int
    camera_motion: float | None = None
    foreground_motion: float | None = None
    start: int = 0
    """The position of the clip's first frame in the stream it was cut from (0-based)."""


class _Positions:
    """The frames of a stream by position: `get(i)` takes frames from the stream up to
    position i (None past its end); `kept` holds those from `first_kept` on (frames
    before a `forget` position are dropped, or never kept)."""

    def __init__(self, frames, on_frame):
        self.frames, self.on_frame = iter(frames), on_frame
        self.kept, self.first_kept, self.taken = [], 0, 0

    def get(self, position: int):
        while self.taken <= position:
            frame = next(self.frames, None)
            if frame is None:
                return None
            if self.on_frame is not None:
                self.on_frame()
            if self.taken >= self.first_kept:
                self.kept.append(frame)
            self.taken += 1
        return self.kept[position - self.first_kept]

    def forget(self, before: int):
        """Drops the frames before position `before` (no clip reads them again)."""
        del self.kept[:max(0, before - self.first_kept)]
        self.first_kept = max(self.first_kept, before)


class _SharedMatcher:
    """A FrameMatcher whose results overlapping windows share: a frame's SIFT features
    and a pair of frames' homography are computed once while the frames are kept
    (`keep_only`). SIFT and the matcher are deterministic (the kdtree index is reseeded
    per match), so a shared result is the one a window would compute on its own."""

    def __init__(self, matcher: stabilize.FrameMatcher):
        self.matcher, self.options = matcher, matcher.options
        self._features, self._homographies = {}, {}

    def features(self, image: np.ndarray):
        key = id(image)  # the entry holds the image: the id is not reused meanwhile
        if key not in self._features:
            self._features[key] = (image, self.matcher.features(image))
        return self._features[key][1]

    def homography(self, current, reference):
        key = (id(current), id(reference))
        if key not in self._homographies:
            self._homographies[key] = (current, reference,
                                       self.matcher.homography(current, reference))
        return self._homographies[key][2]

    def keep_only(self, frames):
        """Forgets the results of every frame but `frames`."""
        alive = {id(frame) for frame in frames}
        self._features = {k: v for k, v in self._features.items() if k in alive}
        features = {id(v[1]) for v in self._features.values()}
        self._homographies = {k: v for k, v in self._homographies.items()
                              if k[0] in features and k[1] in features}


def cut_clips(frames: Iterator[np.ndarray], options,
              scene_keep: Callable | None = None,
              on_frame: Callable | None = None) -> Iterator[ClipResult]:
    """BGR frames (e.g. a reader.FrameReader) -> ClipResults. `on_frame()` is called once
    per frame taken from `frames` (progress bars)."""
    matcher = stabilize.FrameMatcher(options)
    stream = _Positions(frames, on_frame)
    stride = options.clip_stride
    if stride is not None:
        matcher = _SharedMatcher(matcher)
    for index in range(options.clips_per_video):
        start = stream.taken if stride is None else index * stride
        # frames before the next clip's start are dropped once used (back to back: all)
        reuse_from = None if stride is None else (index + 1) * stride
        first = _take(stream, start, reuse_from)
        if first is None:
            return
        clip = stabilize.ClipStabilizer(first, matcher, options)
        reason, ended_out_of_frame, position = None, False, start + 1
        while len(clip) < options.max_frames:
            frame = _take(stream, position, reuse_from)
            position += 1
            if frame is None:
                break
            status = clip.add(frame)
            if status == stabilize.OUT_OF_FRAME:
                ended_out_of_frame = True
                break
            if status != stabilize.ADDED:
                reason = status
                break
        result = _finish(index, clip, reason, ended_out_of_frame, options, scene_keep)
        result.start = start
        if stride is not None:
            matcher.keep_only(stream.kept)
        yield result


def _take(stream: _Positions, position: int, reuse_from: int | None):
    """The frame at `position` (None past the end); the frames up to it that no later
    clip reads (those before `reuse_from`; None: all) are dropped."""
    def forget(before):
        stream.forget(before if reuse_from is None else min(before, reuse_from))

    forget(position)
    frame = stream.get(position)
    forget(position + 1)
    return frame


def tail_start(frame_count: int, hold_out_tail: float) -> int:
    """The position of the first frame of the held-out tail: the last `hold_out_tail`
    of `frame_count` frames (rounded to whole frames) are the tail."""
    return frame_count - int(round(hold_out_tail * frame_count))


def cut_with_tail(frames, options, scene_keep, on_frame, boundary: int,
                  position: Callable) -> Iterator[tuple]:
    """(ClipResult, held_out) pairs: the clips of the frames before `boundary`, then
    (held_out True) those of the frames from it on, cut as two streams so that no clip
    holds frames of both. `position()` gives the stream position of the frame just taken
    from `frames` (for a reader.FrameReader: its frames_read - 1, which counts skipped
    and subsampled frames). `clips_per_video` bounds both parts together; the tail's
    results continue the head's `index` and their `start` counts from the head's first
    frame."""
    head = _Head(frames, boundary, position)
    attempted = 0
    for clip in cut_clips(head, options, scene_keep, on_frame):
        attempted += 1
        yield clip, False
    left = options.clips_per_video - attempted
    if left <= 0 or head.first_of_tail is None:
        return  # the clip budget is spent, or the stream ended before the tail
    tail = itertools.chain([head.first_of_tail], frames)
    rest = dataclasses.replace(options, clips_per_video=left)
    for clip in cut_clips(tail, rest, scene_keep, on_frame):
        clip.index += attempted
        clip.start += head.taken
        yield clip, True


class _Head:
    """The frames of a stream before a boundary position; the first frame at or past it
    is kept in `first_of_tail` (None until the stream reaches it)."""

    def __init__(self, frames, boundary: int, position: Callable):
        self.frames, self.boundary, self.position = iter(frames), boundary, position
        self.first_of_tail, self.taken = None, 0

    def __iter__(self):
        for frame in self.frames:
            if self.position() >= self.boundary:
                self.first_of_tail = frame
                return
            self.taken += 1
            yield frame


def _finish(index, clip, reason, ended_out_of_frame, options, scene_keep) -> ClipResult:
    if reason is None and len(clip) < options.min_frames:
        reason = stabilize.OUT_OF_FRAME if ended_out_of_frame else filters.TOO_SHORT
    if reason is not None:
        return ClipResult(index, None, reason, len(clip))
    frames = clip.frames()
    camera = filters.camera_motion(clip.step_motion)
    foreground = filters.foreground_motion(frames)
    result = ClipResult(index, None, None, len(clip), camera, foreground)
    if options.max_camera_motion is not None and camera > options.max_camera_motion:
        result.reason = filters.CAMERA_MOTION
    elif options.min_foreground_motion is not None and \
            foreground < options.min_foreground_motion:
        result.reason = filters.STATIC
    else:
        rgb = np.ascontiguousarray(frames[..., ::-1])
        if scene_keep is not None and not scene_keep(rgb[len(rgb) // 2]):
            result.reason = filters.SCENE_FILTER
        else:
            result.frames = rgb
    return result

