"""vgan-data-service: a dispatcher and a worker started as binaries serve a pipeline."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.helpers import REPO, free_ports


def _start(*args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.Popen([sys.executable, "-m", "tools.data_service", *args], cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)


@pytest.mark.slow
def test_dispatcher_and_worker_binaries_serve_a_pipeline(tmp_path):
    from vgan_tf.data import ClipOptions, ListSource, ReadOptions, synthetic, video_dataset

    list_file = synthetic.write_synthetic_dataset(str(tmp_path), 6, frames=4, size=16)
    port, worker_port = free_ports(2)
    dispatcher = _start("--role=dispatcher", f"--port={port}")
    worker = None
    try:
        assert dispatcher.stdout.readline().strip() == (
            f"tf.data service dispatcher at grpc://localhost:{port}")
        worker = _start("--role=worker", f"--dispatcher=localhost:{port}",
                        f"--port={worker_port}")
        assert worker.stdout.readline().strip() == (
            f"tf.data service worker registered with localhost:{port}")
        ds = video_dataset(ListSource(list_file, str(tmp_path)), ClipOptions(4, 16), 2,
                           ReadOptions(shuffle=False, repeat=False,
                                       service=f"grpc://localhost:{port}"))
        batches = list(ds.as_numpy_iterator())
        assert len(batches) == 3 and all(b.shape == (2, 4, 16, 16, 3) for b in batches)
    finally:
        for proc in (worker, dispatcher):
            if proc is not None:
                proc.kill()
                proc.wait(timeout=30)
