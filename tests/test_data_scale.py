"""Order, windows, sharding, TFRecord shards, gfile schemes, cache and tf.data service."""
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from vgan_tf.data import checks, lists, pipeline, service, strips, synthetic, tfrecord

FRAMES, SIZE, CLIPS = 4, 16, 12


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("scale"))
    list_file = synthetic.write_synthetic_dataset(root, CLIPS, frames=6, size=SIZE, seed=5)
    # Relabel so every clip has a unique label: labels then identify clips.
    entries = lists.read_lists(list_file)
    unique = lists.write_list(os.path.join(root, "unique.txt"), entries.paths,
                              range(CLIPS))
    return root, unique


def _labels(ds):
    return [int(label) for _, label in ds.as_numpy_iterator()]


def _unbatched(data, **kwargs):
    root, list_file = data
    kwargs.setdefault("repeat", False)
    return pipeline.video_dataset(list_file, root, FRAMES, SIZE, None, with_labels=True,
                                  **kwargs)


def test_seeded_order_is_deterministic_and_reshuffles_each_epoch(data):
    a = _labels(_unbatched(data, seed=7))
    b = _labels(_unbatched(data, seed=7))
    c = _labels(_unbatched(data, seed=8))
    assert a == b and sorted(a) == list(range(CLIPS))
    assert a != c
    two_epochs = _labels(_unbatched(data, seed=7, repeat=True).take(2 * CLIPS))
    assert sorted(two_epochs[:CLIPS]) == sorted(two_epochs[CLIPS:]) == list(range(CLIPS))
    assert two_epochs[:CLIPS] != two_epochs[CLIPS:]
    assert _labels(_unbatched(data, shuffle=False)) == list(range(CLIPS))


def test_random_window_and_stride(data):
    root, list_file = data
    path = lists.read_lists(list_file).full_paths(root)[0]
    frames = strips.read_strip(path).astype(np.float32) / 127.5 - 1  # 6 frames of 16px
    ds = pipeline.video_dataset(list_file, root, 3, SIZE, None, shuffle=False, repeat=True,
                                window="random", seed=1)
    starts = set()
    for i, clip in enumerate(ds.take(CLIPS * 6).as_numpy_iterator()):
        if i % CLIPS:
            continue
        match = [s for s in range(4) if np.allclose(clip, frames[s:s + 3], atol=1e-5)]
        assert len(match) == 1
        starts.add(match[0])
    assert len(starts) >= 2  # different windows in different epochs
    again = [c for c in pipeline.video_dataset(list_file, root, 3, SIZE, None, shuffle=False,
                                               window="random",
                                               seed=1).take(CLIPS).as_numpy_iterator()]
    first = [c for c in ds.take(CLIPS).as_numpy_iterator()]
    np.testing.assert_array_equal(np.stack(again), np.stack(first))
    strided = next(pipeline.video_dataset(list_file, root, 4, SIZE, None, shuffle=False,
                                          stride=2).as_numpy_iterator())
    np.testing.assert_allclose(strided, frames[[0, 2, 4, 4]], atol=1e-5)


def test_explicit_shards_are_disjoint_and_complete(data):
    parts = [_labels(_unbatched(data, shuffle=False, shard=(3, i))) for i in range(3)]
    assert sorted(sum(parts, [])) == list(range(CLIPS))
    assert all(len(p) == CLIPS // 3 for p in parts)
    with pytest.raises(ValueError, match="shard"):
        _unbatched(data, shard=(2, 2))
    with pytest.raises(ValueError, match="auto_shard_policy"):
        _unbatched(data, auto_shard_policy="BYFILE")


def test_distributed_input_fn_splits_names_and_batches_per_replica(data):
    root, list_file = data
    fn = pipeline.distributed_input_fn(list_file, root, FRAMES, SIZE, 4, shuffle=False,
                                       repeat=False, with_labels=True, drop_remainder=False)
    seen = []
    for pipeline_id in range(2):
        context = tf.distribute.InputContext(num_input_pipelines=2,
                                             input_pipeline_id=pipeline_id,
                                             num_replicas_in_sync=2)
        batches = list(fn(context).as_numpy_iterator())
        assert all(v.shape[0] <= 2 for v, _ in batches)
        seen.extend(int(x) for _, labels in batches for x in labels)
    assert sorted(seen) == list(range(CLIPS))


def test_tfrecord_shards_round_trip_and_skip_bad(data, tmp_path):
    root, list_file = data
    with open(os.path.join(root, "bad_for_shards.jpg"), "wb") as f:
        f.write(b"garbage")
    good = lists.read_lists(list_file)
    mixed = lists.write_list(str(tmp_path / "mixed.txt"),
                             list(good.paths) + ["bad_for_shards.jpg", "gone.jpg"],
                             list(good.labels) + [90, 91])
    report = tfrecord.write_shards(mixed, root, str(tmp_path / "shards"), 4, progress=False)
    assert report.written == CLIPS and len(report.shards) == 4
    assert report.skipped["not_jpeg"] == 1 and report.skipped["missing"] == 1
    again = tfrecord.write_shards(mixed, root, str(tmp_path / "again"), 4, progress=False)
    for a, b in zip(report.shards, again.shards):
        assert open(a, "rb").read() == open(b, "rb").read()
    from_shards = pipeline.tfrecord_video_dataset(str(tmp_path / "shards" / "*.tfrecord"),
                                                  FRAMES, SIZE, None, with_labels=True,
                                                  repeat=False, seed=3)
    from_list = dict((int(l), v) for v, l in _unbatched(data, shuffle=False)
                     .as_numpy_iterator())
    out = list(from_shards.as_numpy_iterator())
    assert sorted(int(l) for _, l in out) == list(range(CLIPS))
    for video, label in out:
        np.testing.assert_array_equal(video, from_list[int(label)])
    batched = pipeline.tfrecord_video_dataset(report.shards, FRAMES, SIZE, 5, seed=1)
    assert next(iter(batched)).shape == (5, FRAMES, SIZE, SIZE, 3)
    with pytest.raises(FileNotFoundError, match="nothing-here"):
        pipeline.tfrecord_video_dataset(str(tmp_path / "nothing-here*"), FRAMES, SIZE, 2)


def test_file_auto_sharding_gives_each_worker_whole_shards(data, tmp_path):
    from tensorflow.python.data.experimental.ops import distribute as distribute_lib

    root, list_file = data
    report = tfrecord.write_shards(list_file, root, str(tmp_path), 4, progress=False)
    ds = pipeline.tfrecord_video_dataset(report.shards, FRAMES, SIZE, None, shuffle=False,
                                         repeat=False, with_labels=True)
    per_shard = [set(int(l) for _, l in pipeline.tfrecord_video_dataset(
        [s], FRAMES, SIZE, None, shuffle=False, repeat=False,
        with_labels=True).as_numpy_iterator()) for s in report.shards]
    seen = []
    for worker in range(2):
        sharded = distribute_lib._AutoShardDataset(ds, 2, worker)
        labels = set(int(l) for _, l in sharded.as_numpy_iterator())
        assert labels == per_shard[worker] | per_shard[worker + 2]
        seen.extend(labels)
    assert sorted(seen) == list(range(CLIPS))


def test_gfile_scheme_and_cache(tmp_path):
    root = "ram://vgan_data_test"
    for i in range(3):
        frames = np.full((2, SIZE, SIZE, 3), 40 * (i + 1), np.uint8)
        strips.write_strip(f"{root}/clips/c{i}.jpg", frames)
    list_file = lists.write_list(f"{root}/l.txt", [f"clips/c{i}.jpg" for i in range(3)],
                                 [0, 1, 2])
    counter = checks.SkipCounter()
    ds = pipeline.video_dataset(list_file, root, FRAMES, SIZE, None, with_labels=True,
                                cache=True, seed=0, counter=counter)
    out = list(ds.take(9).as_numpy_iterator())
    for video, label in out:
        np.testing.assert_allclose(video, 40 * (int(label) + 1) / 127.5 - 1, atol=2 / 127.5)
    assert sorted(int(l) for _, l in out) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert counter.counts()["passed"] == 3  # read once, then served from the cache
    with pytest.raises(ValueError, match="absolute"):
        lists.write_list(f"{root}/x.txt", [f"{root}/clips/c0.jpg"])


def test_tf_data_service_loopback(data):
    root, list_file = data
    dispatcher = service.start_dispatcher()
    workers = [service.start_worker(dispatcher.target) for _ in range(2)]
    try:
        ds = pipeline.video_dataset(list_file, root, FRAMES, SIZE, None, shuffle=False,
                                    repeat=False, with_labels=True,
                                    service=service.ServiceConfig(dispatcher.target,
                                                                  "distributed_epoch"))
        labels = _labels(ds)
        assert sorted(labels) == list(range(CLIPS))  # each clip exactly once
        ds = pipeline.video_dataset(list_file, root, FRAMES, SIZE, 3, shuffle=False,
                                    repeat=False, with_labels=True,
                                    service=dispatcher.target)  # parallel epochs
        batches = list(ds.as_numpy_iterator())
        labels = sorted(int(x) for _, batch in batches for x in batch)
        assert labels == sorted(list(range(CLIPS)) * 2)  # every worker: the whole set
        assert all(v.shape == (3, FRAMES, SIZE, SIZE, 3) for v, _ in batches)
    finally:
        for worker in workers:
            worker.stop()
        dispatcher.stop()
    with pytest.raises(ValueError, match="mode"):
        service.ServiceConfig("localhost:1", "sideways")


def test_tools_report_bad_input_by_name(tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-m", "tools.make_shards", f"--list={tmp_path}/absent.txt",
         f"--out_dir={tmp_path}/out"], capture_output=True, text=True, env=env,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert result.returncode != 0
    assert "absent.txt" in result.stderr and "Traceback" not in result.stderr
