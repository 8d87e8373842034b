"""The development server's parts, one concern each (`dev_server.DevServer` puts them
together and runs them).

`status` (ServingStatus: an answer's gRPC status code and message), `dtypes` (DataType <->
numpy), `registry` (ModelRegistry: TF Serving's model layout and version policies, request
checks, running a signature), `grpc_service` (PredictionService over the registry;
TensorProto checks), `json_codec` (REST bodies <-> named numpy arrays, strict JSON),
`rest` (the HTTP routes).
"""
