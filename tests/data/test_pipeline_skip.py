"""skip_clips: resuming deep into the data stream without reading (or decoding) what
was skipped, in the order an uninterrupted pipeline would have given."""
import os

import numpy as np
import pytest
import tensorflow as tf

from vgan_tf.data import (ClipOptions, ListSource, ReadOptions, ShardSource, SkipCounter,
                          clip_dataset, lists, synthetic, video_dataset, write_shards)

FRAMES, SIZE, CLIPS = 4, 16, 10
CLIP = ClipOptions(FRAMES, SIZE)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("skip"))
    list_file = synthetic.write_synthetic_dataset(root, CLIPS, frames=6, size=SIZE, seed=2)
    entries = lists.read_lists(list_file)  # unique labels identify the clips
    return ListSource(lists.write_list(os.path.join(root, "unique.txt"), entries.paths,
                                       range(CLIPS)), root)


def _stream(ds, n):
    videos, labels = zip(*ds.take(n).as_numpy_iterator())
    return np.stack(videos), np.array(labels)


@pytest.mark.slow
@pytest.mark.parametrize("window", ["first", "random"])
def test_skip_clips_continues_the_uninterrupted_stream(data, window):
    def make(**read):
        return clip_dataset(data, ClipOptions(FRAMES, SIZE, window=window),
                            ReadOptions(seed=4, with_labels=True, **read))

    skip = 2 * CLIPS + 3  # into the third epoch (each epoch reshuffled)
    expected = _stream(make().skip(skip), 2 * CLIPS)
    resumed = _stream(make(skip_clips=skip), 2 * CLIPS)
    np.testing.assert_array_equal(resumed[1], expected[1])
    np.testing.assert_array_equal(resumed[0], expected[0])
    assert len(set(expected[1][:CLIPS].tolist())) > 1


@pytest.mark.slow
def test_skip_clips_in_batches_equals_skipping_batches(data):
    def make(**read):
        return video_dataset(data, CLIP, 4, ReadOptions(seed=9, **read))

    expected = np.stack(list(make().skip(7).take(3).as_numpy_iterator()))
    resumed = np.stack(list(make(skip_clips=7 * 4).take(3).as_numpy_iterator()))
    np.testing.assert_array_equal(resumed, expected)


@pytest.mark.slow
def test_skipped_files_are_not_read(data):
    counter = SkipCounter()
    ds = clip_dataset(data, CLIP, ReadOptions(shuffle=False, repeat=False, with_labels=True,
                                              skip_clips=CLIPS - 3), counter)
    labels = [int(label) for _, label in ds.as_numpy_iterator()]
    assert labels == list(range(CLIPS - 3, CLIPS))
    assert counter.counts()["passed"] == 3  # only the three files after the skip


@pytest.mark.slow
def test_skip_clips_with_cache_and_tfrecord_shards_is_exact(data, tmp_path):
    cached = ReadOptions(seed=1, with_labels=True, cache=True)
    expected = _stream(clip_dataset(data, CLIP, cached).skip(CLIPS + 2), CLIPS)[1]
    resumed = clip_dataset(data, CLIP, ReadOptions(seed=1, with_labels=True, cache=True,
                                                   skip_clips=CLIPS + 2))
    np.testing.assert_array_equal(_stream(resumed, CLIPS)[1], expected)

    write_shards(data, str(tmp_path / "shards"), num_shards=2, progress=False)
    shards = ShardSource(str(tmp_path / "shards" / "*"))

    def from_shards(**read):
        return clip_dataset(shards, CLIP, ReadOptions(seed=3, with_labels=True, **read))

    expected = _stream(from_shards().skip(CLIPS + 4), CLIPS)
    resumed = _stream(from_shards(skip_clips=CLIPS + 4), CLIPS)
    np.testing.assert_array_equal(resumed[1], expected[1])
    np.testing.assert_array_equal(resumed[0], expected[0])


@pytest.mark.slow
def test_all_bad_list_with_skip_ends_instead_of_spinning(tmp_path, data):
    (tmp_path / "a.jpg").write_bytes(b"not a jpeg")
    lists.write_list(str(tmp_path / "l.txt"), ["a.jpg", "b.jpg"])
    counter = SkipCounter()
    ds = video_dataset(ListSource(str(tmp_path / "l.txt"), str(tmp_path)), CLIP, 2,
                       ReadOptions(skip_clips=5), counter)
    assert list(ds) == []
    # 2 * N - 1 = 3 bad in a row end it (the parallel reader may have looked a little further)
    assert 3 <= counter.counts()["skipped"] <= 3 + 2 * os.cpu_count() + 8
    # One good file among bad ones keeps the repeated stream going.
    good = data.read().resolve(data.data_root)[0]
    tf.io.gfile.copy(good, str(tmp_path / "g.jpg"))
    lists.write_list(str(tmp_path / "m.txt"), ["a.jpg", "b.jpg", "g.jpg"])
    ds = video_dataset(ListSource(str(tmp_path / "m.txt"), str(tmp_path)), CLIP, 2,
                       ReadOptions(skip_clips=5, seed=0))
    assert len(list(ds.take(6))) == 6


def test_skip_clips_argument_errors():
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="skip_clips"):
            ReadOptions(skip_clips=bad)
