"""List files: which strips make up a data set, and their optional class labels.

Format (the original release's): one entry per line, the first whitespace-separated token is
a strip path relative to a data root, an optional second token is an integer class label
(used by action recognition). Blank lines and `#` comments (a line whose first token starts
with `#`, or anything after a token that starts with `#`) are ignored.

Paths are refused when they could read outside the data root: absolute paths, URLs
(`gs://...`) and `..` components that climb above the root. The root itself may be any
location `tf.io.gfile` knows (local, gs://, ...).
"""
from __future__ import annotations

import dataclasses
import os
import posixpath
import re
from typing import Iterable, Sequence

import tensorflow as tf

NO_LABEL = -1
"""Label value of an entry whose line has no second token."""

_GLOB_CHARS = re.compile(r"[*?\[\\]")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")


@dataclasses.dataclass(frozen=True)
class ClipList:
    """Entries of one or more list files.

    `paths` are relative to the data root (normalised, '/'-separated); `labels` holds one
    int per path (NO_LABEL where the line had none); `sources` names the list file and line
    of each entry, for error messages.
    """

    paths: tuple
    labels: tuple
    sources: tuple

    def __len__(self):
        return len(self.paths)

    def require_labels(self):
        """Raises ValueError naming the first entry without a label."""
        for label, source in zip(self.labels, self.sources):
            if label == NO_LABEL:
                raise ValueError(f"{source}: entry has no class label (second token), but "
                                 "labels were requested")

    def resolve(self, data_root: str | None = None) -> list:
        """The full path of every entry, in order: `data_root` + '/' + entry, or, when
        `data_root` is None or empty, the directory of the list file that names the entry
        + '/' + entry. Any tf.io.gfile scheme works for either."""
        if data_root:
            return [join_root(data_root, path) for path in self.paths]
        return [join_root(_list_dir(source), path)
                for path, source in zip(self.paths, self.sources)]


def _list_dir(source: str) -> str:
    """The directory of the list file of a `sources` entry ('<list file>:<line>')."""
    list_file = source.rsplit(":", 1)[0]
    if _SCHEME.match(list_file):
        return posixpath.dirname(list_file)
    return os.path.dirname(list_file)


def join_root(data_root: str, relative: str) -> str:
    """`data_root` + '/' + `relative`, for local paths and any tf.io.gfile scheme."""
    if not data_root:
        return relative
    if _SCHEME.match(data_root):
        return data_root.rstrip("/") + "/" + relative
    return os.path.join(data_root, relative)


def check_relative_path(path: str, where: str) -> str:
    """Returns the normalised relative path, or raises ValueError naming `where`.

    Glob characters are refused too, because the pipeline probes existence with a glob op.
    """
    if _SCHEME.match(path) or path.startswith(("/", "\\")) or _WINDOWS_DRIVE.match(path):
        raise ValueError(f"{where}: absolute path {path!r} refused; list entries must be "
                         "relative to the data root")
    normal = posixpath.normpath(path.replace("\\", "/"))
    if normal == ".." or normal.startswith("../"):
        raise ValueError(f"{where}: path {path!r} leaves the data root ('..' above it)")
    if normal == ".":
        raise ValueError(f"{where}: path {path!r} names the data root itself, not a strip")
    if _GLOB_CHARS.search(normal):
        raise ValueError(f"{where}: path {path!r} contains a glob character (* ? [ \\); "
                         "rename the file")
    return normal


def parse_list(text: str, name: str) -> ClipList:
    """Parses the contents of one list file called `name` (used in messages)."""
    paths, labels, sources = [], [], []
    for number, line in enumerate(text.splitlines(), start=1):
        tokens = []
        for token in line.split():
            if token.startswith("#"):
                break
            tokens.append(token)
        if not tokens:
            continue
        where = f"{name}:{number}"
        paths.append(check_relative_path(tokens[0], where))
        if len(tokens) > 1:
            try:
                label = int(tokens[1])
            except ValueError:
                raise ValueError(f"{where}: class label {tokens[1]!r} is not an integer") \
                    from None
            if label < 0:
                raise ValueError(f"{where}: class label {label} is negative")
            labels.append(label)
        else:
            labels.append(NO_LABEL)
        sources.append(where)
    return ClipList(tuple(paths), tuple(labels), tuple(sources))


def expand_list_files(list_files) -> list:
    """Expands a path, a glob pattern, or a sequence of them into sorted existing files.

    Raises FileNotFoundError naming a pattern that matches nothing.
    """
    if isinstance(list_files, (str, bytes)):
        list_files = [list_files]
    if not list_files:
        raise ValueError("no list file given")
    found = []
    for pattern in list_files:
        pattern = pattern.decode() if isinstance(pattern, bytes) else str(pattern)
        if _GLOB_CHARS.search(pattern):
            matches = sorted(tf.io.gfile.glob(pattern))
            if not matches:
                raise FileNotFoundError(f"list file pattern {pattern!r} matches no file")
            found.extend(matches)
        else:
            if not tf.io.gfile.exists(pattern):
                raise FileNotFoundError(f"list file {pattern!r} does not exist")
            if tf.io.gfile.isdir(pattern):
                raise ValueError(f"list file {pattern!r} is a directory")
            found.append(pattern)
    return found


def read_lists(list_files) -> ClipList:
    """Reads one or more list files (paths or glob patterns), in the order given.

    Raises FileNotFoundError for a missing file or a pattern with no match, and ValueError
    naming the file for a list with no entries (after comments and blank lines) or a bad
    line.
    """
    paths, labels, sources = [], [], []
    for name in expand_list_files(list_files):
        with tf.io.gfile.GFile(name, "r") as f:
            parsed = parse_list(f.read(), name)
        if not parsed.paths:
            raise ValueError(f"list file {name!r} has no entries (only blank lines or "
                             "comments)")
        paths.extend(parsed.paths)
        labels.extend(parsed.labels)
        sources.extend(parsed.sources)
    return ClipList(tuple(paths), tuple(labels), tuple(sources))


def write_list(path: str, entries: Sequence[str], labels: Iterable[int] | None = None,
               header: str | None = None) -> str:
    """Writes a list file: one relative path per line, optionally a label as second token.

    Entries are validated as the reader would; `header` becomes `#` comment lines.
    """
    entries = [check_relative_path(str(e), f"{path}: entry {i}") for i, e in
               enumerate(entries)]
    lines = [f"# {line}" for line in header.splitlines()] if header else []
    if labels is None:
        lines.extend(entries)
    else:
        labels = [int(label) for label in labels]
        if len(labels) != len(entries):
            raise ValueError(f"{path}: {len(entries)} entries but {len(labels)} labels")
        lines.extend(f"{e} {label}" for e, label in zip(entries, labels))
    parent = posixpath.dirname(path) if _SCHEME.match(path) else os.path.dirname(path)
    if parent:
        tf.io.gfile.makedirs(parent)
    with tf.io.gfile.GFile(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path
