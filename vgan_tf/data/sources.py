"""Where the strips are: list files under a data root (`ListSource`) or TFRecord shards
(`ShardSource`). The first argument of the pipeline functions; both give the same clips.
"""
from __future__ import annotations

import dataclasses

from vgan_tf.data import lists, tfrecord
from vgan_tf.data.options import optional_positive_int


def _patterns(value, what: str) -> tuple:
    """A path, glob pattern or sequence of them -> a tuple of str (bytes decoded)."""
    if isinstance(value, (str, bytes)):
        value = [value]
    try:
        items = tuple(v.decode() if isinstance(v, bytes) else str(v) for v in value)
    except TypeError:
        raise ValueError(f"{what} must be a path, a glob pattern or a sequence of them, got "
                         f"{value!r}") from None
    if not items or not all(items):
        raise ValueError(f"{what} must name at least one non-empty path or pattern, got "
                         f"{value!r}")
    return items


@dataclasses.dataclass(frozen=True)
class ListSource:
    """Strips named by list files (lists.py's format).

    list_files: a path, glob pattern or sequence of them (read in the order given, each
    pattern's matches sorted). data_root: what list entries are relative to (local or any
    tf.io.gfile scheme); None (or '') means the directory of each entry's list file.
    """

    list_files: tuple
    data_root: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "list_files", _patterns(self.list_files, "list_files"))

    def read(self) -> lists.ClipList:
        """The entries of the list files (raises naming a missing file or a bad line)."""
        return lists.read_lists(self.list_files)


@dataclasses.dataclass(frozen=True)
class ShardSource:
    """Strips packed into TFRecord shards (tfrecord.py's format, written by
    shard_writer.write_shards).

    patterns: a path, glob pattern or sequence of them (any tf.io.gfile scheme).
    cycle_length: shard files read at once (interleaved); None: min(files, 8).
    """

    patterns: tuple
    cycle_length: int | None = None

    def __post_init__(self):
        object.__setattr__(self, "patterns", _patterns(self.patterns, "shard patterns"))
        object.__setattr__(self, "cycle_length", optional_positive_int(
            "cycle_length", self.cycle_length))

    def files(self) -> list:
        """The shard files, sorted per pattern (FileNotFoundError naming an empty pattern)."""
        return tfrecord.expand_shards(self.patterns)
