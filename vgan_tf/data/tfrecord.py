"""TFRecord shards, the record format: the strips of a list, packed into a few large files.

A cluster reads a few hundred large files far better than millions of small ones (one
open and one sequential read per shard; gs:// charges per request). Each record is a
tf.train.Example with
  strip  bytes   the JPEG strip, unchanged (no re-encoding)
  label  int64   the list's class label, -1 where the line had none
  path   bytes   the strip's path relative to the data root (names it in log lines)
Shard i of n holds list entries i, i + n, i + 2n, ... in list order, so the same list
gives byte-identical shards, in any process: a record is serialized with its features
(a protobuf map) in key order (protobuf's upb backend otherwise orders a map by a hash
seeded per process). The converter is shard_writer.py; the reader, pipeline.py
(a ShardSource).
"""
from __future__ import annotations

import tensorflow as tf

FEATURES = {
    "strip": tf.io.FixedLenFeature([], tf.string),
    "label": tf.io.FixedLenFeature([], tf.int64, default_value=-1),
    "path": tf.io.FixedLenFeature([], tf.string, default_value=""),
}


def parse_record(record):
    """In-graph: serialized Example -> {strip, label, path}."""
    return tf.io.parse_single_example(record, FEATURES)


def make_example(strip: bytes, label: int, path: str) -> bytes:
    feature = {
        "strip": tf.train.Feature(bytes_list=tf.train.BytesList(value=[strip])),
        "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(label)])),
        "path": tf.train.Feature(bytes_list=tf.train.BytesList(value=[path.encode()])),
    }
    example = tf.train.Example(features=tf.train.Features(feature=feature))
    return example.SerializeToString(deterministic=True)  # map keys sorted: see below


def shard_name(prefix: str, index: int, num_shards: int) -> str:
    return f"{prefix}-{index:05d}-of-{num_shards:05d}.tfrecord"


def expand_shards(shard_patterns) -> list:
    """Sorted shard files for a path, glob pattern or sequence; errors name the pattern."""
    if isinstance(shard_patterns, (str, bytes)):
        shard_patterns = [shard_patterns]
    files = []
    for pattern in shard_patterns:
        pattern = pattern.decode() if isinstance(pattern, bytes) else str(pattern)
        matches = sorted(tf.io.gfile.glob(pattern))
        if not matches:
            raise FileNotFoundError(f"TFRecord shard pattern {pattern!r} matches no file")
        files.extend(matches)
    return files
