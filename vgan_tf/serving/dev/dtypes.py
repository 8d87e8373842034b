"""The tensor dtypes the development server accepts: TF DataType enum <-> numpy, and
their names as TF Serving's messages write them."""
from __future__ import annotations

import numpy as np
from tensorflow.core.framework import types_pb2

NUMPY = {types_pb2.DT_UINT8: np.uint8, types_pb2.DT_INT32: np.int32,
         types_pb2.DT_INT64: np.int64, types_pb2.DT_FLOAT: np.float32,
         types_pb2.DT_DOUBLE: np.float64, types_pb2.DT_BOOL: np.bool_,
         types_pb2.DT_STRING: object}
"""DataType enum value -> numpy dtype (object: bytes strings)."""


def enum_name(dtype: int) -> str:
    """DT_... for a known enum value, else the number (a client may send any int)."""
    try:
        return types_pb2.DataType.Name(dtype)
    except ValueError:
        return f"{dtype} (not a DataType)"


def short_name(dtype: int) -> str:
    """"int64", "float", "string": the name in TF Serving's type errors."""
    return types_pb2.DataType.Name(dtype)[3:].lower()
