"""The models a development server serves: TF Serving's layout (`BASE/NAME/<int
version>/`) and version policies (`latest`, `all`, `specific`), the checks TF Serving
makes on a request's inputs, and running a signature."""
from __future__ import annotations

import os

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from vgan_tf.serving.dev import dtypes
from vgan_tf.serving.dev.status import ServingStatus, op_error_text, status_name


class _Servable:
    """One loaded version: its signature functions and SignatureDefs."""

    def __init__(self, path: str):
        proto = saved_model_pb2.SavedModel()
        with open(os.path.join(path, "saved_model.pb"), "rb") as handle:
            proto.ParseFromString(handle.read())
        self.signature_defs = proto.meta_graphs[0].signature_def
        self.loaded = tf.saved_model.load(path)
        self.functions = dict(self.loaded.signatures)


def _chosen_versions(found: list, policy) -> list:
    """The versions of `found` (sorted) that a ModelVersionPolicy (None: latest 1) keeps."""
    if policy is None or policy.WhichOneof("policy_choice") in (None, "latest"):
        keep = max(1, policy.latest.num_versions) if policy is not None else 1
        return found[-keep:]
    if policy.WhichOneof("policy_choice") == "all":
        return found
    return [v for v in found if v in set(policy.specific.versions)]


class ModelRegistry:
    """name -> {version: _Servable}, loaded once from TF Serving's layout.

    `max_batch_size`: refuse requests of more rows, as TF Serving's batching does (None:
    no limit here, the graph decides)."""

    def __init__(self, max_batch_size: int | None = None):
        self.max_batch_size = max_batch_size
        self.models: dict[str, dict[int, _Servable]] = {}

    def add_model(self, name: str, base_path: str, policy=None):
        """Loads the versions `policy` (a ModelVersionPolicy, default latest 1) selects.

        A base path without versions is skipped, as TF Serving waits for one."""
        if not os.path.isdir(base_path):
            return
        found = sorted(int(v) for v in os.listdir(base_path)
                       if v.isdigit() and os.path.isdir(os.path.join(base_path, v)))
        chosen = _chosen_versions(found, policy)
        if chosen:
            self.models[name] = {v: _Servable(os.path.join(base_path, str(v)))
                                 for v in chosen}

    def servable(self, name: str, version=None) -> tuple:
        versions = self.models.get(name)
        request = f"Latest({name})" if version is None else f"Specific({name}, {version})"
        if not versions or (version is not None and version not in versions):
            raise ServingStatus("NOT_FOUND", f"Servable not found for request: {request}")
        version = max(versions) if version is None else version
        return version, versions[version]

    def signature(self, servable: _Servable, signature_name: str):
        """The SignatureDef of `signature_name`, FAILED_PRECONDITION if there is none."""
        if signature_name not in servable.signature_defs:
            raise ServingStatus("FAILED_PRECONDITION",
                                f'Serving signature key "{signature_name}" not found.')
        return servable.signature_defs[signature_name]

    def predict(self, name, version, signature_name, inputs: dict, output_filter=()):
        """Validates like TF Serving, runs the signature, returns numpy outputs."""
        version, servable = self.servable(name, version)
        signature_name = signature_name or "serving_default"
        signature = self.signature(servable, signature_name)
        tensors = self._input_tensors(signature, signature_name, inputs)
        for alias in output_filter:
            if alias not in signature.outputs:
                raise ServingStatus("INVALID_ARGUMENT",
                                    f"output tensor alias not found in signature: {alias}")
        try:
            outputs = servable.functions[signature_name](**tensors)
        except tf.errors.OpError as error:
            raise ServingStatus(status_name(error.error_code),
                                op_error_text(error.message)) from None
        names = list(output_filter) or sorted(outputs)
        return version, {n: outputs[n].numpy() for n in names}

    def _input_tensors(self, signature, signature_name: str, inputs: dict) -> dict:
        """The named input arrays as tensors, after TF Serving's checks on their names."""
        expected = sorted(signature.inputs)
        for alias in inputs:
            if alias not in signature.inputs:
                raise ServingStatus(
                    "INVALID_ARGUMENT", f"input tensor alias not found in signature: {alias}."
                    f" Inputs expected to be in the set {{{','.join(expected)}}}.")
        missing = [a for a in expected if a not in inputs]
        if missing:
            raise ServingStatus("INVALID_ARGUMENT",
                                f"Missing input(s) {missing} of signature {signature_name}; "
                                f"expected {{{','.join(expected)}}}.")
        return {alias: self._input_tensor(position, alias, signature.inputs[alias],
                                          inputs[alias])
                for position, alias in enumerate(expected)}

    def _input_tensor(self, position: int, alias: str, info, array: np.ndarray):
        """One input checked against its TensorInfo (dtype, shape, batch limit)."""
        want = dtypes.NUMPY.get(info.dtype)
        got_kind = "string" if array.dtype.kind in "OSU" else array.dtype.name
        if want is None or (want is object) != (array.dtype.kind in "OSU") or (
                want is not object and array.dtype != np.dtype(want)):
            raise ServingStatus("INVALID_ARGUMENT",
                                f"Expects arg[{position}] ({alias}) to be "
                                f"{dtypes.short_name(info.dtype)} but {got_kind} is provided")
        dims = [d.size for d in info.tensor_shape.dim]
        if not info.tensor_shape.unknown_rank and (
                array.ndim != len(dims) or any(
                    d >= 0 and d != s for d, s in zip(dims, array.shape))):
            raise ServingStatus("INVALID_ARGUMENT",
                                f"input {alias} must have shape {dims} (-1: any), got "
                                f"{list(array.shape)}")
        if (self.max_batch_size is not None and array.ndim
                and array.shape[0] > self.max_batch_size):
            raise ServingStatus("INVALID_ARGUMENT",
                                f"Task size {array.shape[0]} is larger than maximum "
                                f"input batch size {self.max_batch_size}")
        return tf.constant(array, dtype=info.dtype)
