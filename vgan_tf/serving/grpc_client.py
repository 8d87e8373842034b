"""The PredictionService client over gRPC (TF Serving's port 8500).

Videos are large (a batch of 64 paper-size videos with masks is about 33 MB), so the
channel's receive and send limits are raised from gRPC's 4 MB default to
`max_receive_bytes` (1 GiB). grpcio, tensorflow-serving-api and TensorFlow (for the
TensorProto conversions) are imported when a client is made, not with this module.
"""
from __future__ import annotations

from vgan_tf.serving import api
from vgan_tf.serving.base import DEFAULT_TIMEOUT_S, Client, ServingError

DEFAULT_MAX_RECEIVE_BYTES = 1 << 30


class GrpcClient(Client):
    """Predict and GetModelMetadata of one model at `address` ("host:port")."""

    def __init__(self, address: str, model_name: str = api.GENERATOR_MODEL, version=None,
                 timeout: float = DEFAULT_TIMEOUT_S,
                 max_receive_bytes: int = DEFAULT_MAX_RECEIVE_BYTES,
                 max_batch: int = api.MAX_BATCH):
        import grpc
        from tensorflow_serving.apis import prediction_service_pb2_grpc

        super().__init__(model_name, version, max_batch)
        self.timeout = timeout
        self.max_receive_bytes = int(max_receive_bytes)
        self._channel = grpc.insecure_channel(address, options=[
            ("grpc.max_receive_message_length", self.max_receive_bytes),
            ("grpc.max_send_message_length", self.max_receive_bytes)])
        self._stub = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)

    def close(self):
        self._channel.close()

    def _spec(self, target, signature_name=None):
        target.name = self.model_name
        if self.version is not None:
            target.version.value = self.version
        if signature_name is not None:
            target.signature_name = signature_name

    def _call(self, method, request):
        import grpc

        try:
            return method(request, timeout=self.timeout)
        except grpc.RpcError as error:
            code = error.code().name
            message = error.details() or str(error)
            if code == "RESOURCE_EXHAUSTED" and "larger than max" in message:
                message += (f" (the client's receive limit is {self.max_receive_bytes} bytes:"
                            " raise max_receive_bytes or request fewer videos)")
            raise ServingError(code, message) from None

    def predict(self, inputs: dict, signature_name: str = api.SERVING_DEFAULT) -> dict:
        import tensorflow as tf
        from tensorflow_serving.apis import predict_pb2

        request = predict_pb2.PredictRequest()
        self._spec(request.model_spec, signature_name)
        for name, array in self._guard(inputs).items():
            request.inputs[name].CopyFrom(tf.make_tensor_proto(array))
        response = self._call(self._stub.Predict, request)
        return {name: tf.make_ndarray(proto) for name, proto in response.outputs.items()}

    def metadata(self) -> dict:
        from tensorflow_serving.apis import get_model_metadata_pb2

        request = get_model_metadata_pb2.GetModelMetadataRequest()
        self._spec(request.model_spec)
        request.metadata_field.append("signature_def")
        response = self._call(self._stub.GetModelMetadata, request)
        signature_map = get_model_metadata_pb2.SignatureDefMap()
        response.metadata["signature_def"].Unpack(signature_map)
        return _describe(signature_map.signature_def)


def _describe(signature_defs) -> dict:
    from tensorflow.core.framework import types_pb2

    def tensors(infos):
        return {name: (types_pb2.DataType.Name(info.dtype),
                       [d.size for d in info.tensor_shape.dim])
                for name, info in infos.items()}

    return {name: {"inputs": tensors(sig.inputs), "outputs": tensors(sig.outputs)}
            for name, sig in signature_defs.items()}
