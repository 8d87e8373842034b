"""Input data: JPEG strips, list files, TFRecord shards, synthetic scenes, tf.data pipelines.

Modules: `lists` (list files), `strips` (the strip codec, NumPy and in-graph), `checks`
(in-graph validation and skip counters), `pipeline` (tf.data pipelines), `tfrecord`
(shards and the converter), `service` (tf.data service), `synthetic` (the embedded
synthetic data set). See docs/data.md. Never imports vgan_tf.models.
"""
