"""The lists of a run, written after every video (corpus.finish, both runners).

Always `train.txt`: one strip path per line, relative to the output folder (what
vgan-train's `--data_list` reads). With `--split_by=video`, `test.txt` holds the strips
of the test videos (split.py) and `train.txt` those of the others. With
`--hold_out_tail`, `held_out.txt` holds the strips cut from every video's tail (both
sides). With `--labels_from=folder`, each list gets a labelled twin, `<list>_labelled.txt`
("path label" lines, labels 0-based: labels.py), and `classes.txt` numbers the classes.
`write_sheet` draws the contact sheet from the listed strips (sheet.py).
Entries follow the videos in id order, each video's strips in order; every list is
written atomically, with a `#` header line.
"""
from __future__ import annotations

from vgan_tf.data import lists
from vgan_tf.data.prepare import labels as labels_lib
from vgan_tf.data.prepare import sheet, split, video
from vgan_tf.data.prepare.options import SPLIT_BY_VIDEO

TRAIN_LIST = "train.txt"
TEST_LIST = "test.txt"
HELD_OUT_LIST = "held_out.txt"
HEADER = "# strips written by vgan-prepare\n"
LABELLED_HEADER = ("# strips written by vgan-prepare: path, class label (0-based, "
                   "classes.txt)\n")


def labelled_name(list_name: str) -> str:
    """train.txt -> train_labelled.txt."""
    return list_name[:-len(".txt")] + "_labelled.txt"


def entries_by_list(summary: dict, options) -> dict:
    """{list name: [strip paths]} of a summary (corpus.summarize) and its options."""
    done = summary["videos"]
    test = set()
    if options.split_by == SPLIT_BY_VIDEO:
        groups = {}
        for report in done:
            if report["clips"]:
                group = labels_lib.class_of(report["video"]) \
                    if options.labels_from == "folder" else None
                groups.setdefault(group, []).append(report["id"])
        test = split.choose_test_videos(groups, options.test_fraction)
    found = {TRAIN_LIST: [c for r in done if r["id"] not in test for c in r["clips"]]}
    if options.split_by == SPLIT_BY_VIDEO:
        found[TEST_LIST] = [c for r in done if r["id"] in test for c in r["clips"]]
    if options.hold_out_tail:
        found[HELD_OUT_LIST] = [c for r in done for c in r.get("held_out", [])]
    return found


def _write(path: str, header: str, lines) -> None:
    text = "".join(f"{line}\n" for line in lines)
    video.write_atomically(path, header + text, "w")


def write_lists(out_dir: str, summary: dict, options) -> dict:
    """Writes the run's lists -> {"lists": {file: clips (classes.txt: classes)},
    "classes": {name: label} (labels on), "test_videos": [ids] (split on)}."""
    found = entries_by_list(summary, options)
    written = {}
    for name, entries in found.items():
        _write(video.join(out_dir, name), HEADER,
               [lists.check_relative_path(e, "clip") for e in entries])
        written[name] = len(entries)
    result = {"lists": written}
    if options.split_by == SPLIT_BY_VIDEO:
        result["test_videos"] = sorted({e.split("/", 1)[0] for e in found[TEST_LIST]})
    if options.labels_from == "folder":
        videos = [r["video"] for r in summary["videos"]] + \
            [f["video"] for f in summary["failed"]]
        classes = labels_lib.class_labels(videos)
        by_id = {r["id"]: classes[labels_lib.class_of(r["video"])]
                 for r in summary["videos"]}
        for name, entries in found.items():
            _write(video.join(out_dir, labelled_name(name)), LABELLED_HEADER,
                   [f"{e} {by_id[e.split('/', 1)[0]]}" for e in entries])
            written[labelled_name(name)] = len(entries)
        labels_lib.write_class_index(video.join(out_dir, labels_lib.CLASS_INDEX_NAME),
                                     classes)
        written[labels_lib.CLASS_INDEX_NAME] = len(classes)
        result["classes"] = classes
    return result


def write_sheet(out_dir: str, summary: dict, options) -> dict:
    """The contact sheet of the listed strips (train, test, then held-out entries),
    captioned with their class when labels are on -> sheet.write_contact_sheet's
    result."""
    entries = [e for part in entries_by_list(summary, options).values() for e in part]
    classes = None
    if options.labels_from == "folder":
        names = {r["id"]: labels_lib.class_of(r["video"]) for r in summary["videos"]}
        classes = {e: names[e.split("/", 1)[0]] for e in entries}
    return sheet.write_contact_sheet(out_dir, entries, classes)
