"""The REST `:predict` client (TF Serving's port 8501), row or column form.

Both body forms: columns (`{"inputs": {name: [...]}}`) and rows (`{"instances": [...]}`).
String tensors travel as {"b64": ...}, as TF Serving requires for names ending in
`_bytes`; output dtypes come from the model's `/metadata`. Standard library + numpy only.

A uint8 video travels over REST as a JSON number list (about 4 characters per value, parsed
number by number on both ends), its GIF or JPEG strip as one b64 string: `RestClient`
says `prefers_served_files`, so `files.generate_to_files` asks for the server's files
by default (docs/performance.md, serving speed: the measured cost of each).
"""
from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

import numpy as np

from vgan_tf.serving import api
from vgan_tf.serving.base import DEFAULT_TIMEOUT_S, Client, ServingError

FORMS = ("inputs", "instances")

_DTYPES = {"DT_UINT8": np.uint8, "DT_INT32": np.int32, "DT_INT64": np.int64,
           "DT_FLOAT": np.float32, "DT_DOUBLE": np.float64, "DT_STRING": object,
           "DT_BOOL": np.bool_, "DT_HALF": np.float16}
_HTTP_CODES = {400: "INVALID_ARGUMENT", 404: "NOT_FOUND", 408: "DEADLINE_EXCEEDED",
               409: "ALREADY_EXISTS", 412: "FAILED_PRECONDITION", 429: "RESOURCE_EXHAUSTED",
               500: "INTERNAL", 501: "UNIMPLEMENTED", 503: "UNAVAILABLE"}


def _encode_json_value(array: np.ndarray):
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


class RestClient(Client):
    """`POST /v1/models/NAME[/versions/N]:predict` and `GET .../metadata` at `url`."""

    prefers_served_files = True

    def __init__(self, url: str, model_name: str = api.GENERATOR_MODEL, version=None,
                 timeout: float = DEFAULT_TIMEOUT_S, max_batch: int = api.MAX_BATCH,
                 form: str = "inputs"):
        super().__init__(model_name, version, max_batch)
        if form not in FORMS:
            raise ValueError(f"form must be 'inputs' or 'instances', got {form!r}")
        self.url = url if "://" in url else "http://" + url
        self.url = self.url.rstrip("/")
        self.timeout = timeout
        self.form = form
        self._metadata = None

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

    def predict(self, inputs: dict, signature_name: str = api.SERVING_DEFAULT,
                form: str | None = None) -> dict:
        form = form or self.form
        columns = {n: _encode_json_value(a) for n, a in self._guard(inputs).items()}
        if form == "inputs":
            body = {"inputs": columns}
        else:
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
