"""Many videos: bad files reported and skipped, the list, the summary, resuming, the
training pipeline reading the output, inputs and ids, the process pool."""
from __future__ import annotations

import json
import os
import wave

import numpy as np
import pytest

from tests.data.prepare import videos
from vgan_tf.data.prepare import (PrepareOptions, corpus, find_videos, prepare_video,
                                  prepare_videos, video_ids)
from vgan_tf.data.prepare import video as video_lib

OPTIONS = PrepareOptions(min_frames=8, max_frames=12)


def _inputs(folder):
    """Two good videos and four bad files in `folder`."""
    os.makedirs(folder, exist_ok=True)
    videos.shaky_video(os.path.join(folder, "shaky.avi"), frames=30, seed=0)
    videos.static_video(os.path.join(folder, "still.avi"), frames=16)
    open(os.path.join(folder, "zero.mp4"), "wb").close()
    with open(os.path.join(folder, "corrupt.mp4"), "wb") as f:
        f.write(np.random.default_rng(0).integers(0, 256, 5000, np.uint8).tobytes())
    good = open(os.path.join(folder, "shaky.avi"), "rb").read()
    with open(os.path.join(folder, "truncated.avi"), "wb") as f:
        f.write(good[:200])  # the header only
    with wave.open(os.path.join(folder, "audio.wav.mkv"), "wb") as w:  # audio only
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000)
        w.writeframes(np.zeros(8000, np.int16).tobytes())
    return folder


def _outputs(out_dir):
    """{relative path: bytes} of the strips and the list, and the summary sans timings."""
    files = {}
    for folder, _, names in os.walk(out_dir):
        for name in names:
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, out_dir)
            if name.endswith(".jpg") or name == corpus.LIST_NAME:
                files[rel] = open(path, "rb").read()
            elif name.endswith(".json"):
                files[rel] = corpus.without_timings(json.load(open(path)))
            else:
                files[rel] = "unexpected file"
    return files


def test_bad_files_are_reported_by_name_and_skipped(tmp_path, capsys):
    folder = _inputs(str(tmp_path / "in"))
    summary = prepare_videos(folder, str(tmp_path / "out"), OPTIONS, workers=1,
                             progress=False)
    failed = {os.path.basename(f["video"]): f["reason"] for f in summary["failed"]}
    assert failed == {"zero.mp4": "empty", "corrupt.mp4": "unreadable",
                      "truncated.avi": "unreadable", "audio.wav.mkv": "unreadable"}
    err = capsys.readouterr().err
    for name in failed:
        assert name in err
    total = summary["total"]
    assert (total["videos"], total["videos_prepared"], total["videos_failed"]) == (6, 2, 4)
    # shaky: 28 frames -> 12, 12, 4 (too short); still: 14 frames -> 12, 2 (too short)
    assert total["clips_written"] == 3 and total["dropped"]["too_short"] == 2
    assert total["frames_read"] == 30 + 16
    listed = open(tmp_path / "out" / corpus.LIST_NAME).read().split()
    assert [line for line in listed if not line.startswith("#")][-3:] == \
        ["shaky/0000.jpg", "shaky/0001.jpg", "still/0000.jpg"]
    assert json.load(open(tmp_path / "out" / "summary.json"))["total"]["clips_written"] == 3
    assert sorted(os.listdir(tmp_path / "out")) == ["shaky", "still", "summary.json",
                                                    "train.txt"]


def test_the_strips_load_through_the_training_pipeline(tmp_path):
    from vgan_tf.data import ClipOptions, ListSource, ReadOptions, read_strip, video_dataset

    path = videos.shaky_video(str(tmp_path / "v.avi"), frames=40)
    out = str(tmp_path / "out")
    summary = prepare_videos([path], out, PrepareOptions(min_frames=10, max_frames=18),
                             workers=1, progress=False)
    assert summary["total"]["clips_written"] == 2
    strip = read_strip(os.path.join(out, "v", "0000.jpg"))
    assert strip.shape == (18, 128, 128, 3)
    ds = video_dataset(ListSource(os.path.join(out, corpus.LIST_NAME), out),
                       ClipOptions(frames=16, size=64), batch_size=2,
                       options=ReadOptions(shuffle=False, repeat=False))
    (batch,) = list(ds)
    assert batch.shape == (2, 16, 64, 64, 3)
    assert float(batch.numpy().min()) >= -1.0 and float(batch.numpy().max()) <= 1.0
    assert float(batch.numpy().std()) > 0.1  # real content, not a constant


def test_a_finished_video_is_not_redone_and_a_partial_one_is(tmp_path):
    path = videos.shaky_video(str(tmp_path / "v.avi"), frames=30)
    out = str(tmp_path / "out")
    first = prepare_video(path, "v", out, OPTIONS)
    marker = os.path.join(out, "v", video_lib.MARKER)
    stamp = os.stat(marker).st_mtime_ns
    strip = os.path.join(out, "v", "0000.jpg")
    os.utime(strip, ns=(1, 1))
    assert prepare_video(path, "v", out, OPTIONS) == first  # read back from the marker
    assert os.stat(strip).st_mtime_ns == 1 and os.stat(marker).st_mtime_ns == stamp
    # a killed run: strips without a marker, and a stray temporary file
    os.remove(marker)
    open(os.path.join(out, "v", "0007.jpg.tmp"), "wb").write(b"partial")
    again = prepare_video(path, "v", out, OPTIONS)
    assert corpus.without_timings(again) == corpus.without_timings(first)
    assert sorted(os.listdir(os.path.join(out, "v"))) == ["0000.jpg", "0001.jpg",
                                                         video_lib.MARKER]
    assert os.stat(strip).st_mtime_ns != 1


def test_unfinished_videos_never_reach_the_list(tmp_path):
    paths = [videos.shaky_video(str(tmp_path / f"{n}.avi"), frames=20, seed=i)
             for i, n in enumerate("ab")]
    out = str(tmp_path / "out")
    prepare_video(paths[0], "a", out, OPTIONS)
    os.makedirs(os.path.join(out, "b"))
    open(os.path.join(out, "b", "0000.jpg"), "wb").write(b"partial")
    reports = [video_lib.read_marker(out, "a")]
    corpus.finish(out, reports, OPTIONS, 0.0)
    text = open(os.path.join(out, corpus.LIST_NAME)).read()
    assert "a/0000.jpg" in text and "b/" not in text


def test_inputs_folders_globs_lists_and_ids(tmp_path):
    (tmp_path / "golf").mkdir()
    (tmp_path / "beach").mkdir()
    for name in ("golf/a.mp4", "golf/b.MOV", "beach/a.mp4", "beach/notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    found = find_videos(str(tmp_path))
    assert [os.path.relpath(p, tmp_path) for p in found] == \
        ["beach/a.mp4", "golf/a.mp4", "golf/b.MOV"]
    assert find_videos(str(tmp_path / "golf" / "*.mp4")) == [str(tmp_path / "golf/a.mp4")]
    (tmp_path / "videos.txt").write_text("# mine\ngolf/b.MOV\n\n" +
                                         str(tmp_path / "beach/a.mp4") + "\n")
    assert find_videos(str(tmp_path / "videos.txt")) == \
        [os.path.join(str(tmp_path), "golf/b.MOV"), str(tmp_path / "beach/a.mp4")]
    ids = video_ids(found)
    assert ids[2] == "b" and ids[0] != ids[1] and ids[0].startswith("a-") and \
        ids == video_ids(found)
    assert video_ids(["/x/my clip [1].webm", "/y/.hidden.mp4"]) == ["my_clip__1_", "hidden"]
    with pytest.raises(FileNotFoundError, match="nothing.mp4"):
        find_videos(str(tmp_path / "nothing.mp4"))
    with pytest.raises(FileNotFoundError, match="no video"):
        find_videos(str(tmp_path / "*.avi"))


@pytest.mark.slow
def test_the_process_pool_writes_what_one_process_writes(tmp_path):
    folder = _inputs(str(tmp_path / "in"))
    videos.shaky_video(os.path.join(folder, "third.avi"), frames=30, seed=5)
    one = prepare_videos(folder, str(tmp_path / "one"), OPTIONS, workers=1, progress=False)
    two = prepare_videos(folder, str(tmp_path / "two"), OPTIONS, workers=2, progress=False)
    assert one["total"]["clips_written"] == 5
    assert _outputs(str(tmp_path / "one")) == _outputs(str(tmp_path / "two"))
    assert corpus.without_timings(one) == corpus.without_timings(two)
