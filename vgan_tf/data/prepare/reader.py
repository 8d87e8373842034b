"""Decoded frames of a local video file, with OpenCV's FFmpeg backend (no TensorFlow).

Frames come out as BGR uint8 [H, W, 3], the order the original fed to SIFT, warps and
imwrite (it read rgb24 from ffmpeg and flipped it). A file that cannot be used raises
`VideoError` with a reason: missing, empty (zero bytes), unreadable (no video stream the
backend decodes: corrupt, truncated header, audio-only, not a video) or no_frames (opened,
but not one frame decoded).
"""
from __future__ import annotations

import os

import cv2

MISSING = "missing"
EMPTY = "empty"
UNREADABLE = "unreadable"
NO_FRAMES = "no_frames"
VIDEO_ERRORS = (MISSING, EMPTY, UNREADABLE, NO_FRAMES)


def frame_count(path: str) -> int:
    """The container's frame count (an estimate for some formats; 0 when unknown)."""
    if not os.path.isfile(path):
        return 0
    capture = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
    try:
        return max(int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), 0) if capture.isOpened() else 0
    finally:
        capture.release()


class VideoError(Exception):
    """A video file that gives no frames; `reason` is one of VIDEO_ERRORS."""

    def __init__(self, reason: str, path: str, detail: str = ""):
        self.reason, self.path = reason, path
        super().__init__(f"{path}: {reason}" + (f" ({detail})" if detail else ""))


class FrameReader:
    """Iterates over a video's frames: `skip` decoded frames dropped first, then, with
    `fps`, one frame per 1/fps seconds by the frames' time stamps (not by frame count).

    `frames_read` counts decoded frames (skipped and subsampled ones included). The
    first frame is decoded when the reader is made, so a file that gives none fails
    there. A frame whose size differs from the first ends the stream."""

    def __init__(self, path: str, skip: int = 0, fps: float | None = None):
        if not os.path.exists(path):
            raise VideoError(MISSING, path)
        if os.path.isdir(path):
            raise VideoError(UNREADABLE, path, "a directory")
        if os.path.getsize(path) == 0:
            raise VideoError(EMPTY, path, "zero bytes")
        self.path, self.skip, self.fps = path, skip, fps
        self.frames_read = 0
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
        self.shape = first[1].shape
        self._pending = first
        self._next_time = None

    def _decode(self):
        ok, frame = self._capture.read()
        if not ok or frame is None:
            return None
        self.frames_read += 1
        return self._capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0, frame

    def _decoded(self):
        if self._pending is not None:
            item, self._pending = self._pending, None
            return item
        item = self._decode()
        if item is not None and item[1].shape != self.shape:
            return None
        return item

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
