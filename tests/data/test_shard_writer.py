"""The converter: list files -> TFRecord shards, bad strips skipped and counted, the same
list giving byte-identical shards."""
import os

import pytest

from vgan_tf.data import ListSource, lists, shard_writer, synthetic, tfrecord

CLIPS = 12


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """CLIPS good strips with unique labels, plus one garbage file and one missing file."""
    root = str(tmp_path_factory.mktemp("writer"))
    entries = lists.read_lists(synthetic.write_synthetic_dataset(root, CLIPS, frames=6,
                                                                 size=16, seed=5))
    with open(os.path.join(root, "bad_for_shards.jpg"), "wb") as f:
        f.write(b"garbage")
    return ListSource(lists.write_list(os.path.join(root, "mixed.txt"),
                                       list(entries.paths) + ["bad_for_shards.jpg", "gone.jpg"],
                                       list(range(CLIPS)) + [90, 91]), root)


def _records(path):
    import tensorflow as tf
    return [{k: v.numpy() for k, v in tfrecord.parse_record(r).items()}
            for r in tf.data.TFRecordDataset(path)]


@pytest.mark.slow
def test_shards_hold_the_good_strips_round_robin_and_name_what_was_skipped(mixed, tmp_path,
                                                                           capfd):
    report = shard_writer.write_shards(mixed, str(tmp_path / "shards"), 4, progress=False)
    assert report.written == CLIPS
    assert report.shards == [str(tmp_path / "shards" / f"strips-{i:05d}-of-00004.tfrecord")
                             for i in range(4)]
    assert {k: v for k, v in report.skipped.items() if v} == {"not_jpeg": 1, "missing": 1}
    err = capfd.readouterr().err
    for name, reason in (("bad_for_shards.jpg", "not_jpeg"), ("gone.jpg", "missing")):
        assert f'{os.path.join(mixed.data_root, name)}" reason: "{reason}"' in err
    entries = mixed.read()
    for index, shard in enumerate(report.shards):  # entries i, i + 4, ... of the list
        records = _records(shard)
        want = [i for i in range(index, CLIPS + 2, 4) if i < CLIPS]
        assert [int(r["label"]) for r in records] == want
        assert [r["path"].decode() for r in records] == [entries.paths[i] for i in want]
        for record, i in zip(records, want):  # the strip bytes, unchanged
            with open(entries.resolve(mixed.data_root)[i], "rb") as f:
                assert record["strip"] == f.read()
    again = shard_writer.write_shards(mixed, str(tmp_path / "again"), 4, progress=False)
    for a, b in zip(report.shards, again.shards):
        assert open(a, "rb").read() == open(b, "rb").read()


def test_a_record_has_the_same_bytes_in_every_process():
    """An Example's features are a protobuf map, which protobuf's upb backend orders by a
    hash seeded per process (records made in another process, e.g. vgan-prepare's Beam
    workers, differed); make_example orders them by key."""
    record = tfrecord.make_example(b"jpeg bytes", 3, "v/0000.jpg")
    assert record.index(b"\x05label") < record.index(b"\x04path") < \
        record.index(b"\x05strip")
    assert tfrecord.parse_record(record)["path"].numpy() == b"v/0000.jpg"


@pytest.mark.slow
def test_fewer_entries_than_shards_and_argument_errors(mixed, tmp_path):
    report = shard_writer.write_shards(mixed, str(tmp_path / "many"), 100, progress=False)
    assert len(report.shards) == CLIPS + 2 and report.written == CLIPS  # one entry per shard
    with pytest.raises(ValueError, match="num_shards must be a positive integer"):
        shard_writer.write_shards(mixed, str(tmp_path / "zero"), 0)
    with pytest.raises(TypeError, match="ListSource"):
        shard_writer.write_shards(mixed.list_files, str(tmp_path / "x"), 2)
    with pytest.raises(FileNotFoundError, match="absent.txt"):
        shard_writer.write_shards(ListSource(str(tmp_path / "absent.txt")),
                                  str(tmp_path / "x"), 2)


@pytest.mark.slow
def test_progress_counts_to_the_total_with_written_and_skipped(mixed, tmp_path, capfd):
    """The progress (vgan_tf.progress, plain lines off a terminal) ends at the total and
    shows the strips written and skipped by reason."""
    shard_writer.write_shards(mixed, str(tmp_path / "shown"), 2)
    err = capfd.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("shards: ")]
    total = CLIPS + 2
    assert lines and lines[-1].startswith(f"shards: {total}/{total} strips, "), err
    assert f" written {CLIPS}" in lines[-1] and " not_jpeg 1" in lines[-1] \
        and " missing 1" in lines[-1], lines[-1]
    assert "\r" not in err and "\x1b" not in err


@pytest.mark.slow
def test_the_full_checks_print_nothing_for_good_strips(tmp_path):
    """libjpeg warned ("Corrupt JPEG data: premature end of data segment") about every
    good strip in the full checks' probes (48 lines for these 24 strips before)."""
    import subprocess
    import sys

    from tests.helpers import REPO
    from vgan_tf.data import synthetic
    listed = synthetic.write_synthetic_dataset(str(tmp_path / "data"), 24, frames=16,
                                               size=64, seed=3)
    result = subprocess.run([sys.executable, "-m", "tools.make_shards", f"--list={listed}",
                             f"--out_dir={tmp_path / 'shards'}", "--num_shards=2"],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Corrupt JPEG" not in result.stderr and "written 24" in result.stderr
