"""The loopback development server: TF Serving's APIs for machines without
`tensorflow_model_server`.

The binary is on no package registry these machines reach, so this serves exported
SavedModels in-process with the real protos of tensorflow-serving-api: the
PredictionService gRPC API (Predict, GetModelMetadata) via grpcio, and the REST routes
`POST /v1/models/NAME[/versions/N]:predict` and `GET /v1/models/NAME[/versions/N]
[/metadata]` via http.server. Tests and bench/serving.py use it. It answers errors as TF
Serving does (status codes and, for REST, `{"error": ...}` with the mapped HTTP status):

    unknown model or version      NOT_FOUND             404
    unknown signature             FAILED_PRECONDITION   400
    wrong input name/dtype/shape  INVALID_ARGUMENT      400
    malformed JSON or tensor      INVALID_ARGUMENT      400
    an error raised by the graph  its own code (the export's batch guard: INVALID_ARGUMENT)

and keeps answering afterwards. With `max_batch_size` it also refuses requests of more
rows, with the words of TF Serving's batching (`--enable_batching` with batching.config's
`max_batch_size`): "Task size N is larger than maximum input batch size M"; without it
(the default, as a server without batching) every request reaches the graph. Model
discovery follows TF Serving's layout (`BASE/NAME/<int version>/`) and version policies
(`latest`, `all`, `specific`). Python, single process: not for production traffic.

    with DevServer.from_export_base(export_base) as server:
        GrpcClient(server.grpc_address); RestClient(server.rest_url)
"""
from __future__ import annotations

import base64
import json
import os
import re
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import numpy as np
import tensorflow as tf
from google.protobuf import json_format, text_format
from tensorflow.core.framework import types_pb2
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow_serving.apis import (get_model_metadata_pb2, predict_pb2,
                                     prediction_service_pb2_grpc)
from tensorflow_serving.config import model_server_config_pb2

MAX_MESSAGE_BYTES = (1 << 31) - 1
MAX_TENSOR_ELEMENTS = 1 << 27
HTTP_STATUS = {"INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400, "NOT_FOUND": 404,
               "UNIMPLEMENTED": 501, "INTERNAL": 500, "RESOURCE_EXHAUSTED": 429,
               "OUT_OF_RANGE": 400, "UNKNOWN": 500}
_NUMPY = {types_pb2.DT_UINT8: np.uint8, types_pb2.DT_INT32: np.int32,
          types_pb2.DT_INT64: np.int64, types_pb2.DT_FLOAT: np.float32,
          types_pb2.DT_DOUBLE: np.float64, types_pb2.DT_BOOL: np.bool_,
          types_pb2.DT_STRING: object}


MAX_JSON_DEPTH = 64
"""Deepest JSON nesting a REST request may have (a tensor of rank 60 is already absurd)."""


def _refuse_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text):
    value = float(text)
    if not np.isfinite(value):
        raise ValueError(f"number {text[:40]} is out of range for a double")
    return value


def _json_depth(text: str) -> int:
    """The deepest bracket nesting of a JSON text (brackets inside strings not counted)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


class ServingStatus(Exception):
    """An error to answer: `code` is a grpc.StatusCode name."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def _dtype_enum_name(dtype: int) -> str:
    """DT_... for a known enum value, else the number (a client may send any int)."""
    try:
        return types_pb2.DataType.Name(dtype)
    except ValueError:
        return f"{dtype} (not a DataType)"


def _dtype_name(dtype: int) -> str:
    return types_pb2.DataType.Name(dtype)[3:].lower()


class _Servable:
    """One loaded version: its signature functions and SignatureDefs."""

    def __init__(self, path: str):
        proto = saved_model_pb2.SavedModel()
        with open(os.path.join(path, "saved_model.pb"), "rb") as handle:
            proto.ParseFromString(handle.read())
        self.signature_defs = proto.meta_graphs[0].signature_def
        self.loaded = tf.saved_model.load(path)
        self.functions = dict(self.loaded.signatures)


class ModelRegistry:
    """name -> {version: _Servable}, loaded once from TF Serving's layout.

    `max_batch_size`: refuse requests of more rows, as TF Serving's batching does (None:
    no limit here, the graph decides)."""

    def __init__(self, max_batch_size: int | None = None):
        self.max_batch_size = max_batch_size
        self.models: dict[str, dict[int, _Servable]] = {}

    def add_model(self, name: str, base_path: str, policy=None):
        """Loads the versions `policy` (a ModelVersionPolicy, default latest 1) selects.

        A base path without versions is skipped, as TF Serving waits for one."""
        if not os.path.isdir(base_path):
            return
        found = sorted(int(v) for v in os.listdir(base_path)
                       if v.isdigit() and os.path.isdir(os.path.join(base_path, v)))
        if policy is None or policy.WhichOneof("policy_choice") in (None, "latest"):
            keep = max(1, policy.latest.num_versions) if policy is not None else 1
            chosen = found[-keep:]
        elif policy.WhichOneof("policy_choice") == "all":
            chosen = found
        else:
            chosen = [v for v in found if v in set(policy.specific.versions)]
        if chosen:
            self.models[name] = {v: _Servable(os.path.join(base_path, str(v)))
                                 for v in chosen}

    def servable(self, name: str, version=None) -> tuple:
        versions = self.models.get(name)
        request = f"Latest({name})" if version is None else f"Specific({name}, {version})"
        if not versions or (version is not None and version not in versions):
            raise ServingStatus("NOT_FOUND", f"Servable not found for request: {request}")
        version = max(versions) if version is None else version
        return version, versions[version]

    def predict(self, name, version, signature_name, inputs: dict, output_filter=()):
        """Validates like TF Serving, runs the signature, returns numpy outputs."""
        version, servable = self.servable(name, version)
        signature_name = signature_name or "serving_default"
        if signature_name not in servable.signature_defs:
            raise ServingStatus("FAILED_PRECONDITION",
                                f'Serving signature key "{signature_name}" not found.')
        signature = servable.signature_defs[signature_name]
        expected = sorted(signature.inputs)
        for alias in inputs:
            if alias not in signature.inputs:
                raise ServingStatus(
                    "INVALID_ARGUMENT", f"input tensor alias not found in signature: {alias}."
                    f" Inputs expected to be in the set {{{','.join(expected)}}}.")
        missing = [a for a in expected if a not in inputs]
        if missing:
            raise ServingStatus("INVALID_ARGUMENT",
                                f"Missing input(s) {missing} of signature {signature_name}; "
                                f"expected {{{','.join(expected)}}}.")
        tensors = {}
        for position, alias in enumerate(expected):
            info, array = signature.inputs[alias], inputs[alias]
            want = _NUMPY.get(info.dtype)
            got_kind = "string" if array.dtype.kind in "OSU" else array.dtype.name
            want_name = _dtype_name(info.dtype)
            if want is None or (want is object) != (array.dtype.kind in "OSU") or (
                    want is not object and array.dtype != np.dtype(want)):
                raise ServingStatus("INVALID_ARGUMENT",
                                    f"Expects arg[{position}] ({alias}) to be {want_name} "
                                    f"but {got_kind} is provided")
            dims = [d.size for d in info.tensor_shape.dim]
            if not info.tensor_shape.unknown_rank and (
                    array.ndim != len(dims) or any(
                        d >= 0 and d != s for d, s in zip(dims, array.shape))):
                raise ServingStatus("INVALID_ARGUMENT",
                                    f"input {alias} must have shape {dims} (-1: any), got "
                                    f"{list(array.shape)}")
            if (self.max_batch_size is not None and array.ndim
                    and array.shape[0] > self.max_batch_size):
                raise ServingStatus("INVALID_ARGUMENT",
                                    f"Task size {array.shape[0]} is larger than maximum "
                                    f"input batch size {self.max_batch_size}")
            tensors[alias] = tf.constant(array, dtype=info.dtype)
        for alias in output_filter:
            if alias not in signature.outputs:
                raise ServingStatus("INVALID_ARGUMENT",
                                    f"output tensor alias not found in signature: {alias}")
        try:
            outputs = servable.functions[signature_name](**tensors)
        except tf.errors.OpError as error:
            raise ServingStatus(_status_name(error.error_code),
                                _op_error_text(error.message)) from None
        names = list(output_filter) or sorted(outputs)
        return version, {n: outputs[n].numpy() for n in names}


def _op_error_text(message: str) -> str:
    """The op's own words from a TF error, without graph-execution boilerplate."""
    kept = []
    for line in message.splitlines():
        line = line.strip()
        if not line or line.startswith(("Graph execution error", "Detected at node",
                                        "<stack traces", "File ", "[[")):
            continue
        kept.append(re.sub(r"\s*\[\[\{\{node .*$|\s*\[Op:[^\]]*\]$", "", line))
    return " ".join(k for k in kept if k) or message.strip()


def _status_name(code: int) -> str:
    """TF error code (same numbering as gRPC) -> grpc.StatusCode name."""
    for status in grpc.StatusCode:
        if status.value[0] == code:
            return status.name
    return "UNKNOWN"


def tensor_from_proto(proto) -> np.ndarray:
    """tf.make_ndarray with TF Serving's checks first (no negative or huge shapes)."""
    dims = [d.size for d in proto.tensor_shape.dim]
    if any(d < 0 for d in dims):
        raise ServingStatus("INVALID_ARGUMENT", f"tensor shape {dims} has a negative dimension")
    if int(np.prod(dims, dtype=np.float64)) > MAX_TENSOR_ELEMENTS:
        raise ServingStatus("INVALID_ARGUMENT", f"tensor shape {dims} is too large")
    if proto.dtype not in _NUMPY:
        raise ServingStatus("INVALID_ARGUMENT",
                            f"unsupported tensor dtype {_dtype_enum_name(proto.dtype)}")
    count = int(np.prod(dims, dtype=np.int64))
    if proto.tensor_content:
        size = np.dtype(_NUMPY[proto.dtype]).itemsize
        if proto.dtype == types_pb2.DT_STRING or len(proto.tensor_content) != count * size:
            raise ServingStatus("INVALID_ARGUMENT",
                                "tensor_content does not match the tensor's shape and dtype")
    try:
        return tf.make_ndarray(proto)
    except (ValueError, TypeError) as error:
        raise ServingStatus("INVALID_ARGUMENT", f"malformed tensor: {error}") from None


# -- gRPC ----------------------------------------------------------------------------------
class _PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, registry: ModelRegistry):
        self.registry = registry

    @staticmethod
    def _version(spec):
        if spec.HasField("version_label"):
            raise ServingStatus("NOT_FOUND", f"Unrecognized servable version label: "
                                f"{spec.version_label}")
        return spec.version.value if spec.HasField("version") else None

    def Predict(self, request, context):
        try:
            spec = request.model_spec
            inputs = {k: tensor_from_proto(v) for k, v in request.inputs.items()}
            version, outputs = self.registry.predict(
                spec.name, self._version(spec), spec.signature_name, inputs,
                list(request.output_filter))
        except ServingStatus as status:
            context.abort(grpc.StatusCode[status.code], status.message)
        response = predict_pb2.PredictResponse()
        response.model_spec.name = spec.name
        response.model_spec.version.value = version
        response.model_spec.signature_name = spec.signature_name or "serving_default"
        for name, value in outputs.items():
            response.outputs[name].CopyFrom(tf.make_tensor_proto(value))
        return response

    def GetModelMetadata(self, request, context):
        try:
            if list(request.metadata_field) != ["signature_def"]:
                raise ServingStatus("INVALID_ARGUMENT",
                                    "Metadata field signature_def is the only one supported")
            version, servable = self.registry.servable(
                request.model_spec.name, self._version(request.model_spec))
        except ServingStatus as status:
            context.abort(grpc.StatusCode[status.code], status.message)
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        response.model_spec.name = request.model_spec.name
        response.model_spec.version.value = version
        signature_map = get_model_metadata_pb2.SignatureDefMap()
        for name, sig in servable.signature_defs.items():
            signature_map.signature_def[name].CopyFrom(sig)
        response.metadata["signature_def"].Pack(signature_map)
        return response


# -- REST ----------------------------------------------------------------------------------
_ROUTE = re.compile(r"^/v1/models/([^/:]+)(?:/versions/([^/:]+)|/labels/([^/:]+))?"
                    r"(?::([a-z]+)|(/metadata))?$")


def _json_to_array(value, dtype: int, alias: str) -> np.ndarray:
    """JSON column -> numpy of the signature dtype, refusing values of another type."""
    want = _NUMPY.get(dtype)

    def leaf(item):
        if want is object:
            if isinstance(item, dict):
                if set(item) != {"b64"} or not isinstance(item["b64"], str):
                    raise ValueError(f"a binary value must be {{\"b64\": string}}, got {item}")
                try:
                    return base64.b64decode(item["b64"], validate=True)
                except ValueError:
                    raise ValueError(f"invalid base64 in input {alias}") from None
            if isinstance(item, str):
                return item.encode("utf-8")
            raise ValueError(f"JSON value {item!r} is not a string for input {alias}")
        if isinstance(item, bool) and want is not np.bool_:
            raise ValueError(f"JSON value {item} is not a number for input {alias}")
        if np.issubdtype(want, np.integer):
            if not isinstance(item, int):
                raise ValueError(f"JSON value {item!r} is not of expected type "
                                 f"{_dtype_name(dtype)} for input {alias}")
            info = np.iinfo(want)
            if not info.min <= item <= info.max:
                raise ValueError(f"JSON value {item} is out of range for "
                                 f"{_dtype_name(dtype)} input {alias}")
            return item
        if not isinstance(item, (int, float)):
            raise ValueError(f"JSON value {item!r} is not of expected type "
                             f"{_dtype_name(dtype)} for input {alias}")
        return item

    def walk(item):
        if isinstance(item, list):
            return [walk(x) for x in item]
        return leaf(item)

    converted = walk(value)
    try:
        if want is object:
            array = np.array(converted, dtype=object)
            if array.ndim and any(isinstance(x, list) for x in array.reshape(-1)):
                raise ValueError("ragged")
            return array
        return np.array(converted, dtype=want)
    except (ValueError, TypeError):
        raise ValueError(f"input {alias} is ragged: every row must have the same shape") \
            from None


def _array_to_json(name: str, array: np.ndarray):
    if array.dtype.kind == "O":
        if name.endswith("_bytes"):
            return np.vectorize(lambda b: {"b64": base64.b64encode(b).decode("ascii")},
                                otypes=[object])(array).tolist()
        return np.vectorize(lambda b: b.decode("utf-8", "replace"), otypes=[object])(
            array).tolist()
    return array.tolist()


class _RestHandler(BaseHTTPRequestHandler):
    registry: ModelRegistry = None
    max_body_bytes = 256 << 20
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, status: int, body: dict):
        try:
            data = json.dumps(body, allow_nan=False).encode()
        except ValueError:  # NaN or infinity in an output: not JSON
            status, data = 500, json.dumps({"error": "the model's output holds NaN or "
                                            "infinity, which JSON cannot carry"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: ServingStatus):
        self._send(HTTP_STATUS.get(status.code, 500), {"error": status.message})

    def _route(self):
        match = _ROUTE.match(self.path.split("?")[0])
        if not match:
            raise ServingStatus("NOT_FOUND", f"Malformed request: {self.command} {self.path}")
        name, version, label, verb, metadata = match.groups()
        if label is not None:
            raise ServingStatus("NOT_FOUND", f"Unrecognized servable version label: {label}")
        if version is not None:
            if not version.isdigit():
                raise ServingStatus("INVALID_ARGUMENT",
                                    f"Failed to convert version: {version} to numeric.")
            version = int(version)
        return name, version, verb, metadata

    def do_GET(self):
        try:
            name, version, verb, metadata = self._route()
            if verb is not None:
                raise ServingStatus("NOT_FOUND", f"Malformed request: GET {self.path}")
            version, servable = self.registry.servable(name, version)
        except ServingStatus as status:
            return self._error(status)
        if metadata:
            signature_map = get_model_metadata_pb2.SignatureDefMap()
            for key, sig in servable.signature_defs.items():
                signature_map.signature_def[key].CopyFrom(sig)
            return self._send(200, {
                "model_spec": {"name": name, "signature_name": "", "version": str(version)},
                "metadata": {"signature_def": json_format.MessageToDict(
                    signature_map, preserving_proto_field_name=True)}})
        return self._send(200, {"model_version_status": [
            {"version": str(v), "state": "AVAILABLE",
             "status": {"error_code": "OK", "error_message": ""}}
            for v in sorted(self.registry.models[name])]})

    def do_POST(self):
        try:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                raise ServingStatus("INVALID_ARGUMENT", "Content-Length must be a number of "
                                    "bytes") from None
            if length < 0:
                raise ServingStatus("INVALID_ARGUMENT", "Content-Length must not be negative")
            if length > self.max_body_bytes:
                raise ServingStatus("INVALID_ARGUMENT", f"request body of {length} bytes is "
                                    "over the limit")
            raw = self.rfile.read(length) if length > 0 else b""
            name, version, verb, metadata = self._route()
            if metadata or verb is None:
                raise ServingStatus("NOT_FOUND", f"Malformed request: POST {self.path}")
            if verb != "predict":
                raise ServingStatus("UNIMPLEMENTED", f"the development server serves :predict only, "
                                    f"not :{verb}")
            body = self._parse(raw)
            version_found, servable = self.registry.servable(name, version)
            signature_name = body.get("signature_name") or "serving_default"
            if not isinstance(signature_name, str):
                raise ServingStatus("INVALID_ARGUMENT", "signature_name must be a string")
            if signature_name not in servable.signature_defs:
                raise ServingStatus("FAILED_PRECONDITION",
                                    f'Serving signature key "{signature_name}" not found.')
            signature = servable.signature_defs[signature_name]
            row_form = "instances" in body
            try:
                inputs = self._inputs(body, signature, row_form)
            except ValueError as error:
                raise ServingStatus("INVALID_ARGUMENT", str(error)) from None
            _, outputs = self.registry.predict(name, version_found, signature_name, inputs)
        except ServingStatus as status:
            return self._error(status)
        except Exception as error:  # keep answering whatever happens
            return self._error(ServingStatus("INTERNAL", f"{type(error).__name__}: {error}"))
        columns = {n: _array_to_json(n, a) for n, a in outputs.items()}
        if row_form:
            rows = len(next(iter(columns.values())))
            if len(columns) == 1:
                predictions = next(iter(columns.values()))
            else:
                predictions = [{n: c[i] for n, c in columns.items()} for i in range(rows)]
            return self._send(200, {"predictions": predictions})
        if len(columns) == 1:
            return self._send(200, {"outputs": next(iter(columns.values()))})
        return self._send(200, {"outputs": columns})

    @staticmethod
    def _parse(raw: bytes) -> dict:
        """The request body as JSON, strictly: NaN/Infinity literals and numbers that
        overflow a double are refused (not JSON), as is nesting deeper than
        MAX_JSON_DEPTH (Python's parser would raise RecursionError)."""
        try:
            text = raw.decode("utf-8")
            if _json_depth(text) > MAX_JSON_DEPTH:
                raise ValueError(f"nesting deeper than {MAX_JSON_DEPTH} levels")
            body = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
        except (UnicodeDecodeError, ValueError, RecursionError) as error:
            raise ServingStatus("INVALID_ARGUMENT", f"JSON Parse error: {error}") from None
        if not isinstance(body, dict):
            raise ServingStatus("INVALID_ARGUMENT", "JSON request must be an object")
        if ("instances" in body) == ("inputs" in body):
            raise ServingStatus("INVALID_ARGUMENT", "JSON request must have exactly one of "
                                "'instances' (row format) or 'inputs' (columnar format)")
        return body

    @staticmethod
    def _inputs(body: dict, signature, row_form: bool) -> dict:
        aliases = sorted(signature.inputs)
        if row_form:
            rows = body["instances"]
            if not isinstance(rows, list) or not rows:
                raise ValueError("'instances' must be a non-empty list of rows")
            if all(isinstance(r, dict) and not set(r) <= {"b64"} for r in rows):
                keys = set(rows[0])
                if any(set(r) != keys for r in rows):
                    raise ValueError("every instance must name the same inputs")
                columns = {k: [r[k] for r in rows] for k in keys}
            elif len(aliases) == 1:
                columns = {aliases[0]: rows}
            else:
                raise ValueError(f"instances must be objects naming the inputs {aliases}")
        else:
            columns = body["inputs"]
            if not isinstance(columns, dict) or set(columns) == {"b64"}:
                if len(aliases) != 1:
                    raise ValueError(f"'inputs' must be an object naming {aliases}")
                columns = {aliases[0]: columns}
        arrays = {}
        for alias, value in columns.items():
            if alias not in signature.inputs:
                raise ServingStatus(
                    "INVALID_ARGUMENT", f"input tensor alias not found in signature: {alias}."
                    f" Inputs expected to be in the set {{{','.join(aliases)}}}.")
            arrays[alias] = _json_to_array(value, signature.inputs[alias].dtype, alias)
        return arrays


# -- the server ----------------------------------------------------------------------------
class DevServer:
    """gRPC and REST on 127.0.0.1 with ephemeral ports (or given ones), in this process.

    Serves until `stop()`; use it as a context manager (`with DevServer...(...) as
    server:`), which starts it and stops it."""

    def __init__(self, registry: ModelRegistry, host: str = "127.0.0.1", grpc_port: int = 0,
                 rest_port: int = 0):
        self.registry = registry
        self.host = host
        self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES)])
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
            _PredictionService(registry), self._grpc)
        self.grpc_port = self._grpc.add_insecure_port(f"{host}:{grpc_port}")
        handler = type("Handler", (_RestHandler,), {"registry": registry})
        self._http = ThreadingHTTPServer((host, rest_port), handler)
        self._http.daemon_threads = True
        self.rest_port = self._http.server_address[1]
        self._thread = None

    @classmethod
    def from_export_base(cls, export_base: str, max_batch_size: int | None = None,
                         **kwargs):
        """Serves every model folder under `export_base` (latest version of each)."""
        registry = ModelRegistry(max_batch_size)
        for name in sorted(os.listdir(export_base)):
            registry.add_model(name, os.path.join(export_base, name))
        return cls(registry, **kwargs)

    @classmethod
    def from_model_config(cls, config_path: str, rewrite_base=None,
                          max_batch_size: int | None = None, **kwargs):
        """Serves the model_config_list of a models.config, with its version policies.

        `rewrite_base=(old_prefix, new_prefix)` maps base paths (e.g. the Docker /models)."""
        config = model_server_config_pb2.ModelServerConfig()
        with open(config_path) as handle:
            text_format.Parse(handle.read(), config)
        registry = ModelRegistry(max_batch_size)
        for model in config.model_config_list.config:
            base = model.base_path
            if rewrite_base and base.startswith(rewrite_base[0]):
                base = rewrite_base[1] + base[len(rewrite_base[0]):]
            registry.add_model(model.name, base, model.model_version_policy)
        return cls(registry, **kwargs)

    @property
    def grpc_address(self) -> str:
        return f"{self.host}:{self.grpc_port}"

    @property
    def rest_url(self) -> str:
        return f"http://{self.host}:{self.rest_port}"

    def start(self):
        self._grpc.start()
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Stops both servers and closes their sockets; a stopped server stays stopped."""
        if self._thread is not None:
            self._http.shutdown()
            self._thread.join()
            self._thread = None
        self._http.server_close()
        self._grpc.stop(grace=None).wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
