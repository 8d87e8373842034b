"""Warm-up requests: `assets.extra/tf_serving_warmup_requests`, a TFRecord of PredictionLog.

TF Serving replays these when it loads a version, before marking it AVAILABLE, so the first
real request does not pay for graph initialisation. Needs `tensorflow-serving-api` (the
`serving` extra).
"""
from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

from vgan_tf.serving import api

WARMUP_DIR = "assets.extra"
WARMUP_FILE = "tf_serving_warmup_requests"


def _serving_apis():
    try:
        from tensorflow_serving.apis import predict_pb2, prediction_log_pb2
    except ImportError as error:
        raise ImportError(
            "warm-up requests need tensorflow-serving-api (pip install 'vgan_tf[serving]'); "
            "or export without them: warmup_batch_sizes=() / --warmup_batch_sizes=") from error
    return predict_pb2, prediction_log_pb2


def predict_request(model_name: str, signature_name: str, inputs: dict):
    """A PredictRequest with numpy inputs (dtypes kept exactly: pass np.int64 for seeds)."""
    predict_pb2, _ = _serving_apis()

    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature_name
    for name, value in inputs.items():
        request.inputs[name].CopyFrom(tf.make_tensor_proto(np.asarray(value)))
    return request


def generator_warmup_requests(model_name: str, latent_dim: int, batch_sizes=(1,)):
    """One request per (signature of api.GENERATOR_SIGNATURES, batch size): seeds 0..,
    zero latents."""
    requests = []
    for batch in batch_sizes:
        values = {api.SEED: np.arange(batch, dtype=np.int64),
                  api.Z: np.zeros([batch, latent_dim], np.float32)}
        for name, signature in api.GENERATOR_SIGNATURES.items():
            requests.append(predict_request(
                model_name, name, {i: values[i] for i in signature.inputs}))
    return requests


def predictor_warmup_requests(model_name: str, size: int, batch_sizes=(1,)):
    """One request per (signature of api.PREDICTOR_SIGNATURES, batch size): grey images,
    as a PNG file for image_bytes and as pixels for image."""
    requests = []
    grey = np.full([size, size, 3], 128, np.uint8)
    png = tf.io.encode_png(grey).numpy()
    for batch in batch_sizes:
        values = {api.IMAGE_BYTES: np.array([png] * batch, dtype=object),
                  api.IMAGE: np.repeat(grey[None], batch, axis=0)}
        for name, signature in api.PREDICTOR_SIGNATURES.items():
            requests.append(predict_request(
                model_name, name, {i: values[i] for i in signature.inputs}))
    return requests


def write_warmup_requests(saved_model_dir: str, requests) -> str:
    """Writes `requests` (PredictRequest protos) as PredictionLogs; returns the file path."""
    _, prediction_log_pb2 = _serving_apis()

    directory = os.path.join(saved_model_dir, WARMUP_DIR)
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, WARMUP_FILE)
    with tf.io.TFRecordWriter(path) as writer:
        for request in requests:
            log = prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())
    return path


def read_warmup_requests(saved_model_dir: str):
    """The PredictRequests stored in a version's warm-up file (for tests and tools)."""
    _, prediction_log_pb2 = _serving_apis()

    path = os.path.join(saved_model_dir, WARMUP_DIR, WARMUP_FILE)
    requests = []
    for record in tf.data.TFRecordDataset(path):
        log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
        requests.append(log.predict_log.request)
    return requests
