"""The development server: TF Serving's answers to bad requests, its own batch limit,
version policies, and stopping."""
import base64
import http.client
import json
import os
import shutil
import socket

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2
from tensorflow_serving.apis import (classification_pb2, get_model_metadata_pb2,
                                     predict_pb2, prediction_service_pb2_grpc)

from tests.helpers import REPO
from tests.serving import probes
from vgan_tf import export
from vgan_tf.models import TwoStreamGenerator
from vgan_tf.serving import DevServer, GrpcClient, RestClient, ServingError, api, dev_server

SIZES = probes.SIZES
GUARD = f"batch size must be between 1 and {api.MAX_BATCH} rows"  # the exported graph's


@pytest.fixture(scope="module")
def stub(served):
    channel = grpc.insecure_channel(served.server.grpc_address)
    yield prediction_service_pb2_grpc.PredictionServiceStub(channel)
    channel.close()


def _request(model="generator", signature="", version=None, label=None, **inputs):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = signature
    if version is not None:
        request.model_spec.version.value = version
    if label is not None:
        request.model_spec.version_label = label
    for name, value in inputs.items():
        proto = value if isinstance(value, tensor_pb2.TensorProto) else \
            tf.make_tensor_proto(value)
        request.inputs[name].CopyFrom(proto)
    return request


def _proto(dtype, dims, content=b""):
    return tensor_pb2.TensorProto(
        dtype=dtype, tensor_content=content,
        tensor_shape=tensor_shape_pb2.TensorShapeProto(
            dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=d) for d in dims]))


def _filtered(name):
    request = _request(seed=np.array([1, 2], np.int64))
    request.output_filter.append(name)
    return request


_SEEDS = np.array([1, 2], np.int64)
_Z = np.zeros([1, SIZES.latent_dim], np.float32)
_NOT_IMAGE = np.array([b"definitely not an image"], dtype=object)

GRPC_CASES = [  # (what, request, status code, words the message must hold)
    ("unknown model", _request(model="nope", seed=_SEEDS), "NOT_FOUND", "Servable not found"),
    ("unknown version", _request(version=99, seed=_SEEDS), "NOT_FOUND", "99"),
    ("unknown label", _request(label="stable", seed=_SEEDS), "NOT_FOUND", "stable"),
    ("unknown signature", _request(signature="nope", seed=_SEEDS), "FAILED_PRECONDITION",
     '"nope" not found'),
    ("int32 seed", _request(seed=np.array([1], np.int32)), "INVALID_ARGUMENT", "int64"),
    ("float32 seed", _request(seed=np.array([1.0], np.float32)), "INVALID_ARGUMENT", "int64"),
    ("float64 seed", _request(seed=np.array([1.0])), "INVALID_ARGUMENT", "int64"),
    ("uint8 seed", _request(seed=np.array([1], np.uint8)), "INVALID_ARGUMENT", "int64"),
    ("bool seed", _request(seed=np.array([True])), "INVALID_ARGUMENT", "int64"),
    ("bytes seed", _request(seed=_NOT_IMAGE), "INVALID_ARGUMENT", "int64"),
    ("2-D seed", _request(seed=np.array([[1, 2]], np.int64)), "INVALID_ARGUMENT", "shape"),
    ("scalar seed", _request(seed=np.int64(3)), "INVALID_ARGUMENT", "shape"),
    ("empty batch", _request(seed=np.zeros([0], np.int64)), "INVALID_ARGUMENT", GUARD),
    ("batch 257", _request(seed=np.arange(257, dtype=np.int64)), "INVALID_ARGUMENT", GUARD),
    ("batch 10000", _request(seed=np.arange(10000, dtype=np.int64)), "INVALID_ARGUMENT",
     GUARD),
    ("negative dim", _request(seed=_proto(types_pb2.DT_INT64, [-1])), "INVALID_ARGUMENT",
     "negative"),
    ("negative dim with content", _request(
        seed=_proto(types_pb2.DT_INT64, [-3], _SEEDS.tobytes())), "INVALID_ARGUMENT",
     "negative"),
    ("huge dim", _request(seed=_proto(types_pb2.DT_INT64, [10 ** 12])), "INVALID_ARGUMENT",
     "too large"),
    ("content too short", _request(seed=_proto(types_pb2.DT_INT64, [4], b"\0" * 9)),
     "INVALID_ARGUMENT", "tensor_content"),
    ("unknown dtype", _request(seed=_proto(types_pb2.DT_COMPLEX64, [1])), "INVALID_ARGUMENT",
     "DT_COMPLEX64"),
    ("no inputs", _request(), "INVALID_ARGUMENT", "Missing input"),
    ("extra input", _request(seed=_SEEDS, extra=_SEEDS), "INVALID_ARGUMENT", "extra"),
    ("misnamed input", _request(seeds=_SEEDS), "INVALID_ARGUMENT", "seeds"),
    ("z too narrow", _request(signature="generate_from_z", z=np.zeros([1, 7], np.float32)),
     "INVALID_ARGUMENT", "shape"),
    ("int64 z", _request(signature="generate_from_z", z=_Z.astype(np.int64)),
     "INVALID_ARGUMENT", "float"),
    ("1-D z", _request(signature="generate_from_z", z=_Z[0]), "INVALID_ARGUMENT", "shape"),
    ("empty z batch", _request(signature="generate_from_z", z=_Z[:0]), "INVALID_ARGUMENT",
     GUARD),
    ("z of 300 rows", _request(signature="generate_float",
                               z=np.zeros([300, SIZES.latent_dim], np.float32)),
     "INVALID_ARGUMENT", GUARD),
    ("seed to z signature", _request(signature="generate_from_z", seed=_SEEDS),
     "INVALID_ARGUMENT", "seed"),
    ("unknown output filter", _filtered("nope"), "INVALID_ARGUMENT", "nope"),
    ("non-image bytes", _request(model="probe", image_bytes=_NOT_IMAGE), "INVALID_ARGUMENT",
     "Unknown image file format"),
    ("truncated PNG", _request(model="probe", image_bytes=np.array(
        [probes.png()[:20]], dtype=object)), "INVALID_ARGUMENT", ""),
    ("empty bytes", _request(model="probe", image_bytes=np.array([b""], dtype=object)),
     "INVALID_ARGUMENT", ""),
    ("int64 image bytes", _request(model="probe", image_bytes=_SEEDS), "INVALID_ARGUMENT",
     "string"),
]

_SEED_BODY = json.dumps({"inputs": {"seed": [1]}})
_Z_BODY = json.dumps({"signature_name": "generate_from_z",
                      "inputs": {"z": [[0.0] * SIZES.latent_dim]}})
_GEN = "/v1/models/generator:predict"
_PROBE = "/v1/models/probe:predict"
_B64_TEXT = base64.b64encode(b"hello, not an image").decode()

REST_CASES = [  # (what, path, body, HTTP status, words the error must hold)
    ("malformed JSON", _GEN, "{", 400, "JSON Parse error"),
    ("truncated JSON", _GEN, _SEED_BODY[:-3], 400, "JSON Parse error"),
    ("JSON array body", _GEN, "[1, 2]", 400, "object"),
    ("not UTF-8", _GEN, b"\xff\xfe{}", 400, "JSON Parse error"),
    ("empty body", _GEN, "", 400, "JSON Parse error"),
    ("both forms", _GEN, json.dumps({"inputs": {"seed": [1]}, "instances": [1]}), 400,
     "exactly one"),
    ("neither form", _GEN, json.dumps({"signature_name": "serving_default"}), 400,
     "exactly one"),
    ("empty instances", _GEN, json.dumps({"instances": []}), 400, "non-empty"),
    ("instances not a list", _GEN, json.dumps({"instances": "1,2"}), 400, "non-empty list"),
    ("float seed", _GEN, json.dumps({"inputs": {"seed": [1.5]}}), 400, "int64"),
    ("string seed", _GEN, json.dumps({"inputs": {"seed": ["abc"]}}), 400, "int64"),
    ("bytes seed", _GEN, json.dumps({"inputs": {"seed": [{"b64": _B64_TEXT}]}}), 400,
     "int64"),
    ("bool seed", _GEN, json.dumps({"instances": [True]}), 400, "not a number"),
    ("null seed", _GEN, json.dumps({"inputs": {"seed": [None]}}), 400, "int64"),
    ("ragged seeds", _GEN, json.dumps({"inputs": {"seed": [[1], [2, 3]]}}), 400, "ragged"),
    ("seed over int64", _GEN, json.dumps({"inputs": {"seed": [2 ** 70]}}), 400,
     "out of range"),
    ("empty batch", _GEN, json.dumps({"inputs": {"seed": []}}), 400, GUARD),
    ("scalar seed", _GEN, json.dumps({"inputs": {"seed": 3}}), 400, "shape"),
    ("300 seeds", _GEN, json.dumps({"inputs": {"seed": list(range(300))}}), 400, GUARD),
    ("unknown model", "/v1/models/nope:predict", _SEED_BODY, 404, "Servable not found"),
    ("unknown version", "/v1/models/generator/versions/42:predict", _SEED_BODY, 404, "42"),
    ("non-numeric version", "/v1/models/generator/versions/abc:predict", _SEED_BODY, 400,
     "abc"),
    ("unknown label", "/v1/models/generator/labels/canary:predict", _SEED_BODY, 404,
     "canary"),
    ("unknown signature", _GEN, json.dumps({"signature_name": "nope",
                                            "inputs": {"seed": [1]}}), 400, '"nope"'),
    ("signature name not a string", _GEN, json.dumps({"signature_name": 3,
                                                      "inputs": {"seed": [1]}}), 400,
     "signature_name"),
    ("unknown input", _GEN, json.dumps({"inputs": {"seeds": [1]}}), 400, "seeds"),
    ("mismatched instances", _GEN, json.dumps({"instances": [{"seed": 1}, {"x": 2}]}), 400,
     "same inputs"),
    ("classify verb", "/v1/models/generator:classify", _SEED_BODY, 501, "classify"),
    ("unknown route", "/v2/generate", _SEED_BODY, 404, "Malformed request"),
    ("z too narrow", _GEN, json.dumps({"signature_name": "generate_from_z",
                                       "inputs": {"z": [[0.0] * 7]}}), 400, "shape"),
    ("string in z", _GEN, json.dumps({"signature_name": "generate_from_z",
                                      "inputs": {"z": [["a"] * SIZES.latent_dim]}}), 400,
     "float"),
    ("non-image bytes", _PROBE, json.dumps({"instances": [{"b64": _B64_TEXT}]}), 400,
     "Unknown image file format"),
    ("invalid base64", _PROBE, json.dumps({"inputs": {"image_bytes": [{"b64": "%%%"}]}}),
     400, "base64"),
    ("b64 not a string", _PROBE, json.dumps({"inputs": {"image_bytes": [{"b64": 5}]}}), 400,
     "b64"),
    ("number as image", _PROBE, json.dumps({"inputs": {"image_bytes": [5]}}), 400,
     "not a string"),
    ("NaN literal in z", _GEN, _Z_BODY.replace("0.0", "NaN", 1), 400, "not a JSON number"),
    ("Infinity literal in z", _GEN, _Z_BODY.replace("0.0", "-Infinity", 1), 400,
     "not a JSON number"),
    ("number beyond a double", _GEN, _Z_BODY.replace("0.0", "1e400", 1), 400,
     "out of range for a double"),
    ("huge but finite z", _GEN, _Z_BODY.replace("0.0", "3e38", 1), 400,
     "input z must hold finite values"),
    ("JSON nested 10000 deep", _GEN, "[" * 10000 + "]" * 10000, 400, "nesting deeper"),
]


def _post(port, path, body):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        data = body.encode() if isinstance(body, str) else body
        connection.request("POST", path, body=data,
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def _still_answers(served, stub):
    good = served.direct_outputs([11])["video"]
    reply = stub.Predict(_request(seed=np.array([11], np.int64)), timeout=60)
    np.testing.assert_array_equal(tf.make_ndarray(reply.outputs["video"]), good)
    with RestClient(served.server.rest_url) as rest:
        np.testing.assert_array_equal(rest.generate([11])["video"], good)


@pytest.mark.parametrize("what, request_proto, code, words", GRPC_CASES,
                         ids=[case[0] for case in GRPC_CASES])
@pytest.mark.slow
def test_grpc_bad_request(served, stub, what, request_proto, code, words):
    with pytest.raises(grpc.RpcError) as error:
        stub.Predict(request_proto, timeout=60)
    details = error.value.details()
    assert error.value.code().name == code, details
    assert words in details and "Graph execution error" not in details, details
    _still_answers(served, stub)


@pytest.mark.parametrize("what, path, body, status, words", REST_CASES,
                         ids=[case[0] for case in REST_CASES])
@pytest.mark.slow
def test_rest_bad_request(served, stub, what, path, body, status, words):
    got, answer = _post(served.server.rest_port, path, body)
    assert got == status, answer
    assert isinstance(answer.get("error"), str), answer
    assert words in answer["error"] and "Graph execution error" not in answer["error"], answer
    _still_answers(served, stub)


def test_other_rpcs(served, stub):
    metadata_request = get_model_metadata_pb2.GetModelMetadataRequest()
    metadata_request.model_spec.name = "nope"
    metadata_request.metadata_field.append("signature_def")
    with pytest.raises(grpc.RpcError) as error:
        stub.GetModelMetadata(metadata_request, timeout=60)
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as error:
        stub.Classify(classification_pb2.ClassificationRequest(), timeout=60)
    assert error.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_dev_servers_own_batch_limit(served):
    """With max_batch_size (batching.config's), the server itself refuses larger requests
    in TF Serving's words, before the graph; without it the graph's guard answers."""
    limited = dev_server.ModelRegistry(max_batch_size=4)
    limited.models = served.server.registry.models  # the same loaded versions
    with DevServer(limited) as server:
        with GrpcClient(server.grpc_address, max_batch=10 ** 6) as client:
            assert client.generate(np.arange(4))["video"].shape[0] == 4
            with pytest.raises(ServingError) as error:
                client.generate(np.arange(5))
            assert error.value.code == "INVALID_ARGUMENT"
            assert error.value.message == ("Task size 5 is larger than maximum input batch "
                                           "size 4")
        status, answer = _post(server.rest_port, _GEN,
                               json.dumps({"inputs": {"seed": list(range(5))}}))
        assert status == 400 and answer["error"].startswith("Task size 5 is larger")
    higher = dev_server.ModelRegistry(max_batch_size=2 * api.MAX_BATCH)
    higher.models = served.server.registry.models
    with DevServer(higher) as server:
        with GrpcClient(server.grpc_address, max_batch=10 ** 6) as client:
            with pytest.raises(ServingError) as error:
                client.generate(np.arange(api.MAX_BATCH + 1))
            assert error.value.code == "INVALID_ARGUMENT" and GUARD in error.value.message


@pytest.mark.slow
def test_serves_models_config_with_its_version_policy(tmp_path):
    generator = TwoStreamGenerator(SIZES.frames, SIZES.size, SIZES.latent_dim,
                                   SIZES.base_width)
    first = export.export_generator(generator, str(tmp_path), warmup_batch_sizes=())
    for version in (2, 3):  # same model, more versions: a copy is as good as an export
        shutil.copytree(first, os.path.join(str(tmp_path), "generator", str(version)))
    config_path = os.path.join(REPO, "serving", "models.config")
    with DevServer.from_model_config(config_path,
                                     rewrite_base=("/models", str(tmp_path))) as server:
        assert sorted(server.registry.models) == ["generator"]  # no predictor exported
        assert sorted(server.registry.models["generator"]) == [2, 3]  # latest 2
        for version, code in ((3, None), (2, None), (1, "NOT_FOUND")):
            with GrpcClient(server.grpc_address, version=version) as client:
                if code:
                    with pytest.raises(ServingError) as error:
                        client.generate([0])
                    assert error.value.code == code
                else:
                    assert client.generate([0])["video"].dtype == np.uint8


def _accepts(port) -> bool:
    with socket.socket() as sock:
        sock.settimeout(5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_stop_closes_both_ports(served):
    server = DevServer(served.server.registry).start()
    ports = (server.grpc_port, server.rest_port)
    try:
        assert all(_accepts(port) for port in ports)
    finally:
        server.stop()
    assert not any(_accepts(port) for port in ports)
    server.stop()  # stopping twice is harmless


def test_rest_content_length_that_is_not_a_number(served, stub):
    connection = http.client.HTTPConnection("127.0.0.1", served.server.rest_port, timeout=60)
    try:
        connection.putrequest("POST", _GEN)
        connection.putheader("Content-Length", "twelve")
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 400
        assert "Content-Length" in json.loads(response.read())["error"]
    finally:
        connection.close()
    _still_answers(served, stub)


def test_grpc_unknown_dtype_enum(served, stub):
    with pytest.raises(grpc.RpcError) as error:
        stub.Predict(_request(seed=_proto(999, [1])), timeout=60)
    assert error.value.code().name == "INVALID_ARGUMENT"
    assert "999 (not a DataType)" in error.value.details()
    _still_answers(served, stub)

