"""The PredictionService client over gRPC (TF Serving's port 8500).

Videos are large (a batch of 64 paper-size videos with masks is about 33 MB), so the
channel's receive and send limits are raised from gRPC's 4 MB default to
`max_receive_bytes` (1 GiB). The messages are `vgan_tf.serving.protos` and the tensors
are converted by `tensor_codec` (numpy): making a client and calling it imports grpcio
and protobuf, not TensorFlow (whose proto modules load its whole runtime).
"""
from __future__ import annotations

from vgan_tf.serving import api, protos, tensor_codec
from vgan_tf.serving.base import DEFAULT_TIMEOUT_S, Client, ServingError

DEFAULT_MAX_RECEIVE_BYTES = 1 << 30


class GrpcClient(Client):
    """Predict and GetModelMetadata of one model at `address` ("host:port")."""

    def __init__(self, address: str, model_name: str = api.GENERATOR_MODEL, version=None,
                 timeout: float = DEFAULT_TIMEOUT_S,
                 max_receive_bytes: int = DEFAULT_MAX_RECEIVE_BYTES,
                 max_batch: int = api.MAX_BATCH):
        import grpc

        super().__init__(model_name, version, max_batch)
        self.timeout = timeout
        self.max_receive_bytes = int(max_receive_bytes)
        self._channel = grpc.insecure_channel(address, options=[
            ("grpc.max_receive_message_length", self.max_receive_bytes),
            ("grpc.max_send_message_length", self.max_receive_bytes)])
        self._predict = self._channel.unary_unary(
            protos.PREDICT, request_serializer=protos.PredictRequest.SerializeToString,
            response_deserializer=protos.PredictResponse.FromString)
        self._get_model_metadata = self._channel.unary_unary(
            protos.GET_MODEL_METADATA,
            request_serializer=protos.GetModelMetadataRequest.SerializeToString,
            response_deserializer=protos.GetModelMetadataResponse.FromString)

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

    def predict_request(self, inputs: dict, signature_name: str = api.SERVING_DEFAULT):
        """The PredictRequest (`protos`) that `predict` sends for these inputs."""
        request = protos.PredictRequest()
        self._spec(request.model_spec, signature_name)
        for name, array in self._guard(inputs).items():
            request.inputs[name].CopyFrom(tensor_codec.to_proto(array))
        return request

    def predict(self, inputs: dict, signature_name: str = api.SERVING_DEFAULT) -> dict:
        response = self._call(self._predict, self.predict_request(inputs, signature_name))
        return {name: tensor_codec.to_array(proto)
                for name, proto in response.outputs.items()}

    def metadata(self) -> dict:
        request = protos.GetModelMetadataRequest()
        self._spec(request.model_spec)
        request.metadata_field.append("signature_def")
        response = self._call(self._get_model_metadata, request)
        packed = response.metadata["signature_def"]
        signature_map = protos.SignatureDefMap()
        if not packed.type_url.endswith("/" + signature_map.DESCRIPTOR.full_name):
            raise ServingError("INTERNAL", f"metadata signature_def holds {packed.type_url}")
        signature_map.ParseFromString(packed.value)
        return _describe(signature_map.signature_def)


def _describe(signature_defs) -> dict:
    def tensors(infos):
        return {name: (protos.DATA_TYPE_NAMES.get(info.dtype, str(info.dtype)),
                       [d.size for d in info.tensor_shape.dim])
                for name, info in infos.items()}

    return {name: {"inputs": tensors(sig.inputs), "outputs": tensors(sig.outputs)}
            for name, sig in signature_defs.items()}
