"""TF Serving's REST bodies <-> named numpy arrays: strict JSON in (no NaN/Infinity, no
numbers beyond a double, bounded nesting), the row ("instances") and column ("inputs")
forms, binary values as {"b64": ...}, values checked against the signature's dtypes."""
from __future__ import annotations

import base64
import json

import numpy as np

from vgan_tf.serving.dev import dtypes
from vgan_tf.serving.dev.status import ServingStatus

MAX_JSON_DEPTH = 64
"""Deepest JSON nesting a REST request may have (a tensor of rank 60 is already absurd)."""


def _refuse_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text):
    value = float(text)
    if not np.isfinite(value):
        raise ValueError(f"number {text[:40]} is out of range for a double")
    return value


def json_depth(text: str) -> int:
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


def parse_body(raw: bytes) -> dict:
    """The request body as JSON, strictly: NaN/Infinity literals and numbers that
    overflow a double are refused (not JSON), as is nesting deeper than
    MAX_JSON_DEPTH (Python's parser would raise RecursionError)."""
    try:
        text = raw.decode("utf-8")
        if json_depth(text) > MAX_JSON_DEPTH:
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


def _leaf(item, want, dtype: int, alias: str):
    """One JSON value checked (and b64-decoded) for an input of DataType `dtype` (numpy
    dtype `want`)."""
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
                             f"{dtypes.short_name(dtype)} for input {alias}")
        info = np.iinfo(want)
        if not info.min <= item <= info.max:
            raise ValueError(f"JSON value {item} is out of range for "
                             f"{dtypes.short_name(dtype)} input {alias}")
        return item
    if not isinstance(item, (int, float)):
        raise ValueError(f"JSON value {item!r} is not of expected type "
                         f"{dtypes.short_name(dtype)} for input {alias}")
    return item


def json_to_array(value, dtype: int, alias: str) -> np.ndarray:
    """JSON column -> numpy of the signature dtype, refusing values of another type."""
    want = dtypes.NUMPY.get(dtype)

    def walk(item):
        if isinstance(item, list):
            return [walk(x) for x in item]
        return _leaf(item, want, dtype, alias)

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


def array_to_json(name: str, array: np.ndarray):
    """An output array as JSON values; strings of names ending in `_bytes` as b64."""
    if array.dtype.kind == "O":
        if name.endswith("_bytes"):
            return np.vectorize(lambda b: {"b64": base64.b64encode(b).decode("ascii")},
                                otypes=[object])(array).tolist()
        return np.vectorize(lambda b: b.decode("utf-8", "replace"), otypes=[object])(
            array).tolist()
    return array.tolist()


def _columns(body: dict, aliases: list, row_form: bool) -> dict:
    """{alias: JSON column} from either body form."""
    if row_form:
        rows = body["instances"]
        if not isinstance(rows, list) or not rows:
            raise ValueError("'instances' must be a non-empty list of rows")
        if all(isinstance(r, dict) and not set(r) <= {"b64"} for r in rows):
            keys = set(rows[0])
            if any(set(r) != keys for r in rows):
                raise ValueError("every instance must name the same inputs")
            return {k: [r[k] for r in rows] for k in keys}
        if len(aliases) == 1:
            return {aliases[0]: rows}
        raise ValueError(f"instances must be objects naming the inputs {aliases}")
    columns = body["inputs"]
    if not isinstance(columns, dict) or set(columns) == {"b64"}:
        if len(aliases) != 1:
            raise ValueError(f"'inputs' must be an object naming {aliases}")
        columns = {aliases[0]: columns}
    return columns


def request_inputs(body: dict, signature, row_form: bool) -> dict:
    """A parsed body's inputs as {alias: numpy array} of the SignatureDef's dtypes.

    ValueError for a malformed body; ServingStatus for an input the signature lacks."""
    aliases = sorted(signature.inputs)
    arrays = {}
    for alias, value in _columns(body, aliases, row_form).items():
        if alias not in signature.inputs:
            raise ServingStatus(
                "INVALID_ARGUMENT", f"input tensor alias not found in signature: {alias}."
                f" Inputs expected to be in the set {{{','.join(aliases)}}}.")
        arrays[alias] = json_to_array(value, signature.inputs[alias].dtype, alias)
    return arrays


def response_body(outputs: dict, row_form: bool) -> dict:
    """Named output arrays as TF Serving's answer: {"predictions": rows} to the row form,
    {"outputs": columns} to the column form (one output: its value alone)."""
    columns = {n: array_to_json(n, a) for n, a in outputs.items()}
    if row_form:
        rows = len(next(iter(columns.values())))
        if len(columns) == 1:
            predictions = next(iter(columns.values()))
        else:
            predictions = [{n: c[i] for n, c in columns.items()} for i in range(rows)]
        return {"predictions": predictions}
    if len(columns) == 1:
        return {"outputs": next(iter(columns.values()))}
    return {"outputs": columns}
