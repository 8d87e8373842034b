"""List files: which strips make up a data set, and their optional class labels.

Format (the original release's): UTF-8 text (a byte-order mark is allowed), one entry per
line, the first whitespace-separated token is a strip path relative to a data root, an
optional second token is an integer class label (used by action recognition). Blank lines
and `#` comments (a line whose first token starts with `#`, or anything after a token that
starts with `#`) are ignored. As in the original loaders, tokens after the path are read
only when labels are asked for (`ClipList.class_labels`): a list with other columns works
for unlabelled training, and its labels are checked (present, integer, in range) only by
the tasks that use them.

Paths are refused when they could read outside the data root: absolute paths, URLs
(`gs://...`) and `..` components that climb above the root; and paths the pipeline could
misread: glob characters, backslashes (separators are '/'), NUL bytes. The root itself may be any
location `tf.io.gfile` knows (local, gs://, ...).
"""
from __future__ import annotations

import dataclasses
import os
import posixpath
import re
import stat
from typing import Iterable, Sequence

import tensorflow as tf

NO_LABEL = -1
"""Label value of an entry whose line has no integer second token."""

_GLOB_CHARS = re.compile(r"[*?\[\\]")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")


@dataclasses.dataclass(frozen=True)
class ClipList:
    """Entries of one or more list files.

    `paths` are relative to the data root (normalised, '/'-separated); `tokens` holds the
    raw second token of each line (None where there was none); `sources` names the list
    file and line of each entry, for error messages. `labels` is one int per path: the
    second token where it is a non-negative integer, NO_LABEL elsewhere.
    """

    paths: tuple
    tokens: tuple
    sources: tuple

    def __len__(self):
        return len(self.paths)

    @property
    def labels(self) -> tuple:
        return tuple(_as_label(token) for token in self.tokens)

    def class_labels(self, label_base: int = 0, num_classes: int | None = None) -> tuple:
        """The 0-based class of every entry: its second token minus `label_base` (1 for
        1-based lists such as UCF101's). Raises ValueError naming the file and line of the
        first entry whose label is missing, not an integer, or out of [0, num_classes)."""
        result = []
        for token, source in zip(self.tokens, self.sources):
            if token is None:
                raise ValueError(f"{source}: entry has no class label (second token), but "
                                 "labels were requested")
            try:
                label = int(token) - label_base
            except ValueError:
                raise ValueError(f"{source}: class label {token!r} is not an integer (list "
                                 "entries are 'path label'; a path cannot contain "
                                 "whitespace)") from None
            if label < 0:
                raise ValueError(f"{source}: class label {token} is below the first class "
                                 f"{label_base}" + (" (1-based list? use label_base=1)"
                                                    if label_base == 0 and label == -1
                                                    else ""))
            if num_classes is not None and label >= num_classes:
                raise ValueError(f"{source}: class label {token} is out of range for "
                                 f"{num_classes} classes numbered from {label_base}")
            result.append(label)
        return tuple(result)

    def resolve(self, data_root: str | None = None) -> list:
        """The full path of every entry, in order: `data_root` + '/' + entry, or, when
        `data_root` is None or empty, the directory of the list file that names the entry
        + '/' + entry. Any tf.io.gfile scheme works for either."""
        if data_root:
            return [join_root(data_root, path) for path in self.paths]
        return [join_root(_list_dir(source), path)
                for path, source in zip(self.paths, self.sources)]


def label_subset(entries: ClipList, fraction: float, seed: int = 0, label_base: int = 0,
                 num_classes: int | None = None) -> ClipList:
    """`fraction` of the entries of every class, drawn with `seed` (at least one per class),
    in list order: the few-label training sets of the representation experiments.

    Raises ValueError for a fraction outside (0, 1], and naming the class when
    `num_classes` is given and a class has no entry at all.
    """
    import numpy as np

    if not 0 < fraction <= 1:
        raise ValueError(f"label fraction must be in (0, 1], got {fraction!r}")
    labels = np.asarray(entries.class_labels(label_base, num_classes))
    if num_classes is not None:
        empty = sorted(set(range(num_classes)) - set(labels.tolist()))
        if empty:
            raise ValueError(f"class {empty[0] + label_base} has no entry in the list "
                             f"({len(empty)} empty class(es)); a class needs at least one "
                             "labelled clip")
    rng = np.random.default_rng(seed)
    keep = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        count = max(1, int(round(fraction * len(members))))
        keep.extend(rng.choice(members, size=count, replace=False).tolist())
    keep = sorted(keep)
    return ClipList(tuple(entries.paths[i] for i in keep),
                    tuple(entries.tokens[i] for i in keep),
                    tuple(entries.sources[i] for i in keep))


def not_regular_files(paths: Sequence[str]) -> list:
    """One bool per resolved path: True where a local path names something that exists
    and is not a regular file (after symbolic links): a directory, a named pipe (FIFO), a
    socket or a device; or a regular file this process may not read (os.access), whose
    read would fail before any check and vanish uncounted. The pipeline refuses those as
    `not_a_file` without opening them (opening a pipe blocks until a writer comes). One
    os.stat per local path, when the pipeline is made (and os.access for the regular
    files); paths with a scheme (gs://, ...) are not looked at (object stores hold no
    pipes) and missing ones are left to the pipeline's own check (`missing`)."""
    flags = []
    for path in paths:
        if _SCHEME.match(path):
            flags.append(False)
            continue
        try:
            mode = os.stat(path).st_mode
        except (OSError, ValueError):
            flags.append(False)
            continue
        flags.append(not stat.S_ISREG(mode) or not os.access(path, os.R_OK))
    return flags


def _as_label(token) -> int:
    try:
        label = int(token)
    except (TypeError, ValueError):
        return NO_LABEL
    return label if label >= 0 else NO_LABEL


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
    if "\x00" in path:
        raise ValueError(f"{where}: path {path!r} contains a NUL byte")
    if _SCHEME.match(path) or path.startswith(("/", "\\")) or _WINDOWS_DRIVE.match(path):
        raise ValueError(f"{where}: absolute path {path!r} refused; list entries must be "
                         "relative to the data root")
    if "\\" in path:
        raise ValueError(f"{where}: path {path!r} contains a backslash; list entries use "
                         "'/' as the separator")
    normal = posixpath.normpath(path)
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
    paths, seconds, sources = [], [], []
    text = text[1:] if text.startswith("\ufeff") else text  # a UTF-8 byte-order mark
    for number, line in enumerate(text.split("\n"), start=1):
        tokens = []
        for token in line.split():
            if token.startswith("#"):
                break
            tokens.append(token)
        if not tokens:
            continue
        where = f"{name}:{number}"
        paths.append(check_relative_path(tokens[0], where))
        seconds.append(tokens[1] if len(tokens) > 1 else None)
        sources.append(where)
    return ClipList(tuple(paths), tuple(seconds), tuple(sources))


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
    paths, tokens, sources = [], [], []
    for name in expand_list_files(list_files):
        with tf.io.gfile.GFile(name, "rb") as f:
            parsed = parse_list(_utf8(f.read(), name), name)
        if not parsed.paths:
            raise ValueError(f"list file {name!r} has no entries (only blank lines or "
                             "comments)")
        paths.extend(parsed.paths)
        tokens.extend(parsed.tokens)
        sources.extend(parsed.sources)
    return ClipList(tuple(paths), tuple(tokens), tuple(sources))


def _utf8(data: bytes, name: str) -> str:
    """The text of a list file; ValueError naming the file and line if it is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ValueError(f"{name}:{line}: not UTF-8 text (byte 0x{data[error.start]:02x} at "
                         f"offset {error.start}); save the list file as UTF-8") from None


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
