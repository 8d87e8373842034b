"""Broken strips that decode without an error (libjpeg's grey fill of a cut scan), things
that are not files, frames the decoder refuses: skipped with a named reason, counted,
logged with the path; strict mode raises naming the file. Good strips that look like the
fill (exactly 128 grey) still come out."""
import os
import threading

import numpy as np
import pytest
import tensorflow as tf

from vgan_tf.data import (ClipOptions, ListSource, ReadOptions, ShardSource, checks,
                          clip_dataset, lists, strips, synthetic, write_shards)

FRAMES, STRIP, SIZE = 8, 64, 32


def _cut_scan(data, fraction):
    scan = data.rfind(b"\xff\xda")
    start = scan + 2 + data[scan + 2] * 256 + data[scan + 3]
    return data[:start + int((len(data) - 2 - start) * fraction)] + b"\xff\xd9"


def _scenes(n, seed=5):
    return [synthetic.render_clip(seed, i, frames=FRAMES, size=STRIP)[0] for i in range(n)]


def _look_alikes():
    """Good strips where a false positive of the fill check would be plausible."""
    rng = np.random.default_rng(0)
    grey = np.full((FRAMES, STRIP, STRIP, 3), 128, np.uint8)
    bottom = grey.copy()
    bottom[:4] = rng.integers(0, 256, (4, STRIP, STRIP, 3))
    ramp = np.linspace(0, 255, FRAMES * STRIP)[:, None, None] * np.ones((1, STRIP, 3))
    return {"grey128": strips.encode_strip(grey),
            "grey128_q50": strips.encode_strip(grey, quality=50),
            "grey128_bottom": strips.encode_strip(bottom),
            "gradient": strips.encode_strip(ramp.reshape(grey.shape).astype(np.uint8)),
            "gray_channel_128": tf.io.encode_jpeg(
                np.full((FRAMES * STRIP, STRIP, 1), 128, np.uint8)).numpy()}


def _write(root, files):
    for rel, data in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    return lists.write_list(os.path.join(root, "l.txt"), list(files), range(len(files)))


def _run(root, list_file, resize="dct", strict=False, counter=None, size=SIZE,
         full_checks=True):
    return list(clip_dataset(ListSource(list_file, root), ClipOptions(FRAMES, size,
                                                                      resize=resize),
                             ReadOptions(shuffle=False, repeat=False, with_labels=True,
                                         strict=strict, full_checks=full_checks),
                             counter).as_numpy_iterator())


@pytest.mark.slow
@pytest.mark.parametrize("resize, size", [("dct", SIZE), ("bilinear", SIZE), ("dct", STRIP)])
def test_cut_scans_are_corrupt_data_and_good_ones_are_exact(tmp_path, capfd, resize, size):
    scenes = _scenes(6)
    files = {f"good/g{i}.jpg": strips.encode_strip(f) for i, f in enumerate(scenes[:3])}
    files.update(_look_alikes())
    good = len(files)
    for i, fraction in enumerate([0.05, 0.3, 0.6, 0.9]):
        files[f"cut/c{i}.jpg"] = _cut_scan(strips.encode_strip(scenes[3 + i % 3]), fraction)
    list_file = _write(str(tmp_path), files)
    counter = checks.SkipCounter()
    out = _run(str(tmp_path), list_file, resize, counter=counter, size=size)
    assert sorted(int(label) for _, label in out) == list(range(good))
    names = list(files)
    for video, label in out:  # exactly the decoder's image, resized as the pipeline does
        data = files[names[int(label)]]
        expected = strips.decode_clip(data, ClipOptions(FRAMES, size, resize=resize)).numpy()
        np.testing.assert_array_equal(video, expected)
    counts = counter.counts()
    assert counts["corrupt_data"] == 4 and counts["skipped"] == 4
    assert counts["decoded"] == good and counts["decode_failed"] == 0
    log = capfd.readouterr().err
    for i in range(4):
        assert f'{tmp_path / "cut" / f"c{i}.jpg"}" reason: "corrupt_data"' in log
    assert log.count("reason:") == 4  # counters equal log lines


def test_fill_check_has_no_false_positive_on_synthetic_scenes():
    for frames in _scenes(24, seed=11):
        data = strips.encode_strip(frames)
        for size in (SIZE, STRIP, 16, 8):
            _, ran_out = strips.decode_clip(data, ClipOptions(FRAMES, size), check_fill=True)
            assert not bool(ran_out)


@pytest.mark.slow
def test_cut_scan_in_strict_mode_is_a_bad_strip_error(tmp_path):
    data = _cut_scan(strips.encode_strip(_scenes(1)[0]), 0.5)
    list_file = _write(str(tmp_path), {"cut.jpg": data})
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        _run(str(tmp_path), list_file, strict=True)
    bad = checks.BadStripError.from_op_error(info.value)
    assert bad.reason == "corrupt_data" and bad.name == str(tmp_path / "cut.jpg")


@pytest.mark.slow
def test_cut_strips_are_left_out_of_shards_and_skipped_when_read(tmp_path):
    """The shard converter leaves a cut strip out (its full checks, corrupt_data); a shard
    that holds one anyway (written by other means) has the record named when read."""
    from vgan_tf.data import tfrecord
    scenes = _scenes(3)
    files = {"a.jpg": strips.encode_strip(scenes[0]),
             "cut.jpg": _cut_scan(strips.encode_strip(scenes[1]), 0.4),
             "b.jpg": strips.encode_strip(scenes[2])}
    list_file = _write(str(tmp_path), files)
    report = write_shards(ListSource(list_file, str(tmp_path)), str(tmp_path / "shards"), 1,
                          progress=False)
    assert report.written == 2 and report.skipped["corrupt_data"] == 1
    with tf.io.TFRecordWriter(str(tmp_path / "other.tfrecord")) as writer:
        for label, (name, data) in enumerate(files.items()):
            writer.write(tfrecord.make_example(data, label, name))
    counter = checks.SkipCounter()
    out = list(clip_dataset(ShardSource(str(tmp_path / "other.tfrecord")),
                            ClipOptions(FRAMES, SIZE),
                            ReadOptions(shuffle=False, repeat=False, with_labels=True),
                            counter).as_numpy_iterator())
    assert sorted(int(label) for _, label in out) == [0, 2]
    assert counter.counts()["corrupt_data"] == 1


def _iterate_with_timeout(make, fifo, seconds=120):
    """Iterates `make()` in a thread; a reader blocked on `fifo` past `seconds` is released
    (a writer opens and closes the pipe) and the test fails instead of hanging."""
    result = {}

    def target():
        try:
            result["out"] = make()
        except Exception as e:  # noqa: BLE001 - handed to the test
            result["error"] = e

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(30)
        pytest.fail("the pipeline blocked on a named pipe")
    if "error" in result:
        raise result["error"]
    return result["out"]


@pytest.mark.slow
def test_directories_and_pipes_are_not_a_file(tmp_path, capfd):
    root = str(tmp_path)
    frames = _scenes(2)
    strips.write_strip(os.path.join(root, "a.jpg"), frames[0])
    strips.write_strip(os.path.join(root, "b.jpg"), frames[1])
    os.makedirs(os.path.join(root, "dir.jpg"))
    fifo = os.path.join(root, "pipe.jpg")
    os.mkfifo(fifo)
    list_file = lists.write_list(os.path.join(root, "l.txt"),
                                 ["a.jpg", "dir.jpg", "pipe.jpg", "b.jpg"], range(4))
    counter = checks.SkipCounter()
    out = _iterate_with_timeout(lambda: _run(root, list_file, counter=counter), fifo)
    assert sorted(int(label) for _, label in out) == [0, 3]
    assert counter.counts()["not_a_file"] == 2 and counter.counts()["skipped"] == 2
    log = capfd.readouterr().err
    for name in ("dir.jpg", "pipe.jpg"):
        assert f'{os.path.join(root, name)}" reason: "not_a_file"' in log

    lists.write_list(os.path.join(root, "s.txt"), ["a.jpg", "pipe.jpg"], [0, 1])
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        _iterate_with_timeout(lambda: _run(root, os.path.join(root, "s.txt"), strict=True),
                              fifo)
    bad = checks.BadStripError.from_op_error(info.value)
    assert bad.reason == "not_a_file" and bad.name == fifo


def test_not_regular_files(tmp_path):
    (tmp_path / "f.jpg").write_bytes(b"x")
    (tmp_path / "d").mkdir()
    os.mkfifo(tmp_path / "p")
    os.symlink(tmp_path / "f.jpg", tmp_path / "link.jpg")
    os.symlink(tmp_path / "d", tmp_path / "dlink")
    paths = [str(tmp_path / n) for n in ("f.jpg", "d", "p", "link.jpg", "dlink", "gone")]
    assert lists.not_regular_files(paths + ["gs://bucket/d", "ram://x/y"]) == [
        False, True, True, False, True, False, False, False]


def test_unreadable_files_are_not_files(tmp_path, monkeypatch):
    """A file this process may not read is refused before the read (whose error would
    vanish uncounted). Root reads everything, so os.access is what the test varies."""
    (tmp_path / "f.jpg").write_bytes(b"x")
    (tmp_path / "g.jpg").write_bytes(b"x")
    locked = str(tmp_path / "g.jpg")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: real_access(p, mode) and p != locked)
    assert lists.not_regular_files([str(tmp_path / "f.jpg"), locked]) == [False, True]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["bits12", "huge"])
def test_frames_the_decoder_refuses_are_named_unsupported(tmp_path, capfd, kind):
    good = strips.encode_strip(_scenes(1)[0])
    body = bytearray(good)
    sof = good.find(b"\xff\xc0")
    if kind == "bits12":
        body[sof + 4] = 12
    else:
        body[sof + 5:sof + 9] = (65520).to_bytes(2, "big") * 2
    with pytest.raises((tf.errors.InvalidArgumentError, tf.errors.UnknownError)):
        tf.io.decode_jpeg(bytes(body), channels=3)  # what the decoder would have said
    list_file = _write(str(tmp_path), {"x.jpg": bytes(body), "good.jpg": good})
    counter = checks.SkipCounter()
    out = _run(str(tmp_path), list_file, counter=counter)
    assert [int(label) for _, label in out] == [1]
    assert counter.counts()["unsupported"] == 1 and counter.counts()["decode_failed"] == 0
    assert f'{tmp_path / "x.jpg"}" reason: "unsupported"' in capfd.readouterr().err
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        _run(str(tmp_path), list_file, strict=True)
    assert checks.BadStripError.from_op_error(info.value).reason == "unsupported"


def test_known_limit_smaller_declared_height_decodes_its_real_top_rows():
    """Documented limit of the default pipeline (docs/data.md): a frame header declaring
    fewer rows than the scan holds is decoded as the declared image (libjpeg warns about
    extraneous bytes only; the full checks name it corrupt_data);
    the frames that come out are the strip's real top frames, not fill (but for the
    colours of the declared image's last pixel row: chroma upsampling at its new edge)."""
    frames = _scenes(1)[0]
    good = strips.encode_strip(frames)
    body = bytearray(good)
    sof = good.find(b"\xff\xc0")
    body[sof + 5:sof + 7] = (STRIP * 2).to_bytes(2, "big")  # 2 of the 8 frames declared
    clip, ran_out = strips.decode_clip(bytes(body), ClipOptions(2, STRIP), check_fill=True,
                                       unit_range=False)
    assert not bool(ran_out)
    expected = strips.decode_clip(good, ClipOptions(2, STRIP), unit_range=False)
    clip, expected = clip.numpy().reshape(-1, STRIP, 3), expected.numpy().reshape(-1, STRIP, 3)
    np.testing.assert_array_equal(clip[:-1], expected[:-1])
    # The full checks see it: the scan holds data past the declared image (scan_damaged).
    assert bool(strips.scan_damaged(bytes(body), STRIP * 2, STRIP))
    assert not bool(strips.scan_damaged(good, STRIP * FRAMES, STRIP))


def _segment(data, marker):
    """Position of the first segment `marker` (0xC4, 0xDA, ...) in the walk from the start."""
    pos = 2
    while data[pos + 1] != marker:
        pos += 2 + data[pos + 2] * 256 + data[pos + 3]
    return pos


def _corrupt_dht(data, how):
    """`data` with its first Huffman table's code counts made impossible."""
    body = bytearray(data)
    counts = _segment(data, 0xC4) + 5  # after FF C4, the length and the class/index byte
    if how == "too_many_symbols":  # 16 x 255 > 256 symbols
        body[counts:counts + 16] = b"\xff" * 16
    elif how == "kraft":  # 3 codes of length 1 cannot be: Kraft's sum exceeds 1
        body[counts] += 3
        body[counts + 1:counts + 4] = bytes(max(c - 1, 0) for c in body[counts + 1:counts + 4])
    else:  # class/index 0x05: no such table
        body[counts - 1] = 0x05
    return bytes(body)


def _without_sos(data):
    """`data` with its start of scan and entropy-coded data removed (EOI kept)."""
    return data[:_segment(data, 0xDA)] + b"\xff\xd9"


def _undefined_quant_table(data):
    """The first component points at quantization table 3, never defined: the decoder
    refuses ("Quantization table 0x03 was not defined"); no header check looks at it."""
    body = bytearray(data)
    body[data.find(b"\xff\xc0") + 12] = 3
    return bytes(body)


def _refused(data):
    try:
        tf.io.decode_jpeg(data, channels=3)
    except (tf.errors.InvalidArgumentError, tf.errors.UnknownError):
        return True
    return False


def _header_corpus():
    scenes = _scenes(8, seed=7)
    files = {f"good/g{i}.jpg": strips.encode_strip(f) for i, f in enumerate(scenes[:4])}
    bad = {"dht/many.jpg": _corrupt_dht(strips.encode_strip(scenes[4]), "too_many_symbols"),
           "dht/kraft.jpg": _corrupt_dht(strips.encode_strip(scenes[5]), "kraft"),
           "dht/index.jpg": _corrupt_dht(strips.encode_strip(scenes[6]), "index"),
           "nosos/n.jpg": _without_sos(strips.encode_strip(scenes[7]))}
    mixed = {}  # bad ones between good ones
    for i, (good_name, bad_name) in enumerate(zip(files, bad)):
        mixed[good_name], mixed[bad_name] = files[good_name], bad[bad_name]
    return mixed, list(bad)


@pytest.mark.slow
@pytest.mark.parametrize("full_checks", [False, True])
def test_corrupt_headers_are_named_with_or_without_the_full_checks(tmp_path, capfd,
                                                                   full_checks):
    """Without the full checks the header checks leave out the walk to the first scan
    (checks.jpeg_header scan_checks, for speed): the decoder refuses these strips, and
    they are dropped, counted and named as decode_failed (docs/data.md). With them (the
    default) the walk names them corrupt_header before any decode."""
    files, bad = _header_corpus()
    for name in bad:
        assert _refused(files[name]), name  # what the decoder would have said
        assert int(checks.jpeg_header(tf.constant(files[name]))[0]) == checks.CORRUPT_HEADER
        assert int(checks.jpeg_header(tf.constant(files[name]), scan_checks=False)[0]) == \
            checks.OK
    files["quant/u.jpg"] = _undefined_quant_table(strips.encode_strip(_scenes(1, 9)[0]))
    assert _refused(files["quant/u.jpg"])
    list_file = _write(str(tmp_path), files)
    counter = checks.SkipCounter()
    out = _run(str(tmp_path), list_file, counter=counter, full_checks=full_checks)
    names = list(files)
    assert [names[int(label)] for _, label in out] == [f"good/g{i}.jpg" for i in range(4)]
    for video, label in out:
        np.testing.assert_array_equal(video, strips.decode_clip(
            files[names[int(label)]], ClipOptions(FRAMES, SIZE)).numpy())
    counts = counter.counts()
    header = len(bad) if full_checks else 0
    assert counts["corrupt_header"] == header and counts["decode_failed"] == 5 - header
    assert counts["skipped"] == 5 and counts["decoded"] == 4
    log = capfd.readouterr().err
    assert log.count("reason:") == 5
    for name in bad:
        reason = "corrupt_header" if full_checks else "decode_failed"
        assert f'"{tmp_path / name}" reason: "{reason}"' in log, name
    assert f'"{tmp_path / "quant/u.jpg"}" reason: "decode_failed"' in log


@pytest.mark.slow
@pytest.mark.parametrize("name", ["dht/many.jpg", "dht/kraft.jpg", "nosos/n.jpg"])
def test_corrupt_header_in_strict_mode_names_the_file(tmp_path, name):
    files, _ = _header_corpus()
    list_file = _write(str(tmp_path), {"good/g0.jpg": files["good/g0.jpg"], name: files[name]})
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        _run(str(tmp_path), list_file, strict=True)
    bad = checks.BadStripError.from_op_error(info.value)
    assert bad.reason == "corrupt_header" and bad.name == str(tmp_path / name)


@pytest.mark.slow
@pytest.mark.parametrize("window", ["first", "random"])
def test_decoder_refusal_in_strict_mode_names_the_file(tmp_path, window):
    scenes = _scenes(3, seed=8)
    files = {"a.jpg": strips.encode_strip(scenes[0]),
             "u.jpg": _undefined_quant_table(strips.encode_strip(scenes[1])),
             "b.jpg": strips.encode_strip(scenes[2])}
    list_file = _write(str(tmp_path), files)
    options = ReadOptions(shuffle=False, repeat=False, with_labels=True, strict=True, seed=1)
    clip = ClipOptions(4, SIZE, window=window)
    counter = checks.SkipCounter()
    ds = clip_dataset(ListSource(list_file, str(tmp_path)), clip, options, counter)
    iterator = iter(ds)
    first = next(iterator)  # the good strip before it still comes out
    assert int(first[1]) == 0
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        next(iterator)
    bad = checks.BadStripError.from_op_error(info.value)
    assert bad.reason == "decode_failed" and bad.name == str(tmp_path / "u.jpg")
    # Strict mode's nested decode gives the same clips as the default one (same windows).
    del files["u.jpg"]
    list_file = _write(str(tmp_path / "ok"), files)
    strict = list(clip_dataset(ListSource(list_file, str(tmp_path / "ok")), clip, options))
    loose = list(clip_dataset(ListSource(list_file, str(tmp_path / "ok")), clip,
                              ReadOptions(shuffle=False, repeat=False, with_labels=True,
                                          seed=1)))
    assert len(strict) == len(loose) == 2
    for (video_s, label_s), (video_l, label_l) in zip(strict, loose):
        assert int(label_s) == int(label_l)
        np.testing.assert_array_equal(video_s, video_l)


def test_header_check_passes_valid_encodings():
    """No false corrupt_header: baseline, progressive, optimised and unsubsampled JPEGs,
    gray ones, and Pillow's with a big ICC profile (Huffman tables far from the start)."""
    import io

    from PIL import Image
    rng = np.random.default_rng(3)
    samples = []
    for kwargs in ({}, {"progressive": True}, {"optimize_size": True}, {"quality": 5},
                   {"chroma_downsampling": False}):
        for h, w, c in ((64, 16, 3), (40, 8, 1), (512, 64, 3)):
            samples.append(tf.io.encode_jpeg(
                rng.integers(0, 256, (h, w, c)).astype(np.uint8), **kwargs).numpy())
    for mode in ("RGB", "L", "CMYK"):
        for kwargs in ({}, {"optimize": True}, {"progressive": True},
                       {"icc_profile": b"x" * 70000}):
            buf = io.BytesIO()
            Image.new(mode, (16, 64)).save(buf, "JPEG", **kwargs)
            samples.append(buf.getvalue())
    for data in samples:
        assert int(checks.jpeg_header(tf.constant(data))[0]) == checks.OK
        assert not _refused(data)


@pytest.mark.slow
@pytest.mark.parametrize("window", ["first", "random"])
def test_decoder_refusals_outside_strict_mode_are_named(tmp_path, capfd, window):
    """Strips only the decoder can refuse (an undefined quantization table), mixed into
    good ones (two in a row, one last): named and counted as decode_failed (the decode
    map's order and a scan after ignore_errors, forensics.Failures), and the good clips
    come out exact and in order."""
    scenes = _scenes(8, seed=12)
    order = ["g0", "u0", "g1", "g2", "u1", "u2", "g3", "g4", "u3"]
    files, good_names = {}, []
    for i, name in enumerate(order):
        data = strips.encode_strip(scenes[i % len(scenes)])
        if name.startswith("u"):
            data = _undefined_quant_table(data)
            assert _refused(data)
        else:
            good_names.append(f"{name}.jpg")
        files[f"{name}.jpg"] = data
    list_file = _write(str(tmp_path), files)
    clip = ClipOptions(4, SIZE, window=window)
    options = ReadOptions(shuffle=False, repeat=False, with_labels=True, seed=2)
    counter = checks.SkipCounter()
    out = list(clip_dataset(ListSource(list_file, str(tmp_path)), clip, options,
                            counter).as_numpy_iterator())
    names = list(files)
    assert [names[int(label)] for _, label in out] == good_names  # in order
    for video, label in out:
        data = files[names[int(label)]]
        if window == "first":
            np.testing.assert_array_equal(video, strips.decode_clip(data, ClipOptions(4, SIZE)).numpy())
        else:  # a window of the strip's own frames
            frames = strips.decode_clip(data, ClipOptions(FRAMES, SIZE)).numpy()
            assert any(np.array_equal(video, frames[s:s + 4]) for s in range(FRAMES - 3))
    counts = counter.counts()
    assert counts["decode_failed"] == 4 and counts["skipped"] == 4
    assert counts["decoded"] == len(good_names) and counts["passed"] == len(order)
    log = capfd.readouterr().err
    assert log.count("reason:") == 4
    for name in order:
        line = f'"{tmp_path / name}.jpg" reason: "decode_failed"'
        assert (line in log) == name.startswith("u"), name


def _refusal_corpus(tmp_path, n_good=6, refused=(1, 2, 5, 8)):
    scenes = _scenes(4, seed=13)
    files = {}
    for i in range(n_good + len(refused)):
        data = strips.encode_strip(scenes[i % len(scenes)])
        files[f"s{i}.jpg"] = _undefined_quant_table(data) if i in refused else data
    return _write(str(tmp_path), files), [f"s{i}.jpg" for i in refused], files


@pytest.mark.slow
@pytest.mark.parametrize("how", ["shuffled_no_seed", "repeated_batched", "skip_clips"])
def test_decoder_refusals_are_named_in_shuffled_repeated_pipelines(tmp_path, capfd, how):
    """Each refused strip read is named once per epoch, whatever the order: a shuffle
    without a seed (the default, deterministic=False: the decode map keeps its own
    order), repeats with batches, and a resumed stream (skip_clips: the indices start
    there)."""
    list_file, refused, files = _refusal_corpus(tmp_path)
    source = ListSource(list_file, str(tmp_path))
    clip = ClipOptions(4, SIZE, window="random")
    counter = checks.SkipCounter()
    if how == "shuffled_no_seed":
        ds = clip_dataset(source, clip, ReadOptions(repeat=False), counter)
        epochs, clips = 1, len(list(ds))
        assert clips == len(files) - len(refused)
    elif how == "repeated_batched":
        from vgan_tf.data import video_dataset
        ds = video_dataset(source, clip, 3, ReadOptions(seed=4, prefetch=0), counter)
        good = len(files) - len(refused)
        batches = list(ds.take(2 * good // 3))  # exactly two epochs of clips
        assert all(b.shape[0] == 3 for b in batches)
        epochs = 2
    else:
        ds = clip_dataset(source, clip, ReadOptions(shuffle=False, repeat=False,
                                                    skip_clips=3), counter)
        assert len(list(ds)) == len(files) - 3 - 2  # s0 s1 s2 skipped unread; s5 s8 fail
        epochs, refused = 1, refused[2:]
    log = capfd.readouterr().err
    for name in refused:
        found = log.count(f'"{tmp_path / name}" reason: "decode_failed"')
        assert epochs <= found <= epochs + 1, name  # + the read-ahead of a next epoch
    assert log.count("reason:") == counter.counts()["decode_failed"] >= epochs * len(refused)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["plain", "cached_shuffled", "with_a_refusal"])
def test_reads_that_fail_after_the_checks_are_named(tmp_path, capfd, how):
    """A listed file that turns into a directory after the pipeline was made (its read
    raises; the list-time pass saw a file): named and counted as read_failed, also when
    it is the last strip (the end element after the last strip, forensics.end_element),
    with the cache and its shuffle between the read and the decoder, and beside a decoder
    refusal."""
    refused = (2,) if how == "with_a_refusal" else ()
    list_file, _, files = _refusal_corpus(tmp_path, n_good=5, refused=refused)
    options = ReadOptions(shuffle=how == "cached_shuffled", seed=3, repeat=False,
                          with_labels=True, cache=how == "cached_shuffled")
    ds = clip_dataset(ListSource(list_file, str(tmp_path)), ClipOptions(4, SIZE), options,
                      counter := checks.SkipCounter())
    last = f"s{len(files) - 1}.jpg"
    for name in ("s1.jpg", last):
        os.remove(tmp_path / name)
        os.mkdir(tmp_path / name)
    labels = sorted(int(label) for _, label in ds.as_numpy_iterator())
    lost = {1, len(files) - 1} | set(refused)
    assert labels == [i for i in range(len(files)) if i not in lost]
    counts = counter.counts()
    assert counts["read_failed"] == 2 and counts["decode_failed"] == len(refused)
    assert counts["skipped"] == len(lost) and counts["missing"] == 0
    log = capfd.readouterr().err
    for name in ("s1.jpg", last):
        assert log.count(f'"{tmp_path / name}" reason: "read_failed"') == 1, name
    for i in refused:
        assert log.count(f'"{tmp_path}/s{i}.jpg" reason: "decode_failed"') == 1
    assert checks.READ_UNNAMED not in log
