"""Clients of TF Serving for the exported generator: gRPC and REST, same interface.

    client = GrpcClient("localhost:8500")               # or RestClient("http://localhost:8501")
    outputs = client.generate([0, 1, 2])                # dict of numpy arrays
    write_videos(outputs, [0, 1, 2], "out/")            # seed_0.gif, seed_0_strip.jpg, ...

`predict(inputs, signature_name)` is the general call: numpy arrays in, numpy arrays out,
with the dtypes of the signature (see vgan_tf.export.signatures). Errors from the server
come back as `ServingError` with TF Serving's status code name ("NOT_FOUND",
"INVALID_ARGUMENT", ...); requests the server would reject for their batch size are refused
before sending, with a ValueError.

gRPC: videos are large (a batch of 64 paper-size videos is about 33 MB), so the channel's
receive limit is raised from gRPC's 4 MB default to `max_receive_bytes` (1 GiB).
REST: both the row ("instances") and the column ("inputs") forms; string tensors travel
as {"b64": ...}, as TF Serving requires for names ending in `_bytes`.
"""
from __future__ import annotations

import abc
import base64
import json
import os
import urllib.error
import urllib.request

import numpy as np

from vgan_tf.viz import video_files

DEFAULT_MAX_BATCH = 256
DEFAULT_MAX_RECEIVE_BYTES = 1 << 30
DEFAULT_TIMEOUT_S = 120.0

_DTYPES = {"DT_UINT8": np.uint8, "DT_INT32": np.int32, "DT_INT64": np.int64,
           "DT_FLOAT": np.float32, "DT_DOUBLE": np.float64, "DT_STRING": object,
           "DT_BOOL": np.bool_, "DT_HALF": np.float16}


class ServingError(RuntimeError):
    """An error answered by the server: `code` is the status name, e.g. "NOT_FOUND"."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def check_batch(batch: int, max_batch: int = DEFAULT_MAX_BATCH) -> int:
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


class _Client(abc.ABC):
    """Shared helpers: batch guard and the generator's convenience calls."""

    def __init__(self, model_name, version, max_batch):
        self.model_name = model_name
        self.version = None if version is None else int(version)
        self.max_batch = int(max_batch)

    @abc.abstractmethod
    def predict(self, inputs: dict, signature_name: str = "serving_default") -> dict:
        """Calls the model's signature with named input arrays; returns named outputs."""

    def _guard(self, inputs: dict) -> dict:
        arrays = {}
        for name, value in inputs.items():
            array = np.asarray(value)
            if array.ndim == 0:
                raise ValueError(f"input {name!r} must have a batch dimension")
            check_batch(array.shape[0], self.max_batch)
            arrays[name] = array
        return arrays

    def generate(self, seeds, signature_name: str = "serving_default") -> dict:
        """Videos for integer seeds: video [b,T,H,W,3], mask [b,T,H,W,1], background."""
        return self.predict({"seed": seeds_array(seeds)}, signature_name)

    def generate_from_z(self, z, signature_name: str = "generate_from_z") -> dict:
        z = np.asarray(z, dtype=np.float32)
        if z.ndim != 2:
            raise ValueError(f"z must be [batch, latent_dim], got shape {list(z.shape)}")
        return self.predict({"z": z}, signature_name)

    def generate_jpeg_strips(self, seeds) -> list:
        """JPEG strip bytes (frames stacked vertically), one per seed."""
        outputs = self.predict({"seed": seeds_array(seeds)}, "generate_jpeg_strip")
        return [bytes(b) for b in outputs["strip_bytes"]]

    def generate_gifs(self, seeds) -> list:
        """Animated GIF bytes made by the server, one per seed."""
        outputs = self.predict({"seed": seeds_array(seeds)}, "generate_gif")
        return [bytes(b) for b in outputs["gif_bytes"]]


# -- gRPC ----------------------------------------------------------------------------------
class GrpcClient(_Client):
    """PredictionService over gRPC (default port 8500)."""

    def __init__(self, address: str, model_name: str = "generator", version=None,
                 timeout: float = DEFAULT_TIMEOUT_S,
                 max_receive_bytes: int = DEFAULT_MAX_RECEIVE_BYTES,
                 max_batch: int = DEFAULT_MAX_BATCH):
        import grpc
        from tensorflow_serving.apis import prediction_service_pb2_grpc

        super().__init__(model_name, version, max_batch)
        self.timeout = timeout
        self.max_receive_bytes = int(max_receive_bytes)
        self._channel = grpc.insecure_channel(address, options=[
            ("grpc.max_receive_message_length", self.max_receive_bytes),
            ("grpc.max_send_message_length", self.max_receive_bytes)])
        self._stub = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _spec(self, target, signature_name=None):
        target.name = self.model_name
        if self.version is not None:
            target.version.value = self.version
        if signature_name is not None:
            target.signature_name = signature_name

    def _call(self, method, request):
        import grpc

        try:
            return method(request, timeout=self.timeout)
        except grpc.RpcError as error:
            code = error.code().name
            message = error.details() or str(error)
            if code == "RESOURCE_EXHAUSTED" and "larger than max" in message:
                message += (f" (the client's receive limit is {self.max_receive_bytes} bytes:"
                            " raise max_receive_bytes or request fewer videos)")
            raise ServingError(code, message) from None

    def predict(self, inputs: dict, signature_name: str = "serving_default") -> dict:
        import tensorflow as tf
        from tensorflow_serving.apis import predict_pb2

        request = predict_pb2.PredictRequest()
        self._spec(request.model_spec, signature_name)
        for name, array in self._guard(inputs).items():
            request.inputs[name].CopyFrom(tf.make_tensor_proto(array))
        response = self._call(self._stub.Predict, request)
        return {name: tf.make_ndarray(proto) for name, proto in response.outputs.items()}

    def metadata(self) -> dict:
        """signature name -> {"inputs"|"outputs": {name: (dtype name, shape list)}}."""
        from tensorflow_serving.apis import get_model_metadata_pb2

        request = get_model_metadata_pb2.GetModelMetadataRequest()
        self._spec(request.model_spec)
        request.metadata_field.append("signature_def")
        response = self._call(self._stub.GetModelMetadata, request)
        signature_map = get_model_metadata_pb2.SignatureDefMap()
        response.metadata["signature_def"].Unpack(signature_map)
        return _describe(signature_map.signature_def)


def _describe(signature_defs) -> dict:
    from tensorflow.core.framework import types_pb2

    def tensors(infos):
        return {name: (types_pb2.DataType.Name(info.dtype),
                       [d.size for d in info.tensor_shape.dim])
                for name, info in infos.items()}

    return {name: {"inputs": tensors(sig.inputs), "outputs": tensors(sig.outputs)}
            for name, sig in signature_defs.items()}


# -- REST ----------------------------------------------------------------------------------
def _encode_json_value(array: np.ndarray, name: str):
    if array.dtype.kind in "OSU":
        def encode(item):
            data = item.encode() if isinstance(item, str) else bytes(item)
            return {"b64": base64.b64encode(data).decode("ascii")}
        flat = [encode(item) for item in array.reshape(-1)]
        return np.array(flat, dtype=object).reshape(array.shape).tolist()
    if array.dtype.kind == "f":
        return array.astype(np.float64).tolist()
    return array.tolist()


def _decode_json_value(value, dtype):
    def walk(item):
        if isinstance(item, dict) and set(item) == {"b64"}:
            return base64.b64decode(item["b64"])
        if isinstance(item, list):
            return [walk(x) for x in item]
        return item

    value = walk(value)
    if dtype is object:
        array = np.empty(np.shape(value) if isinstance(value, list) else (), dtype=object)
        flat = np.array(value, dtype=object).reshape(-1) if isinstance(value, list) else [value]
        array.reshape(-1)[:] = flat
        return array
    return np.asarray(value, dtype=dtype)


class RestClient(_Client):
    """The REST `:predict` API (default port 8501), row or column form."""

    def __init__(self, url: str, model_name: str = "generator", version=None,
                 timeout: float = DEFAULT_TIMEOUT_S, max_batch: int = DEFAULT_MAX_BATCH,
                 form: str = "inputs"):
        super().__init__(model_name, version, max_batch)
        if form not in ("inputs", "instances"):
            raise ValueError(f"form must be 'inputs' or 'instances', got {form!r}")
        self.url = url if "://" in url else "http://" + url
        self.url = self.url.rstrip("/")
        self.timeout = timeout
        self.form = form
        self._metadata = None

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _model_url(self) -> str:
        url = f"{self.url}/v1/models/{self.model_name}"
        return url if self.version is None else f"{url}/versions/{self.version}"

    def _request(self, url: str, body: bytes | None = None):
        request = urllib.request.Request(
            url, data=body, method="POST" if body is not None else "GET",
            headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            text = error.read().decode("utf-8", "replace")
            try:
                message = json.loads(text).get("error", text)
            except (ValueError, AttributeError):
                message = text
            raise ServingError(_HTTP_CODES.get(error.code, f"HTTP_{error.code}"),
                               message) from None

    def metadata(self) -> dict:
        """signature name -> {"inputs"|"outputs": {name: (dtype name, shape list)}}."""
        if self._metadata is None:
            answer = self._request(self._model_url() + "/metadata")
            defs = answer["metadata"]["signature_def"]["signature_def"]
            described = {}
            for name, sig in defs.items():
                described[name] = {
                    part: {t: (info.get("dtype", "DT_INVALID"),
                               [int(d.get("size", -1)) for d in
                                info.get("tensor_shape", {}).get("dim", [])])
                           for t, info in sig.get(part, {}).items()}
                    for part in ("inputs", "outputs")}
            self._metadata = described
        return self._metadata

    def predict(self, inputs: dict, signature_name: str = "serving_default",
                form: str | None = None) -> dict:
        form = form or self.form
        arrays = self._guard(inputs)
        if form == "inputs":
            body = {"inputs": {n: _encode_json_value(a, n) for n, a in arrays.items()}}
        else:
            columns = {n: _encode_json_value(a, n) for n, a in arrays.items()}
            rows = len(next(iter(columns.values())))
            body = {"instances": [{n: c[i] for n, c in columns.items()}
                                  for i in range(rows)]}
        body["signature_name"] = signature_name
        answer = self._request(self._model_url() + ":predict", json.dumps(body).encode())
        outputs_meta = self.metadata().get(signature_name, {}).get("outputs", {})
        names = sorted(outputs_meta)
        if "outputs" in answer:
            result = answer["outputs"]
            if not isinstance(result, dict) or (len(names) == 1 and names[0] not in result):
                result = {names[0] if len(names) == 1 else "output": result}
        else:
            rows = answer["predictions"]
            if rows and isinstance(rows[0], dict) and not set(rows[0]) <= {"b64"}:
                result = {n: [row[n] for row in rows] for n in rows[0]}
            else:
                result = {names[0] if len(names) == 1 else "output": rows}
        return {n: _decode_json_value(v, _DTYPES.get(outputs_meta.get(n, ("",))[0]))
                for n, v in result.items()}


_HTTP_CODES = {400: "INVALID_ARGUMENT", 404: "NOT_FOUND", 408: "DEADLINE_EXCEEDED",
               409: "ALREADY_EXISTS", 412: "FAILED_PRECONDITION", 429: "RESOURCE_EXHAUSTED",
               500: "INTERNAL", 501: "UNIMPLEMENTED", 503: "UNAVAILABLE"}


def make_client(address: str, protocol: str = "grpc", **kwargs):
    """GrpcClient for "host:port", RestClient for "http://host:port" or protocol="rest"."""
    if protocol == "rest" or address.startswith(("http://", "https://")):
        return RestClient(address, **kwargs)
    if protocol != "grpc":
        raise ValueError(f"protocol must be 'grpc' or 'rest', got {protocol!r}")
    return GrpcClient(address, **kwargs)


# -- files ---------------------------------------------------------------------------------
def write_videos(outputs: dict, seeds, out_dir: str, formats=("gif", "strip"),
                 fps: float = 8.0) -> list:
    """Writes the served videos: seed_<s>.gif, seed_<s>_strip.jpg, seed_<s>_mask.gif, ...

    `outputs` is what `generate` returned, or {"strip_bytes": generate_jpeg_strips(...)}
    or {"gif_bytes": generate_gifs(...)}: served files are written as served (a served
    strip also gives a GIF when "gif" is in `formats`). Returns the written paths.
    """
    unknown = set(formats) - {"gif", "strip"}
    if unknown:
        raise ValueError(f"formats must be among gif, strip; got {sorted(unknown)}")
    os.makedirs(out_dir, exist_ok=True)
    seeds = seeds_array(seeds)
    paths = []
    for row, seed in enumerate(seeds):
        stem = os.path.join(out_dir, f"seed_{seed}")
        if "gif_bytes" in outputs:
            paths.append(stem + ".gif")
            with open(paths[-1], "wb") as handle:
                handle.write(bytes(outputs["gif_bytes"][row]))
        if "strip_bytes" in outputs:
            data = bytes(outputs["strip_bytes"][row])
            if "strip" in formats:
                paths.append(stem + "_strip.jpg")
                with open(paths[-1], "wb") as handle:
                    handle.write(data)
            if "gif" in formats:  # square frames: a strip of W x (T*W) holds T frames
                height, width = video_files.decode_strip(data, 1).shape[1:3]
                video = video_files.decode_strip(data, height // width)
                paths.append(video_files.write_gif(stem + ".gif", video, fps))
        for name in ("video", "mask"):
            if name not in outputs:
                continue
            suffix = "" if name == "video" else "_mask"
            video = np.asarray(outputs[name][row])
            if video.dtype != np.uint8:
                raise ValueError(f"{name} must be uint8 to write files, got {video.dtype}: "
                                 "use a uint8 signature (serving_default, generate_from_z)")
            if "gif" in formats:
                paths.append(video_files.write_gif(f"{stem}{suffix}.gif", video, fps))
            if "strip" in formats:
                paths.append(video_files.write_strip(f"{stem}{suffix}_strip.jpg", video))
    return paths


def generate_to_files(client, seeds, out_dir: str, formats=("gif", "strip"),
                      served_files: str = "none", fps: float = 8.0) -> list:
    """Asks `client` for the videos of `seeds` and writes them; returns the paths.

    `served_files`: "none" (uint8 videos and masks, encoded here), "jpeg_strip" or "gif"
    (files encoded by the server). Large seed lists are sent in requests of at most
    `client.max_batch` rows."""
    if served_files not in ("none", "jpeg_strip", "gif"):
        raise ValueError(f"served_files must be none, jpeg_strip or gif, got {served_files!r}")
    seeds = seeds_array(seeds)
    if seeds.size == 0:
        raise ValueError("no seeds to generate")
    paths = []
    for start in range(0, seeds.size, client.max_batch):
        chunk = seeds[start:start + client.max_batch]
        if served_files == "jpeg_strip":
            outputs = {"strip_bytes": client.generate_jpeg_strips(chunk)}
        elif served_files == "gif":
            outputs = {"gif_bytes": client.generate_gifs(chunk)}
        else:
            outputs = client.generate(chunk)
        paths += write_videos(outputs, chunk, out_dir, formats, fps)
    return paths
