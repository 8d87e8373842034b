"""Flipped bits in the entropy-coded data (libjpeg: "Corrupt JPEG data", on stderr only):
with the full checks (ReadOptions.full_checks: the default; strict mode, the shard writer)
such strips are corrupt_data (strips.scan_damaged: a scan that ran out of data, or that
ended before its data); good strips of many encodings are never flagged."""
import io
import os
import tempfile

import cv2
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from vgan_tf.data import (ClipOptions, ListSource, ReadOptions, ShardSource, checks,
                          clip_dataset, lists, shard_writer, strips, synthetic)

FRAMES, SIZE = 8, 64


def _libjpeg_warns(data: bytes) -> bool:
    """Whether libjpeg (OpenCV's) prints a "Corrupt JPEG data" warning decoding `data`."""
    with tempfile.TemporaryFile() as err:
        saved = os.dup(2)
        os.dup2(err.fileno(), 2)
        try:
            cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        err.seek(0)
        return b"Corrupt JPEG data" in err.read()


def _flip(data: bytes, bits: int, rng) -> bytes:
    """`bits` flipped bits in the scan data (never making or breaking a 0xFF byte)."""
    scan = data.rfind(b"\xff\xda")
    start, end = scan + 2 + data[scan + 2] * 256 + data[scan + 3], len(data) - 2
    out = bytearray(data)
    for _ in range(bits):
        while True:
            i = int(rng.integers(start, end))
            bit = 1 << int(rng.integers(0, 8))
            if 0xFF not in (out[i], out[i - 1], out[i] ^ bit):
                break
        out[i] ^= bit
    return bytes(out)


@pytest.fixture(scope="module")
def flipped():
    """24 strips with 3 flipped bits each: {name: (bytes, libjpeg warns)}, and the
    originals."""
    rng = np.random.default_rng(18)
    good, bad = {}, {}
    for i in range(24):
        scene = ("digits", "simple")[i % 2]
        frames = synthetic.render_clip(7, i, frames=FRAMES, size=SIZE, scene=scene)[0]
        data = strips.encode_strip(frames)
        good[f"good/g{i}.jpg"] = data
        damaged = _flip(data, 3, rng)
        bad[f"flip/f{i}.jpg"] = (damaged, _libjpeg_warns(damaged))
    assert sum(w for _, w in bad.values()) >= 8  # the corpus holds what it is for
    return good, bad


def test_scan_damaged_catches_every_strip_libjpeg_warns_about(flipped):
    good, bad = flipped
    h = FRAMES * SIZE
    for name, data in good.items():
        assert not bool(strips.scan_damaged(data, h, SIZE)), name
    for name, (data, warns) in bad.items():
        if warns:
            assert bool(strips.scan_damaged(data, h, SIZE)), name


def _encodings():
    """Good strips of many encoders and settings, with frame sizes where the last MCU row
    is partial (40 px: 200 rows)."""
    rng = np.random.default_rng(4)
    frames = synthetic.render_clip(2, 3, frames=5, size=40, scene="simple")[0]
    strip = strips.frames_to_strip(frames)
    noisy = rng.integers(0, 256, strip.shape).astype(np.uint8)
    out = {}
    for name, image in (("scene", strip), ("noise", noisy)):
        for kwargs in ({}, {"progressive": True}, {"optimize_size": True}, {"quality": 5},
                       {"chroma_downsampling": False}):
            out[f"tf_{name}_{sorted(kwargs)}"] = tf.io.encode_jpeg(image, **kwargs).numpy()
        out[f"tf_{name}_gray"] = tf.io.encode_jpeg(image[..., :1]).numpy()
        for mode in ("RGB", "L", "CMYK"):
            for kwargs in ({}, {"progressive": True}, {"subsampling": 0}, {"quality": 10}):
                buf = io.BytesIO()
                Image.fromarray(image).convert(mode).save(buf, "JPEG", **kwargs)
                out[f"pil_{name}_{mode}_{sorted(kwargs)}"] = buf.getvalue()
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_RST_INTERVAL, 4])
        out[f"cv2_{name}_restart"] = encoded.tobytes()
    return out, strip.shape


def test_no_false_positive_on_other_encodings():
    samples, (h, w, _) = _encodings()
    for name, data in samples.items():
        assert not _libjpeg_warns(data), name
        assert not bool(strips.scan_damaged(data, h, w)), name


@pytest.mark.slow
def test_the_default_full_checks_skip_and_name_them_and_without_them_they_pass(
        flipped, tmp_path, capfd):
    good, bad = flipped
    files = {}
    for (g, data), (b, (damaged, _)) in zip(good.items(), bad.items()):
        files[g], files[b] = data, damaged
    for rel, data in files.items():
        os.makedirs(tmp_path / os.path.dirname(rel), exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    names = list(files)
    list_file = lists.write_list(str(tmp_path / "l.txt"), names, range(len(names)))
    source = ListSource(list_file, str(tmp_path))
    clip = ClipOptions(FRAMES, SIZE // 2)

    def run(**kw):
        counter = checks.SkipCounter()
        out = list(clip_dataset(source, clip, ReadOptions(shuffle=False, repeat=False,
                                                          with_labels=True, **kw),
                                counter).as_numpy_iterator())
        return {names[int(label)]: video for video, label in out}, counter.counts()

    capfd.readouterr()
    full, counts = run()  # the default: the full checks
    log = capfd.readouterr().err
    warned = {name for name, (_, warns) in bad.items() if warns}
    skipped = set(names) - set(full)
    assert warned <= skipped <= set(bad)  # every warned one; never a good strip
    assert counts["corrupt_data"] == len(skipped) == counts["skipped"]
    for name in skipped:
        assert f'"{tmp_path / name}" reason: "corrupt_data"' in log, name
    for name in good:  # exact
        np.testing.assert_array_equal(full[name], strips.decode_clip(
            files[name], ClipOptions(FRAMES, SIZE // 2)).numpy())
    # Without the full checks nothing looks (docs/data.md: the known limit they close).
    light, counts = run(full_checks=False)
    assert warned & set(light) and counts["corrupt_data"] < len(warned)
    # Strict mode runs the full checks: the first damaged strip stops it, named.
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        run(strict=True)
    error = checks.BadStripError.from_op_error(info.value)
    assert error.reason == "corrupt_data"
    first = next(n for n in names if n in skipped)
    assert error.name == str(tmp_path / first)


@pytest.mark.slow
def test_the_shard_writer_leaves_them_out(flipped, tmp_path, capfd):
    good, bad = flipped
    files = dict(list(good.items())[:4])
    warned = [name for name, (_, warns) in bad.items() if warns][:3]
    files.update({name: bad[name][0] for name in warned})
    for rel, data in files.items():
        os.makedirs(tmp_path / os.path.dirname(rel), exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    names = list(files)
    source = ListSource(lists.write_list(str(tmp_path / "l.txt"), names, range(len(names))),
                        str(tmp_path))
    report = shard_writer.write_shards(source, str(tmp_path / "shards"), 2, progress=False)
    assert report.written == 4 and report.skipped["corrupt_data"] == len(warned)
    log = capfd.readouterr().err
    for name in warned:
        assert f'"{name}" reason: "corrupt_data"' in log
    assert sorted(os.listdir(tmp_path / "shards")) == [os.path.basename(s)
                                                       for s in report.shards]  # no .partial
    out = list(clip_dataset(ShardSource(report.shards), ClipOptions(FRAMES, SIZE // 2),
                            ReadOptions(shuffle=False, repeat=False, with_labels=True)))
    assert sorted(int(label) for _, label in out) == [0, 1, 2, 3]
