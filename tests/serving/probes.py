"""Small models served beside the generator, what the tests send them, and the lines the
client binary prints."""
import io
import re

import numpy as np
import tensorflow as tf
from PIL import Image

from vgan_tf import config

SIZES = config.TINY
BIG_PAYLOAD_BYTES = 5 << 20  # over gRPC's 4 MiB default receive limit
CALL_LINE = re.compile(r"^call (\d+): (\d+) videos? in \d+\.\d ms$")
SUMMARY_LINE = re.compile(r"^(\d+) calls, (\d+) videos in \d+\.\d{3} s of calls: "
                          r"\d+\.\d\d videos/s, \d+\.\d\d calls/s; latency mean \d+\.\d ms, "
                          r"p50 \d+\.\d ms, p90 \d+\.\d ms$")


class ImageProbe(tf.Module):
    """A stand-in for the future predictor's `image_bytes` input: decodes inside."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")])
    def serve(self, image_bytes):
        def mean(data):
            image = tf.io.decode_image(data, channels=3, expand_animations=False)
            return tf.reduce_mean(tf.cast(image, tf.float32))
        return {"mean": tf.map_fn(mean, image_bytes, fn_output_signature=tf.float32)}


class BigProbe(tf.Module):
    """rows int64 [b] -> payload uint8 [b, 5 MiB]: a response over gRPC's default limit."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int64, name="rows")])
    def serve(self, rows):
        return {"payload": tf.zeros([tf.size(rows), BIG_PAYLOAD_BYTES], tf.uint8)}


def png(value=200) -> bytes:
    """A 4x4 PNG of one grey level."""
    buffer = io.BytesIO()
    Image.fromarray(np.full([4, 4, 3], value, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()
