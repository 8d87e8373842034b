"""UCF101's split files turned into labelled lists of prepared strips."""
import os
import subprocess
import sys

import pytest

from tests.helpers import REPO
from vgan_tf.data import lists, ucf101


@pytest.fixture
def release(tmp_path):
    (tmp_path / "classInd.txt").write_text("1 ApplyEyeMakeup\n2 Basketball\n3 YoYo\n")
    (tmp_path / "trainlist01.txt").write_text(
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\nYoYo/v_YoYo_g09_c02.avi 3\n")
    (tmp_path / "testlist01.txt").write_text(
        "Basketball/v_Basketball_g01_c01.avi\nYoYo/v_YoYo_g01_c04.avi\n"
        "YoYo/v_YoYo_g02_c01.avi\n")  # no strip was prepared for this one
    strips = tmp_path / "strips"
    prepared = [f"{video}/{clip:04d}.jpg" for video, n in (
        ("v_ApplyEyeMakeup_g08_c01", 2), ("v_YoYo_g09_c02", 1), ("v_Basketball_g01_c01", 1),
        ("v_YoYo_g01_c04", 2), ("v_Other_g01_c01", 1)) for clip in range(n)]
    lists.write_list(str(strips / "train.txt"), prepared)
    return tmp_path, strips


def test_split_lists_label_every_strip_of_the_splits_videos(release):
    root, strips = release
    written = ucf101.split_lists(str(strips / "train.txt"), str(root / "classInd.txt"),
                                 [str(root / "trainlist01.txt"), str(root / "testlist01.txt")],
                                 str(strips))
    assert written == {str(strips / "trainlist01.txt"): (3, 0),
                       str(strips / "testlist01.txt"): (3, 1)}
    train = lists.read_lists(str(strips / "trainlist01.txt"))
    assert train.paths == ("v_ApplyEyeMakeup_g08_c01/0000.jpg",
                           "v_ApplyEyeMakeup_g08_c01/0001.jpg", "v_YoYo_g09_c02/0000.jpg")
    assert train.class_labels(label_base=1, num_classes=3) == (0, 0, 2)
    test = lists.read_lists(str(strips / "testlist01.txt"))
    assert test.class_labels(label_base=1) == (1, 2, 2)  # from the class folders
    assert test.resolve()[0] == str(strips / "v_Basketball_g01_c01" / "0000.jpg")


def test_bad_release_files_are_named(release, tmp_path):
    root, strips = release
    (root / "bad_index.txt").write_text("1 ApplyEyeMakeup\nBasketball 2\n")
    with pytest.raises(ValueError, match="bad_index.txt:2: expected '<label> <ClassName>'"):
        ucf101.read_class_index(str(root / "bad_index.txt"))
    (root / "testlist09.txt").write_text("Skiing/v_Skiing_g01_c01.avi\n")
    with pytest.raises(ValueError, match="testlist09.txt:1: class folder 'Skiing'"):
        ucf101.split_lists(str(strips / "train.txt"), str(root / "classInd.txt"),
                           str(root / "testlist09.txt"), str(tmp_path / "out"))


@pytest.mark.slow
def test_the_binary(release):
    root, strips = release
    result = subprocess.run(
        [sys.executable, "-m", "tools.ucf101_lists", f"--prepared={strips}/train.txt",
         f"--class_index={root}/classInd.txt", f"--split={root}/testlist01.txt",
         f"--out_dir={strips}"], cwd=REPO, capture_output=True, text=True, timeout=120,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "testlist01.txt: 3 strips (1 videos of the split have no strip)" in result.stdout
