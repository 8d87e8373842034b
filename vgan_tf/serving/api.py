"""The serving API as data: model names, signatures, their tensors and the batch limit.

The one place these names and numbers are written: `vgan_tf.export` builds its signatures
and warm-up requests from it, the clients and tools/ use it, docs/serving.md describes it.
Plain Python (no TensorFlow, no numpy), so clients and tools import it for free.

A tensor is described per row: `row_shape` is the shape of one row, the batch dimension
in front is implicit (-1 in a SignatureDef). Symbolic sizes are strings ("frames",
"height", "width", "latent_dim"), resolved by `batch_shape` with the model's sizes.
"""
from __future__ import annotations

import dataclasses

MAX_BATCH = 256
"""Rows per request the exported models accept (1 .. MAX_BATCH; the graph checks it).
serving/batching.config's max_batch_size is the same number (a test checks)."""

GENERATOR_MODEL = "generator"
"""The served name (and export folder) of the video generator."""

# Signature names.
SERVING_DEFAULT = "serving_default"
GENERATE_FROM_Z = "generate_from_z"
GENERATE_FLOAT = "generate_float"
GENERATE_JPEG_STRIP = "generate_jpeg_strip"
GENERATE_GIF = "generate_gif"

# Tensor names.
SEED = "seed"
Z = "z"
VIDEO = "video"
MASK = "mask"
BACKGROUND = "background"
STRIP_BYTES = "strip_bytes"
GIF_BYTES = "gif_bytes"


@dataclasses.dataclass(frozen=True)
class Tensor:
    """One named input or output: `dtype` is a TensorFlow dtype name ("int64", "uint8",
    "float32", "string"); `row_shape` the shape of one row (ints or size names)."""

    dtype: str
    row_shape: tuple = ()

    def batch_shape(self, **sizes) -> list:
        """[-1, *row_shape] with size names replaced, e.g. batch_shape(frames=32, ...)."""
        try:
            return [-1] + [sizes[d] if isinstance(d, str) else d for d in self.row_shape]
        except KeyError as error:
            raise ValueError(f"size {error.args[0]!r} is needed for {self.row_shape}") \
                from None


@dataclasses.dataclass(frozen=True)
class Signature:
    """A serving signature: names -> Tensor for its inputs and outputs (ordered)."""

    name: str
    inputs: dict
    outputs: dict


_UINT8_PARTS = {
    VIDEO: Tensor("uint8", ("frames", "height", "width", 3)),
    MASK: Tensor("uint8", ("frames", "height", "width", 1)),
    BACKGROUND: Tensor("uint8", ("height", "width", 3)),
}
_FLOAT_PARTS = {  # video and background in [-1, 1], mask in [0, 1]: the Keras outputs
    name: dataclasses.replace(tensor, dtype="float32")
    for name, tensor in _UINT8_PARTS.items()}
_SEED_INPUT = {SEED: Tensor("int64")}
_Z_INPUT = {Z: Tensor("float32", ("latent_dim",))}

GENERATOR_SIGNATURES = {signature.name: signature for signature in (
    Signature(SERVING_DEFAULT, _SEED_INPUT, _UINT8_PARTS),
    Signature(GENERATE_FROM_Z, _Z_INPUT, _UINT8_PARTS),
    Signature(GENERATE_FLOAT, _Z_INPUT, _FLOAT_PARTS),
    Signature(GENERATE_JPEG_STRIP, _SEED_INPUT, {STRIP_BYTES: Tensor("string")}),
    Signature(GENERATE_GIF, _SEED_INPUT, {GIF_BYTES: Tensor("string")}),
)}
"""signature name -> Signature: what the exported generator serves (docs/serving.md)."""


# -- the future predictor (still image -> video) ---------------------------------------
PREDICTOR_MODEL = "predictor"
"""The served name (and export folder) of the future predictor."""

PREDICT_FROM_IMAGE = "predict_from_image"
PREDICT_JPEG_STRIP = "predict_jpeg_strip"
PREDICT_GIF = "predict_gif"

IMAGE_BYTES = "image_bytes"
IMAGE = "image"

CROPS = ("centre", "none")
"""How an image of another shape becomes the model's square input: the centre square
(default), or the whole image resized (aspect ratio not kept)."""

_IMAGE_BYTES_INPUT = {IMAGE_BYTES: Tensor("string")}
_IMAGE_INPUT = {IMAGE: Tensor("uint8", ("height", "width", 3))}

PREDICTOR_SIGNATURES = {signature.name: signature for signature in (
    Signature(SERVING_DEFAULT, _IMAGE_BYTES_INPUT, _UINT8_PARTS),
    Signature(PREDICT_FROM_IMAGE, _IMAGE_INPUT, _UINT8_PARTS),
    Signature(PREDICT_JPEG_STRIP, _IMAGE_BYTES_INPUT, {STRIP_BYTES: Tensor("string")}),
    Signature(PREDICT_GIF, _IMAGE_BYTES_INPUT, {GIF_BYTES: Tensor("string")}),
)}
"""signature name -> Signature: what the exported predictor serves. `image_bytes` rows are
JPEG, PNG, GIF or BMP files of any size, decoded, centre-cropped to a square and resized
to the model size inside the graph; `image` rows are uint8 images of the model size."""
