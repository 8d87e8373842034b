"""A small writer of Torch7's binary serialisation format, for the tests only.

It writes what `torch.save(path, obj)` writes on 64-bit Linux (torch7 File.lua
writeObject, generic/Tensor.c and generic/Storage.c write), so the tests can build the
files the original release holds without Torch:

- every object: an int32 type tag (0 nil, 1 number, 2 string, 3 table, 4 Torch class,
  5 boolean); numbers as float64, booleans as int32, strings as int32 length + bytes;
- tables and Torch objects: an int32 reference index (1, 2, ... in the order first
  written); an object written again is its index alone (Torch looks at the pointer:
  here at `id`), which is how views share one storage;
- a table: int32 entry count, then key, value, key, value, ...;
- a Torch class: "V <version>" and the class name (each int32 length + bytes), then
  for a tensor: int32 nDimension, int64 sizes, int64 strides, int64 storageOffset + 1,
  the storage object (nil for an empty tensor); for a storage: int64 size + raw data;
  for any other class (nn modules): its fields as one table.

Checked against the third-party reader `torchfile` in test_t7.py. `dumps_with_fields`
also says where each structure field lies (type tags, reference indices, counts, string
lengths, class names and versions, tensor dimensions, sizes, strides, offsets, storage
sizes), which is what the fuzz test (t7_fuzz.py) mutates.
"""
from __future__ import annotations

import dataclasses
import io
import struct

import numpy as np

TENSOR_DTYPES = {"Float": np.float32, "Cuda": np.float32, "Double": np.float64,
                 "Long": np.int64}


class Storage:
    def __init__(self, data, type_name="Float"):
        self.data = np.ascontiguousarray(data, TENSOR_DTYPES[type_name]).reshape(-1)
        self.class_name = f"torch.{type_name}Storage"


class Tensor:
    """A view (size, stride, 0-based offset) into a Storage; storage None: empty."""

    def __init__(self, storage, size=(), stride=None, offset=0, type_name="Float"):
        self.storage = storage
        self.size = tuple(int(s) for s in size)
        if stride is None:  # contiguous
            stride, step = [], 1
            for s in reversed(self.size):
                stride.insert(0, step)
                step *= s
        self.stride = tuple(int(s) for s in stride)
        self.offset = int(offset)
        self.class_name = f"torch.{type_name}Tensor"


class Module:
    """An instance of a Torch class written as a table of fields (e.g. nn.ReLU)."""

    def __init__(self, class_name, fields, version=1):
        self.class_name = class_name
        self.fields = dict(fields)
        self.version = version


def tensor(array, type_name="Float") -> Tensor:
    """A contiguous tensor with a storage of its own."""
    array = np.asarray(array)
    return Tensor(Storage(array, type_name), array.shape, type_name=type_name)


def empty(type_name="Float") -> Tensor:
    return Tensor(None, (), (), 0, type_name)


def long_storage(values) -> Storage:
    return Storage(np.asarray(values, np.int64), "Long")


@dataclasses.dataclass(frozen=True)
class Field:
    """One structure field of a written file: its byte offset, its struct format ("<i",
    "<q", "<d"; "str" for the bytes of a class name or version string, whose int32
    length lies 4 bytes before), what it is (tag, index, count, length, class, version,
    bool, number, ndim, size, stride, offset, storage_size) and, for a tensor size,
    where the stride of the same dimension lies."""

    pos: int
    fmt: str
    kind: str
    partner: int | None = None


class _Writer:
    def __init__(self, out):
        self.out = out
        self.index = {}
        self.fields = []

    def mark(self, kind, fmt, partner=None):
        self.fields.append(Field(self.out.tell(), fmt, kind, partner))

    def int32(self, value, kind=None):
        if kind:
            self.mark(kind, "<i")
        self.out.write(struct.pack("<i", value))

    def int64(self, value, kind=None, partner=None):
        if kind:
            self.mark(kind, "<q", partner)
        self.out.write(struct.pack("<q", value))

    def string(self, text, kind="length"):
        data = text.encode("utf-8")
        self.int32(len(data), "length")
        if kind != "length":
            self.mark(kind, "str")
        self.out.write(data)

    def reference(self, obj) -> bool:
        """Writes the reference index; True if the object was written before."""
        key = id(obj)
        if key in self.index:
            self.int32(self.index[key][0], "index")
            return True
        self.index[key] = (len(self.index) + 1, obj)  # keep obj alive: ids stay unique
        self.int32(self.index[key][0], "index")
        return False

    def write(self, obj):
        if obj is None:
            self.int32(0, "tag")
        elif isinstance(obj, bool):
            self.int32(5, "tag")
            self.int32(1 if obj else 0, "bool")
        elif isinstance(obj, (int, float)):
            self.int32(1, "tag")
            self.mark("number", "<d")
            self.out.write(struct.pack("<d", float(obj)))
        elif isinstance(obj, str):
            self.int32(2, "tag")
            self.string(obj)
        elif isinstance(obj, (dict, list)):
            self.int32(3, "tag")
            if self.reference(obj):
                return
            items = list(obj.items()) if isinstance(obj, dict) else [
                (i, v) for i, v in enumerate(obj, start=1)]
            self.int32(len(items), "count")
            for key, value in items:
                self.write(key)
                self.write(value)
        elif isinstance(obj, (Module, Tensor, Storage)):
            self.int32(4, "tag")
            if self.reference(obj):
                return
            self.string(f"V {getattr(obj, 'version', 1)}", "version")
            self.string(obj.class_name, "class")
            if isinstance(obj, Storage):
                self.int64(obj.data.size, "storage_size")
                self.out.write(obj.data.astype(obj.data.dtype.newbyteorder("<")).tobytes())
            elif isinstance(obj, Tensor):
                self.tensor(obj)
            else:
                self.write(obj.fields)
        else:
            raise TypeError(f"cannot write {type(obj).__name__}")

    def tensor(self, obj):
        ndim = len(obj.size)
        self.int32(ndim, "ndim")
        for dim, value in enumerate(obj.size):
            self.int64(value, "size", partner=self.out.tell() + 8 * ndim)
        for value in obj.stride:
            self.int64(value, "stride")
        self.int64(obj.offset + 1, "offset")
        self.write(obj.storage)


def dumps(obj) -> bytes:
    return dumps_with_fields(obj)[0]


def dumps_with_fields(obj) -> tuple:
    """(the file's bytes, [Field, ...] in the order written)."""
    out = io.BytesIO()
    writer = _Writer(out)
    writer.write(obj)
    return out.getvalue(), writer.fields


def save(path, obj):
    with open(path, "wb") as handle:
        handle.write(dumps(obj))
