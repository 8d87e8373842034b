"""Class labels from the folders the videos lie in (`--labels_from=folder`).

Action data sets keep a class per folder (UCF101: `<root>/<Class>/<video>.avi`): a
video's class is the name of its parent folder. `check_class_folders` refuses, before any
video is prepared, a video that lies directly in a folder given as `--input` (or in the
fixed folder of a glob): it has no class folder. Labels are 0-based, in sorted class-name
order over every video found (prepared or failed, so a failure never renumbers the
others): vgan-finetune's default `--label_base=0` reads them. `write_class_index` writes
them as `classes.txt`, in the form of UCF101's classInd.txt ("<label> <ClassName>" per
line) but 0-based; the class name is the rest of the line (it may hold spaces).
"""
from __future__ import annotations

import os
import posixpath
import re

import tensorflow as tf

from vgan_tf.data.prepare import video

CLASS_INDEX_NAME = "classes.txt"
_GLOB = re.compile(r"[*?\[]")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def class_of(path: str) -> str:
    """The name of the folder a video lies in; ValueError naming the video when it has
    none, or when the name holds a line break (it could not be one line of a list)."""
    parts = re.split(r"[\\/]", path.rstrip("/"))
    name = parts[-2] if len(parts) >= 2 else ""
    if not name or name.endswith(":") or name in (".", ".."):
        raise ValueError(f"--labels_from=folder: video {path!r} is in no class folder "
                         "(expected <root>/<Class>/<video>)")
    if "\n" in name or "\r" in name:
        raise ValueError(f"--labels_from=folder: class folder {name!r} of video {path!r} "
                         "has a line break in its name")
    return name


def _folder(path: str) -> str:
    if _SCHEME.match(path):
        return posixpath.normpath(path.rstrip("/").split("://", 1)[1])
    return os.path.normpath(os.path.abspath(path))


def _root(item: str):
    """The folder an input's videos are searched from: the input itself for a folder,
    the fixed part of a glob; None for a list file or a single video."""
    match = _GLOB.search(item)
    if match:
        fixed = item[:match.start()]
        return fixed[:max(fixed.rfind("/"), fixed.rfind("\\")) + 1] or "."
    return item if tf.io.gfile.isdir(item) else None


def check_class_folders(found) -> None:
    """`found`: (input, its video paths) pairs (corpus.find_videos_per_input). Raises
    ValueError naming the first video without a class folder."""
    for item, paths in found:
        root = _root(str(item))
        for path in paths:
            class_of(path)
            parent = re.split(r"[\\/]", path.rstrip("/"))[:-1]
            if root is not None and _folder("/".join(parent)) == _folder(root):
                raise ValueError(f"--labels_from=folder: video {path!r} lies directly in "
                                 f"the input folder {root!r}; put each video in a folder "
                                 "named after its class (<root>/<Class>/<video>)")


def class_labels(video_paths) -> dict:
    """{class name: 0-based label}, classes in sorted name order."""
    names = sorted({class_of(path) for path in video_paths})
    return {name: label for label, name in enumerate(names)}


def write_class_index(path: str, classes: dict) -> None:
    """Writes `classes` ({name: label}) as "<label> <name>" lines, atomically."""
    text = "".join(f"{label} {name}\n"
                   for name, label in sorted(classes.items(), key=lambda kv: kv[1]))
    video.write_atomically(path, text, "w")
