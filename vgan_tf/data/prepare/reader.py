"""Decoded frames of a local video file, with OpenCV's FFmpeg backend (no TensorFlow).

Frames come out as BGR uint8 [H, W, 3], the order the original fed to SIFT, warps and
imwrite (it read rgb24 from ffmpeg and flipped it). A file that cannot be used raises
`VideoError` with a reason: missing, empty (zero bytes), unreadable (no video stream the
backend decodes: corrupt, truncated header, audio-only, not a video) or no_frames (opened,
but not one frame decoded).

A file that decodes but ends early is not an error: the reader gives the frames it can and
records how its stream ended (`end`) and how many frames the container declares
(`declared_frames`); `truncated(decoded, declared)` says whether decoding stopped clearly
short of that count. Containers' counts are approximate (some are estimated from the
duration and the frame rate), so "clearly short" means more than TRUNCATION_TOLERANCE of
the declared frames, and at least TRUNCATION_MIN_FRAMES, are missing.
"""
from __future__ import annotations

import math
import os

import cv2

MISSING = "missing"
EMPTY = "empty"
UNREADABLE = "unreadable"
NO_FRAMES = "no_frames"
VIDEO_ERRORS = (MISSING, EMPTY, UNREADABLE, NO_FRAMES)

END_OF_STREAM = "end_of_stream"
"""The decoder gave no further frame: the end of the file, or data it cannot decode."""
SIZE_CHANGED = "size_changed"
"""A frame's size differed from the first frame's: the reader stops there."""
NOT_REACHED = "not_reached"
"""The consumer stopped taking frames first (e.g. clips_per_video was reached)."""
STREAM_ENDS = (END_OF_STREAM, SIZE_CHANGED, NOT_REACHED)

TRUNCATION_TOLERANCE = 0.05
TRUNCATION_MIN_FRAMES = 3


def _declared(capture) -> int | None:
    """CAP_PROP_FRAME_COUNT as an int; None when unknown (not finite, 0 or negative)."""
    value = capture.get(cv2.CAP_PROP_FRAME_COUNT)
    if not math.isfinite(value) or value < 1:
        return None
    return int(round(value))


def frame_count(path: str) -> int | None:
    """The frames the container declares (an estimate for some formats; None when
    unknown or the file does not open)."""
    if not os.path.isfile(path):
        return None
    capture = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
    try:
        return _declared(capture) if capture.isOpened() else None
    finally:
        capture.release()


def decoded_count(path: str) -> int:
    """The frames of a local video counted by decoding it to the end (grab, no
    conversion): what a caller needs when the container declares no count."""
    capture = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
    count = 0
    try:
        while capture.isOpened() and capture.grab():
            count += 1
    finally:
        capture.release()
    return count


def truncated(decoded: int, declared: int | None) -> bool:
    """Whether `decoded` frames fall clearly short of the `declared` count (see the
    module docstring); False when the count is unknown."""
    if declared is None:
        return False
    missing = declared - decoded
    return missing >= TRUNCATION_MIN_FRAMES and missing > TRUNCATION_TOLERANCE * declared


class VideoError(Exception):
    """A video file that gives no frames; `reason` is one of VIDEO_ERRORS."""

    def __init__(self, reason: str, path: str, detail: str = ""):
        self.reason, self.path = reason, path
        super().__init__(f"{path}: {reason}" + (f" ({detail})" if detail else ""))


class FrameReader:
    """Iterates over a video's frames: `skip` decoded frames dropped first, then, with
    `fps`, one frame per 1/fps seconds by the frames' time stamps (not by frame count).

    `frames_read` counts decoded frames (skipped and subsampled ones included);
    `declared_frames` is the container's count (None when unknown); `end` is None while
    the stream goes on, then END_OF_STREAM or SIZE_CHANGED (`end_reached()` gives
    NOT_REACHED for a stream left before its end). The first frame is decoded when the
    reader is made, so a file that gives none fails there. A frame whose size differs
    from the first ends the stream (no frame after it is given)."""

    def __init__(self, path: str, skip: int = 0, fps: float | None = None):
        if not os.path.exists(path):
            raise VideoError(MISSING, path)
        if os.path.isdir(path):
            raise VideoError(UNREADABLE, path, "a directory")
        if os.path.getsize(path) == 0:
            raise VideoError(EMPTY, path, "zero bytes")
        self.path, self.skip, self.fps = path, skip, fps
        self.frames_read, self.end = 0, None
        self._capture = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
        if not self._capture.isOpened():
            self._capture.release()
            raise VideoError(UNREADABLE, path, "no video stream OpenCV's FFmpeg backend "
                             "can decode")
        first = self._decode()
        if first is None:
            self.close()
            raise VideoError(NO_FRAMES, path, "not one frame decoded")
        self.source_fps = self._capture.get(cv2.CAP_PROP_FPS) or None
        self.declared_frames = _declared(self._capture)
        self.shape = first[1].shape
        self._pending = first
        self._next_time = None

    def _decode(self):
        ok, frame = self._capture.read()
        if not ok or frame is None:
            self.end = END_OF_STREAM
            return None
        self.frames_read += 1
        return self._capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0, frame

    def _decoded(self):
        if self._pending is not None:
            item, self._pending = self._pending, None
            return item
        if self.end is not None:
            return None
        item = self._decode()
        if item is not None and item[1].shape != self.shape:
            self.end = SIZE_CHANGED
            return None
        return item

    def end_reached(self) -> str:
        """How the stream ended: END_OF_STREAM, SIZE_CHANGED or NOT_REACHED."""
        return self.end or NOT_REACHED

    def __iter__(self):
        return self

    def __next__(self):
        while True:
            item = self._decoded()
            if item is None:
                raise StopIteration
            if self.skip > 0:
                self.skip -= 1
                continue
            seconds, frame = item
            if self.fps is None:
                return frame
            if self._next_time is None:
                self._next_time = seconds
            if seconds + 1e-6 >= self._next_time:
                while self._next_time <= seconds + 1e-6:
                    self._next_time += 1.0 / self.fps
                return frame

    def close(self):
        self._capture.release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
