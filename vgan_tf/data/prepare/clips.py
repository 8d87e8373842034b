"""Cutting a stream of frames into stabilised clips, the original's loop (no TensorFlow).

Up to `clips_per_video` clips, back to back: a clip starts at the next unused frame and
takes frames until it holds `max_frames`, the warp leaves the frame (that frame is
used up, not kept), a frame fails matching (the clip is dropped) or the stream ends.
Then the filters of filters.py apply. Every clip attempted is yielded as a `ClipResult`.
"""
from __future__ import annotations

import dataclasses
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


def cut_clips(frames: Iterator[np.ndarray], options,
              scene_keep: Callable | None = None,
              on_frame: Callable | None = None) -> Iterator[ClipResult]:
    """BGR frames (e.g. a reader.FrameReader) -> ClipResults. `on_frame()` is called once
    per frame taken from `frames` (progress bars)."""
    matcher = stabilize.FrameMatcher(options)
    frames = iter(frames)

    def take():
        frame = next(frames, None)
        if frame is not None and on_frame is not None:
            on_frame()
        return frame

    for index in range(options.clips_per_video):
        first = take()
        if first is None:
            return
        clip = stabilize.ClipStabilizer(first, matcher, options)
        reason, ended_out_of_frame = None, False
        while len(clip) < options.max_frames:
            frame = take()
            if frame is None:
                break
            status = clip.add(frame)
            if status == stabilize.OUT_OF_FRAME:
                ended_out_of_frame = True
                break
            if status != stabilize.ADDED:
                reason = status
                break
        yield _finish(index, clip, reason, ended_out_of_frame, options, scene_keep)


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

