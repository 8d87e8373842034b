"""The loopback development server: TF Serving's APIs for machines without
`tensorflow_model_server`.

The binary is on no package registry these machines reach, so this serves exported
SavedModels in-process with the real protos of tensorflow-serving-api: the
PredictionService gRPC API (Predict, GetModelMetadata) via grpcio, and the REST routes
`POST /v1/models/NAME[/versions/N]:predict` and `GET /v1/models/NAME[/versions/N]
[/metadata]` via http.server. Tests and bench/serving.py use it. It answers errors as TF
Serving does (status codes and, for REST, `{"error": ...}` with the mapped HTTP status):

    unknown model or version      NOT_FOUND             404
    unknown signature             FAILED_PRECONDITION   400
    wrong input name/dtype/shape  INVALID_ARGUMENT      400
    malformed JSON or tensor      INVALID_ARGUMENT      400
    an error raised by the graph  its own code (the export's batch guard: INVALID_ARGUMENT)

and keeps answering afterwards. With `max_batch_size` it also refuses requests of more
rows, with the words of TF Serving's batching (`--enable_batching` with batching.config's
`max_batch_size`): "Task size N is larger than maximum input batch size M"; without it
(the default, as a server without batching) every request reaches the graph. Model
discovery follows TF Serving's layout (`BASE/NAME/<int version>/`) and version policies
(`latest`, `all`, `specific`). Python, single process: not for production traffic.

    with DevServer.from_export_base(export_base) as server:
        GrpcClient(server.grpc_address); RestClient(server.rest_url)

This module is the lifecycle (ports, threads, start and stop, building the registry from an
export folder or a models.config); the parts are in `vgan_tf.serving.dev`: `registry`
(models, version policies, input checks), `grpc_service`, `json_codec`, `rest`, `status`.
"""
from __future__ import annotations

import os
import threading
from concurrent import futures
from http.server import ThreadingHTTPServer

import grpc
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from vgan_tf.serving.dev import grpc_service, rest
from vgan_tf.serving.dev.registry import ModelRegistry
from vgan_tf.serving.dev.status import ServingStatus

__all__ = ["DevServer", "ModelRegistry", "ServingStatus"]


class DevServer:
    """gRPC and REST on 127.0.0.1 with ephemeral ports (or given ones), in this process.

    Serves until `stop()`; use it as a context manager (`with DevServer...(...) as
    server:`), which starts it and stops it."""

    def __init__(self, registry: ModelRegistry, host: str = "127.0.0.1", grpc_port: int = 0,
                 rest_port: int = 0):
        self.registry = registry
        self.host = host
        limit = grpc_service.MAX_MESSAGE_BYTES
        self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=[
            ("grpc.max_receive_message_length", limit),
            ("grpc.max_send_message_length", limit)])
        grpc_service.add_to_server(registry, self._grpc)
        self.grpc_port = self._grpc.add_insecure_port(f"{host}:{grpc_port}")
        self._http = ThreadingHTTPServer((host, rest_port), rest.handler_class(registry))
        self._http.daemon_threads = True
        self.rest_port = self._http.server_address[1]
        self._thread = None

    @classmethod
    def from_export_base(cls, export_base: str, max_batch_size: int | None = None,
                         **kwargs):
        """Serves every model folder under `export_base` (latest version of each)."""
        registry = ModelRegistry(max_batch_size)
        for name in sorted(os.listdir(export_base)):
            registry.add_model(name, os.path.join(export_base, name))
        return cls(registry, **kwargs)

    @classmethod
    def from_model_config(cls, config_path: str, rewrite_base=None,
                          max_batch_size: int | None = None, **kwargs):
        """Serves the model_config_list of a models.config, with its version policies.

        `rewrite_base=(old_prefix, new_prefix)` maps base paths (e.g. the Docker /models)."""
        config = model_server_config_pb2.ModelServerConfig()
        with open(config_path) as handle:
            text_format.Parse(handle.read(), config)
        registry = ModelRegistry(max_batch_size)
        for model in config.model_config_list.config:
            base = model.base_path
            if rewrite_base and base.startswith(rewrite_base[0]):
                base = rewrite_base[1] + base[len(rewrite_base[0]):]
            registry.add_model(model.name, base, model.model_version_policy)
        return cls(registry, **kwargs)

    @property
    def grpc_address(self) -> str:
        return f"{self.host}:{self.grpc_port}"

    @property
    def rest_url(self) -> str:
        return f"http://{self.host}:{self.rest_port}"

    def start(self):
        self._grpc.start()
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Stops both servers and closes their sockets; a stopped server stays stopped."""
        if self._thread is not None:
            self._http.shutdown()
            self._thread.join()
            self._thread = None
        self._http.server_close()
        self._grpc.stop(grace=None).wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
