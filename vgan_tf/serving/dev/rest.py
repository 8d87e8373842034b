"""TF Serving's REST routes over http.server: `POST /v1/models/NAME[/versions/N]:predict`
and `GET /v1/models/NAME[/versions/N][/metadata]`, errors as `{"error": ...}` with the
HTTP status TF Serving maps each status code to."""
from __future__ import annotations

import json
import re
from http.server import BaseHTTPRequestHandler

from google.protobuf import json_format

from vgan_tf.serving.dev import json_codec
from vgan_tf.serving.dev.grpc_service import signature_def_map
from vgan_tf.serving.dev.registry import ModelRegistry
from vgan_tf.serving.dev.status import ServingStatus

HTTP_STATUS = {"INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400, "NOT_FOUND": 404,
               "UNIMPLEMENTED": 501, "INTERNAL": 500, "RESOURCE_EXHAUSTED": 429,
               "OUT_OF_RANGE": 400, "UNKNOWN": 500}
MAX_BODY_BYTES = 256 << 20

_ROUTE = re.compile(r"^/v1/models/([^/:]+)(?:/versions/([^/:]+)|/labels/([^/:]+))?"
                    r"(?::([a-z]+)|(/metadata))?$")


def handler_class(registry: ModelRegistry) -> type:
    """A RestHandler class bound to `registry` (http.server makes one handler per request)."""
    return type("Handler", (RestHandler,), {"registry": registry})


class RestHandler(BaseHTTPRequestHandler):
    registry: ModelRegistry = None
    max_body_bytes = MAX_BODY_BYTES
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
            return self._send(200, {
                "model_spec": {"name": name, "signature_name": "", "version": str(version)},
                "metadata": {"signature_def": json_format.MessageToDict(
                    signature_def_map(servable), preserving_proto_field_name=True)}})
        return self._send(200, {"model_version_status": [
            {"version": str(v), "state": "AVAILABLE",
             "status": {"error_code": "OK", "error_message": ""}}
            for v in sorted(self.registry.models[name])]})

    def _body(self) -> bytes:
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
        return self.rfile.read(length) if length > 0 else b""

    def _predict(self, raw: bytes) -> tuple:
        """(outputs, row_form) of a :predict request, ServingStatus when it fails."""
        name, version, verb, metadata = self._route()
        if metadata or verb is None:
            raise ServingStatus("NOT_FOUND", f"Malformed request: POST {self.path}")
        if verb != "predict":
            raise ServingStatus("UNIMPLEMENTED", f"the development server serves :predict only, "
                                f"not :{verb}")
        body = json_codec.parse_body(raw)
        version_found, servable = self.registry.servable(name, version)
        signature_name = body.get("signature_name") or "serving_default"
        if not isinstance(signature_name, str):
            raise ServingStatus("INVALID_ARGUMENT", "signature_name must be a string")
        signature = self.registry.signature(servable, signature_name)
        row_form = "instances" in body
        try:
            inputs = json_codec.request_inputs(body, signature, row_form)
        except ValueError as error:
            raise ServingStatus("INVALID_ARGUMENT", str(error)) from None
        _, outputs = self.registry.predict(name, version_found, signature_name, inputs)
        return outputs, row_form

    def do_POST(self):
        try:
            outputs, row_form = self._predict(self._body())
        except ServingStatus as status:
            return self._error(status)
        except Exception as error:  # keep answering whatever happens
            return self._error(ServingStatus("INTERNAL", f"{type(error).__name__}: {error}"))
        return self._send(200, json_codec.response_body(outputs, row_form))
