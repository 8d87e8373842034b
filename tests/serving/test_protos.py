"""The gRPC client's messages without TensorFlow (`protos`, `tensor_codec`): the same
fields as TensorFlow's and TF Serving's protos, the same bytes on the wire, the same
arrays back, as the client built with tf.make_tensor_proto / tf.make_ndarray had."""
import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2
from tensorflow.core.protobuf import meta_graph_pb2
from tensorflow_serving.apis import (get_model_metadata_pb2, model_pb2, predict_pb2,
                                     prediction_service_pb2_grpc)

from tests.serving import probes
from vgan_tf import sampling
from vgan_tf.serving import GrpcClient, api, protos, tensor_codec

SIZES = probes.SIZES


@pytest.fixture(scope="module")
def stub(served):
    """TF Serving's own stub (tensorflow-serving-api): the client as it was built."""
    with grpc.insecure_channel(served.server.grpc_address) as channel:
        yield prediction_service_pb2_grpc.PredictionServiceStub(channel)


THEIRS = {  # our message -> TensorFlow's / TF Serving's class
    "tensorflow.TensorShapeProto": tensor_shape_pb2.TensorShapeProto,
    "tensorflow.TensorShapeProto.Dim": tensor_shape_pb2.TensorShapeProto.Dim,
    "tensorflow.TensorProto": tensor_pb2.TensorProto,
    "tensorflow.TensorInfo": meta_graph_pb2.TensorInfo,
    "tensorflow.SignatureDef": meta_graph_pb2.SignatureDef,
    "tensorflow.serving.ModelSpec": model_pb2.ModelSpec,
    "tensorflow.serving.PredictRequest": predict_pb2.PredictRequest,
    "tensorflow.serving.PredictResponse": predict_pb2.PredictResponse,
    "tensorflow.serving.SignatureDefMap": get_model_metadata_pb2.SignatureDefMap,
    "tensorflow.serving.GetModelMetadataRequest": get_model_metadata_pb2.GetModelMetadataRequest,
    "tensorflow.serving.GetModelMetadataResponse":
        get_model_metadata_pb2.GetModelMetadataResponse,
}

ARRAYS = {  # tensor_content for more than one element, the typed lists for one or none
    "int64 seeds": np.array([4, 5], np.int64),
    "one int64 seed": np.array([4], np.int64),
    "z": np.linspace(-2, 2, 2 * SIZES.latent_dim, dtype=np.float32).reshape(2, -1),
    "one float": np.array([[1.5]], np.float32),
    "float64": np.array([1.0, -2.5]),
    "one float64": np.array([3.25]),
    "uint8 video": np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4),
    "one uint8": np.array([7], np.uint8),
    "bool": np.array([True, False, True]),
    "bytes": np.array([b"ab", b"\xff\x00", b""], dtype=object),
    "one bytes": np.array([b"GIF89a"], dtype=object),
    "str": np.array(["caf\u00e9", "x"]),
    "fixed bytes": np.array([b"a", b"bc"]),
    "float16": np.array([1.5, -2.0, 65504.0], np.float16),
    "one float16": np.array([3.0], np.float16),
    "uint16": np.array([1, 65535], np.uint16),
    "uint32": np.array([1, 2 ** 32 - 1], np.uint32),
    "uint64": np.array([2 ** 64 - 1], np.uint64),
    "int8": np.array([-3, 4], np.int8),
    "int16": np.array([-3, 4], np.int16),
    "one int32": np.array([-3], np.int32),
    "empty rows": np.zeros([0, 3], np.float32),
    "empty strings": np.zeros([0], object),
    "scalar": np.int64(3),
    "strided view": np.arange(12, dtype=np.int64).reshape(3, 4)[:, ::2],
}


def _same(ours: np.ndarray, theirs: np.ndarray):
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    if ours.dtype == object:
        assert list(ours.reshape(-1)) == list(theirs.reshape(-1))
    else:
        assert ours.tobytes() == theirs.tobytes()  # bit for bit (NaN, -0.0 included)


def _field_facts(field) -> tuple:
    return (field.number, field.type, field.label,
            field.message_type.full_name if field.message_type else None,
            field.enum_type.full_name if field.enum_type else None,
            field.containing_oneof.name if field.containing_oneof else None)


@pytest.mark.parametrize("name", sorted(THEIRS))
def test_declared_fields_match_tensorflows_protos(name):
    ours = protos.POOL.FindMessageTypeByName(name)
    theirs = THEIRS[name].DESCRIPTOR
    assert ours.full_name == theirs.full_name
    assert ours.fields, name
    for field in ours.fields:
        assert field.name in theirs.fields_by_name, field.name
        real = theirs.fields_by_name[field.name]
        assert _field_facts(field) == _field_facts(real), field.name
        if field.label == field.LABEL_REPEATED and field.type not in (
                field.TYPE_MESSAGE, field.TYPE_STRING, field.TYPE_BYTES):
            assert field.is_packed and real.is_packed, field.name


def test_data_types_match_tensorflows():
    real = {v.name: v.number for v in types_pb2.DataType.DESCRIPTOR.values if v.number < 100}
    assert protos.DATA_TYPES == real


@pytest.mark.parametrize("what", sorted(ARRAYS))
def test_tensor_protos_are_tensorflows_bytes_and_arrays(what):
    array = ARRAYS[what]
    theirs = tf.make_tensor_proto(array)
    assert tensor_codec.to_proto(array).SerializeToString() == theirs.SerializeToString()
    _same(tensor_codec.to_array(protos.TensorProto.FromString(theirs.SerializeToString())),
          tf.make_ndarray(theirs))


@pytest.mark.parametrize("dtype, field, values, dims", [
    (types_pb2.DT_FLOAT, "float_val", [2.0], [3]),            # one value fills the shape
    (types_pb2.DT_INT64, "int64_val", [1, 2], [2, 2]),         # the last value pads
    (types_pb2.DT_UINT8, "int_val", [], [2]),                  # none: zeros
    (types_pb2.DT_BOOL, "bool_val", [True], [2]),
    (types_pb2.DT_STRING, "string_val", [b"a", b"b"], [3]),
    (types_pb2.DT_HALF, "half_val", [15360], [2]),             # 1.0 in float16 bits
    (types_pb2.DT_DOUBLE, "double_val", [float("nan"), -0.0], [2]),
])
def test_typed_value_lists_decode_as_tensorflow_does(dtype, field, values, dims):
    proto = tensor_pb2.TensorProto(dtype=dtype, **{field: values})
    proto.tensor_shape.dim.extend(tensor_shape_pb2.TensorShapeProto.Dim(size=d) for d in dims)
    _same(tensor_codec.to_array(protos.TensorProto.FromString(proto.SerializeToString())),
          tf.make_ndarray(proto))


def test_codec_refuses_what_it_cannot_carry():
    with pytest.raises(ValueError, match="complex64"):
        tensor_codec.to_proto(np.array([1j, 2j], np.complex64))
    with pytest.raises(ValueError, match="bytes or str"):
        tensor_codec.to_proto(np.array([b"a", 3], dtype=object))
    with pytest.raises(ValueError, match="DT_COMPLEX64"):
        tensor_codec.to_array(protos.TensorProto(dtype=protos.DATA_TYPES["DT_COMPLEX64"]))
    with pytest.raises(ValueError, match="tensor_content"):
        tensor_codec.to_array(protos.TensorProto(dtype=protos.DATA_TYPES["DT_STRING"],
                                                 tensor_content=b"abc"))


def _request_before(signature: str, inputs: dict, version=None):
    """The request as GrpcClient built it with TensorFlow (predict_pb2, make_tensor_proto)."""
    request = predict_pb2.PredictRequest()
    request.model_spec.name = api.GENERATOR_MODEL
    if version is not None:
        request.model_spec.version.value = version
    request.model_spec.signature_name = signature
    for name, array in inputs.items():
        request.inputs[name].CopyFrom(tf.make_tensor_proto(np.asarray(array)))
    return request


CALLS = [  # (signature, inputs)
    (api.SERVING_DEFAULT, {api.SEED: np.array([4, 5], np.int64)}),
    (api.SERVING_DEFAULT, {api.SEED: np.array([4], np.int64)}),
    (api.GENERATE_FROM_Z, {api.Z: sampling.latents_for_seeds([5, 6],
                                                            SIZES.latent_dim).numpy()}),
    (api.GENERATE_FLOAT, {api.Z: sampling.latents_for_seeds([5], SIZES.latent_dim).numpy()}),
    (api.GENERATE_JPEG_STRIP, {api.SEED: np.array([1, 2], np.int64)}),
    (api.GENERATE_GIF, {api.SEED: np.array([3], np.int64)}),
]


@pytest.mark.parametrize("signature, inputs", CALLS,
                         ids=[f"{c[0]}-{len(next(iter(c[1].values())))}" for c in CALLS])
def test_round_trips_through_the_dev_server_are_bit_identical_to_before(
        served, stub, signature, inputs):
    """The request's bytes and every output array, against the TensorFlow-built client."""
    before = _request_before(signature, inputs, version=1)
    with GrpcClient(served.server.grpc_address, version=1) as client:
        request = client.predict_request(inputs, signature)
        outputs = client.predict(inputs, signature)
    assert request.SerializeToString() == before.SerializeToString()
    reply = stub.Predict(before, timeout=60)
    assert set(outputs) == set(reply.outputs)
    for name, proto in reply.outputs.items():
        _same(outputs[name], tf.make_ndarray(proto))


def test_metadata_reads_as_before(served, stub):
    """GrpcClient.metadata() equals the description the TensorFlow-built client made."""
    request = get_model_metadata_pb2.GetModelMetadataRequest()
    request.model_spec.name = api.GENERATOR_MODEL
    request.metadata_field.append("signature_def")
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    stub.GetModelMetadata(request, timeout=60).metadata["signature_def"].Unpack(signature_map)
    before = {name: {part: {t: (types_pb2.DataType.Name(info.dtype),
                                [d.size for d in info.tensor_shape.dim])
                            for t, info in getattr(sig, part).items()}
                     for part in ("inputs", "outputs")}
              for name, sig in signature_map.signature_def.items()}
    with GrpcClient(served.server.grpc_address) as client:
        assert client.metadata() == before
    assert before["generate_float"]["outputs"]["video"][0] == "DT_FLOAT"
