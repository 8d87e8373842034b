"""Many videos: bad files reported and skipped, truncated videos reported, the list, the
summary, resuming and its counts, the progress display, the training pipeline reading
the output, inputs and ids, the process pool."""
from __future__ import annotations

import json
import os
import wave

import numpy as np
import pytest

from tests.data.prepare import videos
from vgan_tf.data.prepare import (PrepareOptions, corpus, find_videos, prepare_video,
                                  prepare_videos, video_ids)
from vgan_tf.data.prepare import reader
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
    """{relative path: bytes} of the strips, the list and the contact sheet, and the
    summary sans timings."""
    files = {}
    for folder, _, names in os.walk(out_dir):
        for name in names:
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, out_dir)
            if name.endswith((".jpg", ".png")) or name == corpus.LIST_NAME:
                files[rel] = open(path, "rb").read()
            elif name.endswith(".json"):
                files[rel] = corpus.without_run_keys(json.load(open(path)))
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
    assert sorted(os.listdir(tmp_path / "out")) == ["contact_sheet.png", "shaky", "still",
                                                    "summary.json", "train.txt"]


@pytest.mark.slow
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


@pytest.mark.slow
def test_a_finished_video_is_not_redone_and_a_partial_one_is(tmp_path):
    path = videos.shaky_video(str(tmp_path / "v.avi"), frames=30)
    out = str(tmp_path / "out")
    first = prepare_video(path, "v", out, OPTIONS)
    marker = os.path.join(out, "v", video_lib.MARKER)
    stamp = os.stat(marker).st_mtime_ns
    strip = os.path.join(out, "v", "0000.jpg")
    os.utime(strip, ns=(1, 1))
    back = prepare_video(path, "v", out, OPTIONS)  # read back from the marker
    assert back["from_earlier_run"] is True and first["from_earlier_run"] is False
    assert dict(back, from_earlier_run=False) == first
    assert os.stat(strip).st_mtime_ns == 1 and os.stat(marker).st_mtime_ns == stamp
    # a killed run: strips without a marker, and a stray temporary file
    os.remove(marker)
    open(os.path.join(out, "v", "0007.jpg.tmp"), "wb").write(b"partial")
    again = prepare_video(path, "v", out, OPTIONS)
    assert corpus.without_run_keys(again) == corpus.without_run_keys(first)
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
    assert corpus.without_run_keys(one) == corpus.without_run_keys(two)


def test_frames_declared_and_decoded_are_reported_and_a_whole_video_is_not_truncated(
        tmp_path):
    path = videos.shaky_video(str(tmp_path / "v.avi"), frames=30)
    report = prepare_video(path, "v", str(tmp_path / "out"), OPTIONS)
    assert (report["frames_read"], report["frames_declared"]) == (30, 30)
    assert report["stream_end"] == reader.END_OF_STREAM and report["truncated"] is False
    # clips_per_video reached before the end: the rest is not decoded, nothing is judged
    limited = prepare_video(path, "v", str(tmp_path / "limited"),
                            PrepareOptions(min_frames=8, max_frames=12, clips_per_video=1))
    assert limited["stream_end"] == reader.NOT_REACHED and limited["truncated"] is False
    assert limited["frames_read"] == 2 + 12 and limited["frames_declared"] == 30


@pytest.mark.slow
@pytest.mark.parametrize("name", ["cut.avi", "cut.mp4"])
def test_a_video_cut_in_half_keeps_its_clips_and_is_reported_truncated(tmp_path, capsys,
                                                                       name):
    folder = tmp_path / "in"
    folder.mkdir()
    frames = videos.shaky_frames(40)
    write = videos.mp4_video if name.endswith(".mp4") else videos.write_video
    videos.truncate(write(str(folder / name), frames), 0.5)
    videos.shaky_video(str(folder / "whole.avi"), frames=30, seed=1)
    summary = prepare_videos(str(folder), str(tmp_path / "out"), OPTIONS, workers=1,
                             progress=False)
    cut = next(r for r in summary["videos"] if r["id"] == "cut")
    assert cut["frames_declared"] == 40 and 15 <= cut["frames_read"] <= 21, cut
    assert cut["stream_end"] == reader.END_OF_STREAM and cut["truncated"] is True
    assert cut["written"] >= 1  # the clips cut from the good part are kept
    whole = next(r for r in summary["videos"] if r["id"] == "whole")
    assert whole["truncated"] is False
    total = summary["total"]
    assert (total["videos_prepared"], total["videos_failed"],
            total["videos_truncated"]) == (2, 0, 1)
    assert summary["truncated"] == [{
        "video": str(folder / name), "reason": "truncated", "frames_read":
        cut["frames_read"], "frames_declared": 40, "clips": cut["written"]}]
    on_disk = json.load(open(tmp_path / "out" / "summary.json"))
    assert on_disk["truncated"] == summary["truncated"]
    marker = json.load(open(tmp_path / "out" / "cut" / video_lib.MARKER))
    assert marker["truncated"] is True and marker["frames_declared"] == 40
    err = capsys.readouterr().err
    assert (f"video {str(folder / name)!r} reason: 'truncated': decoded "
            f"{cut['frames_read']} of the 40 frames") in err
    assert "truncated videos 1" in corpus.outcome_line(summary, "out")


def test_truncation_allows_for_approximate_frame_counts():
    assert not reader.truncated(40, 40) and not reader.truncated(38, 40)  # 2 < 3 frames
    assert reader.truncated(37, 40)  # 3 frames and 7.5 %
    assert not reader.truncated(950, 1000) and reader.truncated(949, 1000)  # 5 %
    assert reader.truncated(68, 444) and reader.truncated(20, 40)
    assert not reader.truncated(5, None)  # unknown count: nothing to judge
    assert not reader.truncated(45, 40)  # more than declared is not short


def test_the_frame_count_unknown_is_none(tmp_path):
    assert reader.frame_count(str(tmp_path / "missing.avi")) is None
    (tmp_path / "junk.avi").write_bytes(b"not a video")
    assert reader.frame_count(str(tmp_path / "junk.avi")) is None
    assert reader.frame_count(videos.static_video(str(tmp_path / "v.avi"), 12)) == 12


@pytest.mark.slow
def test_a_rerun_counts_the_clips_of_the_earlier_run_apart(tmp_path):
    folder = _inputs(str(tmp_path / "in"))
    out = str(tmp_path / "out")
    first = prepare_videos(folder, out, OPTIONS, workers=1, progress=False)
    assert (first["total"]["clips_written"], first["total"]["clips_from_earlier_run"],
            first["total"]["clips_listed"]) == (3, 0, 3)
    assert corpus.outcome_line(first, out).startswith(
        f"wrote 3 clips from 2 videos to {out}")
    again = prepare_videos(folder, out, OPTIONS, workers=1, progress=False)
    total = again["total"]
    assert (total["clips_written"], total["clips_from_earlier_run"], total["clips_listed"],
            total["videos_from_earlier_run"], total["videos_failed"]) == (0, 3, 3, 2, 4)
    assert all(r["from_earlier_run"] for r in again["videos"])
    assert corpus.outcome_line(again, out).startswith(
        f"wrote 0 clips (3 from an earlier run) from 2 videos to {out}")
    assert corpus.without_run_keys(again) == corpus.without_run_keys(first)
    # one video redone: its clips count as written now, the other's as earlier
    os.remove(os.path.join(out, "still", video_lib.MARKER))
    third = prepare_videos(folder, out, OPTIONS, workers=1, progress=False)["total"]
    assert (third["clips_written"], third["clips_from_earlier_run"]) == (1, 2)


def test_a_marker_of_an_older_version_reads_back_as_not_known(tmp_path):
    path = videos.static_video(str(tmp_path / "v.avi"), frames=12)
    out = str(tmp_path / "out")
    report = prepare_video(path, "v", out, OPTIONS)
    older = {k: v for k, v in report.items()
             if k not in ("frames_declared", "stream_end", "truncated", "from_earlier_run")}
    with open(os.path.join(out, "v", video_lib.MARKER), "w") as f:
        json.dump(older, f)
    back = prepare_video(path, "v", out, OPTIONS)
    assert (back["frames_declared"], back["stream_end"], back["truncated"],
            back["from_earlier_run"]) == (None, None, False, True)
    assert corpus.summarize([back], OPTIONS, 0.0)["total"]["videos_truncated"] == 0


@pytest.mark.slow
def test_the_progress_is_plain_lines_off_a_terminal(tmp_path, capsys):
    folder = _inputs(str(tmp_path / "in"))
    prepare_videos(folder, str(tmp_path / "out"), OPTIONS, workers=1, progress=True)
    err = capsys.readouterr().err
    assert "\r" not in err and "\x1b" not in err
    lines = [line for line in err.splitlines() if line.startswith("prepare: ")]
    assert lines and lines[-1].startswith("prepare: 6/6 videos, "), err
    assert lines[-1].endswith(" clips 3 failed 4 truncated 0"), lines
    prepare_videos(folder, str(tmp_path / "out"), OPTIONS, workers=1, progress=True)
    last = [line for line in capsys.readouterr().err.splitlines()
            if line.startswith("prepare: ")][-1]
    assert last.endswith(" clips 0 failed 4 truncated 0"), last  # written by this run
    # one video: a display over its decoded frames (of the declared count), named by id
    path = videos.static_video(str(tmp_path / "one.avi"), frames=12)
    prepare_videos([path], str(tmp_path / "one"), OPTIONS, workers=1, progress=True)
    err = capsys.readouterr().err
    assert any(line.startswith("one: 12/12 frames, ") for line in err.splitlines()), err
