"""TF Serving's PredictionService messages without TensorFlow: the gRPC client's protos.

`tensorflow_serving.apis.predict_pb2` imports `tensorflow.core.framework.tensor_pb2`,
and importing anything under `tensorflow.` runs `tensorflow/__init__.py`, which loads
TensorFlow's whole runtime (docs/serving.md: the measured import times). So the
messages a client sends and reads are declared here, in the .proto files' own words,
field for field (same names, numbers, types; proto3, so repeated numbers are packed),
and built in a private descriptor pool: the same bytes on the wire, no clash with
TensorFlow's classes when both are loaded. A test compares every field with the
installed tensorflow / tensorflow-serving-api descriptors and the serialized bytes
with theirs.

Fields a client never reads (TensorProto's resource handles and variants, PredictRequest's
streaming options, TensorInfo's sparse and composite encodings) are left out: a message
that carries them keeps them as unknown fields.

    request = protos.PredictRequest()
    request.inputs["seed"].dtype = protos.DATA_TYPES["DT_INT64"]
    stub = channel.unary_unary(protos.PREDICT, protos.PredictRequest.SerializeToString,
                               protos.PredictResponse.FromString)
"""
from __future__ import annotations

from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, message_factory
from google.protobuf import wrappers_pb2

_FieldProto = descriptor_pb2.FieldDescriptorProto

_SCALARS = {"double": _FieldProto.TYPE_DOUBLE, "float": _FieldProto.TYPE_FLOAT,
            "int64": _FieldProto.TYPE_INT64, "uint64": _FieldProto.TYPE_UINT64,
            "int32": _FieldProto.TYPE_INT32, "uint32": _FieldProto.TYPE_UINT32,
            "bool": _FieldProto.TYPE_BOOL, "string": _FieldProto.TYPE_STRING,
            "bytes": _FieldProto.TYPE_BYTES}

DATA_TYPES = {
    "DT_INVALID": 0, "DT_FLOAT": 1, "DT_DOUBLE": 2, "DT_INT32": 3, "DT_UINT8": 4,
    "DT_INT16": 5, "DT_INT8": 6, "DT_STRING": 7, "DT_COMPLEX64": 8, "DT_INT64": 9,
    "DT_BOOL": 10, "DT_QINT8": 11, "DT_QUINT8": 12, "DT_QINT32": 13, "DT_BFLOAT16": 14,
    "DT_QINT16": 15, "DT_QUINT16": 16, "DT_UINT16": 17, "DT_COMPLEX128": 18, "DT_HALF": 19,
    "DT_RESOURCE": 20, "DT_VARIANT": 21, "DT_UINT32": 22, "DT_UINT64": 23,
    "DT_FLOAT8_E5M2": 24, "DT_FLOAT8_E4M3FN": 25, "DT_FLOAT8_E4M3FNUZ": 26,
    "DT_FLOAT8_E4M3B11FNUZ": 27, "DT_FLOAT8_E5M2FNUZ": 28, "DT_INT4": 29, "DT_UINT4": 30,
    "DT_INT2": 31, "DT_UINT2": 32, "DT_FLOAT4_E2M1FN": 33}
"""tensorflow.DataType (types.proto), the values below 100 (the _REF variants are graph
internals, never in a request)."""

# message name (after its parent, if nested) -> fields, each "[repeated] [oneof NAME] type name = number" or
# "map<key, value> name = number", as in the .proto files (file: package).
_TENSORFLOW = {  # tensor_shape.proto, tensor.proto, meta_graph.proto: package tensorflow
    "TensorShapeProto": ["repeated TensorShapeProto.Dim dim = 2", "bool unknown_rank = 3"],
    "TensorShapeProto.Dim": ["int64 size = 1", "string name = 2"],
    "TensorProto": [
        "DataType dtype = 1", "TensorShapeProto tensor_shape = 2",
        "int32 version_number = 3", "bytes tensor_content = 4",
        "repeated int32 half_val = 13", "repeated float float_val = 5",
        "repeated double double_val = 6", "repeated int32 int_val = 7",
        "repeated bytes string_val = 8", "repeated float scomplex_val = 9",
        "repeated int64 int64_val = 10", "repeated bool bool_val = 11",
        "repeated double dcomplex_val = 12", "repeated uint32 uint32_val = 16",
        "repeated uint64 uint64_val = 17", "bytes float8_val = 18"],
    "TensorInfo": ["oneof encoding string name = 1", "DataType dtype = 2",
                   "TensorShapeProto tensor_shape = 3"],
    "SignatureDef": ["map<string, TensorInfo> inputs = 1",
                     "map<string, TensorInfo> outputs = 2", "string method_name = 3",
                     "map<string, TensorProto> defaults = 4"],
}
_SERVING = {  # model.proto, predict.proto, get_model_metadata.proto: tensorflow.serving
    "ModelSpec": ["string name = 1",
                  "oneof version_choice .google.protobuf.Int64Value version = 2",
                  "oneof version_choice string version_label = 4",
                  "string signature_name = 3"],
    "PredictRequest": ["ModelSpec model_spec = 1",
                       "map<string, .tensorflow.TensorProto> inputs = 2",
                       "repeated string output_filter = 3"],
    "PredictResponse": ["ModelSpec model_spec = 2",
                        "map<string, .tensorflow.TensorProto> outputs = 1"],
    "SignatureDefMap": ["map<string, .tensorflow.SignatureDef> signature_def = 1"],
    "GetModelMetadataRequest": ["ModelSpec model_spec = 1",
                                "repeated string metadata_field = 2"],
    "GetModelMetadataResponse": ["ModelSpec model_spec = 1",
                                 "map<string, .google.protobuf.Any> metadata = 2"],
}

SERVICE = "tensorflow.serving.PredictionService"
PREDICT = f"/{SERVICE}/Predict"
GET_MODEL_METADATA = f"/{SERVICE}/GetModelMetadata"
"""gRPC method paths (prediction_service.proto)."""


def _type_name(name: str, package: str) -> str:
    """A field's type reference, fully qualified (".pkg.Msg"); "DataType" is the enum."""
    return name if name.startswith(".") else f".{package}.{name}"


def _add_field(message, spec: str, package: str, oneofs: dict):
    words = spec.replace("=", " ").split()
    field = message.field.add(name=words[-2], number=int(words[-1]),
                              label=_FieldProto.LABEL_OPTIONAL)
    words = words[:-2]
    if words[0] == "repeated":
        field.label, words = _FieldProto.LABEL_REPEATED, words[1:]
    if words[0] == "oneof":
        if words[1] not in oneofs:
            oneofs[words[1]] = len(message.oneof_decl)
            message.oneof_decl.add(name=words[1])
        field.oneof_index, words = oneofs[words[1]], words[2:]
    kind = words[0]
    if kind in _SCALARS:
        field.type = _SCALARS[kind]
    elif kind == "DataType":
        field.type, field.type_name = _FieldProto.TYPE_ENUM, ".tensorflow.DataType"
    else:
        field.type, field.type_name = _FieldProto.TYPE_MESSAGE, _type_name(kind, package)


def _add_map(message, full_name: str, spec: str, package: str):
    """`map<string, V> name = n`: a repeated NameEntry {key = 1; value = 2} (map_entry)."""
    types, rest = spec[len("map<"):].split(">", 1)
    value_type = types.split(",")[1].strip()
    name = rest.replace("=", " ").split()[0]
    entry_name = "".join(part.capitalize() for part in name.split("_")) + "Entry"
    entry = message.nested_type.add(name=entry_name)
    entry.options.map_entry = True
    _add_field(entry, "string key = 1", package, {})
    _add_field(entry, f"{value_type} value = 2", package, {})
    field = message.field.add(name=name, number=int(rest.split("=")[1]),
                              label=_FieldProto.LABEL_REPEATED,
                              type=_FieldProto.TYPE_MESSAGE)
    field.type_name = f".{package}.{full_name}.{entry_name}"


def _file(name: str, package: str, messages: dict, dependencies: list):
    """A FileDescriptorProto for `messages` (dotted names: nested types)."""
    proto = descriptor_pb2.FileDescriptorProto(name=name, package=package, syntax="proto3",
                                               dependency=dependencies)
    made = {}
    for full_name, fields in messages.items():
        outer, _, inner = full_name.rpartition(".")
        parent = made[outer].nested_type if outer else proto.message_type
        message = parent.add(name=inner or full_name)
        made[full_name] = message
        oneofs = {}
        for spec in fields:
            if spec.startswith("map<"):
                _add_map(message, full_name, spec, package)
            else:
                _add_field(message, spec, package, oneofs)
    return proto


def _pool() -> descriptor_pool.DescriptorPool:
    pool = descriptor_pool.DescriptorPool()
    for module in (wrappers_pb2, any_pb2):
        pool.AddSerializedFile(module.DESCRIPTOR.serialized_pb)
    tensorflow = _file("vgan_tf/serving/tensorflow.proto", "tensorflow", _TENSORFLOW, [])
    data_type = tensorflow.enum_type.add(name="DataType")
    for name, number in DATA_TYPES.items():
        data_type.value.add(name=name, number=number)
    pool.Add(tensorflow)
    pool.Add(_file("vgan_tf/serving/tensorflow_serving.proto", "tensorflow.serving",
                   _SERVING, ["vgan_tf/serving/tensorflow.proto",
                              "google/protobuf/wrappers.proto",
                              "google/protobuf/any.proto"]))
    return pool


POOL = _pool()


def message_class(full_name: str):
    """The class of a message declared here, e.g. "tensorflow.TensorProto"."""
    return message_factory.GetMessageClass(POOL.FindMessageTypeByName(full_name))


TensorShapeProto = message_class("tensorflow.TensorShapeProto")
TensorProto = message_class("tensorflow.TensorProto")
ModelSpec = message_class("tensorflow.serving.ModelSpec")
PredictRequest = message_class("tensorflow.serving.PredictRequest")
PredictResponse = message_class("tensorflow.serving.PredictResponse")
GetModelMetadataRequest = message_class("tensorflow.serving.GetModelMetadataRequest")
GetModelMetadataResponse = message_class("tensorflow.serving.GetModelMetadataResponse")
SignatureDefMap = message_class("tensorflow.serving.SignatureDefMap")

DATA_TYPE_NAMES = {number: name for name, number in DATA_TYPES.items()}
