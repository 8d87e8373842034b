"""What the gRPC and REST clients share: errors, request checks, the generator's calls.

`Client.predict(inputs, signature_name)` is the general call of both clients: numpy arrays
in, numpy arrays out, with the dtypes of the signature (vgan_tf.serving.api). Errors
answered by a server come back as `ServingError` with TF Serving's status code name
("NOT_FOUND", "INVALID_ARGUMENT", ...); requests the exported model would reject for
their batch size are refused before sending, with a ValueError.
"""
from __future__ import annotations

import abc

import numpy as np

from vgan_tf.serving import api

DEFAULT_TIMEOUT_S = 120.0


class ServingError(RuntimeError):
    """An error answered by the server: `code` is the status name, e.g. "NOT_FOUND"."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def check_batch(batch: int, max_batch: int = api.MAX_BATCH) -> int:
    """Refuses batch sizes the exported model rejects (1 .. max_batch rows)."""
    if not isinstance(batch, (int, np.integer)) or isinstance(batch, bool):
        raise ValueError(f"batch size must be an integer, got {batch!r}")
    if batch < 1:
        raise ValueError(f"batch size must be at least 1, got {batch}")
    if batch > max_batch:
        raise ValueError(f"batch size {batch} is over the limit of {max_batch} rows per "
                         "request: split the request (or export with a larger --max_batch)")
    return int(batch)


def seeds_array(seeds) -> np.ndarray:
    """A 1-D int64 array of seeds; refuses floats, strings and nested lists."""
    array = np.asarray(seeds)
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
        raise ValueError(f"seeds must be a flat list of integers, got {seeds!r:.80}")
    return array.astype(np.int64)


class Client(abc.ABC):
    """A client of one served model: the batch guard and the generator's calls.

    Subclasses implement `predict` (and `metadata`) for one protocol.
    `prefers_served_files`: whether files are better fetched encoded by the server
    (generate_gif / generate_jpeg_strip) than as uint8 tensors (files.generate_to_files
    with served_files="auto")."""

    prefers_served_files = False

    def __init__(self, model_name: str, version, max_batch: int):
        self.model_name = model_name
        self.version = None if version is None else int(version)
        self.max_batch = int(max_batch)

    @abc.abstractmethod
    def predict(self, inputs: dict, signature_name: str = api.SERVING_DEFAULT) -> dict:
        """Calls the model's signature with named input arrays; returns named outputs."""

    @abc.abstractmethod
    def metadata(self) -> dict:
        """signature name -> {"inputs"|"outputs": {name: (dtype name, shape list)}}."""

    def close(self):
        """Releases the connection (a no-op where there is none)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _guard(self, inputs: dict) -> dict:
        arrays = {}
        for name, value in inputs.items():
            array = np.asarray(value)
            if array.ndim == 0:
                raise ValueError(f"input {name!r} must have a batch dimension")
            check_batch(array.shape[0], self.max_batch)
            arrays[name] = array
        return arrays

    def generate(self, seeds, signature_name: str = api.SERVING_DEFAULT) -> dict:
        """Videos for integer seeds: video [b,T,H,W,3], mask [b,T,H,W,1], background."""
        return self.predict({api.SEED: seeds_array(seeds)}, signature_name)

    def generate_from_z(self, z, signature_name: str = api.GENERATE_FROM_Z) -> dict:
        """Videos for latents z [b, latent_dim] (generate_float: the float outputs)."""
        z = np.asarray(z, dtype=np.float32)
        if z.ndim != 2:
            raise ValueError(f"z must be [batch, latent_dim], got shape {list(z.shape)}")
        return self.predict({api.Z: z}, signature_name)

    def generate_jpeg_strips(self, seeds) -> list:
        """JPEG strip bytes (frames stacked vertically), one per seed."""
        outputs = self.predict({api.SEED: seeds_array(seeds)}, api.GENERATE_JPEG_STRIP)
        return [bytes(b) for b in outputs[api.STRIP_BYTES]]

    def generate_gifs(self, seeds) -> list:
        """Animated GIF bytes made by the server, one per seed."""
        outputs = self.predict({api.SEED: seeds_array(seeds)}, api.GENERATE_GIF)
        return [bytes(b) for b in outputs[api.GIF_BYTES]]

    def predict_images(self, image_bytes, signature_name: str = api.SERVING_DEFAULT) -> dict:
        """A future predictor's videos for encoded image files (JPEG/PNG bytes, one per
        row): video [b,T,H,W,3], mask, background (predict_jpeg_strip / predict_gif:
        strip_bytes / gif_bytes)."""
        rows = [bytes(b) for b in image_bytes]
        if not rows:
            raise ValueError("no images to send")
        return self.predict({api.IMAGE_BYTES: np.array(rows, dtype=object)}, signature_name)
