"""numpy arrays <-> TensorProto messages (`vgan_tf.serving.protos`), without TensorFlow.

`to_proto(array)` writes what `tf.make_tensor_proto(array)` writes for a numpy array
(the raw bytes in `tensor_content` when there is more than one element and the dtype
has a fixed layout, else the typed value list: `int64_val`, `float_val`, `string_val`,
...); `to_array(proto)` reads what `tf.make_ndarray` reads (`tensor_content`, or the
typed list, a short list padded with its last value, an empty one as zeros). A test
compares both with TensorFlow's, byte for byte and bit for bit. Little-endian hosts
(`tensor_content` is the host's byte order, as in TensorFlow).
"""
from __future__ import annotations

import numpy as np

from vgan_tf.serving import protos

# DataType name -> (numpy dtype, typed value field, tensor_content when > 1 element)
_CODEC = {
    "DT_FLOAT": (np.float32, "float_val", True),
    "DT_DOUBLE": (np.float64, "double_val", True),
    "DT_HALF": (np.float16, "half_val", True),
    "DT_INT8": (np.int8, "int_val", True),
    "DT_INT16": (np.int16, "int_val", True),
    "DT_INT32": (np.int32, "int_val", True),
    "DT_INT64": (np.int64, "int64_val", True),
    "DT_UINT8": (np.uint8, "int_val", True),
    "DT_UINT16": (np.uint16, "int_val", False),
    "DT_UINT32": (np.uint32, "uint32_val", True),
    "DT_UINT64": (np.uint64, "uint64_val", True),
    "DT_BOOL": (np.bool_, "bool_val", False),
    "DT_STRING": (object, "string_val", False),
}
_BY_ENUM = {protos.DATA_TYPES[name]: (name, *codec) for name, codec in _CODEC.items()}
_BY_NUMPY = {np.dtype(numpy): protos.DATA_TYPES[name]
             for name, (numpy, _, _) in _CODEC.items() if numpy is not object}


def _as_bytes(item) -> bytes:
    if isinstance(item, bytes):
        return item
    if isinstance(item, str):
        return item.encode("utf-8")
    raise ValueError(f"a string tensor holds bytes or str, got {type(item).__name__}")


def to_proto(value) -> protos.TensorProto:
    """A numpy array (or what np.asarray takes) as a TensorProto of its own dtype."""
    array = np.asarray(value)
    proto = protos.TensorProto()
    proto.tensor_shape.dim.extend(protos.TensorShapeProto.Dim(size=int(size))
                                  for size in array.shape)
    if array.dtype.kind in "OSU":
        proto.dtype = protos.DATA_TYPES["DT_STRING"]
        proto.string_val.extend(_as_bytes(item) for item in array.reshape(-1))
        return proto
    if array.dtype not in _BY_NUMPY:
        raise ValueError(f"no TensorProto encoding here for numpy dtype {array.dtype}")
    proto.dtype = _BY_NUMPY[array.dtype]
    _, _, field, content = _BY_ENUM[proto.dtype]
    if content and array.size > 1:
        proto.tensor_content = array.tobytes()
    elif field == "half_val":
        proto.half_val.extend(array.reshape(-1).view(np.uint16).tolist())
    else:
        getattr(proto, field).extend(array.reshape(-1).tolist())
    return proto


def to_array(proto) -> np.ndarray:
    """A TensorProto's values as a numpy array of its shape and dtype."""
    if proto.dtype not in _BY_ENUM:
        name = protos.DATA_TYPE_NAMES.get(proto.dtype, str(proto.dtype))
        raise ValueError(f"no numpy decoding here for tensor dtype {name}")
    name, numpy, field, _ = _BY_ENUM[proto.dtype]
    shape = [d.size for d in proto.tensor_shape.dim]
    count = int(np.prod(shape, dtype=np.int64))
    if proto.tensor_content:
        if numpy is object:
            raise ValueError("a string tensor cannot travel as tensor_content")
        return np.frombuffer(proto.tensor_content, dtype=numpy).copy().reshape(shape)
    if numpy is object:
        values = list(proto.string_val)
        if count > len(values):
            values.extend([values[-1] if values else b""] * (count - len(values)))
        return np.array(values, dtype=object).reshape(shape)
    if field == "half_val":
        values = np.fromiter(proto.half_val, dtype=np.uint16).view(np.float16)
    else:
        values = np.fromiter(getattr(proto, field), dtype=numpy)
    if values.size == 0:
        return np.zeros(shape, numpy)
    if values.size != count:
        values = np.pad(values, (0, count - values.size), "edge")
    return values.reshape(shape)
