"""TF Serving's PredictionService over gRPC (Predict, GetModelMetadata) for a
ModelRegistry, with TF Serving's checks on incoming TensorProtos."""
from __future__ import annotations

import grpc
import numpy as np
import tensorflow as tf
from tensorflow.core.framework import types_pb2
from tensorflow_serving.apis import (get_model_metadata_pb2, predict_pb2,
                                     prediction_service_pb2_grpc)

from vgan_tf.serving.dev import dtypes
from vgan_tf.serving.dev.registry import ModelRegistry
from vgan_tf.serving.dev.status import ServingStatus

MAX_MESSAGE_BYTES = (1 << 31) - 1
"""The server's gRPC send and receive limits (a batch of videos is far over gRPC's 4 MB)."""
MAX_TENSOR_ELEMENTS = 1 << 27


def tensor_from_proto(proto) -> np.ndarray:
    """tf.make_ndarray with TF Serving's checks first (no negative or huge shapes)."""
    dims = [d.size for d in proto.tensor_shape.dim]
    if any(d < 0 for d in dims):
        raise ServingStatus("INVALID_ARGUMENT", f"tensor shape {dims} has a negative dimension")
    if int(np.prod(dims, dtype=np.float64)) > MAX_TENSOR_ELEMENTS:
        raise ServingStatus("INVALID_ARGUMENT", f"tensor shape {dims} is too large")
    if proto.dtype not in dtypes.NUMPY:
        raise ServingStatus("INVALID_ARGUMENT",
                            f"unsupported tensor dtype {dtypes.enum_name(proto.dtype)}")
    count = int(np.prod(dims, dtype=np.int64))
    if proto.tensor_content:
        size = np.dtype(dtypes.NUMPY[proto.dtype]).itemsize
        if proto.dtype == types_pb2.DT_STRING or len(proto.tensor_content) != count * size:
            raise ServingStatus("INVALID_ARGUMENT",
                                "tensor_content does not match the tensor's shape and dtype")
    try:
        return tf.make_ndarray(proto)
    except (ValueError, TypeError) as error:
        raise ServingStatus("INVALID_ARGUMENT", f"malformed tensor: {error}") from None


def signature_def_map(servable) -> get_model_metadata_pb2.SignatureDefMap:
    """A servable's SignatureDefs as the message GetModelMetadata answers with."""
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    for name, sig in servable.signature_defs.items():
        signature_map.signature_def[name].CopyFrom(sig)
    return signature_map


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    """Predict and GetModelMetadata; the other RPCs answer UNIMPLEMENTED."""

    def __init__(self, registry: ModelRegistry):
        self.registry = registry

    @staticmethod
    def _version(spec):
        if spec.HasField("version_label"):
            raise ServingStatus("NOT_FOUND", f"Unrecognized servable version label: "
                                f"{spec.version_label}")
        return spec.version.value if spec.HasField("version") else None

    def Predict(self, request, context):
        try:
            spec = request.model_spec
            inputs = {k: tensor_from_proto(v) for k, v in request.inputs.items()}
            version, outputs = self.registry.predict(
                spec.name, self._version(spec), spec.signature_name, inputs,
                list(request.output_filter))
        except ServingStatus as status:
            context.abort(grpc.StatusCode[status.code], status.message)
        response = predict_pb2.PredictResponse()
        response.model_spec.name = spec.name
        response.model_spec.version.value = version
        response.model_spec.signature_name = spec.signature_name or "serving_default"
        for name, value in outputs.items():
            response.outputs[name].CopyFrom(tf.make_tensor_proto(value))
        return response

    def GetModelMetadata(self, request, context):
        try:
            if list(request.metadata_field) != ["signature_def"]:
                raise ServingStatus("INVALID_ARGUMENT",
                                    "Metadata field signature_def is the only one supported")
            version, servable = self.registry.servable(
                request.model_spec.name, self._version(request.model_spec))
        except ServingStatus as status:
            context.abort(grpc.StatusCode[status.code], status.message)
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        response.model_spec.name = request.model_spec.name
        response.model_spec.version.value = version
        response.metadata["signature_def"].Pack(signature_def_map(servable))
        return response


def add_to_server(registry: ModelRegistry, server: grpc.Server) -> None:
    """Registers a PredictionService for `registry` on a grpc server."""
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        PredictionService(registry), server)
