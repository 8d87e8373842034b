"""List files: parsing, validation, reading several (globs), writing, path resolution."""
import os

import numpy as np
import pytest

from vgan_tf.data import lists


def test_list_parsing_comments_labels_and_errors():
    text = "# header\n\n a/b.jpg 3  # trailing\nc.jpg\n./d/../e.jpg 0\n"
    parsed = lists.parse_list(text, "x.txt")
    assert parsed.paths == ("a/b.jpg", "c.jpg", "e.jpg")
    assert parsed.labels == (3, lists.NO_LABEL, 0)
    assert parsed.sources == ("x.txt:3", "x.txt:4", "x.txt:5")
    with pytest.raises(ValueError, match="x.txt:4"):
        parsed.class_labels()
    assert lists.parse_list("a.jpg 1\nb.jpg 0\n", "y.txt").class_labels() == (1, 0)
    for line, message in (("/abs/a.jpg", "absolute"), ("gs://b/a.jpg", "absolute"),
                          ("../a.jpg", "leaves the data root"),
                          ("a/../../b.jpg", "leaves the data root"),
                          ("a\\b.jpg", "backslash"), ("a\x00b.jpg", "NUL byte"),
                          ("a*.jpg", "glob")):
        with pytest.raises(ValueError, match=f"l.txt:2.*{message}"):
            lists.parse_list("ok.jpg\n" + line, "l.txt")


def test_labels_are_read_only_when_asked_for():
    """As the original loaders: other columns are fine for unlabelled training; labels are
    checked (present, integer, in range, 1-based lists) only by class_labels."""
    parsed = lists.parse_list("a.jpg walk 12.5\nb.jpg -2\nc.jpg 7\n", "x.txt")
    assert parsed.paths == ("a.jpg", "b.jpg", "c.jpg")
    assert parsed.labels == (lists.NO_LABEL, lists.NO_LABEL, 7)
    for text, needle in (("a.jpg walk\n", "x.txt:1: class label 'walk' is not an integer"),
                         ("a.jpg 1\nmy clip.jpg 3\n", "x.txt:2: class label 'clip.jpg'"),
                         ("a.jpg -2\n", "x.txt:1: class label -2 is below the first class 0"),
                         ("a.jpg 0\n", "x.txt:1: class label 0 is below the first class 1"),
                         ("a.jpg 101\n", "x.txt:1: class label 101 is out of range for "
                                          "100 classes")):
        with pytest.raises(ValueError) as info:
            base = 1 if text == "a.jpg 0\n" else 0
            lists.parse_list(text, "x.txt").class_labels(base, num_classes=100)
        assert str(info.value).startswith(needle), str(info.value)
    one_based = lists.parse_list("a.jpg 1\nb.jpg 101\n", "u.txt")
    assert one_based.class_labels(label_base=1, num_classes=101) == (0, 100)
    with pytest.raises(ValueError, match="use label_base=1"):
        lists.parse_list("a.jpg 3\nb.jpg -1\n", "u.txt").class_labels()


def test_list_text_encodings(tmp_path):
    bom = tmp_path / "bom.txt"
    bom.write_bytes("\ufeffa.jpg 1\nb.jpg 2\n".encode("utf-8"))
    assert lists.read_lists(str(bom)).paths == ("a.jpg", "b.jpg")  # no U+FEFF in the path
    latin = tmp_path / "latin.txt"
    latin.write_bytes(b"a.jpg\nd\xe9j\xe0.jpg\n")
    with pytest.raises(ValueError, match=r"latin.txt:2: not UTF-8 text \(byte 0xe9"):
        lists.read_lists(str(latin))
    unicode_name = tmp_path / "u.txt"
    unicode_name.write_text("déjà/vu.jpg 3\n", encoding="utf-8")
    assert lists.read_lists(str(unicode_name)).paths == ("déjà/vu.jpg",)


def test_read_lists_missing_empty_and_globs(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.txt"):
        lists.read_lists(str(tmp_path / "nothere.txt"))
    with pytest.raises(FileNotFoundError, match=r"none\*.txt"):
        lists.read_lists(str(tmp_path / "none*.txt"))
    empty = tmp_path / "empty.txt"
    empty.write_text("# only a comment\n\n   \n")
    with pytest.raises(ValueError, match="empty.txt"):
        lists.read_lists(str(empty))
    lists.write_list(str(tmp_path / "p1.txt"), ["a.jpg", "b.jpg"], [1, 2])
    lists.write_list(str(tmp_path / "p2.txt"), ["c.jpg"], [0], header="second\nlist")
    assert (tmp_path / "p2.txt").read_text() == "# second\n# list\nc.jpg 0\n"
    both = lists.read_lists(str(tmp_path / "p*.txt"))
    assert both.paths == ("a.jpg", "b.jpg", "c.jpg") and both.labels == (1, 2, 0)
    explicit = lists.read_lists([str(tmp_path / "p2.txt"), str(tmp_path / "p1.txt")])
    assert explicit.paths == ("c.jpg", "a.jpg", "b.jpg")


def test_resolve_joins_the_root_or_each_list_files_directory(tmp_path):
    os.makedirs(tmp_path / "one")
    os.makedirs(tmp_path / "two")
    lists.write_list(str(tmp_path / "one" / "l.txt"), ["a/x.jpg", "y.jpg"])
    lists.write_list(str(tmp_path / "two" / "l.txt"), ["z.jpg"])
    entries = lists.read_lists([str(tmp_path / "one" / "l.txt"),
                                str(tmp_path / "two" / "l.txt")])
    assert entries.resolve() == [str(tmp_path / "one" / "a" / "x.jpg"),
                                 str(tmp_path / "one" / "y.jpg"),
                                 str(tmp_path / "two" / "z.jpg")]
    assert entries.resolve("") == entries.resolve(None)
    assert entries.resolve("/data") == ["/data/a/x.jpg", "/data/y.jpg", "/data/z.jpg"]
    assert entries.resolve("gs://bucket/root/") == [
        "gs://bucket/root/a/x.jpg", "gs://bucket/root/y.jpg", "gs://bucket/root/z.jpg"]
    remote = lists.parse_list("c/d.jpg\n", "gs://bucket/lists/train.txt")
    assert remote.resolve() == ["gs://bucket/lists/c/d.jpg"]


def test_write_list_refuses_what_the_reader_refuses(tmp_path):
    with pytest.raises(ValueError, match="absolute"):
        lists.write_list(str(tmp_path / "x.txt"), ["/abs/a.jpg"])
    with pytest.raises(ValueError, match="2 entries but 1 labels"):
        lists.write_list(str(tmp_path / "x.txt"), ["a.jpg", "b.jpg"], [1])
    assert not (tmp_path / "x.txt").exists()


def test_label_subset_per_class_with_a_seed():
    text = "".join(f"c{c}_{i}.jpg {c + 1}\n" for c in range(3) for i in range(8 + 8 * c))
    entries = lists.parse_list(text, "t.txt")  # 8, 16 and 24 clips of classes 1..3
    subset = lists.label_subset(entries, 0.125, seed=4, label_base=1, num_classes=3)
    counts = np.bincount(subset.class_labels(label_base=1), minlength=3)
    assert counts.tolist() == [1, 2, 3]
    assert list(subset.sources) == sorted(subset.sources, key=lambda s: int(s.split(":")[1]))
    assert set(subset.paths) <= set(entries.paths)
    again = lists.label_subset(entries, 0.125, seed=4, label_base=1, num_classes=3)
    other = lists.label_subset(entries, 0.125, seed=5, label_base=1, num_classes=3)
    assert again == subset and other.paths != subset.paths
    tiny = lists.label_subset(lists.parse_list("a.jpg 0\nb.jpg 1\nc.jpg 1\n", "u"), 0.1)
    assert tiny.class_labels() == (0, 1)  # at least one per class
    with pytest.raises(ValueError, match="class 4 has no entry"):
        lists.label_subset(entries, 0.5, label_base=1, num_classes=4)
    with pytest.raises(ValueError, match=r"in \(0, 1\]"):
        lists.label_subset(entries, 0.0)

