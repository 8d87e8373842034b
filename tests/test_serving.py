"""The client against the loopback stand-in server: gRPC and REST, files, bad requests."""
import base64
import http.client
import io
import json
import os
import subprocess
import sys
import threading

import grpc
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2
from tensorflow_serving.apis import (classification_pb2, get_model_metadata_pb2,
                                     predict_pb2, prediction_service_pb2_grpc)

from tests import serving_standin
from vgan_tf import config, export, sampling, serving_client
from vgan_tf.viz import video_files
from vgan_tf.models import TwoStreamGenerator

SIZES = config.TINY
MAX_BATCH = 256


class _ImageProbe(tf.Module):
    """A stand-in for the future predictor's `image_bytes` input: decodes inside."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")])
    def serve(self, image_bytes):
        def mean(data):
            image = tf.io.decode_image(data, channels=3, expand_animations=False)
            return tf.reduce_mean(tf.cast(image, tf.float32))
        return {"mean": tf.map_fn(mean, image_bytes, fn_output_signature=tf.float32)}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    base = str(tmp_path_factory.mktemp("models"))
    generator = TwoStreamGenerator(SIZES.frames, SIZES.size, SIZES.latent_dim,
                                   SIZES.base_width)
    export.export_generator(generator, base, warmup_batch_sizes=())
    probe = _ImageProbe()
    tf.saved_model.save(probe, os.path.join(base, "probe", "1"),
                        signatures={"serving_default": probe.serve})
    with serving_standin.StandInServer.from_export_base(base, max_batch=MAX_BATCH) as server:
        direct = tf.saved_model.load(os.path.join(base, "generator", "1"))
        yield server, direct, generator


def _direct(direct, seeds):
    out = direct.signatures["serving_default"](seed=tf.constant(seeds, tf.int64))
    return {k: v.numpy() for k, v in out.items()}


def _png(value=200):
    buffer = io.BytesIO()
    Image.fromarray(np.full([4, 4, 3], value, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_grpc_client_gets_the_exported_videos(served):
    server, direct, generator = served
    with serving_client.GrpcClient(server.grpc_address) as client:
        outputs = client.generate([4, 5])
        expected = _direct(direct, [4, 5])
        assert set(outputs) == {"video", "mask", "background"}
        for name in expected:
            assert outputs[name].dtype == np.uint8
            np.testing.assert_array_equal(outputs[name], expected[name])
        assert outputs["video"].shape == (2, SIZES.frames, SIZES.size, SIZES.size, 3)
        z = sampling.latents_for_seeds([5], SIZES.latent_dim).numpy()
        np.testing.assert_array_equal(client.generate_from_z(z)["video"],
                                      expected["video"][1:])
        floats = client.generate_from_z(z, "generate_float")
        np.testing.assert_allclose(floats["video"], generator(z, training=False).numpy(),
                                   atol=1e-5)
        metadata = client.metadata()
        assert metadata["serving_default"]["inputs"] == {"seed": ("DT_INT64", [-1])}
        assert set(metadata) >= set(export.GENERATOR_SIGNATURES)
    with serving_client.GrpcClient(server.grpc_address, version=1) as client:
        np.testing.assert_array_equal(client.generate([4])["video"], expected["video"][:1])


@pytest.mark.parametrize("form", ["inputs", "instances"])
def test_rest_client_both_forms(served, form):
    server, direct, _ = served
    client = serving_client.RestClient(server.rest_url, form=form)
    expected = _direct(direct, [7, 8, 9])
    outputs = client.generate([7, 8, 9])
    for name in expected:
        assert outputs[name].dtype == np.uint8
        np.testing.assert_array_equal(outputs[name], expected[name])
    strips = client.generate_jpeg_strips([7])
    assert strips[0][:2] == b"\xff\xd8"
    assert video_files.decode_strip(strips[0], SIZES.frames).shape == expected["video"][0].shape
    probe = serving_client.RestClient(server.rest_url, model_name="probe", form=form)
    means = probe.predict({"image_bytes": np.array([_png(200), _png(10)], dtype=object)})
    np.testing.assert_allclose(means["mean"], [200.0, 10.0])


def test_grpc_receive_limit_is_raised_and_explained(served):
    server, _, _ = served
    assert serving_client.DEFAULT_MAX_RECEIVE_BYTES >= 256 << 20
    with serving_client.GrpcClient(server.grpc_address, max_receive_bytes=4000) as small:
        with pytest.raises(serving_client.ServingError, match="max_receive_bytes") as error:
            small.generate(np.arange(4))
        assert error.value.code == "RESOURCE_EXHAUSTED"


def test_client_refuses_bad_batches_before_sending(served):
    server, _, _ = served
    client = serving_client.GrpcClient(server.grpc_address, max_batch=16)
    for seeds, message in (([], "at least 1"), (np.arange(17), "over the limit of 16"),
                           ([1.5], "integers"), ("abc", "integers"), ([[1], [2]], "flat")):
        with pytest.raises(ValueError, match=message):
            client.generate(seeds)
    for batch in (-1, 0, 10 ** 9):
        with pytest.raises(ValueError, match="batch size"):
            serving_client.check_batch(batch)
    with pytest.raises(ValueError, match=r"z must be \[batch, latent_dim\]"):
        client.generate_from_z(np.zeros(SIZES.latent_dim))


def test_concurrent_requests_are_batch_independent(served):
    server, direct, _ = served
    expected = _direct(direct, np.arange(8))["video"]
    results, errors = {}, []

    def ask(seed):
        try:
            with serving_client.GrpcClient(server.grpc_address) as client:
                results[seed] = client.generate([seed])["video"][0]
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=ask, args=(s,)) for s in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for seed in range(8):
        np.testing.assert_array_equal(results[seed], expected[seed])


def _run_tool(module, *args):
    """Runs a tools/ binary in a subprocess (tools' absl flags share one global registry,
    so importing several binaries into the test process would collide)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run([sys.executable, "-m", module, *args], cwd=root,
                            capture_output=True, text=True, timeout=180,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_client_binary_and_files(served, tmp_path):
    server, direct, _ = served
    out_dir = tmp_path / "videos"
    _run_tool("tools.serving_client", f"--server={server.grpc_address}", "--seeds=3,4",
              f"--out_dir={out_dir}")
    _run_tool("tools.serving_client", f"--server={server.rest_url}", "--seeds=6",
              "--served_files=gif", "--form=instances", f"--out_dir={out_dir}")
    rest = serving_client.RestClient(server.rest_url)
    serving_client.generate_to_files(rest, [5], str(out_dir), served_files="jpeg_strip")
    with pytest.raises(ValueError, match="served_files"):
        serving_client.generate_to_files(rest, [5], str(out_dir), served_files="mp4")
    names = sorted(os.listdir(out_dir))
    assert names == sorted(["seed_3.gif", "seed_3_strip.jpg", "seed_3_mask.gif",
                            "seed_3_mask_strip.jpg", "seed_4.gif", "seed_4_strip.jpg",
                            "seed_4_mask.gif", "seed_4_mask_strip.jpg", "seed_5.gif",
                            "seed_5_strip.jpg", "seed_6.gif"])
    gif = video_files.decode_gif((out_dir / "seed_4.gif").read_bytes())
    expected = _direct(direct, [4])["video"][0]
    assert gif.shape == expected.shape
    assert np.abs(gif.astype(int) - expected.astype(int)).mean() < 16  # GIF palette
    strip = video_files.decode_strip((out_dir / "seed_5_strip.jpg").read_bytes(),
                                     SIZES.frames)
    assert strip.shape == expected.shape
    served_gif = (out_dir / "seed_6.gif").read_bytes()
    assert served_gif[:6] == b"GIF89a"
    assert video_files.decode_gif(served_gif).shape == expected.shape
    failed = subprocess.run(
        [sys.executable, "-m", "tools.serving_client", f"--server={server.grpc_address}",
         "--model_name=nope", "--seeds=1", f"--out_dir={out_dir}"],
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        capture_output=True, text=True, timeout=180,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert failed.returncode != 0 and "NOT_FOUND" in failed.stderr


# -- bad requests --------------------------------------------------------------------------
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


def _proto(dtype, dims, content=b"", int64_val=()):
    return tensor_pb2.TensorProto(
        dtype=dtype, tensor_content=content, int64_val=list(int64_val),
        tensor_shape=tensor_shape_pb2.TensorShapeProto(
            dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=d) for d in dims]))


def _grpc_bad_requests():
    seeds = np.array([1, 2], np.int64)
    z = np.zeros([1, SIZES.latent_dim], np.float32)
    not_image = np.array([b"definitely not an image"], dtype=object)
    truncated = np.array([_png()[:20]], dtype=object)
    filtered = _request(seed=seeds)
    filtered.output_filter.append("nope")
    return [
        ("unknown model", _request(model="nope", seed=seeds), "NOT_FOUND"),
        ("unknown version", _request(version=99, seed=seeds), "NOT_FOUND"),
        ("unknown label", _request(label="stable", seed=seeds), "NOT_FOUND"),
        ("unknown signature", _request(signature="nope", seed=seeds), "FAILED_PRECONDITION"),
        ("int32 seed", _request(seed=np.array([1], np.int32)), "INVALID_ARGUMENT"),
        ("float32 seed", _request(seed=np.array([1.0], np.float32)), "INVALID_ARGUMENT"),
        ("float64 seed", _request(seed=np.array([1.0])), "INVALID_ARGUMENT"),
        ("uint8 seed", _request(seed=np.array([1], np.uint8)), "INVALID_ARGUMENT"),
        ("bool seed", _request(seed=np.array([True])), "INVALID_ARGUMENT"),
        ("bytes seed", _request(seed=not_image), "INVALID_ARGUMENT"),
        ("2-D seed", _request(seed=np.array([[1, 2]], np.int64)), "INVALID_ARGUMENT"),
        ("scalar seed", _request(seed=np.int64(3)), "INVALID_ARGUMENT"),
        ("empty batch", _request(seed=np.zeros([0], np.int64)), "INVALID_ARGUMENT"),
        ("batch 257", _request(seed=np.arange(257, dtype=np.int64)), "INVALID_ARGUMENT"),
        ("batch 10000", _request(seed=np.arange(10000, dtype=np.int64)), "INVALID_ARGUMENT"),
        ("negative dim", _request(seed=_proto(types_pb2.DT_INT64, [-1])),
         "INVALID_ARGUMENT"),
        ("negative dim with content", _request(
            seed=_proto(types_pb2.DT_INT64, [-3], seeds.tobytes())), "INVALID_ARGUMENT"),
        ("huge dim", _request(seed=_proto(types_pb2.DT_INT64, [10 ** 12])),
         "INVALID_ARGUMENT"),
        ("content too short", _request(seed=_proto(types_pb2.DT_INT64, [4], b"\0" * 9)),
         "INVALID_ARGUMENT"),
        ("unknown dtype", _request(seed=_proto(types_pb2.DT_COMPLEX64, [1])),
         "INVALID_ARGUMENT"),
        ("no inputs", _request(), "INVALID_ARGUMENT"),
        ("extra input", _request(seed=seeds, extra=seeds), "INVALID_ARGUMENT"),
        ("misnamed input", _request(seeds=seeds), "INVALID_ARGUMENT"),
        ("z too narrow", _request(signature="generate_from_z", z=np.zeros([1, 7], np.float32)),
         "INVALID_ARGUMENT"),
        ("int64 z", _request(signature="generate_from_z", z=z.astype(np.int64)),
         "INVALID_ARGUMENT"),
        ("1-D z", _request(signature="generate_from_z", z=z[0]), "INVALID_ARGUMENT"),
        ("empty z batch", _request(signature="generate_from_z", z=z[:0]), "INVALID_ARGUMENT"),
        ("z of 300 rows", _request(signature="generate_float",
                                   z=np.zeros([300, SIZES.latent_dim], np.float32)),
         "INVALID_ARGUMENT"),
        ("seed to z signature", _request(signature="generate_from_z", seed=seeds),
         "INVALID_ARGUMENT"),
        ("unknown output filter", filtered, "INVALID_ARGUMENT"),
        ("non-image bytes", _request(model="probe", image_bytes=not_image),
         "INVALID_ARGUMENT"),
        ("truncated PNG", _request(model="probe", image_bytes=truncated), "INVALID_ARGUMENT"),
        ("empty bytes", _request(model="probe", image_bytes=np.array([b""], dtype=object)),
         "INVALID_ARGUMENT"),
        ("int64 image bytes", _request(model="probe", image_bytes=seeds), "INVALID_ARGUMENT"),
    ]


def _rest_bad_requests():
    seed_body = json.dumps({"inputs": {"seed": [1]}})
    gen = "/v1/models/generator:predict"
    probe = "/v1/models/probe:predict"
    b64_text = base64.b64encode(b"hello, not an image").decode()
    return [
        ("malformed JSON", gen, "{", 400),
        ("truncated JSON", gen, seed_body[:-3], 400),
        ("JSON array body", gen, "[1, 2]", 400),
        ("not UTF-8", gen, b"\xff\xfe{}", 400),
        ("empty body", gen, "", 400),
        ("both forms", gen, json.dumps({"inputs": {"seed": [1]}, "instances": [1]}), 400),
        ("neither form", gen, json.dumps({"signature_name": "serving_default"}), 400),
        ("empty instances", gen, json.dumps({"instances": []}), 400),
        ("instances not a list", gen, json.dumps({"instances": "1,2"}), 400),
        ("float seed", gen, json.dumps({"inputs": {"seed": [1.5]}}), 400),
        ("string seed", gen, json.dumps({"inputs": {"seed": ["abc"]}}), 400),
        ("bytes seed", gen, json.dumps({"inputs": {"seed": [{"b64": b64_text}]}}), 400),
        ("bool seed", gen, json.dumps({"instances": [True]}), 400),
        ("null seed", gen, json.dumps({"inputs": {"seed": [None]}}), 400),
        ("ragged seeds", gen, json.dumps({"inputs": {"seed": [[1], [2, 3]]}}), 400),
        ("seed over int64", gen, json.dumps({"inputs": {"seed": [2 ** 70]}}), 400),
        ("empty batch", gen, json.dumps({"inputs": {"seed": []}}), 400),
        ("scalar seed", gen, json.dumps({"inputs": {"seed": 3}}), 400),
        ("300 seeds", gen, json.dumps({"inputs": {"seed": list(range(300))}}), 400),
        ("unknown model", "/v1/models/nope:predict", seed_body, 404),
        ("unknown version", "/v1/models/generator/versions/42:predict", seed_body, 404),
        ("non-numeric version", "/v1/models/generator/versions/abc:predict", seed_body, 400),
        ("unknown label", "/v1/models/generator/labels/canary:predict", seed_body, 404),
        ("unknown signature", gen, json.dumps({"signature_name": "nope",
                                               "inputs": {"seed": [1]}}), 400),
        ("signature name not a string", gen, json.dumps({"signature_name": 3,
                                                         "inputs": {"seed": [1]}}), 400),
        ("unknown input", gen, json.dumps({"inputs": {"seeds": [1]}}), 400),
        ("mismatched instances", gen, json.dumps({"instances": [{"seed": 1}, {"x": 2}]}),
         400),
        ("classify verb", "/v1/models/generator:classify", seed_body, 501),
        ("unknown route", "/v2/generate", seed_body, 404),
        ("z too narrow", gen, json.dumps({"signature_name": "generate_from_z",
                                          "inputs": {"z": [[0.0] * 7]}}), 400),
        ("string in z", gen, json.dumps({"signature_name": "generate_from_z",
                                         "inputs": {"z": [["a"] * SIZES.latent_dim]}}), 400),
        ("non-image bytes", probe, json.dumps({"instances": [{"b64": b64_text}]}), 400),
        ("invalid base64", probe, json.dumps({"inputs": {"image_bytes": [{"b64": "%%%"}]}}),
         400),
        ("b64 not a string", probe, json.dumps({"inputs": {"image_bytes": [{"b64": 5}]}}), 400),
        ("number as image", probe, json.dumps({"inputs": {"image_bytes": [5]}}), 400),
    ]


def _post(server, path, body):
    connection = http.client.HTTPConnection("127.0.0.1", server.rest_port, timeout=60)
    try:
        data = body.encode() if isinstance(body, str) else body
        connection.request("POST", path, body=data,
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_bad_requests_get_clear_errors_and_the_server_keeps_answering(served):
    server, direct, _ = served
    good = _direct(direct, [11])["video"]
    channel = grpc.insecure_channel(server.grpc_address)
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    rest = serving_client.RestClient(server.rest_url)
    checked = 0

    def still_answers():
        reply = stub.Predict(_request(seed=np.array([11], np.int64)), timeout=60)
        np.testing.assert_array_equal(tf.make_ndarray(reply.outputs["video"]), good)
        np.testing.assert_array_equal(rest.generate([11])["video"], good)

    for index, (what, request, code) in enumerate(_grpc_bad_requests()):
        with pytest.raises(grpc.RpcError) as error:
            stub.Predict(request, timeout=60)
        assert error.value.code().name == code, (what, error.value.details())
        details = error.value.details()
        assert len(details) > 10 and "Graph execution error" not in details, (what, details)
        if what == "non-image bytes":
            assert "Unknown image file format" in details, details
        checked += 1
        if index % 10 == 9:
            still_answers()
    for index, (what, path, body, status) in enumerate(_rest_bad_requests()):
        got, answer = _post(server, path, body)
        assert got == status, (what, answer)
        assert isinstance(answer.get("error"), str) and len(answer["error"]) > 10, what
        assert "Graph execution error" not in answer["error"], (what, answer)
        checked += 1
        if index % 10 == 9:
            still_answers()
    metadata_request = get_model_metadata_pb2.GetModelMetadataRequest()
    metadata_request.model_spec.name = "nope"
    metadata_request.metadata_field.append("signature_def")
    with pytest.raises(grpc.RpcError) as error:
        stub.GetModelMetadata(metadata_request, timeout=60)
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as error:
        stub.Classify(classification_pb2.ClassificationRequest(), timeout=60)
    assert error.value.code() == grpc.StatusCode.UNIMPLEMENTED
    for client in (serving_client.GrpcClient(server.grpc_address, model_name="nope"),
                   serving_client.RestClient(server.rest_url, model_name="nope")):
        with pytest.raises(serving_client.ServingError, match="Servable not found") as e:
            client.generate([1])
        assert e.value.code == "NOT_FOUND"
    with pytest.raises(serving_client.ServingError) as e:
        rest.predict({"seed": np.array([1.5])})
    assert e.value.code == "INVALID_ARGUMENT" and "int64" in e.value.message
    checked += 5
    assert checked >= 50
    still_answers()
    channel.close()
