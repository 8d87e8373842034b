"""UCF101's official splits as labelled list files of prepared strips.

UCF101 ships its videos (`<Class>/v_<Class>_gNN_cMM.avi`), `classInd.txt` ("1
ApplyEyeMakeup" ... "101 YoYo") and three splits: `trainlist0K.txt` ("<Class>/<video>.avi
<label>") and `testlist0K.txt` ("<Class>/<video>.avi", no label). After `vgan-prepare`
has cut the videos into strips (`<out>/<video id>/NNNN.jpg`, the video id being the file's
stem) and written `<out>/train.txt`, `split_lists` writes one labelled list per split file:
every strip of every video the split names, with the split's 1-based label (the label of
a test video comes from its class folder through classInd.txt). Train with
`--label_base=1 --num_classes=101` (the `ucf101` preset of vgan-finetune sets both).
"""
from __future__ import annotations

import dataclasses
import os
import posixpath

import tensorflow as tf

from vgan_tf import config_flags
from vgan_tf.config_flags import setting
from vgan_tf.data import lists


@dataclasses.dataclass(frozen=True)
class SplitListsConfig:
    """What tools/ucf101_lists.py writes: each field is its flag of the same name
    (config_flags); split_lists(prepared, class_index, split, out_dir) does the work.
    Checked when made: a missing value raises ValueError naming the flag."""

    prepared: str | None = setting(None, "The list vgan-prepare wrote (<out_dir>/train.txt).")
    class_index: str | None = setting(None, "UCF101's classInd.txt.")
    split: tuple = setting((), "Official split file(s): trainlist0K.txt, testlist0K.txt "
                           "(repeatable).")
    out_dir: str | None = setting(None, "Where the lists go (the prepared list's folder keeps "
                                  "the paths relative to it).")

    def __post_init__(self):
        config_flags.validate_fields(self)
        for name in ("prepared", "class_index", "out_dir"):
            if not getattr(self, name):
                raise ValueError(f"--{name} is required")
        if not self.split:
            raise ValueError("--split is required: one or more official split files")


def read_class_index(path: str) -> dict:
    """{class name: 1-based label} from classInd.txt; errors name the file and line."""
    classes = {}
    with tf.io.gfile.GFile(path, "r") as handle:
        for number, line in enumerate(handle.read().splitlines(), start=1):
            tokens = line.split()
            if not tokens:
                continue
            if len(tokens) != 2 or not tokens[0].isdigit():
                raise ValueError(f"{path}:{number}: expected '<label> <ClassName>', got "
                                 f"{line.strip()!r}")
            classes[tokens[1]] = int(tokens[0])
    if not classes:
        raise ValueError(f"{path} names no class")
    return classes


def split_labels(split_file: str, classes: dict) -> dict:
    """{video stem: 1-based label} of a split file (labelled train lists or unlabelled
    test lists); a class folder missing from classInd.txt is an error naming the line."""
    labels = {}
    with tf.io.gfile.GFile(split_file, "r") as handle:
        for number, line in enumerate(handle.read().splitlines(), start=1):
            tokens = line.split()
            if not tokens:
                continue
            path = tokens[0].replace("\\", "/")
            folder, name = posixpath.split(path)
            stem = name.rsplit(".", 1)[0]
            if len(tokens) > 1:
                labels[stem] = int(tokens[1])
            elif folder in classes:
                labels[stem] = classes[folder]
            else:
                raise ValueError(f"{split_file}:{number}: class folder {folder!r} is not in "
                                 "classInd.txt")
    return labels


def split_lists(prepared_list: str, class_index: str, split_files, out_dir: str) -> dict:
    """Writes `<out_dir>/<split file name>` for every split file: the strips of
    `prepared_list` (vgan-prepare's train.txt; paths `<video id>/<clip>.jpg`) whose video
    the split names, each with its label. Returns {written list: (strips, videos of the
    split with no strip)}."""
    classes = read_class_index(class_index)
    entries = lists.read_lists(prepared_list)
    by_video = {}
    for path in entries.paths:
        by_video.setdefault(path.split("/", 1)[0], []).append(path)
    written = {}
    for split_file in ([split_files] if isinstance(split_files, str) else split_files):
        labels = split_labels(split_file, classes)
        paths, values = [], []
        for stem, label in labels.items():
            for path in by_video.get(stem, ()):
                paths.append(path)
                values.append(label)
        missing = sum(1 for stem in labels if stem not in by_video)
        out = os.path.join(out_dir, os.path.basename(split_file))
        lists.write_list(out, paths, values,
                         header=f"{os.path.basename(split_file)}: strips of {prepared_list}, "
                                "labels 1-based (classInd.txt)")
        written[out] = (len(paths), missing)
    return written
