"""The contact sheet (--contact_sheet): its size, its pixels (the strips' own frames), the
sample it shows, its captions, and nothing when it is off."""
from __future__ import annotations

import os

import cv2
import numpy as np

from tests.data.prepare import videos
from vgan_tf.data.prepare import PrepareOptions, corpus, prepare_videos, sheet
from vgan_tf.data.prepare import video as video_lib

SMALL = dict(size=32, min_frames=2, max_frames=5)


def _strip(path) -> np.ndarray:
    image = cv2.imread(str(path))
    return image.reshape(-1, 32, 32, 3)


def test_a_row_per_clip_of_its_first_middle_and_last_frame(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    videos.shaky_video(str(folder / "a.avi"), frames=12, seed=0)  # 10 frames: 5 + 5
    videos.shaky_video(str(folder / "b.avi"), frames=9, seed=1)  # 7 frames: 5 + 2 (kept)
    out = tmp_path / "out"
    summary = prepare_videos(str(folder), str(out), PrepareOptions(**SMALL), workers=1,
                             progress=False)
    listed = ["a/0000.jpg", "a/0001.jpg", "b/0000.jpg", "b/0001.jpg"]
    assert summary["contact_sheet"] == {"file": "contact_sheet.png", "clips": listed,
                                        "unreadable": []}
    image = cv2.imread(str(out / sheet.SHEET_NAME))
    assert image.shape == (4 * 32, 3 * 32 + sheet.CAPTION_WIDTH, 3)
    for row, name in enumerate(listed):
        frames = _strip(out / name)
        expected = np.concatenate([frames[0], frames[len(frames) // 2], frames[-1]], 1)
        np.testing.assert_array_equal(image[32 * row:32 * (row + 1), :96], expected)
    assert len(_strip(out / "b/0001.jpg")) == 2  # a 2-frame clip: middle = last
    caption = image[:32, 96:]
    assert caption.max() > 100 and (caption == 0).mean() > 0.5  # white text on black
    names = sorted(os.listdir(out))
    assert names == ["a", "b", "contact_sheet.png", "summary.json", "train.txt"]


def test_the_sample_spreads_over_the_list_and_labels_are_captions(tmp_path):
    entries = [f"v/{k:04d}.jpg" for k in range(40)]
    picked = sheet.sample(entries)
    assert len(picked) == sheet.MAX_CLIPS and picked[0] == entries[0] and \
        picked[-1] == entries[-1] and picked == sorted(set(picked))
    assert sheet.sample(entries[:5]) == entries[:5]
    os.makedirs(tmp_path / "v")
    frames = np.stack([np.full((32, 32, 3), 40 * k, np.uint8) for k in range(3)])
    ok, data = cv2.imencode(".jpg", frames.reshape(-1, 32, 3))
    open(tmp_path / "v" / "0000.jpg", "wb").write(data.tobytes())
    open(tmp_path / "v" / "0001.jpg", "wb").write(b"not a jpeg")
    plain = sheet.write_contact_sheet(str(tmp_path), ["v/0000.jpg", "v/0001.jpg"])
    assert plain == {"file": "contact_sheet.png", "clips": ["v/0000.jpg"],
                     "unreadable": ["v/0001.jpg"]}
    one = cv2.imread(str(tmp_path / "contact_sheet.png"))
    sheet.write_contact_sheet(str(tmp_path), ["v/0000.jpg"], {"v/0000.jpg": "Golf"})
    labelled = cv2.imread(str(tmp_path / "contact_sheet.png"))
    assert one.shape == labelled.shape == (32, 96 + sheet.CAPTION_WIDTH, 3)
    np.testing.assert_array_equal(one[:, :96], labelled[:, :96])
    assert (labelled[:, 96:] != one[:, 96:]).any()  # the class is written under the path
    assert sheet.write_contact_sheet(str(tmp_path / "v"), []) == \
        {"file": None, "clips": [], "unreadable": []}
    assert not os.path.exists(tmp_path / "v" / "contact_sheet.png")
    assert not any(name.endswith(".tmp") for name in os.listdir(tmp_path))


def test_no_sheet_when_it_is_off(tmp_path):
    path = videos.static_video(str(tmp_path / "v.avi"), frames=6)
    out = str(tmp_path / "out")
    options = PrepareOptions(contact_sheet=False, **SMALL)
    report = video_lib.prepare_video(path, "v", out, options)
    summary = corpus.finish(out, [report], options, 0.0)
    assert "contact_sheet" not in summary
    assert not os.path.exists(os.path.join(out, sheet.SHEET_NAME))
