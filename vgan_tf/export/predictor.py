"""Serving signatures of the exported future predictor, built from `vgan_tf.serving.api`
(`api.PREDICTOR_SIGNATURES`; a test compares the SignatureDefs with it):

  serving_default     image_bytes string [b] (JPEG, PNG, GIF or BMP of any size; decoded,
                      centre-cropped and resized in the graph, see images.py) -> video
                      uint8 [b,T,H,W,3], mask uint8 [b,T,H,W,1], background uint8 [b,H,W,3]
  predict_from_image  image uint8 [b,H,W,3] (the model size) -> the same outputs
  predict_jpeg_strip  image_bytes -> strip_bytes string [b] (frames stacked vertically)
  predict_gif         image_bytes -> gif_bytes string [b] (looping animated GIF)

An input image x (uint8) enters the network as x / 127.5 - 1, as the training clips do.
Bad rows of image_bytes fail inside the graph with INVALID_ARGUMENT naming the input; the
batch guard (1 .. max_batch rows) runs in the graph too.
"""
from __future__ import annotations

import tensorflow as tf

from vgan_tf import sampling, validation
from vgan_tf.export import gif, images
from vgan_tf.export.signatures import GIF_FPS, STRIP_JPEG_QUALITY, _check_batch
from vgan_tf.serving import api


class PredictorServingModule(tf.Module):
    """Wraps a built FuturePredictor (anything with `video_shape` and
    `generate_parts(image, training)` returning "video", "mask", "background")."""

    def __init__(self, predictor, max_batch: int = api.MAX_BATCH, crop: str = "centre"):
        super().__init__(name="predictor_serving")
        validation.positive_int("max_batch", max_batch)
        self.predictor = predictor
        self.max_batch = int(max_batch)
        self.crop = images.check_crop(crop)
        frames, height, width, _ = predictor.video_shape
        self.frames, self.size = frames, height
        sizes = dict(frames=frames, height=height, width=width)
        implementations = {
            api.SERVING_DEFAULT: self._from_bytes, api.PREDICT_FROM_IMAGE: self._from_image,
            api.PREDICT_JPEG_STRIP: self._jpeg_strip, api.PREDICT_GIF: self._gif}
        for name, signature in api.PREDICTOR_SIGNATURES.items():
            specs = [tf.TensorSpec([None, *tensor.batch_shape(**sizes)[1:]], tensor.dtype,
                                   name=input_name)
                     for input_name, tensor in signature.inputs.items()]
            setattr(self, name, tf.function(implementations[name], input_signature=specs))

    def signatures(self) -> dict:
        return {name: getattr(self, name).get_concrete_function()
                for name in api.PREDICTOR_SIGNATURES}

    def _guard(self, batch):
        with tf.control_dependencies([_check_batch(tf.shape(batch)[0], self.max_batch)]):
            return tf.identity(batch)

    def _decode(self, image_bytes):
        image_bytes = self._guard(image_bytes)
        return tf.map_fn(lambda data: images.decode_image_bytes(data, self.size, self.crop),
                         image_bytes,
                         fn_output_signature=tf.TensorSpec([self.size, self.size, 3],
                                                           tf.uint8))

    def _uint8_parts(self, image_uint8):
        parts = self.predictor.generate_parts(images.to_model_range(image_uint8),
                                              training=False)
        return {api.VIDEO: sampling.to_uint8(parts["video"], -1.0, 1.0),
                api.MASK: sampling.to_uint8(parts["mask"], 0.0, 1.0),
                api.BACKGROUND: sampling.to_uint8(parts["background"], -1.0, 1.0)}

    def _from_bytes(self, image_bytes):
        return self._uint8_parts(self._decode(image_bytes))

    def _from_image(self, image):
        return self._uint8_parts(self._guard(image))

    def _jpeg_strip(self, image_bytes):
        video = self._from_bytes(image_bytes)[api.VIDEO]
        strips = tf.reshape(video, [-1, self.frames * self.size, self.size, 3])
        encoded = tf.map_fn(lambda s: tf.io.encode_jpeg(s, quality=STRIP_JPEG_QUALITY),
                            strips, fn_output_signature=tf.TensorSpec([], tf.string))
        return {api.STRIP_BYTES: encoded}

    def _gif(self, image_bytes):
        video = self._from_bytes(image_bytes)[api.VIDEO]
        encoded = tf.map_fn(lambda one: gif.encode_gif(one, GIF_FPS), video,
                            fn_output_signature=tf.TensorSpec([], tf.string))
        return {api.GIF_BYTES: encoded}
