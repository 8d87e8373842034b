"""Multi-worker input: each MultiWorkerMirroredStrategy worker reads only its share of the
strips (per-worker pipelines from distribute_datasets_from_function), the workers still
end bit-identical, and a resumed two-worker run equals the uninterrupted one.

Before the trainer built per-worker pipelines, Keras auto-sharded the global dataset with
the DATA policy: every worker read (and decoded) every strip and kept half of the batches.
Reads are observed by wrapping checks.probe_file (the read of one strip) with a tf.print
of the path into a per-worker file.

TF_CONFIG must be set before TensorFlow initialises, so each worker runs this file as a
program in a fresh process (`python tests/training/test_multiworker_input.py worker ...`).
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests import helpers
from tests.helpers import REPO

CLIPS = 16
BATCH = 4  # global: 2 replicas (one per worker) x 2


def _run_cluster(tmp_path, name, steps, timeout=150):
    """Two workers on loopback train `steps` steps in tmp_path/name; returns per worker
    (report dict, weights npz)."""
    outs = [tmp_path / f"{name}_worker{index}" for index in range(2)]
    logs = helpers.run_two_workers(
        __file__, lambda index: ["worker", tmp_path / name, outs[index], steps], timeout)
    return [(json.loads(open(f"{out}.json").read()), np.load(f"{out}.npz"), err)
            for out, err in zip(outs, logs)]


def _arrays(path):
    import tensorflow as tf
    reader = tf.train.load_checkpoint(str(path))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
            if name != "_CHECKPOINTABLE_OBJECT_GRAPH" and "save_counter" not in name}


@pytest.mark.slow
def test_two_workers_read_half_each_and_resume_like_uninterrupted(tmp_path):
    steps = 12
    # (a) Uninterrupted: each worker reads only its half of the names.
    full = _run_cluster(tmp_path, "full", steps)
    reports = [report for report, _, _ in full]
    for report in reports:
        assert report["step"] == steps
        assert report["passed"] == report["reads"]  # the counter saw every read
        # Each step takes BATCH / 2 clips from each worker's pipeline; the pipeline reads
        # ahead a few batches. Under DATA auto-sharding every worker read every clip of
        # every global batch: at least steps * BATCH = 48 (measured 68).
        assert steps * BATCH // 2 <= report["passed"] < steps * BATCH, reports
    # Disjoint halves of the 16 names (DATA sharding: all 16 on both workers).
    halves = [set(report["files"]) for report in reports]
    assert len(halves[0]) == len(halves[1]) == CLIPS // 2, halves
    assert not halves[0] & halves[1]
    # (b) The workers end bit-identical.
    a, b = full[0][1], full[1][1]
    assert sorted(a.files) == sorted(b.files) and len(a.files) > 20
    for name in a.files:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)

    # (c) Killed-and-resumed equivalent: 6 steps, then a second run to 12 in the same
    # model_dir resumes both workers from the chief's ckpt-6; each pipeline then skips
    # 6 * BATCH / 2 of its own clips.
    _run_cluster(tmp_path, "resumed", steps // 2)
    resumed = _run_cluster(tmp_path, "resumed", steps)
    ckpt6 = tmp_path / "resumed" / "checkpoints" / "ckpt-6"
    for _, _, err in resumed:
        assert f"Resumed from {ckpt6} at step 6" in err, err[-2000:]
    for name in a.files:
        np.testing.assert_array_equal(resumed[0][1][name], resumed[1][1][name],
                                      err_msg=name)
        np.testing.assert_allclose(resumed[0][1][name], a[name], rtol=0, atol=1e-6,
                                   err_msg=name)
    got = _arrays(tmp_path / "resumed" / "checkpoints" / f"ckpt-{steps}")
    want = _arrays(tmp_path / "full" / "checkpoints" / f"ckpt-{steps}")
    assert sorted(got) == sorted(want) and any("iterations" in n for n in got)
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=0, atol=1e-6, err_msg=name)


@pytest.mark.slow
def test_mirrored_per_replica_input_equals_split_global_batches(tmp_path):
    """One machine, two replicas: the per-replica pipeline (one input pipeline) hands
    each replica exactly the rows Keras would split off the global batch, resumed too."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=REPO)
    result = subprocess.run([sys.executable, os.path.abspath(__file__), "mirrored",
                             str(tmp_path / "run")], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("equal") == 4, result.stdout


# -- programs run in a fresh process ---------------------------------------------------


def _mirrored(model_dir):
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from vgan_tf import training
    from vgan_tf.training import input as input_lib

    strategy = training.make_strategy("mirrored")
    for window in ("first", "random"):
        config = training.from_preset("tiny", model_dir=model_dir, synthetic=True,
                                      synthetic_clips=CLIPS, steps=4, steps_per_epoch=2,
                                      batch_size=BATCH, window=window)
        source = input_lib.data_source(config)
        for skip in (0, 3):
            distributed = input_lib.training_input(config, strategy, source, skip)
            assert isinstance(distributed, tf.distribute.DistributedDataset)
            keras_way = iter(strategy.experimental_distribute_dataset(
                input_lib.training_data(config, source, skip)))
            per_replica = iter(distributed)
            for step in range(6):
                want = strategy.experimental_local_results(next(keras_way))
                got = strategy.experimental_local_results(next(per_replica))
                assert len(want) == len(got) == 2
                for x, y in zip(want, got):
                    assert x.shape[0] == BATCH // 2
                    np.testing.assert_array_equal(x.numpy(), y.numpy(),
                                                  err_msg=f"{window} {skip} {step}")
            print(window, skip, "equal")


def _worker(model_dir, out_prefix, steps):
    import tensorflow as tf
    from absl import logging

    logging.set_verbosity(logging.INFO)  # the "Resumed from ..." line

    from vgan_tf import training
    from vgan_tf.data import checks
    from vgan_tf.training import input as input_lib

    read_log = f"{out_prefix}.reads"
    probe_file = checks.probe_file

    def logged_probe(path, *args, **kwargs):
        with tf.control_dependencies([tf.print(path, output_stream=f"file://{read_log}")]):
            return probe_file(tf.identity(path), *args, **kwargs)

    checks.probe_file = logged_probe
    counters = []
    make_skip_counter = input_lib.make_skip_counter

    def keep_counter(config):
        counters.append(make_skip_counter(config))
        return counters[-1]

    input_lib.make_skip_counter = keep_counter
    config = training.from_preset(
        "tiny", model_dir=model_dir, synthetic=True, synthetic_clips=CLIPS,
        steps=int(steps), steps_per_epoch=3, checkpoint_every=3, keep_checkpoints=100,
        batch_size=BATCH, num_samples=2, verbose=0, strategy="multi_worker",
        summary_every=1000, sample_every=1000, log_every=0, deterministic=True)
    gan = training.train(config)
    reads = open(read_log).read().split() if os.path.exists(read_log) else []
    report = {"passed": counters[-1].counts()["passed"] if counters else None,
              "reads": len(reads), "files": sorted({os.path.basename(r) for r in reads}),
              "step": int(gan.step.value.numpy())}
    with open(f"{out_prefix}.json", "w") as handle:
        json.dump(report, handle)
    weights = {f"g/{v.path}": v.numpy() for v in gan.generator.weights}
    weights.update({f"d/{v.path}": v.numpy() for v in gan.discriminator.weights})
    np.savez(f"{out_prefix}.npz", **weights)


if __name__ == "__main__":
    mode, *rest = sys.argv[1:]
    {"worker": _worker, "mirrored": _mirrored}[mode](*rest)
