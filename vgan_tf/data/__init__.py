"""Input data: JPEG strips, list files, TFRecord shards, synthetic scenes, tf.data pipelines.

Each module imports only those listed before it: `control` (conds that run only the
branch taken), `lists` (list files), `tfrecord` (the shard record format), `options`
(ClipOptions, ReadOptions) and `service` (tf.data service) stand alone; then `checks`
(in-graph validation, skip counters); `verdicts` (the full checks' verdict cache: paid
once per strip); `scans` (whether a strip's scan is whole, probes libjpeg prints nothing
about for a good strip); `strips` (the strip codec, NumPy and in-graph: it cuts the clip a
ClipOptions describes); `sources` (ListSource, ShardSource); `forensics` (naming the
strips the decoder refuses and the reads that raise); `pipeline` (tf.data pipelines); and
`shard_writer` (lists -> shards), `corpus_check` (vgan-check-strips: a corpus checked
once, verdicts kept, a report), `synthetic` (the built-in synthetic data set) and
`ucf101` (UCF101's split lists), `sample_video` (OpenCV's vtest.avi, fetched and
checked). `prepare` (raw videos -> strips) is a package of its
own. See docs/data.md. Never imports vgan_tf.models.

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
