"""Serving signatures of the exported generator, built from `vgan_tf.serving.api`.

Every signature is a `tf.function` on `GeneratorServingModule` with named, batch-first
inputs, so TF Serving's batching and the REST/gRPC APIs see one row per video. The names,
dtypes and shapes are those of `api.GENERATOR_SIGNATURES` (a test compares the
SignatureDefs with it):

  serving_default      seed int64 [b] -> video uint8 [b,T,H,W,3], mask uint8 [b,T,H,W,1],
                       background uint8 [b,H,W,3]
  generate_from_z      z float32 [b,latent] -> same outputs as serving_default
  generate_float       z float32 [b,latent] -> video, mask, background float32 (video and
                       background in [-1, 1], mask in [0, 1]): the Keras model's outputs
  generate_jpeg_strip  seed int64 [b] -> strip_bytes string [b]: JPEG, frames stacked
                       vertically ([T*H, W, 3])
  generate_gif         seed int64 [b] -> gif_bytes string [b]: looping animated GIF
                       (fixed 3-3-2 palette, dithered; see gif.py)

A seed names a video: its latent is `vgan_tf.sampling.latents_for_seeds`, drawn per row, so
seed s gives `sample(generator, 1, seed=s)` whatever batch it is served in. Batches must
hold 1 .. max_batch rows; the check runs inside the graph (INVALID_ARGUMENT), so a real
`tensorflow_model_server` enforces it too.

New models get a serving module of their own here, with their signatures described in
`vgan_tf.serving.api`, and are exported by `writer.export_*`.
"""
from __future__ import annotations

import tensorflow as tf

from vgan_tf import sampling, validation
from vgan_tf.export import gif
from vgan_tf.serving import api

STRIP_JPEG_QUALITY = 90
GIF_FPS = 8.0


def _check_batch(batch_size, max_batch: int):
    """Graph-side guard: 1 <= batch <= max_batch, else InvalidArgumentError."""
    return tf.debugging.Assert(
        tf.logical_and(batch_size >= 1, batch_size <= max_batch),
        [f"batch size must be between 1 and {max_batch} rows; got", batch_size])


MAX_ABS_Z = 1e4
"""Largest |z| a request may hold: latents are N(0, 1) draws; far larger values overflow
the network to inf/NaN (answered INVALID_ARGUMENT instead of black or NaN videos)."""


def check_latents(z, latent_dim: int):
    """Graph-side guards on a fed z: rank 2 and width latent_dim (a real model server does
    not check fed shapes against the signature, and the generator would otherwise reshape
    [1, n * latent] into n videos past the batch guard), every value finite and at most
    MAX_ABS_Z in magnitude. InvalidArgumentError naming `z` otherwise."""
    shape = tf.shape(z)
    good_shape = tf.equal(tf.rank(z), 2) & tf.equal(shape[-1], latent_dim)
    shape_ok = tf.debugging.Assert(good_shape, [
        f"input z must be [batch, {latent_dim}] (rank 2, {latent_dim} values per row); got "
        "shape", shape])
    with tf.control_dependencies([shape_ok]):
        values_ok = tf.debugging.Assert(tf.reduce_all(tf.abs(z) <= MAX_ABS_Z), [
            f"input z must hold finite values of magnitude at most {MAX_ABS_Z:g} (N(0, 1) "
            "latents); got NaN, infinity or a value beyond that"])
    return [shape_ok, values_ok]


class GeneratorServingModule(tf.Module):
    """Wraps a built video generator (e.g. `TwoStreamGenerator`) with serving signatures.

    `generator` must have `latent_dim`, `video_shape` and `generate_parts(z, training)`
    returning at least "video" [b,T,H,W,3] in [-1, 1]; "mask" [b,T,H,W,1] in [0, 1] and
    "background" [b,H,W,3] are used when present (a one-stream generator serves a mask of
    255 and the first frame as background).
    """

    def __init__(self, generator, max_batch: int = api.MAX_BATCH):
        super().__init__(name="generator_serving")
        validation.positive_int("max_batch", max_batch)
        self.generator = generator
        self.max_batch = int(max_batch)
        frames, height, width, _ = generator.video_shape
        self._sizes = dict(frames=frames, height=height, width=width,
                           latent_dim=int(generator.latent_dim))
        implementations = {
            api.SERVING_DEFAULT: self._from_seed, api.GENERATE_FROM_Z: self._from_z,
            api.GENERATE_FLOAT: self._float_parts, api.GENERATE_JPEG_STRIP: self._jpeg_strip,
            api.GENERATE_GIF: self._gif}
        for name, signature in api.GENERATOR_SIGNATURES.items():
            specs = [tf.TensorSpec([None, *tensor.batch_shape(**self._sizes)[1:]],
                                   tensor.dtype, name=input_name)
                     for input_name, tensor in signature.inputs.items()]
            setattr(self, name, tf.function(implementations[name], input_signature=specs))

    def signatures(self) -> dict:
        """signature name -> concrete function, for `tf.saved_model.save(signatures=...)`."""
        return {name: getattr(self, name).get_concrete_function()
                for name in api.GENERATOR_SIGNATURES}

    # -- shared pieces ------------------------------------------------------------------
    def _latents(self, seed):
        with tf.control_dependencies([_check_batch(tf.size(seed), self.max_batch)]):
            seed = tf.identity(seed)
        return sampling.latents_for_seeds(seed, self.generator.latent_dim)

    def _float_parts(self, z):
        with tf.control_dependencies(check_latents(z, self.generator.latent_dim)):
            batch_ok = _check_batch(tf.shape(z)[0], self.max_batch)
        with tf.control_dependencies([batch_ok]):
            z = tf.identity(z)
        parts = self.generator.generate_parts(z, training=False)
        video = tf.cast(parts["video"], tf.float32)
        mask = parts.get("mask")
        mask = tf.ones_like(video[..., :1]) if mask is None else tf.cast(mask, tf.float32)
        background = parts.get("background")
        background = video[:, 0] if background is None else tf.cast(background, tf.float32)
        return {api.VIDEO: video, api.MASK: mask, api.BACKGROUND: background}

    def _uint8_parts(self, z):
        parts = self._float_parts(z)
        return {api.VIDEO: sampling.to_uint8(parts[api.VIDEO], -1.0, 1.0),
                api.MASK: sampling.to_uint8(parts[api.MASK], 0.0, 1.0),
                api.BACKGROUND: sampling.to_uint8(parts[api.BACKGROUND], -1.0, 1.0)}

    # -- signatures ---------------------------------------------------------------------
    def _from_seed(self, seed):
        return self._uint8_parts(self._latents(seed))

    def _from_z(self, z):
        return self._uint8_parts(z)

    def _jpeg_strip(self, seed):
        video = self._uint8_parts(self._latents(seed))[api.VIDEO]
        frames, height, width, _ = self.generator.video_shape
        strips = tf.reshape(video, [-1, frames * height, width, 3])
        encoded = tf.map_fn(
            lambda strip: tf.io.encode_jpeg(strip, quality=STRIP_JPEG_QUALITY),
            strips, fn_output_signature=tf.TensorSpec([], tf.string))
        return {api.STRIP_BYTES: encoded}

    def _gif(self, seed):
        video = self._uint8_parts(self._latents(seed))[api.VIDEO]
        encoded = tf.map_fn(lambda one: gif.encode_gif(one, GIF_FPS), video,
                            fn_output_signature=tf.TensorSpec([], tf.string))
        return {api.GIF_BYTES: encoded}
