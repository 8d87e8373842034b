"""Calling the served models: the serving API, gRPC and REST clients, response files, and
a loopback development server.

    from vgan_tf import serving
    with serving.make_client("localhost:8500") as client:      # or "http://localhost:8501"
        outputs = client.generate([0, 1, 2])                   # dict of numpy arrays
    serving.write_videos(outputs, [0, 1, 2], "out/")           # seed_0.gif, seed_0_strip.jpg, ...

Modules: `api` (names, dtypes, the batch limit; plain Python), `base` (ServingError,
check_batch, seeds_array, the shared Client), `grpc_client` (over `protos`, TF Serving's
messages without TensorFlow, and `tensor_codec`, numpy <-> TensorProto), `rest_client`,
`files` (write_videos, generate_to_files), `timing` (CallTimer: latency per call,
throughput), `client_job` (ClientConfig, run: the client binary's job), `dev_server`
(DevServer: the loopback development server that speaks TF Serving's protos, for machines
without tensorflow_model_server; its parts in `dev/`).

Importing this package loads no TensorFlow: the names below are imported on first use.
"""
from __future__ import annotations

import importlib

_LAZY = {
    "ServingError": "base", "Client": "base", "check_batch": "base", "seeds_array": "base",
    "GrpcClient": "grpc_client", "RestClient": "rest_client",
    "write_videos": "files", "generate_to_files": "files", "predict_to_files": "files",
    "DevServer": "dev_server", "CallTimer": "timing", "ClientConfig": "client_job",
}

__all__ = ["api", "make_client", "protocol_of", *_LAZY]


def protocol_of(address: str, protocol: str | None = None) -> str:
    """"rest" for protocol="rest" or an "http(s)://" address, else "grpc"."""
    if protocol not in (None, "grpc", "rest"):
        raise ValueError(f"protocol must be 'grpc' or 'rest', got {protocol!r}")
    if protocol == "rest" or address.startswith(("http://", "https://")):
        return "rest"
    return "grpc"


def make_client(address: str, protocol: str = "grpc", **kwargs):
    """GrpcClient for "host:port"; RestClient for "http(s)://host:port" or protocol="rest".

    kwargs go to the client (model_name, version, timeout, max_batch; form for REST,
    max_receive_bytes for gRPC)."""
    if protocol is None:
        raise ValueError("protocol must be 'grpc' or 'rest', got None")
    if protocol_of(address, protocol) == "rest":
        from vgan_tf.serving.rest_client import RestClient
        return RestClient(address, **kwargs)
    from vgan_tf.serving.grpc_client import GrpcClient
    return GrpcClient(address, **kwargs)


def __getattr__(name):
    if name == "api":
        return importlib.import_module("vgan_tf.serving.api")
    if name in _LAZY:
        module = importlib.import_module(f"vgan_tf.serving.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'vgan_tf.serving' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
