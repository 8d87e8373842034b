"""Input data: JPEG strips, list files, TFRecord shards, synthetic scenes, tf.data pipelines.

Data flows one way through the modules: `lists` (list files) -> `strips` (the strip codec,
NumPy and in-graph) -> `checks` (in-graph validation and skip counters) -> `tfrecord` (the
shard record format) -> `options` (ClipOptions, ReadOptions) and `sources` (ListSource,
ShardSource) -> `pipeline` (tf.data pipelines); `shard_writer` (lists -> shards),
`service` (tf.data service) and `synthetic` (the embedded synthetic data set) sit beside
them. See docs/data.md. Never imports vgan_tf.models.

    from vgan_tf import data
    ds = data.video_dataset(data.ListSource("train.txt", "/data"),
                            data.ClipOptions(frames=32, size=64), batch_size=64,
                            options=data.ReadOptions(seed=0))
"""
from vgan_tf.data.checks import SkipCounter
from vgan_tf.data.lists import read_lists, write_list
from vgan_tf.data.options import ClipOptions, ReadOptions
from vgan_tf.data.pipeline import clip_dataset, distributed_input_fn, video_dataset
from vgan_tf.data.service import ServiceConfig
from vgan_tf.data.shard_writer import ShardReport, write_shards
from vgan_tf.data.sources import ListSource, ShardSource
from vgan_tf.data.strips import read_strip, write_strip
from vgan_tf.data.synthetic import write_synthetic_dataset

__all__ = ["ClipOptions", "ListSource", "ReadOptions", "ServiceConfig", "ShardReport",
           "ShardSource", "SkipCounter", "clip_dataset", "distributed_input_fn", "read_lists",
           "read_strip", "video_dataset", "write_list", "write_shards", "write_strip",
           "write_synthetic_dataset"]
