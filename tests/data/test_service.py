"""tf.data service: the pipeline run on two in-process workers of a loopback dispatcher."""
import os

import pytest

from vgan_tf.data import (ClipOptions, ListSource, ReadOptions, ServiceConfig, lists, service,
                          synthetic, video_dataset)

FRAMES, SIZE, CLIPS = 4, 16, 12


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("service"))
    entries = lists.read_lists(synthetic.write_synthetic_dataset(root, CLIPS, frames=6,
                                                                 size=SIZE, seed=5))
    return ListSource(lists.write_list(os.path.join(root, "unique.txt"), entries.paths,
                                       range(CLIPS)), root)


@pytest.mark.slow
def test_tf_data_service_loopback(source):
    # As vgan-data-service starts them (ServerConfig -> start_server).
    dispatcher = service.start_server(service.ServerConfig(role="dispatcher"))
    workers = [service.start_server(service.ServerConfig(role="worker",
                                                         dispatcher=dispatcher.target))
               for _ in range(2)]
    once = dict(shuffle=False, repeat=False, with_labels=True)
    try:
        ds = video_dataset(source, ClipOptions(FRAMES, SIZE), None, ReadOptions(
            service=ServiceConfig(dispatcher.target, "distributed_epoch"), **once))
        labels = [int(label) for _, label in ds.as_numpy_iterator()]
        assert sorted(labels) == list(range(CLIPS))  # each clip exactly once
        ds = video_dataset(source, ClipOptions(FRAMES, SIZE), 3,
                           ReadOptions(service=dispatcher.target, **once))  # parallel epochs
        batches = list(ds.as_numpy_iterator())
        labels = sorted(int(x) for _, batch in batches for x in batch)
        assert labels == sorted(list(range(CLIPS)) * 2)  # every worker: the whole set
        assert all(v.shape == (3, FRAMES, SIZE, SIZE, 3) for v, _ in batches)
    finally:
        for worker in workers:
            worker.stop()
        dispatcher.stop()


def test_service_config_modes():
    import tensorflow as tf
    policy = tf.data.experimental.service.ShardingPolicy
    assert ServiceConfig("h:1").policy() == policy.OFF
    assert ServiceConfig("h:1", "distributed_epoch").policy() == policy.DYNAMIC
    assert ServiceConfig("h:1", "file_or_data").policy() == policy.FILE_OR_DATA
    assert ServiceConfig("h:1").target == "grpc://h:1"
    assert ServiceConfig("grpc://h:1").target == "grpc://h:1"
    with pytest.raises(ValueError, match="mode"):
        ServiceConfig("localhost:1", "sideways")
