"""One video -> its strips, written safely: the per-video function of both runners.

`prepare_video(path, video_id, out_dir, options)` writes `<out_dir>/<video_id>/%04d.jpg`
(one strip per kept clip, numbered in order) and then, last, the marker
`<out_dir>/<video_id>/done.json`, which holds the video's report. Each strip is written
under a temporary name and renamed. A video with a marker is not redone (its report is
read back); a video directory without one (a killed run) is emptied and redone. A file
that gives no frames (reader.VIDEO_ERRORS) gets a report with `error` and no directory.

`out_dir` is any location tf.io.gfile knows (local, gs://, ...); a video at a URL is
copied to a local temporary file first (OpenCV reads local files). TensorFlow is used
for file I/O per clip, never per frame.
"""
from __future__ import annotations

import json
import os
import posixpath
import re
import shutil
import tempfile
import time

import tensorflow as tf

from vgan_tf.data import strips
from vgan_tf.data.prepare import clips as clips_lib
from vgan_tf.data.prepare import filters, reader

MARKER = "done.json"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def join(base: str, *parts: str) -> str:
    """Joins a local path or a URL with '/'-separated parts."""
    if _SCHEME.match(base):
        return posixpath.join(base.rstrip("/"), *parts)
    return os.path.join(base, *parts)


def write_atomically(path: str, data, mode: str = "wb"):
    """Writes `data` to `path.tmp` and renames it to `path` (overwriting)."""
    temporary = path + ".tmp"
    with tf.io.gfile.GFile(temporary, mode) as f:
        f.write(data)
    tf.io.gfile.rename(temporary, path, overwrite=True)


def _local_copy(path: str):
    """(local path, temporary directory to remove or None)."""
    if not _SCHEME.match(path):
        return path, None
    folder = tempfile.mkdtemp(prefix="vgan_prepare_")
    local = os.path.join(folder, posixpath.basename(path) or "video")
    tf.io.gfile.copy(path, local, overwrite=True)
    return local, folder


def empty_report(path: str, video_id: str) -> dict:
    return {"video": path, "id": video_id, "error": None, "clips": [], "held_out": [],
            "written": 0,
            "dropped": {reason: 0 for reason in filters.DROP_REASONS}, "frames_read": 0,
            "frames_declared": None, "stream_end": None, "truncated": False,
            "clip_stats": [], "seconds": 0.0, "from_earlier_run": False}


def read_marker(out_dir: str, video_id: str):
    """The report in a video's marker, or None when the video is not finished. A report
    read back has `from_earlier_run` True; keys that markers of older versions lack get
    the values that mean "not known" (frames_declared, stream_end None; truncated False)."""
    path = join(out_dir, video_id, MARKER)
    if not tf.io.gfile.exists(path):
        return None
    with tf.io.gfile.GFile(path, "r") as f:
        report = json.loads(f.read())
    for key in ("frames_declared", "stream_end", "truncated", "held_out"):
        report.setdefault(key, empty_report("", "")[key])
    report["from_earlier_run"] = True
    return report


def prepare_video(path: str, video_id: str, out_dir: str, options,
                  on_frame=None) -> dict:
    """Stabilises and writes one video's clips -> its report (dict, JSON-ready):
    video, id, error (None or a reader.VIDEO_ERRORS reason), clips (paths relative to
    out_dir), held_out (those of the held-out tail, --hold_out_tail), written (both),
    dropped ({reason: n} over filters.DROP_REASONS), frames_read (decoded),
    frames_declared (the container's count, None when unknown), stream_end (one of
    reader.STREAM_ENDS), truncated (reader.truncated: decoding reached the end of the
    stream clearly short of the declared count; the clips cut before are kept),
    clip_stats (per attempted clip: index, start (its first frame's position among the
    frames taken), frames, reason, held_out, camera_motion, foreground_motion),
    seconds, from_earlier_run (True when read back from a marker).
    `on_frame(n)` is called as frames are taken, with the frames decoded since its last
    call (progress displays)."""
    finished = read_marker(out_dir, video_id)
    if finished is not None:
        return finished
    start = time.perf_counter()
    report = empty_report(path, video_id)
    try:
        local, temporary = _local_copy(path)
    except (OSError, tf.errors.OpError) as error:
        report.update(error=reader.MISSING, detail=str(error).splitlines()[0])
        return report
    try:
        try:
            frames = reader.FrameReader(local, options.skip_frames, options.fps)
        except reader.VideoError as error:
            report.update(error=error.reason, detail=str(error))
            return report
        with frames:
            _write_clips(frames, out_dir, options, report, on_frame)
    finally:
        if temporary:
            shutil.rmtree(temporary, ignore_errors=True)
    report["seconds"] = round(time.perf_counter() - start, 3)
    write_atomically(join(out_dir, video_id, MARKER), json.dumps(report, indent=1), "w")
    return report


def _decoded(frames, on_frame):
    """A cut_clips callback that calls `on_frame(n)` with the frames `frames` decoded
    since its last call (skipped and subsampled frames included); None for None."""
    if on_frame is None:
        return None
    counted = 0

    def tick():
        nonlocal counted
        on_frame(frames.frames_read - counted)
        counted = frames.frames_read
    return tick


def _write_clips(frames, out_dir: str, options, report: dict, on_frame):
    """Cuts the clips of an open reader, writes the kept ones and fills `report` in."""
    video_id = report["id"]
    video_dir = join(out_dir, video_id)
    if tf.io.gfile.exists(video_dir):
        tf.io.gfile.rmtree(video_dir)  # a killed run's partial output
    tf.io.gfile.makedirs(video_dir)
    keep = filters.load_scene_filter(options.scene_filter)
    for clip, held_out in _cut(frames, options, keep, _decoded(frames, on_frame)):
        report["clip_stats"].append({
            "index": clip.index, "start": clip.start, "frames": clip.num_frames,
            "reason": clip.reason, "held_out": held_out,
            "camera_motion": clip.camera_motion,
            "foreground_motion": clip.foreground_motion})
        if clip.frames is None:
            report["dropped"][clip.reason] += 1
            continue
        relative = posixpath.join(video_id, "%04d.jpg" % report["written"])
        write_atomically(join(out_dir, relative),
                         strips.encode_strip(clip.frames, options.jpeg_quality))
        report["held_out" if held_out else "clips"].append(relative)
        report["written"] += 1
    end = frames.end_reached()
    report.update(frames_read=frames.frames_read, frames_declared=frames.declared_frames,
                  stream_end=end, truncated=end == reader.END_OF_STREAM and
                  reader.truncated(frames.frames_read, frames.declared_frames))


def _cut(frames, options, keep, tick):
    """(ClipResult, held_out) of an open reader: with --hold_out_tail, the tail is the
    last fraction of the frames the container declares (counted by decoding the file
    when it declares none; skipped and subsampled frames count)."""
    if not options.hold_out_tail:
        return ((clip, False) for clip in clips_lib.cut_clips(frames, options, keep, tick))
    count = frames.declared_frames
    if count is None:
        count = reader.decoded_count(frames.path)
    boundary = clips_lib.tail_start(count, options.hold_out_tail)
    return clips_lib.cut_with_tail(frames, options, keep, tick, boundary,
                                   lambda: frames.frames_read - 1)
