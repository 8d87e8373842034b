"""vgan-check-strips (data.corpus_check): a corpus checked once with the full checks, its
verdicts written where training reads them, a report of what was refused and why."""
import json
import os
import re
import subprocess
import sys

import pytest

from tests.data.test_checks import _bogus_huffman
from tests.data.test_verdicts import N_GOOD, SIZE, _Counts, _files, _run
from tests.helpers import REPO
from vgan_tf.data import ListSource, checks, lists, strips, verdicts
from vgan_tf.data.corpus_check import CheckStripsConfig, check_corpus


def _corpus(root):
    """The verdict tests' strips (six good, three with damaged scans) plus a missing
    file, a text file, a bad Huffman table and frames of another size."""
    files, bad = _files()
    files["other/huffman.jpg"] = _bogus_huffman(files["good/g0.jpg"])
    files["other/text.jpg"] = b"not a jpeg\n"
    files["other/big.jpg"] = strips.encode_strip(strips.strip_to_frames(
        strips.decode_strip_bytes(files["good/g1.jpg"]).reshape(-1, SIZE, 3).repeat(
            2, 0).repeat(2, 1)))  # 64 px frames
    for rel, data in files.items():
        os.makedirs(os.path.join(root, os.path.dirname(rel)), exist_ok=True)
        with open(os.path.join(root, rel), "wb") as f:
            f.write(data)
    names = list(files) + ["other/missing.jpg"]
    refused = {**{name: "corrupt_data" for name in bad},
               "other/huffman.jpg": "corrupt_header", "other/text.jpg": "not_jpeg",
               "other/big.jpg": "wrong_shape", "other/missing.jpg": "missing"}
    return (lists.write_list(os.path.join(root, "train.txt"), names, range(len(names))),
            files, refused)


@pytest.mark.slow
def test_a_corpus_checked_once_leaves_training_only_the_verdicts(tmp_path, monkeypatch):
    root = str(tmp_path / "data")
    list_file, files, refused = _corpus(root)
    config = CheckStripsConfig(list=(list_file,), verdicts=str(tmp_path / "v"),
                               strip_size=SIZE)
    report = check_corpus(config, progress=False)
    assert report.refused == refused
    assert report.total == len(files) + 1 and report.checked == report.total
    assert report.passed == N_GOOD
    body = json.load(open(list_file + ".check.json"))
    assert body["refused"] == {"corrupt_data": 3, "corrupt_header": 1, "not_jpeg": 1,
                               "wrong_shape": 1, "missing": 1}
    assert {s["path"]: s["reason"] for s in body["refused_strips"]} == refused
    keys, values = verdicts.read_verdicts(str(tmp_path / "v"))
    assert len(keys) == len(files)  # every file read (the size rule is not the bytes')
    kept = dict(zip(keys.tolist(), verdicts.unpack(values)[0].tolist()))
    assert kept[verdicts.key_of(files["other/big.jpg"])] == checks.OK

    counted = _Counts(monkeypatch)  # training then pays no full check
    source = ListSource(list_file, root)
    assert len(_run(source, verdicts=str(tmp_path / "v"))) == N_GOOD + 1  # + the big one
    assert counted() == {"scan": 0, "walk": 0}

    again = check_corpus(config, progress=False)  # only the missing file has no verdict
    assert again.refused == refused and again.checked == 1
    assert check_corpus(CheckStripsConfig(list=(list_file,), verdicts=str(tmp_path / "v"),
                                          recheck=True), progress=False).checked == 13


def test_the_config_names_the_flag():
    with pytest.raises(ValueError, match="--list"):
        CheckStripsConfig()
    with pytest.raises(ValueError, match="strip_size"):
        CheckStripsConfig(list=("a.txt",), strip_size=0)


@pytest.mark.slow
def test_the_binary_takes_lists_as_arguments_and_shows_progress(tmp_path):
    root = str(tmp_path / "data")
    list_file, files, refused = _corpus(root)
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["VGAN_TF_CACHE_DIR"] = str(tmp_path / "cache")
    result = subprocess.run(
        [sys.executable, "-m", "tools.check_strips", list_file, "--data_root", root,
         f"--report={tmp_path / 'r.json'}", "--strip_size", str(SIZE)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (f"checked {len(files) + 1} strips ({len(files) + 1} now, 0 had a verdict): "
            f"{N_GOOD} passed, refused {len(refused)}") in result.stdout
    assert re.search(r"check: \d+/\d+ strips, [\d.]+ (strips/s|s/strip)", result.stderr)
    report = json.load(open(tmp_path / "r.json"))
    assert report["passed"] == N_GOOD and report["refused"]["corrupt_data"] == 3
    assert len(verdicts.read_verdicts(str(tmp_path / "cache" / "verdicts"))[0]) == len(files)
    mistake = subprocess.run([sys.executable, "-m", "tools.check_strips"], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=120)
    assert mistake.returncode == 2 and mistake.stderr.strip().splitlines() == [
        "check_strips: error: --list is required: a list file or glob pattern (repeatable)"]
