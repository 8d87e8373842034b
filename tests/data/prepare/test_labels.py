"""Labels from class folders (--labels_from=folder), the split by video (--split_by=video,
--test_fraction): the lists, classes.txt, the refusals, determinism, stratification."""
from __future__ import annotations

import os

import pytest

from tests.data.prepare import videos
from vgan_tf import config_flags
from vgan_tf.data import lists
from vgan_tf.data.prepare import PrepareOptions, PrepareRun, corpus, labels, listing, split
from vgan_tf.data.prepare import prepare_videos
from vgan_tf.data.prepare import video as video_lib

SMALL = dict(size=32, min_frames=2, max_frames=4, contact_sheet=False)


def _entries(path) -> list:
    return [line for line in open(path).read().splitlines() if not line.startswith("#")]


def _class_folders(root, layout) -> str:
    """{class: number of videos} -> root/<class>/<class>_<k>.avi, 6 static frames each."""
    for name, count in layout.items():
        os.makedirs(os.path.join(root, name), exist_ok=True)
        for k in range(count):
            videos.static_video(os.path.join(root, name, f"{name}_{k}.avi"), frames=6,
                                seed=k)
    return str(root)


def test_folders_give_labelled_lists_a_class_index_and_a_split_by_video(tmp_path):
    root = _class_folders(tmp_path / "in", {"Swim": 2, "Golf": 2})
    out = str(tmp_path / "out")
    options = PrepareOptions(labels_from="folder", split_by="video", test_fraction=0.5,
                             **SMALL)
    summary = prepare_videos(root, out, options, workers=1, progress=False)
    assert summary["total"]["clips_written"] == 4  # 6 frames, 2 skipped: one clip each
    assert open(os.path.join(out, "classes.txt")).read() == "0 Golf\n1 Swim\n"
    assert summary["classes"] == {"Golf": 0, "Swim": 1}
    train, test = (_entries(os.path.join(out, n)) for n in ("train.txt", "test.txt"))
    assert len(train) == len(test) == 2
    labelled = {}
    for name, plain in (("train_labelled.txt", train), ("test_labelled.txt", test)):
        entries = lists.read_lists(os.path.join(out, name))
        assert list(entries.paths) == plain  # the same strips, in the same order
        labelled.update(zip(entries.paths, entries.class_labels(0, 2)))
    # each strip's label is its video's class folder, in sorted name order
    assert {path: label for path, label in labelled.items()} == {
        path: 0 if path.startswith("Golf_") else 1 for path in train + test}
    # a class of two videos has one on each side
    assert sorted(labelled[p] for p in train) == [0, 1]
    assert sorted(labelled[p] for p in test) == [0, 1]
    assert summary["lists"] == {"train.txt": 2, "test.txt": 2, "train_labelled.txt": 2,
                                "test_labelled.txt": 2, "classes.txt": 2}
    assert "(lists train.txt, test.txt, train_labelled.txt, test_labelled.txt)" in \
        corpus.outcome_line(summary, out)


def test_labels_without_a_split_label_train_txt_beside_it(tmp_path):
    root = _class_folders(tmp_path / "in", {"b c": 1, "a": 1})
    out = str(tmp_path / "out")
    prepare_videos(root, out, PrepareOptions(**SMALL), workers=1, progress=False)
    assert not os.path.exists(os.path.join(out, "classes.txt"))
    # a rerun with labels lists the finished videos again, preparing nothing
    again = prepare_videos(root, out, PrepareOptions(labels_from="folder", **SMALL),
                           workers=1, progress=False)
    assert (again["total"]["clips_written"], again["total"]["clips_from_earlier_run"]) \
        == (0, 2)
    assert _entries(os.path.join(out, "train_labelled.txt")) == \
        ["a_0/0000.jpg 0", "b_c_0/0000.jpg 1"]
    assert _entries(os.path.join(out, "train.txt")) == ["a_0/0000.jpg", "b_c_0/0000.jpg"]
    assert open(os.path.join(out, "classes.txt")).read() == "0 a\n1 b c\n"
    assert not os.path.exists(os.path.join(out, "test.txt"))


def test_a_video_outside_a_class_folder_is_one_line_naming_it(tmp_path):
    root = _class_folders(tmp_path / "in", {"Golf": 1})
    loose = videos.static_video(str(tmp_path / "in" / "loose.avi"), frames=6)
    options = PrepareOptions(labels_from="folder", **SMALL)
    for inputs in (root, str(tmp_path / "in" / "*.avi")):
        with pytest.raises(ValueError) as info:
            prepare_videos(inputs, str(tmp_path / "out"), options, workers=1,
                           progress=False)
        message = str(info.value)
        assert "\n" not in message and message.startswith("--labels_from=folder: video")
        assert repr(loose) in message
    assert not os.path.exists(tmp_path / "out")  # refused before any video
    pytest.importorskip("apache_beam")
    from vgan_tf.data.prepare import beam
    with pytest.raises(ValueError, match=r"^--labels_from=folder: video .*loose\.avi"):
        beam.run_pipeline([root], str(tmp_path / "out"), options, "DirectRunner", [])
    assert not os.path.exists(tmp_path / "out")  # the Beam runner checks first too
    # a glob over class folders, a list file and a single video are fine
    labels.check_class_folders(corpus.find_videos_per_input(
        [str(tmp_path / "in" / "*" / "*.avi"), loose]))
    with pytest.raises(ValueError, match="'v.avi' is in no class folder"):
        labels.class_of("v.avi")
    assert labels.class_of("gs://bucket/videos/Golf/v.avi") == "Golf"
    assert labels.class_of("C:\\data\\Golf\\v.avi") == "Golf"


def _report(path, video_id, clips=1, error=None) -> dict:
    report = video_lib.empty_report(path, video_id)
    report["clips"] = [f"{video_id}/{k:04d}.jpg" for k in range(clips)]
    report.update(written=clips, error=error)
    return report


def _reports(layout) -> list:
    return [_report(f"/data/{name}/{name}{k}.avi", f"{name}{k}")
            for name, count in layout.items() for k in range(count)]


def _sides(out, name) -> dict:
    return {e.split("/")[0]: int(e.split()[1])
            for e in _entries(os.path.join(out, listing.labelled_name(name)))}


def test_the_split_is_stratified_deterministic_and_never_splits_a_video(tmp_path):
    reports = _reports({"a": 1, "b": 2, "c": 7, "d": 10})
    reports[2]["clips"].append("b1/0001.jpg")
    options = PrepareOptions(labels_from="folder", split_by="video", **SMALL)
    out = str(tmp_path / "one")
    os.makedirs(out)
    os.makedirs(tmp_path / "two")
    summary = corpus.finish(out, reports, options, 0.0)
    train, test = _sides(out, "train.txt"), _sides(out, "test.txt")
    assert not set(train) & set(test)
    assert set(train) | set(test) == {r["id"] for r in reports}
    # classes of two videos or more are on both sides; a: one video, train only
    assert set(test.values()) == {1, 2, 3} and set(train.values()) == {0, 1, 2, 3}
    per_class = {c: sum(1 for v in test.values() if v == c) for c in range(4)}
    assert per_class == {0: 0, 1: 1, 2: 1, 3: 2}  # round(0.2 n), at least one
    assert summary["test_videos"] == sorted(test)
    # every clip of a video on its side
    assert _entries(os.path.join(out, "train.txt" if "b1" in train else "test.txt"))\
        .count("b1/0001.jpg") == 1
    # a rerun, in another order, gives the same lists byte for byte
    corpus.finish(str(tmp_path / "two"), reports[::-1], options, 0.0)
    for name in ("train.txt", "test.txt", "train_labelled.txt", "test_labelled.txt",
                 "classes.txt"):
        assert open(os.path.join(out, name), "rb").read() == \
            open(os.path.join(tmp_path / "two", name), "rb").read(), name


def test_without_labels_the_split_takes_the_fraction_of_all_videos(tmp_path):
    reports = _reports({"x": 10}) + [_report("/data/x/empty.avi", "empty", clips=0)]
    options = PrepareOptions(split_by="video", test_fraction=0.3, **SMALL)
    summary = corpus.finish(str(tmp_path), reports, options, 0.0)
    test = _entries(tmp_path / "test.txt")
    assert len(test) == 3 and len(_entries(tmp_path / "train.txt")) == 7
    assert summary["lists"] == {"train.txt": 7, "test.txt": 3}
    assert not os.path.exists(tmp_path / "classes.txt")
    assert not os.path.exists(tmp_path / "train_labelled.txt")
    assert split.number_for_test(1, 0.5) == 0 and split.number_for_test(2, 0.01) == 1
    assert split.number_for_test(3, 0.99) == 2 and split.number_for_test(10, 0.25) == 2


def test_a_failed_video_keeps_its_class_numbered(tmp_path):
    reports = _reports({"a": 1, "c": 1}) + [
        _report("/data/b/b0.avi", "b0", clips=0, error="unreadable")]
    options = PrepareOptions(labels_from="folder", **SMALL)
    corpus.finish(str(tmp_path), reports, options, 0.0)
    assert open(tmp_path / "classes.txt").read() == "0 a\n1 b\n2 c\n"
    assert _entries(tmp_path / "train_labelled.txt") == ["a0/0000.jpg 0", "c0/0000.jpg 2"]


def test_the_new_settings_are_flags_validated_by_name():
    run = config_flags.build(PrepareRun, dict(
        input=("a",), out_dir="o", labels_from="folder", split_by="video",
        test_fraction=0.25, clip_stride=4, hold_out_tail=0.1, contact_sheet=False))
    assert (run.options.labels_from, run.options.split_by, run.options.test_fraction,
            run.options.clip_stride, run.options.hold_out_tail,
            run.options.contact_sheet) == ("folder", "video", 0.25, 4, 0.1, False)
    defaults = PrepareOptions()
    assert (defaults.labels_from, defaults.split_by, defaults.test_fraction,
            defaults.clip_stride, defaults.hold_out_tail, defaults.contact_sheet) == \
        ("none", "none", 0.2, None, 0.0, True)
    for values, message in [
            (dict(labels_from="class"),
             "--labels_from must be one of ('none', 'folder'), got 'class'"),
            (dict(split_by="clip"),
             "--split_by must be one of ('none', 'video'), got 'clip'"),
            (dict(test_fraction=1.0), "--test_fraction must be in (0, 1), got 1.0"),
            (dict(test_fraction=0.0), "--test_fraction must be in (0, 1), got 0.0"),
            (dict(clip_stride=0), "--clip_stride must be a positive integer, got 0"),
            (dict(hold_out_tail=1.0), "--hold_out_tail must be in [0, 1), got 1.0"),
            (dict(hold_out_tail=-0.5), "--hold_out_tail must be in [0, 1), got -0.5")]:
        with pytest.raises(ValueError) as info:
            config_flags.build(PrepareRun, dict(input=("a",), out_dir="o", **values))
        assert str(info.value) == message


@pytest.mark.slow
def test_the_binary_refuses_a_loose_video_and_a_bad_setting_in_one_line(tmp_path):
    from tests.data.prepare.test_tool import _tool

    root = _class_folders(tmp_path / "in", {"Golf": 1})
    loose = videos.static_video(str(tmp_path / "in" / "loose.avi"), frames=6)
    for args, needle in [
            (["--labels_from=folder"], f"--labels_from=folder: video {loose!r} lies "
             "directly in the input folder"),
            (["--hold_out_tail=1"], "--hold_out_tail must be in [0, 1), got 1.0")]:
        process = _tool(f"--input={root}", f"--out_dir={tmp_path / 'out'}", *args)
        out, err = process.communicate(timeout=120)
        lines = [line for line in err.splitlines() if line.startswith("prepare_videos")]
        assert process.returncode == 2, err[-2000:]
        assert len(lines) == 1 and needle in lines[0], err[-2000:]
        assert "Traceback" not in err
    assert not os.path.exists(tmp_path / "out")
