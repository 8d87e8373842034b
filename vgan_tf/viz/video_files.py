"""Host-side video files: animated GIFs and JPEG strips from uint8 videos.

A video is uint8 [frames, height, width, 3]. A strip is the frames stacked vertically,
[frames * height, width, 3], the layout of the paper's training data and of the
`generate_jpeg_strip` serving signature. Used by the training samples, TensorBoard
summaries and the serving client (numpy + Pillow, no TensorFlow).
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image


def _check_video(video) -> np.ndarray:
    video = np.asarray(video)
    if video.dtype != np.uint8 or video.ndim != 4 or video.shape[-1] not in (1, 3):
        raise ValueError("a video must be uint8 [frames, height, width, 1 or 3], got "
                         f"{video.dtype} {list(video.shape)}")
    if video.shape[-1] == 1:
        video = np.repeat(video, 3, axis=-1)
    return video


def encode_gif(video, fps: float = 8.0, loop: int = 0) -> bytes:
    """An animated GIF (looping forever by default) of a uint8 video."""
    video = _check_video(video)
    frames = [Image.fromarray(frame) for frame in video]
    buffer = io.BytesIO()
    duration = max(1, int(round(1000.0 / fps)))
    # Pillow merges identical consecutive frames into one of a longer duration; the
    # comment keeps the frame duration so that decode_gif gives every frame back.
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:],
                   duration=duration, loop=loop, disposal=1,
                   comment=f"{_FRAME_MS}{duration}".encode())
    return buffer.getvalue()


_FRAME_MS = "vgan_tf frame_ms="


def decode_gif(data: bytes) -> np.ndarray:
    """uint8 [frames, height, width, 3] from GIF bytes. A frame that lasts k frame
    durations (how GIF writers store repeated frames) is given back k times; the frame
    duration is the one encode_gif wrote in the comment, else the shortest frame's."""
    image = Image.open(io.BytesIO(data))
    comment = image.info.get("comment", b"")
    comment = comment.decode("latin-1") if isinstance(comment, bytes) else str(comment)
    frames, durations = [], []
    for index in range(getattr(image, "n_frames", 1)):
        image.seek(index)
        frames.append(np.asarray(image.convert("RGB")))
        durations.append(image.info.get("duration") or 0)
    base = min(durations) if all(durations) else 0
    if comment.startswith(_FRAME_MS) and comment[len(_FRAME_MS):].isdigit():
        base = int(comment[len(_FRAME_MS):])
    if base > 0:
        repeats = [max(1, int(round(d / base))) for d in durations]
        frames = [f for f, k in zip(frames, repeats) for _ in range(k)]
    return np.stack(frames)


def encode_strip_jpeg(video, quality: int = 90) -> bytes:
    """A JPEG of the frames stacked vertically."""
    video = _check_video(video)
    strip = video.reshape(-1, video.shape[2], 3)
    buffer = io.BytesIO()
    Image.fromarray(strip).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def decode_strip(data: bytes, frames: int) -> np.ndarray:
    """uint8 [frames, height, width, 3] from strip image bytes (JPEG or PNG)."""
    strip = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    if strip.shape[0] % frames:
        raise ValueError(f"a strip of height {strip.shape[0]} does not hold {frames} frames")
    return strip.reshape(frames, strip.shape[0] // frames, strip.shape[1], 3)


def write_gif(path: str, video, fps: float = 8.0) -> str:
    with open(path, "wb") as handle:
        handle.write(encode_gif(video, fps))
    return path


def write_strip(path: str, video, quality: int = 90) -> str:
    with open(path, "wb") as handle:
        handle.write(encode_strip_jpeg(video, quality))
    return path
