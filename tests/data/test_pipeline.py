"""The pipeline from list files: clip cutting and resizing, batching and labels, order,
windows, explicit shards, per-pipeline input, gfile schemes and cache, argument errors."""
import os

import numpy as np
import pytest
import tensorflow as tf

from tests.data.frames import random_frames
from vgan_tf.data import (ClipOptions, ListSource, ReadOptions, ShardSource, SkipCounter,
                          clip_dataset, distributed_input_fn, lists, strips, synthetic,
                          video_dataset)

FRAMES, SIZE, CLIPS = 4, 16, 12
ONCE = ReadOptions(shuffle=False, repeat=False)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """CLIPS synthetic strips of 6 frames of 16 px, relabelled 0..CLIPS-1 (labels then
    identify clips)."""
    root = str(tmp_path_factory.mktemp("pipeline"))
    list_file = synthetic.write_synthetic_dataset(root, CLIPS, frames=6, size=SIZE, seed=5)
    entries = lists.read_lists(list_file)
    unique = lists.write_list(os.path.join(root, "unique.txt"), entries.paths, range(CLIPS))
    return ListSource(unique, root)


def _labels(ds):
    return [int(label) for _, label in ds.as_numpy_iterator()]


def _unbatched(source, frames=FRAMES, **read):
    read.setdefault("repeat", False)
    return clip_dataset(source, ClipOptions(frames, SIZE),
                        ReadOptions(with_labels=True, **read))


@pytest.mark.slow
def test_pipeline_pads_short_clips_and_resizes(tmp_path):
    frames = random_frames(3, 48, seed=1)
    strips.write_strip(str(tmp_path / "s.jpg"), frames)
    source = ListSource(lists.write_list(str(tmp_path / "l.txt"), ["s.jpg"]), str(tmp_path))
    decoded = strips.read_strip(str(tmp_path / "s.jpg"))
    for resize in ("bilinear", "dct"):
        for size in (48, 24, 16, 12, 8, 20):  # factors 1, 2, 3, 4, 6 and a fraction
            ds = video_dataset(source, ClipOptions(5, size, resize=resize), None, ONCE)
            clips = list(ds.as_numpy_iterator())
            assert len(clips) == 1
            clip = clips[0]
            assert clip.shape == (5, size, size, 3) and clip.dtype == np.float32
            resized = tf.image.resize(decoded, [size, size], method="bilinear").numpy()
            expected = resized / 127.5 - 1
            if resize == "dct" and 48 // size in strips.DCT_FACTORS and 48 % size == 0:
                # Scaled in the decoder: close to bilinear, not equal (random pixels are
                # the worst case: all high frequencies).
                difference = np.abs(clip[:3] - expected) * 127.5
                assert 0 < difference.mean() < 16, (size, difference.mean())
            elif resize == "dct":  # bilinear, rounded to 8 bits (exact at equal sizes)
                rounded = np.round(resized) / 127.5 - 1  # half to even, as tf.round
                np.testing.assert_allclose(clip[:3], rounded, atol=1e-6)
                if size == 48:
                    np.testing.assert_allclose(clip[:3], expected, atol=1e-6)
            else:  # the original loader's bilinear resize, exactly
                np.testing.assert_allclose(clip[:3], expected, atol=1e-4)
            np.testing.assert_array_equal(clip[3], clip[2])
            np.testing.assert_array_equal(clip[4], clip[2])


@pytest.mark.slow
def test_pipeline_batches_labels_and_range(tmp_path):
    source = ListSource(synthetic.write_synthetic_dataset(str(tmp_path), 10, frames=8,
                                                          size=32))
    clip = ClipOptions(8, 16)
    videos, labels = next(iter(video_dataset(source, clip, 4,
                                             ReadOptions(seed=0, with_labels=True))))
    assert videos.shape == (4, 8, 16, 16, 3) and videos.dtype == tf.float32
    assert labels.shape == (4,) and labels.dtype == tf.int64
    assert float(tf.reduce_min(videos)) >= -1.0 and float(tf.reduce_max(videos)) <= 1.0
    assert float(tf.math.reduce_std(videos)) > 0.1
    assert [b.shape[0] for b in video_dataset(source, clip, 4, ONCE)] == [4, 4]
    keep_last = ReadOptions(shuffle=False, repeat=False, drop_remainder=False)
    assert [b.shape[0] for b in video_dataset(source, clip, 4, keep_last)] == [4, 4, 2]


@pytest.mark.slow
def test_dct_resize_is_close_to_bilinear_at_4x(tmp_path):
    source = ListSource(synthetic.write_synthetic_dataset(str(tmp_path), 2, frames=4,
                                                          size=16, strip_size=64))
    exact, fast = [np.stack(list(video_dataset(
        source, ClipOptions(4, 16, resize=method), None, ONCE).as_numpy_iterator()))
        for method in ("bilinear", "dct")]
    assert exact.shape == fast.shape == (2, 4, 16, 16, 3)
    difference = np.abs(exact - fast) * 127.5
    assert 0 < difference.mean() < 8.0  # factor 4: bilinear samples 2 of 4 pixels, DCT all


def test_argument_errors_name_the_argument(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.txt"):
        video_dataset(ListSource(str(tmp_path / "absent.txt")), ClipOptions(8, 16), 2)
    (tmp_path / "e.txt").write_text("# nothing\n")
    with pytest.raises(ValueError, match="e.txt"):
        video_dataset(ListSource(str(tmp_path / "e.txt")), ClipOptions(8, 16), 2)
    unlabelled = ListSource(lists.write_list(str(tmp_path / "n.txt"), ["a.jpg"]))
    with pytest.raises(ValueError, match="n.txt:1.*label"):
        video_dataset(unlabelled, ClipOptions(8, 16), 2, ReadOptions(with_labels=True))
    for make, message in (
            (lambda: ClipOptions(0, 16), "frames must be a positive integer, got 0"),
            (lambda: ClipOptions(8, -1), "size must be"),
            (lambda: ClipOptions(8, 16, window="middle"), "window must be one of"),
            (lambda: ClipOptions(8, 16, stride=0), "stride"),
            (lambda: ClipOptions(8, 16, strip_size=0), "strip_size"),
            (lambda: ClipOptions(8, 16, resize="nearest"), "resize must be one of"),
            (lambda: ReadOptions(skip_clips=-1), "skip_clips"),
            (lambda: ReadOptions(shuffle_buffer=0), "shuffle_buffer"),
            (lambda: ReadOptions(shard=(2, 2)), "0 <= index < num_shards"),
            (lambda: ReadOptions(shard=3), r"shard must be \(num_shards, index\)"),
            (lambda: ReadOptions(auto_shard_policy="BYFILE"), "auto_shard_policy"),
            (lambda: ListSource(()), "list_files must name at least one"),
            (lambda: ShardSource("s*", cycle_length=0), "cycle_length"),
            (lambda: video_dataset(unlabelled, ClipOptions(8, 16), 0), "batch_size"),
            (lambda: video_dataset(unlabelled, ClipOptions(8, 16), True), "batch_size")):
        with pytest.raises(ValueError, match=message):
            make()
    with pytest.raises(TypeError, match="ListSource or a ShardSource"):
        video_dataset(str(tmp_path / "n.txt"), ClipOptions(8, 16), 2)
    with pytest.raises(TypeError, match="ClipOptions"):
        video_dataset(unlabelled, (8, 16), 2)
    with pytest.raises(TypeError, match="ReadOptions"):
        video_dataset(unlabelled, ClipOptions(8, 16), 2, dict(seed=0))


def test_options_normalise_what_they_accept():
    read = ReadOptions(shard=["3", 1], auto_shard_policy="file")
    assert read.shard == (3, 1)
    assert read.auto_shard_policy == tf.data.experimental.AutoShardPolicy.FILE
    assert ListSource("a.txt").list_files == ("a.txt",)
    assert ListSource([b"a.txt", "b/*.txt"]).list_files == ("a.txt", "b/*.txt")
    assert ShardSource("s-*").patterns == ("s-*",)


@pytest.mark.slow
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


@pytest.mark.slow
def test_random_window_and_stride(data):
    path = data.read().resolve(data.data_root)[0]
    frames = strips.read_strip(path).astype(np.float32) / 127.5 - 1  # 6 frames of 16px
    in_order = ReadOptions(shuffle=False, seed=1)
    ds = clip_dataset(data, ClipOptions(3, SIZE, window="random"), in_order)
    starts = set()
    for i, clip in enumerate(ds.take(CLIPS * 6).as_numpy_iterator()):
        if i % CLIPS:
            continue
        match = [s for s in range(4) if np.allclose(clip, frames[s:s + 3], atol=1e-5)]
        assert len(match) == 1
        starts.add(match[0])
    assert len(starts) >= 2  # different windows in different epochs
    again = list(clip_dataset(data, ClipOptions(3, SIZE, window="random"),
                              in_order).take(CLIPS).as_numpy_iterator())
    first = list(ds.take(CLIPS).as_numpy_iterator())
    np.testing.assert_array_equal(np.stack(again), np.stack(first))
    strided = next(clip_dataset(data, ClipOptions(4, SIZE, stride=2),
                                ReadOptions(shuffle=False)).as_numpy_iterator())
    np.testing.assert_allclose(strided, frames[[0, 2, 4, 4]], atol=1e-5)


@pytest.mark.slow
def test_center_window_takes_the_middle_frames(data):
    path = data.read().resolve(data.data_root)[0]
    frames = strips.read_strip(path).astype(np.float32) / 127.5 - 1  # 6 frames of 16px
    first = ReadOptions(shuffle=False)
    for length, stride, expected in ((3, 1, [1, 2, 3]), (2, 1, [2, 3]), (2, 2, [1, 3]),
                                     (4, 2, [0, 2, 4, 4])):  # too long: from 0, padded
        clip = next(clip_dataset(data, ClipOptions(length, SIZE, window="center",
                                                   stride=stride), first).as_numpy_iterator())
        np.testing.assert_allclose(clip, frames[expected], atol=1e-5)
    for position, expected in ((0.0, [0, 1, 2]), (1.0, [3, 4, 5]), (0.4, [1, 2, 3])):
        clip = next(clip_dataset(data, ClipOptions(3, SIZE, window="center",
                                                   position=position), first).as_numpy_iterator())
        np.testing.assert_allclose(clip, frames[expected], atol=1e-5)
    with pytest.raises(ValueError, match="position must be in"):
        ClipOptions(3, SIZE, window="center", position=1.5)


@pytest.mark.slow
def test_explicit_shards_are_disjoint_and_complete(data):
    parts = [_labels(_unbatched(data, shuffle=False, shard=(3, i))) for i in range(3)]
    assert parts == [list(range(i, CLIPS, 3)) for i in range(3)]  # names i, i + 3, ...


@pytest.mark.slow
def test_distributed_input_fn_splits_names_and_batches_per_replica(data):
    fn = distributed_input_fn(data, ClipOptions(FRAMES, SIZE), 4,
                              ReadOptions(shuffle=False, repeat=False, with_labels=True))
    for pipeline_id in range(2):
        context = tf.distribute.InputContext(num_input_pipelines=2,
                                             input_pipeline_id=pipeline_id,
                                             num_replicas_in_sync=2)
        dataset = fn(context)
        assert (dataset.options().experimental_distribute.auto_shard_policy
                == tf.data.experimental.AutoShardPolicy.OFF)
        batches = list(dataset.as_numpy_iterator())
        # 4 clips per step over 2 replicas: batches of 2, from this pipeline's half.
        assert [v.shape for v, _ in batches] == [(2, FRAMES, SIZE, SIZE, 3)] * 3
        labels = [int(x) for _, batch in batches for x in batch]
        assert labels == list(range(pipeline_id, CLIPS, 2))


@pytest.mark.slow
def test_gfile_scheme_and_cache():
    root = "ram://vgan_data_test"
    for i in range(3):
        frames = np.full((2, SIZE, SIZE, 3), 40 * (i + 1), np.uint8)
        strips.write_strip(f"{root}/clips/c{i}.jpg", frames)
    list_file = lists.write_list(f"{root}/l.txt", [f"clips/c{i}.jpg" for i in range(3)],
                                 [0, 1, 2])
    counter = SkipCounter()
    ds = clip_dataset(ListSource(list_file, root), ClipOptions(FRAMES, SIZE),
                      ReadOptions(with_labels=True, cache=True, seed=0), counter)
    out = list(ds.take(9).as_numpy_iterator())
    for video, label in out:
        np.testing.assert_allclose(video, 40 * (int(label) + 1) / 127.5 - 1, atol=2 / 127.5)
    assert sorted(int(l) for _, l in out) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert counter.counts()["passed"] == 3  # read once, then served from the cache
    # No data root: entries are relative to the list file's directory, on any scheme.
    again = clip_dataset(ListSource(list_file), ClipOptions(FRAMES, SIZE),
                         ReadOptions(with_labels=True, shuffle=False, repeat=False))
    assert _labels(again) == [0, 1, 2]
