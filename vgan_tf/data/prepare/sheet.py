"""A contact sheet of a run (`--contact_sheet`, on by default): one PNG to look at.

`contact_sheet.png` in the output folder shows up to MAX_CLIPS listed strips, spread
evenly over the lists (train, then test, then held-out entries), one row per clip: its
first, middle (frame T // 2) and last frame side by side as the strip holds them
(decoded with OpenCV, unchanged), then a caption column (CAPTION_WIDTH pixels, black)
with the strip's path and, when labels are on, its class. Rows are `size` pixels high;
the image is 3 x size + CAPTION_WIDTH wide. It reads at most MAX_CLIPS strips. Written
atomically; a strip that no longer decodes is left out and named in the result.
"""
from __future__ import annotations

import cv2
import numpy as np
import tensorflow as tf

from vgan_tf.data.prepare import video

SHEET_NAME = "contact_sheet.png"
MAX_CLIPS = 16
CAPTION_WIDTH = 256


def sample(entries, count: int = MAX_CLIPS) -> list:
    """Up to `count` entries spread evenly from the first to the last, in order."""
    entries = list(entries)
    if len(entries) <= count:
        return entries
    return [entries[round(i * (len(entries) - 1) / (count - 1))] for i in range(count)]


def _read(path: str):
    """A strip's frames (BGR uint8 [T, S, S, 3]) or None when it does not decode."""
    with tf.io.gfile.GFile(path, "rb") as f:
        image = cv2.imdecode(np.frombuffer(f.read(), np.uint8), cv2.IMREAD_COLOR)
    if image is None or image.shape[1] == 0 or image.shape[0] % image.shape[1]:
        return None
    size = image.shape[1]
    return image.reshape(-1, size, size, 3)


def _row(frames: np.ndarray, captions) -> np.ndarray:
    size = frames.shape[1]
    picked = [frames[0], frames[len(frames) // 2], frames[-1]]
    caption = np.zeros((size, CAPTION_WIDTH, 3), np.uint8)
    for line, text in enumerate(captions):
        cv2.putText(caption, text, (4, 12 + 14 * line), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    (255, 255, 255), 1, cv2.LINE_AA)
    return np.concatenate(picked + [caption], axis=1)


def write_contact_sheet(out_dir: str, entries, classes=None) -> dict:
    """Writes `<out_dir>/contact_sheet.png` from a sample of `entries` (strip paths
    relative to out_dir); `classes`: {entry: class name} or None -> {file, clips (the
    entries shown), unreadable}; file is None when no strip was shown."""
    shown, unreadable, rows = [], [], []
    for entry in sample(entries):
        frames = _read(video.join(out_dir, entry))
        if frames is None or (rows and frames.shape[1] != rows[0].shape[0]):
            unreadable.append(entry)
            continue
        captions = [entry] + ([classes[entry]] if classes else [])
        rows.append(_row(frames, captions))
        shown.append(entry)
    if not rows:
        return {"file": None, "clips": [], "unreadable": unreadable}
    ok, png = cv2.imencode(".png", np.concatenate(rows, axis=0))
    if not ok:
        raise ValueError(f"{video.join(out_dir, SHEET_NAME)}: PNG encoding failed")
    video.write_atomically(video.join(out_dir, SHEET_NAME), png.tobytes())
    return {"file": SHEET_NAME, "clips": shown, "unreadable": unreadable}
