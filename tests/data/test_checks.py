"""The checks (checks.py) in the pipeline: bad strips are skipped, counted and named; strict
mode raises naming the file; never zeros; the header parser agrees with the decoder."""
import io
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from vgan_tf.data import (ClipOptions, ListSource, ReadOptions, checks, clip_dataset, lists,
                          strips, video_dataset)

FRAMES, SIZE = 4, 16


def _good_frames(label):
    rng = np.random.default_rng(label)
    small = rng.integers(0, 256, size=(FRAMES, 2, 2, 3)).astype(np.float32)
    return np.clip(tf.image.resize(small, [SIZE, SIZE]).numpy(), 0, 255).astype(np.uint8)


def _jpeg(array, **kwargs):
    return tf.io.encode_jpeg(array, **kwargs).numpy()


def _corrupt_header(data, rng):
    body = bytearray(data)
    body[2:40] = rng.integers(0, 256, size=38, dtype=np.uint8).tobytes()
    return bytes(body)


def _bad_segment_length(data):
    body = bytearray(data)
    body[4:6] = b"\x00\x01"  # APP0 length 1 (< 2)
    return bytes(body)


def _bogus_huffman(data):
    """Keeps every marker but fills the Huffman tables' code counts with garbage (more than
    256 symbols): the decoder refuses; the header check names it corrupt_header in strict
    mode (outside it, the walk to the scan is left out: decode_failed)."""
    body = bytearray(data)
    pos = 2
    while pos < len(body) - 4:
        marker, length = body[pos + 1], body[pos + 2] * 256 + body[pos + 3]
        if marker == 0xC4:
            body[pos + 5:pos + 21] = b"\xff" * 16
        if marker == 0xDA:
            break
        pos += 2 + length
    return bytes(body)


def _undefined_quant_table(data):
    """The frame header's first component points at quantization table 3, never defined:
    the decoder refuses ("Quantization table 0x03 was not defined"), the header checks do
    not look at it (decode_failed)."""
    body = bytearray(data)
    body[_sof(data) + 12] = 3
    return bytes(body)


def _sof(data):
    return min(data.find(marker) for marker in (b"\xff\xc0", b"\xff\xc2")
               if data.find(marker) >= 0)


def _patched_frame(data, precision=None, height=None, width=None):
    """`data` with its frame header's precision byte or dimensions replaced."""
    body, sof = bytearray(data), _sof(data)
    if precision is not None:
        body[sof + 4] = precision
    if height is not None:
        body[sof + 5:sof + 7] = height.to_bytes(2, "big")
    if width is not None:
        body[sof + 7:sof + 9] = width.to_bytes(2, "big")
    return bytes(body)


def _cut_scan(data, fraction):
    """The scan cut at `fraction` of its bytes and closed again with an end-of-image marker
    (libjpeg fills the rest with flat grey and only warns)."""
    scan = data.rfind(b"\xff\xda")
    start = scan + 2 + data[scan + 2] * 256 + data[scan + 3]
    return data[:start + int((len(data) - 2 - start) * fraction)] + b"\xff\xd9"


def _cmyk_jpeg():
    buf = io.BytesIO()
    Image.new("CMYK", (SIZE, SIZE * FRAMES), (10, 200, 30, 0)).save(buf, "JPEG")
    return buf.getvalue()


def _build_corpus(root):
    """Writes 12 good strips and 43 bad inputs; returns (list file, good labels, expected)."""
    rng = np.random.default_rng(0)
    good = strips.encode_strip(_good_frames(0))
    entries, labels, expected = [], [], {}
    bad = {}  # relative path -> reason name

    def add(rel, data, reason, label):
        if data is not None:
            path = os.path.join(root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
        entries.append(rel)
        labels.append(label)
        if reason:
            bad[rel] = reason

    label = 100
    for i in range(5):
        add(f"missing/m{i}.jpg", None, "missing", label + i)
    label += 5
    for i in range(4):
        add(f"empty/e{i}.jpg", b"", "empty", label + i)
    label += 4
    png = io.BytesIO()
    Image.new("RGB", (SIZE, SIZE * FRAMES)).save(png, "PNG")
    gif = io.BytesIO()
    Image.new("RGB", (SIZE, SIZE)).save(gif, "GIF")
    for i, data in enumerate([png.getvalue(), gif.getvalue(), b"not a jpeg at all\n",
                              rng.integers(0, 256, 3000, dtype=np.uint8).tobytes(),
                              b"\xff\xd8"]):
        add(f"notjpeg/n{i}.jpg", data, "not_jpeg", label + i)
    label += 5
    for i, fraction in enumerate([0.2, 0.5, 0.8, 0.95, 0.99]):
        add(f"truncated/t{i}.jpg", good[:int(len(good) * fraction)], "truncated", label + i)
    label += 5
    for i in range(4):
        add(f"corrupt/c{i}.jpg", _corrupt_header(good, rng), "corrupt", label + i)
    add("corrupt/len.jpg", _bad_segment_length(good), "corrupt", label + 4)
    label += 5
    for i, (h, w) in enumerate([(SIZE, SIZE + 8), (SIZE * 2 + 3, SIZE), (8, SIZE),
                                (SIZE * 3, SIZE * 2)]):
        add(f"nonsquare/q{i}.jpg", _jpeg(np.full((h, w, 3), 128, np.uint8)), "not_square",
            label + i)
    label += 4
    for i in range(4):  # frames of 32px while the caller pins strip_size=16
        add(f"shape/s{i}.jpg", strips.encode_strip(np.full((2, 32, 32, 3), 90, np.uint8)),
            "wrong_shape", label + i)
    label += 4
    for i in range(2):
        add(f"huffman/h{i}.jpg", _bogus_huffman(strips.encode_strip(_good_frames(50 + i))),
            "corrupt_header", label + i)  # decode_failed without the full checks
    label += 2
    for i in range(2):
        add(f"quant/u{i}.jpg",
            _undefined_quant_table(strips.encode_strip(_good_frames(55 + i))),
            "decode_failed", label + i)
    label += 2
    for i, fraction in enumerate([0.1, 0.4, 0.6]):  # before the last 16x16 block row
        add(f"cut/k{i}.jpg", _cut_scan(strips.encode_strip(_good_frames(60 + i)), fraction),
            "corrupt_data", label + i)
    label += 3
    os.makedirs(os.path.join(root, "special", "dir.jpg"))
    os.mkfifo(os.path.join(root, "special", "pipe.jpg"))
    add("special/dir.jpg", None, "not_a_file", label)
    add("special/pipe.jpg", None, "not_a_file", label + 1)
    label += 2
    add("unsupported/bits12.jpg", _patched_frame(good, precision=12), "unsupported", label)
    add("unsupported/huge.jpg", _patched_frame(good, height=65520, width=65520),
        "unsupported", label + 1)

    for i in range(12):  # good clips, including gray and short ones, interleaved
        frames = _good_frames(i)
        if i == 3:
            frames = frames[:2]  # short: repeats its last frame
        if i == 7:
            gray = _jpeg(frames.reshape(-1, SIZE, 3)[..., :1])
            path = os.path.join(root, "good", f"g{i}.jpg")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(gray)
        else:
            strips.write_strip(os.path.join(root, "good", f"g{i}.jpg"), frames)
        expected[i] = os.path.join(root, "good", f"g{i}.jpg")
        position = (i * 7) % (len(entries) + 1)
        entries.insert(position, f"good/g{i}.jpg")
        labels.insert(position, i)
    list_file = lists.write_list(os.path.join(root, "list.txt"), entries, labels)
    return list_file, bad, expected


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("corpus"))
    return (root,) + _build_corpus(root)


def _expected_clip(path):
    data = open(path, "rb").read()
    image = tf.io.decode_jpeg(data, channels=3).numpy()
    frames = image.reshape(-1, SIZE, SIZE, 3)
    idx = np.minimum(np.arange(FRAMES), len(frames) - 1)
    return frames[idx].astype(np.float32) / 127.5 - 1


@pytest.mark.slow
@pytest.mark.parametrize("full_checks", [True, False])
def test_exactly_the_good_clips_come_out_and_counters_match(corpus, capfd, full_checks):
    """With the full checks (the default) and without them: the corpus's bad-Huffman
    strips are corrupt_header with them (the walk to the first scan, checks.jpeg_header)
    and the decoder's to refuse without them (decode_failed)."""
    root, list_file, bad, expected = corpus
    if not full_checks:
        bad = {rel: "decode_failed" if reason == "corrupt_header" else reason
               for rel, reason in bad.items()}
    counter = checks.SkipCounter()
    ds = clip_dataset(ListSource(list_file, root), ClipOptions(FRAMES, SIZE, strip_size=SIZE),
                      ReadOptions(shuffle=False, repeat=False, with_labels=True,
                                  full_checks=full_checks), counter)
    out = list(ds.as_numpy_iterator())
    assert sorted(int(label) for _, label in out) == list(range(12))
    for video, label in out:
        np.testing.assert_allclose(video, _expected_clip(expected[int(label)]), atol=1e-5)
        assert np.abs(video).sum() > 0  # never zeros
    counts = counter.counts()
    for reason in checks.REASONS[1:]:  # every failure reason, each met at least once
        if reason == "read_failed" or (reason == "corrupt_header" and not full_checks):
            # a read failing after the checks (test_bad_strips_more); the walk to the
            # first scan is the full checks'
            assert counts[reason] == 0
            continue
        expected_count = sum(1 for r in bad.values() if r == reason)
        assert counts[reason] == expected_count > 0, reason
    assert counts["skipped"] == len(bad)
    assert counts["decoded"] == 12
    log = capfd.readouterr().err
    for rel, reason in bad.items():
        assert f"{os.path.join(root, rel)}\" reason: \"{reason}\"" in log, rel


@pytest.mark.slow
def test_bad_files_are_skipped_in_batched_shuffled_repeated_pipelines(corpus):
    root, list_file, bad, _ = corpus
    counter = checks.SkipCounter()
    ds = video_dataset(ListSource(list_file, root), ClipOptions(FRAMES, SIZE, strip_size=SIZE),
                       5, ReadOptions(seed=3, with_labels=True), counter)
    labels = np.concatenate([label for _, label in ds.take(12).as_numpy_iterator()])
    # 60 clips are five whole epochs of the 12 good ones (repeated after the filter).
    assert np.bincount(labels, minlength=12).tolist() == [5] * 12
    assert counter.counts()["skipped"] >= 4 * len(bad)  # four whole epochs were read


@pytest.mark.slow
def test_all_bad_list_ends_instead_of_spinning(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"")
    lists.write_list(str(tmp_path / "l.txt"), ["a.jpg", "b.jpg"])
    ds = video_dataset(ListSource(str(tmp_path / "l.txt"), str(tmp_path)),
                       ClipOptions(FRAMES, SIZE), 2)
    assert list(ds) == []


@pytest.mark.parametrize("rel, reason", [("missing/m0.jpg", None), ("empty/e0.jpg", "empty"),
                                         ("corrupt/c0.jpg", "corrupt"),
                                         ("nonsquare/q0.jpg", "not_square")])
@pytest.mark.slow
def test_strict_mode_raises_naming_the_file(corpus, tmp_path, rel, reason):
    root, _, _, expected = corpus
    lists.write_list(str(tmp_path / "l.txt"), ["good/g0.jpg", rel])
    ds = clip_dataset(ListSource(str(tmp_path / "l.txt"), root), ClipOptions(FRAMES, SIZE),
                      ReadOptions(shuffle=False, repeat=False, strict=True))
    with pytest.raises((tf.errors.InvalidArgumentError, tf.errors.NotFoundError)) as info:
        list(ds)
    assert rel in str(info.value)
    if reason:
        assert reason in str(info.value)
        bad = checks.BadStripError.from_op_error(info.value)  # the typed error behind it
        assert bad.reason == reason and bad.name.endswith(rel)
        assert str(bad) == f'bad strip "{bad.name}" reason: {reason}'


@pytest.mark.slow
def test_strict_mode_counts_good_clips_as_decoded(corpus, tmp_path):
    root, _, _, expected = corpus
    lists.write_list(str(tmp_path / "l.txt"), ["good/g0.jpg", "good/g1.jpg"])
    counter = checks.SkipCounter()
    clips = list(clip_dataset(ListSource(str(tmp_path / "l.txt"), root),
                              ClipOptions(FRAMES, SIZE),
                              ReadOptions(shuffle=False, repeat=False, strict=True), counter))
    counts = counter.counts()
    assert len(clips) == 2 and counts["decoded"] == counts["passed"] == 2
    assert counts["decode_failed"] == 0 and counts["skipped"] == 0


@pytest.mark.slow
def test_strict_decoder_refusal_is_a_bad_strip_error(corpus, tmp_path):
    root = corpus[0]
    lists.write_list(str(tmp_path / "l.txt"), ["good/g0.jpg", "quant/u0.jpg"])
    ds = clip_dataset(ListSource(str(tmp_path / "l.txt"), root), ClipOptions(FRAMES, SIZE),
                      ReadOptions(shuffle=False, repeat=False, strict=True))
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        list(ds)
    bad = checks.BadStripError.from_op_error(info.value)  # named: strict's nested decode
    assert bad.reason == "decode_failed" and bad.name == os.path.join(root, "quant/u0.jpg")


def test_only_strict_failures_are_bad_strip_errors():
    assert checks.BadStripError.from_op_error(tf.errors.InvalidArgumentError(
        None, None, "Incompatible shapes: [2] vs. [3]")) is None
    assert checks.BadStripError.from_op_error(ValueError("bad strip")) is None


def test_header_parser_agrees_with_the_decoder():
    for h, w in [(16, 16), (64, 16), (40, 8), (8, 24)]:
        for kwargs in ({}, {"progressive": True}, {"quality": 10},
                       {"chroma_downsampling": False}):
            data = _jpeg(np.full((h, w, 3), 77, np.uint8), **kwargs)
            reason, hh, ww, cc = (int(v) for v in checks.jpeg_header(tf.constant(data)))
            assert (reason, hh, ww, cc) == (checks.OK, h, w, 3)
    data = _jpeg(np.zeros((32, 16, 1), np.uint8))
    assert [int(v) for v in checks.jpeg_header(tf.constant(data))] == [checks.OK, 32, 16, 1]
    # A frame header beyond QUICK_HEADER_BYTES (a big APP segment) is still found.
    good = _jpeg(np.zeros((32, 16, 3), np.uint8))
    app = b"\xff\xe5" + (4000).to_bytes(2, "big") + b"\x00" * 3998
    padded = good[:2] + app + good[2:]
    assert tf.io.decode_jpeg(padded).shape == (32, 16, 3)
    assert [int(v) for v in checks.jpeg_header(tf.constant(padded))][:3] == [
        checks.OK, 32, 16]


def test_common_encoders_put_the_frame_header_in_the_quick_span():
    """The fast path of the header walk (no second, 64 KiB walk) covers strips written by
    this package, TensorFlow and Pillow: their frame header (SOF) lies within
    QUICK_HEADER_BYTES."""
    import io

    from PIL import Image

    frames = np.random.default_rng(0).integers(0, 256, (4, 64, 64, 3), dtype=np.uint8)
    strip = frames.reshape(-1, 64, 3)
    pil = io.BytesIO()
    Image.fromarray(strip).save(pil, format="JPEG", quality=95)
    for name, data in (("vgan_tf/OpenCV", strips.encode_strip(frames)),
                       ("tf.io.encode_jpeg", tf.io.encode_jpeg(strip, quality=95).numpy()),
                       ("Pillow", pil.getvalue())):
        sof = min(data.find(marker) for marker in (b"\xff\xc0", b"\xff\xc2")
                  if data.find(marker) >= 0)
        assert 0 < sof and sof + 10 <= checks.QUICK_HEADER_BYTES, (name, sof)


def _with_metadata(data, total_bytes):
    """`data` with APP5 segments of `total_bytes` in all right after the start of image."""
    segments, left = b"", total_bytes
    while left > 0:
        size = min(left, 65533)
        segments += b"\xff\xe5" + (size + 2).to_bytes(2, "big") + b"\x07" * size
        left -= size
    return data[:2] + segments + data[2:]


def _pillow_rgb(data):
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), np.int16)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["cmyk", "metadata_200k", "trailer_5k", "thumbnail_trailer"])
def test_valid_unusual_jpegs_load_like_pillow(tmp_path, kind):
    """Files real cameras and editors write: CMYK (Adobe), big metadata before the frame
    header, bytes after the end of image. They pass the checks and decode to the image
    without the extra bytes (CMYK: to the colours Pillow converts it to)."""
    rng = np.random.default_rng(3)
    frames = _good_frames(3)
    good = strips.encode_strip(frames)
    data = {"cmyk": lambda: _cmyk_jpeg(),
            "metadata_200k": lambda: _with_metadata(good, 200_000),
            "trailer_5k": lambda: good + rng.integers(0, 256, 5000, np.uint8).tobytes(),
            # a trailer holding another JPEG's end marker: still complete
            "thumbnail_trailer": lambda: good + b"\x00" * 100 + good[:300] + b"\xff\xd9"}[kind]()
    reason, h, w, c = (int(v) for v in checks.jpeg_header(tf.constant(data)))
    assert (reason, h, w) == (checks.OK, SIZE * FRAMES, SIZE), checks.REASONS[reason]
    (tmp_path / "x.jpg").write_bytes(data)
    lists.write_list(str(tmp_path / "l.txt"), ["x.jpg"])
    counter = checks.SkipCounter()
    clips = list(clip_dataset(ListSource(str(tmp_path / "l.txt"), str(tmp_path)),
                              ClipOptions(FRAMES, SIZE), ReadOptions(shuffle=False,
                                                                     repeat=False),
                              counter).as_numpy_iterator())
    assert len(clips) == 1 and counter.counts()["skipped"] == 0
    pixels = np.round((clips[0] + 1) * 127.5).reshape(-1, SIZE, 3)
    if kind == "cmyk":  # flat colour: the same pixels as Pillow's conversion
        assert np.abs(pixels - _pillow_rgb(data)).max() <= 1
    else:  # exactly the image without the extra bytes
        plain = tf.io.decode_jpeg(good, channels=3).numpy()
        np.testing.assert_array_equal(pixels, plain)


@pytest.mark.slow
def test_truncation_is_still_caught_behind_a_thumbnail():
    """An end marker before the last start of scan (an EXIF thumbnail's) does not make a
    cut file complete; a cut file with a long tail of garbage is truncated too."""
    good = strips.encode_strip(_good_frames(4))
    thumb = good[:2] + b"\xff\xe1" + (len(good) + 2).to_bytes(2, "big") + good + good[2:]
    cut = thumb[:int(len(thumb) * 0.9)]  # inside the main scan (after the thumbnail)
    assert int(checks.jpeg_header(tf.constant(thumb))[0]) == checks.OK
    assert int(checks.jpeg_header(tf.constant(cut))[0]) == checks.TRUNCATED
    assert int(checks.jpeg_header(tf.constant(good[:-300] + b"\x00" * 200))[0]) == \
        checks.TRUNCATED
    too_deep = _with_metadata(good, checks.LARGE_HEADER_BYTES)
    assert int(checks.jpeg_header(tf.constant(too_deep))[0]) == checks.CORRUPT

