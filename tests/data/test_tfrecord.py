"""Reading TFRecord shards: the same clips as the list they were made of, and each worker
of a two-worker cluster reading whole shard files (the FILE auto-shard default).

The cluster test runs this file as a program in two fresh processes (TF_CONFIG must be set
before TensorFlow initialises): `python tests/data/test_tfrecord.py worker SHARDS OUT`.
"""
import json
import os
import sys

import numpy as np
import pytest

from tests import helpers

FRAMES, SIZE, CLIPS = 4, 16, 12


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A list of CLIPS strips with unique labels and 4 shards made of it."""
    from vgan_tf.data import ListSource, lists, synthetic, write_shards
    root = str(tmp_path_factory.mktemp("tfrecord"))
    entries = lists.read_lists(synthetic.write_synthetic_dataset(root, CLIPS, frames=6,
                                                                 size=SIZE, seed=5))
    source = ListSource(lists.write_list(os.path.join(root, "unique.txt"), entries.paths,
                                         range(CLIPS)), root)
    report = write_shards(source, os.path.join(root, "shards"), 4, progress=False)
    return source, report.shards


def _read(source, **read):
    from vgan_tf.data import ClipOptions, ReadOptions, clip_dataset
    return clip_dataset(source, ClipOptions(FRAMES, SIZE),
                        ReadOptions(with_labels=True, repeat=False, **read))


@pytest.mark.slow
def test_shards_give_the_clips_of_the_list(data):
    import tensorflow as tf
    from vgan_tf.data import ClipOptions, ReadOptions, ShardSource, video_dataset
    source, shards = data
    pattern = os.path.join(os.path.dirname(shards[0]), "*.tfrecord")
    from_list = {int(l): v for v, l in _read(source, shuffle=False).as_numpy_iterator()}
    out = list(_read(ShardSource(pattern), seed=3).as_numpy_iterator())
    assert sorted(int(l) for _, l in out) == list(range(CLIPS))
    for video, label in out:
        np.testing.assert_array_equal(video, from_list[int(label)])
    batched = video_dataset(ShardSource(shards), ClipOptions(FRAMES, SIZE), 5,
                            ReadOptions(seed=1))
    assert next(iter(batched)).shape == (5, FRAMES, SIZE, SIZE, 3)
    assert (batched.options().experimental_distribute.auto_shard_policy
            == tf.data.experimental.AutoShardPolicy.FILE)
    with pytest.raises(FileNotFoundError, match="nothing-here"):
        ShardSource(os.path.join(os.path.dirname(shards[0]), "nothing-here*")).files()


@pytest.mark.slow
def test_explicit_shard_reads_whole_shard_files(data):
    from vgan_tf.data import ShardSource
    _, shards = data
    per_shard = [[int(l) for _, l in _read(ShardSource([s]), shuffle=False)
                  .as_numpy_iterator()] for s in shards]
    assert per_shard == [list(range(i, CLIPS, 4)) for i in range(4)]
    for index in range(2):
        labels = {int(l) for _, l in _read(ShardSource(shards), shuffle=False,
                                           shard=(2, index)).as_numpy_iterator()}
        assert labels == set(per_shard[index]) | set(per_shard[index + 2])


@pytest.mark.slow
def test_two_workers_auto_shard_whole_shard_files(data, tmp_path):
    """Under MultiWorkerMirroredStrategy, experimental_distribute_dataset of a shard
    pipeline (FILE policy by default) gives worker w the clips of shard files w and w + 2:
    the pipeline's graph lets tf.distribute find and shard the file names."""
    _, shards = data
    outs = [tmp_path / f"worker{index}.json" for index in range(2)]
    helpers.run_two_workers(__file__, lambda index: [
        "worker", os.path.dirname(shards[0]), outs[index]])
    labels = [json.load(open(out)) for out in outs]
    for index in range(2):
        assert sorted(labels[index]) == sorted(list(range(index, CLIPS, 4))
                                               + list(range(index + 2, CLIPS, 4)))


def _worker(shard_dir, out):
    import tensorflow as tf
    strategy = tf.distribute.MultiWorkerMirroredStrategy()  # before any other TF op
    from vgan_tf.data import ClipOptions, ReadOptions, ShardSource, video_dataset
    # One shard file at a time: records in file order, so a DATA (per-element) split would
    # not give the same clips as whole files.
    dataset = video_dataset(ShardSource(os.path.join(shard_dir, "*.tfrecord"), cycle_length=1),
                            ClipOptions(FRAMES, SIZE), 2,
                            ReadOptions(shuffle=False, repeat=False, with_labels=True))
    labels = []
    for _, batch_labels in strategy.experimental_distribute_dataset(dataset):
        for local in strategy.experimental_local_results(batch_labels):
            labels.extend(int(x) for x in local.numpy())
    with open(out, "w") as handle:
        json.dump(labels, handle)


if __name__ == "__main__":
    mode, *rest = sys.argv[1:]
    {"worker": _worker}[mode](*rest)
