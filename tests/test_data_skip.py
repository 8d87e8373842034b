"""skip_clips: resuming deep into the data stream without reading (or decoding) what
was skipped, in the order an uninterrupted pipeline would have given."""
import os

import numpy as np
import pytest
import tensorflow as tf

from vgan_tf.data import checks, lists, pipeline, synthetic, tfrecord

FRAMES, SIZE, CLIPS = 4, 16, 10


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("skip"))
    list_file = synthetic.write_synthetic_dataset(root, CLIPS, frames=6, size=SIZE, seed=2)
    entries = lists.read_lists(list_file)  # unique labels identify the clips
    return root, lists.write_list(os.path.join(root, "unique.txt"), entries.paths,
                                  range(CLIPS))


def _stream(ds, n):
    videos, labels = zip(*ds.take(n).as_numpy_iterator())
    return np.stack(videos), np.array(labels)


@pytest.mark.parametrize("window", ["first", "random"])
def test_skip_clips_continues_the_uninterrupted_stream(data, window):
    root, list_file = data

    def make(**kwargs):
        return pipeline.video_dataset(list_file, root, FRAMES, SIZE, None, seed=4,
                                      with_labels=True, window=window, **kwargs)

    skip = 2 * CLIPS + 3  # into the third epoch (each epoch reshuffled)
    expected = _stream(make().skip(skip), 2 * CLIPS)
    resumed = _stream(make(skip_clips=skip), 2 * CLIPS)
    np.testing.assert_array_equal(resumed[1], expected[1])
    np.testing.assert_array_equal(resumed[0], expected[0])
    assert len(set(expected[1][:CLIPS].tolist())) > 1


def test_skip_clips_in_batches_equals_skipping_batches(data):
    root, list_file = data

    def make(**kwargs):
        return pipeline.video_dataset(list_file, root, FRAMES, SIZE, 4, seed=9, **kwargs)

    expected = np.stack(list(make().skip(7).take(3).as_numpy_iterator()))
    resumed = np.stack(list(make(skip_clips=7 * 4).take(3).as_numpy_iterator()))
    np.testing.assert_array_equal(resumed, expected)


def test_skipped_files_are_not_read(data):
    root, list_file = data
    counter = checks.SkipCounter()
    ds = pipeline.video_dataset(list_file, root, FRAMES, SIZE, None, shuffle=False,
                                repeat=False, with_labels=True, counter=counter,
                                skip_clips=CLIPS - 3)
    labels = [int(label) for _, label in ds.as_numpy_iterator()]
    assert labels == list(range(CLIPS - 3, CLIPS))
    assert counter.counts()["passed"] == 3  # only the three files after the skip


def test_skip_clips_with_cache_and_tfrecord_shards_is_exact(data, tmp_path):
    root, list_file = data
    cached = pipeline.video_dataset(list_file, root, FRAMES, SIZE, None, seed=1,
                                    with_labels=True, cache=True)
    expected = _stream(cached.skip(CLIPS + 2), CLIPS)[1]
    resumed = pipeline.video_dataset(list_file, root, FRAMES, SIZE, None, seed=1,
                                     with_labels=True, cache=True, skip_clips=CLIPS + 2)
    np.testing.assert_array_equal(_stream(resumed, CLIPS)[1], expected)

    tfrecord.write_shards(list_file, root, str(tmp_path / "shards"), num_shards=2)
    pattern = str(tmp_path / "shards" / "*")

    def shards(**kwargs):
        return pipeline.tfrecord_video_dataset(pattern, FRAMES, SIZE, None, seed=3,
                                               with_labels=True, **kwargs)

    expected = _stream(shards().skip(CLIPS + 4), CLIPS)
    resumed = _stream(shards(skip_clips=CLIPS + 4), CLIPS)
    np.testing.assert_array_equal(resumed[1], expected[1])
    np.testing.assert_array_equal(resumed[0], expected[0])


def test_all_bad_list_with_skip_ends_instead_of_spinning(tmp_path, data):
    (tmp_path / "a.jpg").write_bytes(b"not a jpeg")
    lists.write_list(str(tmp_path / "l.txt"), ["a.jpg", "b.jpg"])
    counter = checks.SkipCounter()
    ds = pipeline.video_dataset(str(tmp_path / "l.txt"), str(tmp_path), FRAMES, SIZE, 2,
                                skip_clips=5, counter=counter)
    assert list(ds) == []
    # 2 * N - 1 = 3 bad in a row end it (the parallel reader may have looked a little further)
    assert 3 <= counter.counts()["skipped"] <= 3 + 2 * os.cpu_count() + 8
    # One good file among bad ones keeps the repeated stream going.
    root, _ = data
    good = os.path.join(root, lists.read_lists(data[1]).paths[0])
    tf.io.gfile.copy(good, str(tmp_path / "g.jpg"))
    lists.write_list(str(tmp_path / "m.txt"), ["a.jpg", "b.jpg", "g.jpg"])
    ds = pipeline.video_dataset(str(tmp_path / "m.txt"), str(tmp_path), FRAMES, SIZE, 2,
                                skip_clips=5, seed=0)
    assert len(list(ds.take(6))) == 6


def test_skip_clips_argument_errors(data):
    root, list_file = data
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="skip_clips"):
            pipeline.video_dataset(list_file, root, FRAMES, SIZE, 2, skip_clips=bad)
