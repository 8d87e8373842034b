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
