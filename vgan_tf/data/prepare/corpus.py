"""Many videos -> strips, a training list and a summary: the local runner (process pool).

    from vgan_tf.data.prepare import PrepareOptions, prepare_videos
    summary = prepare_videos(["videos/"], "out", PrepareOptions(), workers=4)

Inputs (`find_videos`): folders (searched recursively for VIDEO_EXTENSIONS), glob
patterns, list files (`.txt`/`.lst`/`.list`: one video per line, relative to the list's
folder, `#` comments) and video files; any tf.io.gfile location. Each video gets an id
(`video_ids`: its file name without the extension, reduced to `[A-Za-z0-9._-]`; names
that collide get `-` + 8 hex digits of the path's SHA-1), its strips go to
`<out>/<id>/%04d.jpg`. `finish` writes, after all videos, the list `<out>/train.txt`
(paths relative to `<out>`, videos in id order; only finished videos appear) and the
other lists the options ask for (listing.py: test, held-out and labelled lists,
classes.txt), the contact sheet (sheet.py) and `<out>/summary.json` (per video and in
total: clips, dropped per reason, frames read, seconds; videos that failed to read, by
name and reason; truncated videos, with frames decoded and declared). All are written
atomically. Rerunning skips finished videos (their reports are read back from their
markers): the summary's total tells the clips this run wrote (`clips_written`) from
those an earlier run did (`clips_from_earlier_run`; `clips_listed` is both, in any
list; `clips_held_out` those in held_out.txt).
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
from vgan_tf.data.prepare import filters, labels, listing, reader, video
from vgan_tf.progress import Progress

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".webm", ".mkv", ".m4v", ".mpg", ".mpeg",
                    ".flv", ".wmv", ".3gp", ".ogv", ".ts", ".mts", ".m2ts")
LIST_EXTENSIONS = (".txt", ".lst", ".list")
LIST_NAME = "train.txt"
SUMMARY_NAME = "summary.json"
TRUNCATED = "truncated"
"""The reason given to a video that decoded clearly fewer frames than its container
declares (reader.truncated); its clips are kept, the video is reported."""
RUN_KEYS = ("seconds", "wall_seconds", "from_earlier_run", "clips_written",
            "clips_from_earlier_run", "videos_from_earlier_run")
"""Summary keys that describe the run rather than its outputs: times, and what this run
wrote versus found from an earlier one (they differ between runs with equal outputs)."""

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
    found = [path for _, paths in find_videos_per_input(inputs) for path in paths]
    return list(dict.fromkeys(found))


def find_videos_per_input(inputs) -> list:
    """(input, its video paths sorted) per input, as find_videos finds them (a video two
    inputs name appears under both)."""
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
        found.append((item, matches))
    return found


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


def summarize(reports, options, wall_seconds: float) -> dict:
    """The summary of a run from its per-video reports (any order)."""
    reports = sorted(reports, key=lambda r: r["id"])
    done = [r for r in reports if r["error"] is None]
    earlier = [r for r in done if r.get("from_earlier_run")]
    dropped = {reason: sum(r["dropped"][reason] for r in done)
               for reason in filters.DROP_REASONS}
    listed = sum(r["written"] for r in done)
    from_earlier = sum(r["written"] for r in earlier)
    return {
        "options": options.to_dict(),
        "list": LIST_NAME,
        "total": {"videos": len(reports), "videos_prepared": len(done),
                  "videos_failed": len(reports) - len(done),
                  "videos_truncated": sum(bool(r.get("truncated")) for r in done),
                  "videos_from_earlier_run": len(earlier),
                  "clips_listed": listed, "clips_written": listed - from_earlier,
                  "clips_from_earlier_run": from_earlier,
                  "clips_held_out": sum(len(r.get("held_out", [])) for r in done),
                  "clips_dropped": sum(dropped.values()), "dropped": dropped,
                  "frames_read": sum(r["frames_read"] for r in done),
                  "seconds": round(sum(r["seconds"] for r in done), 3),
                  "wall_seconds": round(wall_seconds, 3)},
        "failed": [{"video": r["video"], "reason": r["error"], "detail": r.get("detail")}
                   for r in reports if r["error"] is not None],
        "truncated": [{"video": r["video"], "reason": TRUNCATED,
                       "frames_read": r["frames_read"],
                       "frames_declared": r["frames_declared"], "clips": r["written"]}
                      for r in done if r.get("truncated")],
        "videos": done,
    }


def problem_lines(summary) -> list:
    """One line per failed or truncated video of a summary (what a run prints on stderr)."""
    lines = [f"vgan_tf.prepare: skipped video {f['video']!r} reason: {f['reason']!r}"
             for f in summary["failed"]]
    lines += [f"vgan_tf.prepare: video {t['video']!r} reason: {TRUNCATED!r}: decoded "
              f"{t['frames_read']} of the {t['frames_declared']} frames its container "
              f"declares; kept the {t['clips']} clips cut before the end"
              for t in summary["truncated"]]
    return lines


def outcome_line(summary, out_dir: str) -> str:
    """The one-line result of a run: clips written now (and found from an earlier run),
    drops, failed and truncated videos."""
    total = summary["total"]
    dropped = {k: v for k, v in total["dropped"].items() if v}
    reasons = f" {dropped}" if dropped else ""
    earlier = total["clips_from_earlier_run"]
    return (f"wrote {total['clips_written']} clips"
            f"{f' ({earlier} from an earlier run)' if earlier else ''} from "
            f"{total['videos_prepared']} videos to {out_dir} ({_lists(summary)}); "
            f"dropped {total['clips_dropped']}{reasons}; failed videos "
            f"{total['videos_failed']}; truncated videos {total['videos_truncated']}")


def _lists(summary) -> str:
    names = [n for n in summary.get("lists", {}) if n != labels.CLASS_INDEX_NAME]
    if len(names) <= 1:
        return f"list {summary['list']}"
    return "lists " + ", ".join(names)


def finish(out_dir: str, reports, options, wall_seconds: float) -> dict:
    """Writes the lists (listing.write_lists: `<out>/train.txt` and, as the options ask,
    test, held-out and labelled lists and classes.txt), the contact sheet (sheet.py) and
    `<out>/summary.json`, each atomically -> the summary."""
    summary = summarize(reports, options, wall_seconds)
    summary.update(listing.write_lists(out_dir, summary, options))
    if options.contact_sheet:
        summary["contact_sheet"] = listing.write_sheet(out_dir, summary, options)
    video.write_atomically(video.join(out_dir, SUMMARY_NAME),
                           json.dumps(summary, indent=1), "w")
    return summary


def without_run_keys(value):
    """A summary (or part) with every RUN_KEYS entry removed: what runs with equal
    outputs share."""
    if isinstance(value, dict):
        return {k: without_run_keys(v) for k, v in value.items() if k not in RUN_KEYS}
    if isinstance(value, list):
        return [without_run_keys(v) for v in value]
    return value


def _init_worker(threads: int):
    import cv2
    cv2.setNumThreads(threads)


def _prepare_one(args):
    return video.prepare_video(*args)


def checked_videos(inputs, options) -> list:
    """The videos of `inputs` (find_videos_per_input, duplicates removed), after the
    checks every runner makes before any video: the scene filter loads, and with
    --labels_from=folder every video lies in a class folder."""
    filters.load_scene_filter(options.scene_filter)
    found = find_videos_per_input(inputs)
    if options.labels_from == "folder":
        labels.check_class_folders(found)
    return list(dict.fromkeys(path for _, part in found for path in part))


def prepare_videos(inputs, out_dir: str, options, workers: int | None = None,
                   progress: bool = True) -> dict:
    """Prepares every video of `inputs` (see find_videos) into `out_dir` -> the summary.

    workers: processes (default: CPU cores); 1 runs in this process. progress: a
    vgan_tf.progress display on stderr over videos (done/total, clips written, failed
    and truncated videos) and, with one video and one worker, over its frames. Videos
    that fail to read are skipped; they and truncated videos are reported on stderr
    (problem_lines) and in the summary."""
    start = time.perf_counter()
    paths = checked_videos(inputs, options)
    ids = video_ids(paths)
    workers = min(workers or os.cpu_count() or 1, len(paths))
    tf.io.gfile.makedirs(out_dir)
    jobs = [(path, video_id, out_dir, options) for path, video_id in zip(paths, ids)]
    with _VideoProgress(len(jobs), progress) as shown:
        if workers == 1:
            reports = _in_this_process(jobs, shown, progress)
        else:
            reports = _in_a_pool(jobs, workers, shown)
    summary = finish(out_dir, reports, options, time.perf_counter() - start)
    for line in problem_lines(summary):
        print(line, file=sys.stderr)
    return summary


class _VideoProgress:
    """The progress display over videos (nothing when `enabled` is False): videos done,
    clips written by this run, failed and truncated videos."""

    def __init__(self, total: int, enabled: bool):
        self.bar = Progress(total, unit="video", label="prepare") if enabled else None
        self.clips = self.failed = self.truncated = 0

    def done(self, report: dict):
        if not report.get("from_earlier_run"):
            self.clips += report["written"]
        self.failed += report["error"] is not None
        self.truncated += bool(report.get("truncated"))
        if self.bar is not None:
            self.bar.update(1, clips=self.clips, failed=self.failed,
                            truncated=self.truncated)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()


def _in_this_process(jobs, shown: _VideoProgress, progress: bool) -> list:
    reports = []
    for job in jobs:
        _, video_id, out_dir, _ = job
        if len(jobs) == 1 and progress and video.read_marker(out_dir, video_id) is None:
            with Progress(reader.frame_count(job[0]), unit="frame",
                          label=video_id) as frames:
                reports.append(video.prepare_video(*job, on_frame=frames.update))
        else:
            reports.append(video.prepare_video(*job))
        shown.done(reports[-1])
    return reports


def _in_a_pool(jobs, workers: int, shown: _VideoProgress) -> list:
    threads = max(1, (os.cpu_count() or 1) // workers)
    context = multiprocessing.get_context("spawn")
    reports = []
    with concurrent.futures.ProcessPoolExecutor(
            workers, mp_context=context, initializer=_init_worker,
            initargs=(threads,)) as pool:
        futures = [pool.submit(_prepare_one, job) for job in jobs]
        for future in concurrent.futures.as_completed(futures):
            reports.append(future.result())
            shown.done(reports[-1])
    return reports
