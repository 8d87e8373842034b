"""Videos made inside the tests: a textured scene seen by a shaking camera, a moving object.

Everything is drawn with OpenCV and written with cv2.VideoWriter (MJPG in .avi, MPEG-4
Part 2 in .mp4), so the tests read real encoded video through the FFmpeg backend.
`truncate` cuts a file's bytes, as an interrupted download or copy does.
"""
from __future__ import annotations

import struct

import cv2
import numpy as np

WIDTH, HEIGHT = 160, 120


def scene(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A BGR canvas of random coloured discs and boxes at several scales (SIFT-rich)."""
    rng = np.random.default_rng(seed)
    image = np.full((height, width, 3), 110, np.uint8)
    for i in range(width * height // 60):
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        r = int(rng.integers(2, 10))
        if i % 2:
            cv2.circle(image, (x, y), r, colour, -1)
        else:
            cv2.rectangle(image, (x, y), (x + r, y + r // 2 + 1), colour, -1)
    return cv2.GaussianBlur(image, (0, 0), 0.7)


def shake(frames: int, seed: int = 0, shift: float = 4.0, degrees: float = 1.5):
    """Per frame (dx, dy, angle): a known camera shake, uniform in +-shift px, +-degrees."""
    rng = np.random.default_rng(seed + 1000)
    return [(float(rng.uniform(-shift, shift)), float(rng.uniform(-shift, shift)),
             float(rng.uniform(-degrees, degrees))) for _ in range(frames)]


def camera_views(canvas, motions, width=WIDTH, height=HEIGHT, pan=(0.0, 0.0),
                 moving_object=True):
    """BGR frames: the view (width x height) at the canvas centre moved by each motion
    (dx, dy, angle) plus frame * pan; with a 14 px box crossing the scene at 2 px/frame."""
    ch, cw = canvas.shape[:2]
    out = []
    for k, (dx, dy, angle) in enumerate(motions):
        world = canvas.copy()
        if moving_object:
            x = int(cw // 2 - width // 3 + 2 * k)
            y = int(ch // 2 - 10 + k)
            cv2.rectangle(world, (x, y), (x + 14, y + 14), (20, 240, 250), -1)
            cv2.rectangle(world, (x + 4, y + 4), (x + 9, y + 9), (200, 30, 30), -1)
        cx = cw / 2 + dx + k * pan[0]
        cy = ch / 2 + dy + k * pan[1]
        rotation = cv2.getRotationMatrix2D((cx, cy), angle, 1.0)
        rotation[0, 2] -= cx - width / 2
        rotation[1, 2] -= cy - height / 2
        out.append(cv2.warpAffine(world, rotation, (width, height), flags=cv2.INTER_LINEAR))
    return out


def write_video(path: str, frames, fps: float = 25.0) -> str:
    """Writes BGR frames with cv2.VideoWriter (MJPG, high quality)."""
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*"MJPG"),
                             fps, (width, height))
    assert writer.isOpened(), path
    writer.set(cv2.VIDEOWRITER_PROP_QUALITY, 95)
    for frame in frames:
        writer.write(np.ascontiguousarray(frame))
    writer.release()
    return str(path)


def truncate(path, fraction: float = 0.5) -> str:
    """Keeps the first `fraction` of the file's bytes (in place)."""
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[:int(len(data) * fraction)])
    return str(path)


_MP4_CONTAINERS = (b"moov", b"trak", b"mdia", b"minf", b"stbl")


def _mp4_atoms(data, start: int, end: int):
    """(offset, size, type) of the MP4 atoms in data[start:end] (32-bit sizes only)."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", bytes(data[pos:pos + 8]))
        if size < 8:
            raise ValueError(f"unsupported MP4 atom size {size} at {pos}")
        yield pos, size, kind
        pos += size


def _shift_chunk_offsets(moov: bytearray, by: int, start: int, end: int):
    for pos, size, kind in _mp4_atoms(moov, start, end):
        if kind in _MP4_CONTAINERS:
            _shift_chunk_offsets(moov, by, pos + 8, pos + size)
        elif kind == b"stco":  # version/flags, count, then 32-bit file offsets
            (count,) = struct.unpack(">I", bytes(moov[pos + 12:pos + 16]))
            for at in range(pos + 16, pos + 16 + 4 * count, 4):
                (offset,) = struct.unpack(">I", bytes(moov[at:at + 4]))
                moov[at:at + 4] = struct.pack(">I", offset + by)


def mp4_video(path, frames, fps: float = 25.0) -> str:
    """Writes BGR frames as an .mp4 (mp4v) with its index (moov) moved before the frame
    data, as streaming-ready files have it: cut short, such a file still opens and
    declares its full frame count (OpenCV's writer puts the index last, where a cut
    loses it and the file does not open at all)."""
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*"mp4v"),
                             fps, (width, height))
    assert writer.isOpened(), path
    for frame in frames:
        writer.write(np.ascontiguousarray(frame))
    writer.release()
    data = open(path, "rb").read()
    atoms = {kind: (pos, size) for pos, size, kind in _mp4_atoms(data, 0, len(data))}
    (moov_at, moov_size), (mdat_at, _) = atoms[b"moov"], atoms[b"mdat"]
    assert moov_at > mdat_at, atoms
    moov = bytearray(data[moov_at:moov_at + moov_size])
    _shift_chunk_offsets(moov, moov_size, 8, moov_size)
    rest = data[:moov_at] + data[moov_at + moov_size:]
    with open(path, "wb") as f:
        f.write(rest[:mdat_at] + bytes(moov) + rest[mdat_at:])
    return str(path)


def shaky_frames(frames: int = 40, seed: int = 0, **kwargs) -> list:
    """The frames of `shaky_video` (BGR)."""
    canvas = scene(WIDTH * 2, HEIGHT * 2, seed)
    return camera_views(canvas, shake(frames, seed), **kwargs)


def shaky_video(path, frames: int = 40, seed: int = 0, **kwargs) -> str:
    return write_video(path, shaky_frames(frames, seed, **kwargs))


def static_video(path, frames: int = 20, seed: int = 0) -> str:
    canvas = scene(WIDTH, HEIGHT, seed)
    return write_video(path, [canvas] * frames)


def read_frames(path) -> list:
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def phase_shifts(frames) -> np.ndarray:
    """|shift| in pixels between consecutive frames ([T, S, S, 3] uint8), by phase
    correlation of the grey images with a Hann window -> [T - 1]."""
    grey = [cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY).astype(np.float32)
            for f in frames]
    window = cv2.createHanningWindow(grey[0].shape[::-1], cv2.CV_32F)
    return np.array([np.hypot(*cv2.phaseCorrelate(a, b, window)[0])
                     for a, b in zip(grey[:-1], grey[1:])])
