"""Input data: JPEG strips, list files, TFRecord shards, synthetic scenes, tf.data pipelines.

Modules: `lists` (list files), `strips` (the strip codec, NumPy and in-graph), `checks`
(in-graph validation and skip counters), `pipeline` (tf.data pipelines), `synthetic`
(the embedded synthetic data set). Never imports vgan_tf.models.
"""
