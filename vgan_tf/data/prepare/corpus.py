"""Many videos -> strips, a training list and a summary: the local runner (process pool).

    from vgan_tf.data.prepare import PrepareOptions, prepare_videos
    summary = prepare_videos(["videos/"], "out", PrepareOptions(), workers=4)

Inputs (`find_videos`): folders (searched recursively for VIDEO_EXTENSIONS), glob
patterns, list files (`.txt`/`.lst`/`.list`: one video per line, relative to the list's
folder, `#` comments) and video files; any tf.io.gfile location. Each video gets an id
(`video_ids`: its file name without the extension, reduced to `[A-Za-z0-9._-]`; names
that collide get `-` + 8 hex digits of the path's SHA-1), its strips go to
`<out>/<id>/%04d.jpg`. `finish` writes, after all videos, the list `<out>/train.txt`
(paths relative to `<out>`, videos in id order; only finished videos appear) and
`<out>/summary.json` (per video and in total: clips written, dropped per reason, frames
read, seconds; videos that failed to read, by name and reason). Both are written
atomically. Rerunning skips finished videos.
"""
from __future__ import annotations

import concurrent.futures
import hashlib
import json
import multiprocessing
import os
import re
import sys
import time

import tensorflow as tf

from vgan_tf.data import lists
from vgan_tf.data.prepare import filters, reader, video

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".webm", ".mkv", ".m4v", ".mpg", ".mpeg",
                    ".flv", ".wmv", ".3gp", ".ogv", ".ts", ".mts", ".m2ts")
LIST_EXTENSIONS = (".txt", ".lst", ".list")
LIST_NAME = "train.txt"
SUMMARY_NAME = "summary.json"
TIMING_KEYS = ("seconds", "wall_seconds")
"""Summary keys that hold times (they differ between otherwise identical runs)."""

_GLOB = re.compile(r"[*?\[]")


def _is_video(name: str) -> bool:
    return name.lower().endswith(VIDEO_EXTENSIONS)


def _read_video_list(path: str) -> list:
    with tf.io.gfile.GFile(path, "r") as f:
        text = f.read()
    folder = os.path.dirname(path)
    found = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            found.append(line if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", line) or
                         os.path.isabs(line) else video.join(folder, line))
    return found


def find_videos(inputs) -> list:
    """Folders, globs, list files and video paths -> video paths (sorted per input,
    duplicates removed). Raises FileNotFoundError naming an input that matches nothing."""
    if isinstance(inputs, str):
        inputs = [inputs]
    if not inputs:
        raise ValueError("no --input given")
    found = []
    for item in inputs:
        item = str(item)
        if _GLOB.search(item):
            matches = sorted(m for m in tf.io.gfile.glob(item) if not tf.io.gfile.isdir(m))
        elif tf.io.gfile.isdir(item):
            matches = sorted(os.path.join(folder, name) if "://" not in folder else
                             folder.rstrip("/") + "/" + name
                             for folder, _, names in tf.io.gfile.walk(item)
                             for name in names if _is_video(name))
        elif tf.io.gfile.exists(item):
            matches = _read_video_list(item) if item.lower().endswith(LIST_EXTENSIONS) \
                else [item]
        else:
            raise FileNotFoundError(f"--input {item!r}: no such file, folder or match")
        if not matches:
            raise FileNotFoundError(f"--input {item!r}: no video found")
        found.extend(matches)
    return list(dict.fromkeys(found))


def video_ids(paths) -> list:
    """One id per path (see the module docstring), unique, the same for the same paths."""
    stems = []
    for path in paths:
        name = re.split(r"[\\/]", path.rstrip("/"))[-1]
        stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
        stem = re.sub(r"[^A-Za-z0-9._-]", "_", stem).lstrip(".") or "video"
        stems.append(stem)
    counts = {}
    for stem in stems:
        counts[stem] = counts.get(stem, 0) + 1
    ids = [stem if counts[stem] == 1 else
           f"{stem}-{hashlib.sha1(path.encode()).hexdigest()[:8]}"
           for stem, path in zip(stems, paths)]
    for i in ids:
        lists.check_relative_path(i, "video id")
    return ids


class ProgressBar:
    """A text bar on stderr: `\\r[####....] done/total rate unit/s`, then a newline."""

    def __init__(self, total: int, unit: str, enabled: bool = True, stream=None):
        self.total, self.unit, self.enabled = max(total, 1), unit, enabled
        self.stream = stream or sys.stderr
        self.done, self._start, self._last = 0, time.perf_counter(), 0.0

    def update(self, n: int = 1, extra: str = ""):
        self.done += n
        now = time.perf_counter()
        if self.enabled and (now - self._last > 0.2 or self.done >= self.total):
            self._last = now
            filled = int(30 * min(self.done, self.total) / self.total)
            rate = self.done / max(now - self._start, 1e-9)
            self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {self.done}/"
                              f"{self.total} {rate:.1f} {self.unit}/s {extra}")
            self.stream.flush()

    def close(self):
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def summarize(reports, options, wall_seconds: float) -> dict:
    """The summary of a run from its per-video reports (any order)."""
    reports = sorted(reports, key=lambda r: r["id"])
    done = [r for r in reports if r["error"] is None]
    dropped = {reason: sum(r["dropped"][reason] for r in done)
               for reason in filters.DROP_REASONS}
    return {
        "options": options.to_dict(),
        "list": LIST_NAME,
        "total": {"videos": len(reports), "videos_prepared": len(done),
                  "videos_failed": len(reports) - len(done),
                  "clips_written": sum(r["written"] for r in done),
                  "clips_dropped": sum(dropped.values()), "dropped": dropped,
                  "frames_read": sum(r["frames_read"] for r in done),
                  "seconds": round(sum(r["seconds"] for r in done), 3),
                  "wall_seconds": round(wall_seconds, 3)},
        "failed": [{"video": r["video"], "reason": r["error"], "detail": r.get("detail")}
                   for r in reports if r["error"] is not None],
        "videos": done,
    }


def finish(out_dir: str, reports, options, wall_seconds: float) -> dict:
    """Writes `<out>/train.txt` and `<out>/summary.json` (atomically) -> the summary."""
    summary = summarize(reports, options, wall_seconds)
    entries = [clip for r in summary["videos"] for clip in r["clips"]]
    text = "".join(f"{lists.check_relative_path(e, 'clip')}\n" for e in entries)
    video.write_atomically(video.join(out_dir, LIST_NAME),
                           "# strips written by vgan-prepare\n" + text, "w")
    video.write_atomically(video.join(out_dir, SUMMARY_NAME),
                           json.dumps(summary, indent=1), "w")
    return summary


def without_timings(value):
    """A summary (or part) with every TIMING_KEYS entry removed: what identical runs share."""
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


def _init_worker(threads: int):
    import cv2
    cv2.setNumThreads(threads)


def _prepare_one(args):
    return video.prepare_video(*args)


def prepare_videos(inputs, out_dir: str, options, workers: int | None = None,
                   progress: bool = True) -> dict:
    """Prepares every video of `inputs` (see find_videos) into `out_dir` -> the summary.

    workers: processes (default: CPU cores); 1 runs in this process, with a bar over
    frames when there is a single video. Videos that fail to read are reported and
    skipped."""
    start = time.perf_counter()
    filters.load_scene_filter(options.scene_filter)  # a bad spec fails before any video
    paths = find_videos(inputs)
    ids = video_ids(paths)
    workers = min(workers or os.cpu_count() or 1, len(paths))
    tf.io.gfile.makedirs(out_dir)
    bar = ProgressBar(len(paths), "videos", enabled=progress)
    reports = []
    if workers == 1:
        frame_bar = None
        if len(paths) == 1 and progress:
            frame_bar = ProgressBar(reader.frame_count(paths[0]), "frames")
        for path, video_id in zip(paths, ids):
            on_frame = (lambda: frame_bar.update(1)) if frame_bar else None
            reports.append(video.prepare_video(path, video_id, out_dir, options, on_frame))
            if frame_bar:
                frame_bar.close()
            bar.update(1, _short(reports[-1]))
    else:
        threads = max(1, (os.cpu_count() or 1) // workers)
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(
                workers, mp_context=context, initializer=_init_worker,
                initargs=(threads,)) as pool:
            futures = [pool.submit(_prepare_one, (path, video_id, out_dir, options))
                       for path, video_id in zip(paths, ids)]
            for future in concurrent.futures.as_completed(futures):
                reports.append(future.result())
                bar.update(1, _short(reports[-1]))
    bar.close()
    for report in reports:
        if report["error"]:
            print(f"vgan_tf.prepare: skipped video {report['video']!r} reason: "
                  f"{report['error']!r}", file=sys.stderr)
    return finish(out_dir, reports, options, time.perf_counter() - start)


def _short(report) -> str:
    return (f"{report['id']}: {report['error']}" if report["error"] else
            f"{report['id']}: {report['written']} clips")
