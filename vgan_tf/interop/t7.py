"""A reader of Torch7's binary serialisation format (`torch.save`), as data only.

    tree = t7.read_t7("iter100000_net.t7")   # a T7Object("nn.Sequential", {...})

The format (torch7 File.lua writeObject, generic/Tensor.c and Storage.c write): an int32
type tag, then nil (nothing), a number (float64), a boolean (int32), a string (int32
length + bytes), a table (int32 reference index, int32 entry count, key/value pairs), a
Torch class instance (int32 reference index, "V <version>", class name, then either a
tensor header + storage, a storage, or the instance's fields as a table). An object met a
second time is written as its reference index only, so tensors that are views into one
storage (as `getParameters()` leaves a network) share that storage here too.

What comes back: tables as dicts (integral number keys as int), Torch classes as
`T7Object`, storages as read-only 1-D numpy arrays into the file's bytes, tensors as new
numpy arrays (a copy of the view: size, stride and offset are checked against the
storage first). Float, Double and CUDA tensor classes are read; `torch.CudaTensor` holds
float32 like `torch.FloatTensor`.

Nothing is executed or unpickled: a Lua function (bytecode) in the file is refused, and
any class other than tensors and storages must carry a plain table of fields. Longs are
8 bytes little-endian (files written on 64-bit Linux or macOS). Malformed input raises
`T7FormatError` (a ValueError) naming the file and the byte offset, in one line.

The file is untrusted: every count, length and storage size must fit in the bytes that
remain, class names must be short printable names and versions finite numbers, a
reference must name an object of the kind its tag says, a tensor's sizes, strides and
offset must stay inside its storage, and the tensors copied out of the file total at
most `copy_budget(len(data))` bytes (twice the file plus 64 KiB). A view that repeats
elements (a stride of 0, as `expand` leaves) is copied like any other, within that
budget; one that would exceed it is refused.
"""
from __future__ import annotations

import dataclasses
import math
import struct

import numpy as np

TYPE_NIL = 0
TYPE_NUMBER = 1
TYPE_STRING = 2
TYPE_TABLE = 3
TYPE_TORCH = 4
TYPE_BOOLEAN = 5
TYPE_FUNCTION = 6
LEGACY_TYPE_RECUR_FUNCTION = 7
TYPE_RECUR_FUNCTION = 8

_DTYPES = {
    "Byte": np.uint8, "Char": np.int8, "Short": np.int16, "Int": np.int32,
    "Long": np.int64, "Float": np.float32, "Double": np.float64,
    "Cuda": np.float32, "CudaDouble": np.float64, "CudaByte": np.uint8,
    "CudaChar": np.int8, "CudaShort": np.int16, "CudaInt": np.int32,
    "CudaLong": np.int64,
}
STORAGE_CLASSES = {f"torch.{k}Storage": np.dtype(v).newbyteorder("<")
                   for k, v in _DTYPES.items()}
TENSOR_CLASSES = {f"torch.{k}Tensor": f"torch.{k}Storage" for k in _DTYPES}

MAX_DEPTH = 200
MAX_DIMS = 32
MAX_CLASS_NAME = 256  # bytes; Torch class names are short dotted identifiers
MIN_ENTRY_BYTES = 12  # the smallest table entry: a string key of length 0, a nil value
COPY_BYTES_PER_FILE_BYTE = 2
COPY_SLACK_BYTES = 1 << 16
_INT32, _INT64, _DOUBLE = struct.Struct("<i"), struct.Struct("<q"), struct.Struct("<d")


def copy_budget(file_bytes: int) -> int:
    """The most bytes of tensors one file of `file_bytes` may have copied out of it."""
    return COPY_BYTES_PER_FILE_BYTE * file_bytes + COPY_SLACK_BYTES


class T7FormatError(ValueError):
    """The bytes are not a Torch7 binary file this reader can read (or are truncated)."""


@dataclasses.dataclass(eq=False)
class T7Object:
    """An instance of a Torch class that is not a tensor or storage (e.g. nn.ReLU).

    `fields` is the instance's table (field name -> value); `class_name` is as written in
    the file ("nn.SpatialFullConvolution", "cudnn.ReLU", ...)."""

    class_name: str
    fields: dict
    version: int = 0

    def get(self, name, default=None):
        return self.fields.get(name, default)

    def __repr__(self):
        return f"T7Object({self.class_name}, fields={sorted(map(str, self.fields))})"


class _Reader:
    def __init__(self, data: bytes, name: str):
        self.data = memoryview(data)
        self.name = name
        self.pos = 0
        self.objects = {}
        self.budget = copy_budget(len(data))  # bytes of tensor copies still allowed

    def fail(self, message):
        raise T7FormatError(f"{self.name}: {message} (at byte {self.pos})")

    def take(self, fmt):
        """Unpacks `fmt` (a format string or a struct.Struct) at the current position."""
        fmt = fmt if isinstance(fmt, struct.Struct) else struct.Struct(fmt)
        if self.pos + fmt.size > len(self.data):
            self.fail("unexpected end of file")
        values = fmt.unpack_from(self.data, self.pos)
        self.pos += fmt.size
        return values

    def int32(self) -> int:
        return self.take(_INT32)[0]

    def int64(self) -> int:
        return self.take(_INT64)[0]

    def raw(self, size: int) -> bytes:
        if size < 0 or self.pos + size > len(self.data):
            self.fail(f"a length of {size} bytes runs past the end of the file")
        out = bytes(self.data[self.pos:self.pos + size])
        self.pos += size
        return out

    def string(self) -> str:
        return self.raw(self.int32()).decode("utf-8", errors="replace")

    def read(self, depth=0):
        if depth > MAX_DEPTH:
            self.fail(f"objects nested deeper than {MAX_DEPTH}")
        tag = self.int32()
        if tag == TYPE_NIL:
            return None
        if tag == TYPE_NUMBER:
            value = self.take(_DOUBLE)[0]
            return int(value) if value.is_integer() and abs(value) < 2 ** 53 else value
        if tag == TYPE_BOOLEAN:
            return self.int32() == 1
        if tag == TYPE_STRING:
            return self.string()
        if tag in (TYPE_FUNCTION, TYPE_RECUR_FUNCTION, LEGACY_TYPE_RECUR_FUNCTION):
            self.fail("a Lua function (bytecode) is stored here; it is code, not data, "
                      "and is never loaded")
        if tag not in (TYPE_TABLE, TYPE_TORCH):
            self.fail(f"unknown type tag {tag}")
        index = self.int32()
        if index in self.objects:
            found = self.objects[index]
            if (tag == TYPE_TABLE) != isinstance(found, dict):
                what = "a table" if tag == TYPE_TABLE else "a Torch object"
                self.fail(f"a reference to {what} (index {index}) names "
                          f"{'a Torch object' if tag == TYPE_TABLE else 'a table'}")
            return found
        if tag == TYPE_TABLE:
            return self.table(index, depth)
        return self.torch(index, depth)

    def table(self, index, depth):
        count = self.int32()
        if count < 0 or count * MIN_ENTRY_BYTES > len(self.data) - self.pos:
            self.fail(f"a table of {count} entries in the {len(self.data) - self.pos} "
                      "bytes that remain")
        table = {}
        self.objects[index] = table
        for _ in range(count):
            key = self.read(depth + 1)
            if isinstance(key, (dict, list, T7Object, np.ndarray)) or key is None:
                self.fail("a table key that is not a number, string or boolean")
            table[key] = self.read(depth + 1)
        return table

    def version(self, text: str) -> int:
        try:
            value = float(text[2:])
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or abs(value) >= 2 ** 31:
            self.fail(f"a bad class version {text[:40]!r}")
        return int(value)

    def class_name(self, text: str) -> str:
        if not text or len(text) > MAX_CLASS_NAME or not text.isascii() or not text.isprintable():
            self.fail(f"a class name that is not a short printable name: {text[:40]!r}")
        return text

    def torch(self, index, depth):
        version_text = self.string()
        if version_text.startswith("V "):
            version = self.version(version_text)
            class_name = self.class_name(self.string())
        else:  # written before Torch7 had class versions
            version, class_name = 0, self.class_name(version_text)
        if class_name in STORAGE_CLASSES:
            storage = self.storage(STORAGE_CLASSES[class_name])
            self.objects[index] = storage
            return storage
        if class_name in TENSOR_CLASSES:
            tensor = self.tensor(class_name, depth)
            self.objects[index] = tensor
            return tensor
        obj = T7Object(class_name, {}, version)
        self.objects[index] = obj
        start = self.pos
        if self.int32() != TYPE_TABLE:
            self.pos = start
            self.fail(f"class {class_name} is stored in a form of its own that this "
                      "reader does not know (only tensors, storages and plain tables)")
        self.pos = start
        fields = self.read(depth + 1)
        if not isinstance(fields, dict):  # a reference back to a tensor or storage
            self.fail(f"class {class_name} whose fields are not a table")
        obj.fields = fields
        return obj

    def storage(self, dtype):
        count = self.int64()
        nbytes = count * dtype.itemsize
        if count < 0 or self.pos + nbytes > len(self.data):
            self.fail(f"a storage of {count} elements runs past the end of the file")
        array = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += nbytes
        return array

    def tensor(self, class_name, depth):
        ndim = self.int32()
        if not 0 <= ndim <= MAX_DIMS:
            self.fail(f"a {class_name} with {ndim} dimensions")
        size = list(self.take(f"<{ndim}q")) if ndim else []
        stride = list(self.take(f"<{ndim}q")) if ndim else []
        offset = self.int64() - 1  # the file counts from 1
        storage = self.read(depth + 1)
        dtype = STORAGE_CLASSES[TENSOR_CLASSES[class_name]]
        if storage is None or ndim == 0:
            return np.zeros((0,), dtype.newbyteorder("="))
        if not isinstance(storage, np.ndarray) or storage.dtype != dtype:
            self.fail(f"a {class_name} whose storage is not a {TENSOR_CLASSES[class_name]}")
        return self.view(class_name, storage, size, stride, offset)

    def view(self, class_name, storage, size, stride, offset):
        """A copy of storage[offset + sum(i_k * stride_k)] over the index grid `size`."""
        if offset < 0 or any(s < 0 for s in size) or any(s < 0 for s in stride):
            self.fail(f"a {class_name} with a negative size, stride or offset")
        if 0 in size:  # no elements, but numpy still multiplies the other sizes
            if math.prod(s for s in size if s) * storage.itemsize > copy_budget(len(self.data)):
                self.fail(f"an empty {class_name} of size {size}, far larger than the file")
            return np.zeros(size, storage.dtype.newbyteorder("="))
        stride = [s if n > 1 else 0 for n, s in zip(size, stride)]  # unused: any value
        last = offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= storage.size:
            self.fail(f"a {class_name} view (size {size}, stride {stride}, offset "
                      f"{offset}) reaches past its storage of {storage.size} elements")
        nbytes = math.prod(size) * storage.itemsize
        if nbytes > self.budget:
            self.fail(f"a {class_name} of size {size} ({nbytes} bytes) over a storage of "
                      f"{storage.size} elements: with the tensors before it, more than "
                      f"{copy_budget(len(self.data))} bytes copied out of a file of "
                      f"{len(self.data)} bytes")
        self.budget -= nbytes
        view = np.lib.stride_tricks.as_strided(
            storage[offset:], shape=size, strides=[s * storage.itemsize for s in stride],
            writeable=False)
        return np.array(view, dtype=storage.dtype.newbyteorder("="))


def read_t7(path: str):
    """Reads one object (usually a module tree) from a Torch7 binary file at `path`."""
    with open(path, "rb") as handle:
        data = handle.read()
    return parse_t7(data, name=str(path))


def parse_t7(data: bytes, name: str = "<bytes>"):
    """Reads one object from the bytes of a Torch7 binary file (see `read_t7`)."""
    reader = _Reader(data, name)
    obj = reader.read()
    return obj
