"""Shared test helpers (the keras-hub habit): one place checks config and saving round trips."""
from __future__ import annotations

import os

import keras
import numpy as np


def run_serialization_test(model):
    """get_config -> from_config gives an equal config, and serialize/deserialize works."""
    config = model.get_config()
    clone = type(model).from_config(config)
    assert clone.get_config() == config
    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(model))
    assert type(revived) is type(model)
    assert revived.get_config() == config
    return clone


def run_model_saving_test(model, inputs, tmp_path, call=None, atol=1e-6):
    """Saves `model` as .keras, reloads it with safe_mode on, and compares outputs."""
    call = call or (lambda m, x: m(x, training=False))
    expected = np.asarray(call(model, inputs))
    path = os.path.join(str(tmp_path), "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded) is type(model)
    np.testing.assert_allclose(np.asarray(call(loaded, inputs)), expected, atol=atol)
    return loaded



def _sublayers(layer):
    """Every layer below `layer` (stages and their layers), depth first, public API only."""
    for sub in getattr(layer, "layers", ()):
        yield sub
        yield from _sublayers(sub)


def run_precision_test(make_model, inputs, policy="mixed_bfloat16"):
    """keras-hub's precision check for models built under a global dtype policy.

    Builds `make_model()` while `policy` is the global policy (as vgan_tf builds models for
    --precision), then checks that every sublayer computes in the policy's compute dtype
    with float32 variables, except the layers the model names in `float32_layers` (its
    documented float32 outputs), which compute in float32; that those layers exist; and
    that the outputs of a call are float32 and match `compute_output_spec`.
    """
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        model = make_model()
    finally:
        keras.config.set_dtype_policy(previous)
    policy = keras.DTypePolicy(policy)
    float32_layers = set(model.float32_layers)
    seen = set()
    for layer in _sublayers(model):
        want = "float32" if layer.name in float32_layers else policy.compute_dtype
        assert layer.compute_dtype == want, (layer.name, layer.compute_dtype, want)
        assert layer.variable_dtype == policy.variable_dtype, layer.name
        seen.add(layer.name)
    assert float32_layers <= seen, float32_layers - seen
    outputs = keras.tree.flatten(model(inputs, training=False))
    specs = keras.tree.flatten(model.compute_output_spec(
        keras.KerasTensor(np.shape(inputs), dtype="float32")))
    assert len(outputs) == len(specs)
    for output, spec in zip(outputs, specs):
        assert keras.backend.standardize_dtype(output.dtype) == spec.dtype == "float32"
        assert tuple(output.shape) == tuple(spec.shape)
    return model


def run_checkpoint_test(model, make_clone, tmp_path, train_inputs=None):
    """tf.train.Checkpoint(model=model) holds every weight of `model` and restores it.

    `train_inputs`, when given, is run through the model in training mode first so that
    BatchNorm moving statistics differ from their initial values. `make_clone()` builds a
    fresh model of the same structure (other initial weights); after the restore every
    weight of the clone equals the model's, and the checkpoint has no unmatched values.
    """
    import tensorflow as tf
    if train_inputs is not None:
        model(train_inputs, training=True)
    path = tf.train.Checkpoint(model=model).write(os.path.join(str(tmp_path), "ckpt"))
    stored = [name for name, _ in tf.train.list_variables(path)
              if name != "_CHECKPOINTABLE_OBJECT_GRAPH"]
    assert len(stored) == len(model.weights), (len(stored), len(model.weights))
    clone = make_clone()
    tf.train.Checkpoint(model=clone).read(path).assert_consumed()
    assert len(clone.weights) == len(model.weights)
    for a, b in zip(model.weights, clone.weights):
        assert a.path == b.path
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    return clone

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_ports(n):
    """n free TCP ports on loopback (bound, read, released)."""
    import socket
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def binary_flags(module: str) -> dict:
    """{flag name: [default, help]} of the binary `module` (e.g. "tools.prepare_videos"),
    read in a subprocess: absl flags are one registry per process, and binaries share flag
    names (vgan-train's --size and vgan-prepare's)."""
    import json
    import subprocess
    import sys
    code = (f"import json, {module} as t; print(json.dumps({{f.name: [f.default, f.help] "
            f"for f in t.FLAGS.get_flags_for_module({module!r})}}))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=120,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def run_two_workers(script, args_for, timeout=150):
    """Runs `python script *args_for(index)` as worker 0 and 1 of a loopback
    MultiWorkerMirroredStrategy cluster (TF_CONFIG); asserts both exit 0; returns their
    stderr texts."""
    import json
    import subprocess
    import sys
    cluster = {"worker": [f"127.0.0.1:{p}" for p in free_ports(2)]}
    procs = []
    for index in range(2):
        env = dict(os.environ, TF_CONFIG=json.dumps(
            {"cluster": cluster, "task": {"type": "worker", "index": index}}),
            TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=REPO)
        procs.append(subprocess.Popen(
            [sys.executable, os.path.abspath(script)] + [str(a) for a in args_for(index)],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    logs = []
    try:
        for proc in procs:
            _, err = proc.communicate(timeout=timeout)
            logs.append(err)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for proc, err in zip(procs, logs):
        assert proc.returncode == 0, err[-3000:]
    return logs
