"""The full checks paid once per strip (vgan_tf.data.verdicts): on by default, a verdict per
strip keyed by its bytes, read by later epochs and later pipelines, a changed file checked
again, several writers losing nothing, tf.data service workers writing theirs."""
import os
import threading

import numpy as np
import pytest
import tensorflow as tf

from tests.data.test_bad_strips_more import _write as write_list_of
from tests.data.test_flipped_bits import _flip
from vgan_tf.data import (ClipOptions, ListSource, ReadOptions, ServiceConfig, ShardSource,
                          checks, clip_dataset, pipeline, scans, service, strips, synthetic,
                          verdicts, write_shards)

FRAMES, SIZE = 4, 32
N_GOOD = 6


def _files():
    """Six good strips and three whose scans are damaged (flipped bits libjpeg warns
    about: found only by the full checks), interleaved."""
    rng = np.random.default_rng(18)
    files, bad = {}, []
    for i in range(N_GOOD):
        frames = synthetic.render_clip(4, i, frames=FRAMES, size=SIZE)[0]
        files[f"good/g{i}.jpg"] = strips.encode_strip(frames)
        if i % 2:
            while True:
                damaged = _flip(strips.encode_strip(frames), 3, rng)
                if bool(strips.scan_damaged(damaged, FRAMES * SIZE, SIZE)):
                    break
            files[f"flip/f{i}.jpg"] = damaged
            bad.append(f"flip/f{i}.jpg")
    return files, bad


@pytest.fixture(scope="module")
def corpus_files():
    return _files()


def _write(root, files):
    return ListSource(write_list_of(root, files), root)


class _Counts:
    """Counts, in the graph, how often the full checks run: the scan probes
    (scan_damaged, as the decode stage calls it) and the header walk to the first scan.
    Pipelines made after it are counted (not under a tf.data service: a variable)."""

    def __init__(self, monkeypatch):
        self.runs = {"scan": tf.Variable(0, dtype=tf.int64),
                     "walk": tf.Variable(0, dtype=tf.int64)}
        scan, walk = strips.scan_damaged, checks.jpeg_header

        def counted_scan(*args):
            with tf.control_dependencies([self.runs["scan"].assign_add(1)]):
                return scan(*args)

        def counted_walk(encoded, scan_checks=True):
            if not scan_checks:
                return walk(encoded, scan_checks)
            with tf.control_dependencies([self.runs["walk"].assign_add(1)]):
                return walk(encoded, scan_checks)

        monkeypatch.setattr(strips, "scan_damaged", counted_scan)
        monkeypatch.setattr(checks, "jpeg_header", counted_walk)

    def __call__(self):
        """The counts since the last call."""
        values = {k: int(v.numpy()) for k, v in self.runs.items()}
        for v in self.runs.values():
            v.assign(0)
        return values


@pytest.fixture
def counted(monkeypatch):
    return _Counts(monkeypatch)


def _run(source, counter=None, **read):
    options = dict(shuffle=False, repeat=False, with_labels=True, num_parallel_calls=1)
    options.update(read)
    out = clip_dataset(source, ClipOptions(FRAMES, SIZE // 2), ReadOptions(**options),
                       counter)
    return {int(label): video for video, label in out.as_numpy_iterator()}


@pytest.mark.slow
def test_the_default_pays_the_full_checks_once_per_strip(corpus_files, tmp_path, counted,
                                                         capfd, monkeypatch):
    files, bad = corpus_files
    source = _write(str(tmp_path / "data"), files)
    names = list(files)
    good = {names.index(n) for n in names if n.startswith("good/")}
    home = tmp_path / "cache"
    monkeypatch.setenv("VGAN_TF_CACHE_DIR", str(home))

    counter = checks.SkipCounter()
    first = _run(source, counter)  # the defaults: full checks, user cache
    assert set(first) == good
    assert counter.counts()["corrupt_data"] == len(bad)
    assert counted() == {"scan": len(files), "walk": len(files)}
    log = capfd.readouterr().err
    for name in bad:
        assert f'{tmp_path / "data" / name}" reason: "corrupt_data"' in log
    keys, values = verdicts.read_verdicts(str(home / "verdicts"))
    assert len(keys) == len(files)
    reasons = dict(zip(keys.tolist(), verdicts.unpack(values)[0].tolist()))
    for name, data in files.items():
        assert reasons[verdicts.key_of(data)] == (
            checks.CORRUPT_DATA if name in bad else checks.OK), name

    counter = checks.SkipCounter()
    again = _run(source, counter)  # a later run: the verdicts only
    assert counted() == {"scan": 0, "walk": 0}
    assert set(again) == good and counter.counts()["corrupt_data"] == len(bad)
    for label in good:
        np.testing.assert_array_equal(again[label], first[label])
    log = capfd.readouterr().err
    for name in bad:  # still named
        assert f'{tmp_path / "data" / name}" reason: "corrupt_data"' in log

    changed = tmp_path / "data" / "good/g0.jpg"  # a changed file is checked again
    changed.write_bytes(strips.encode_strip(np.full((FRAMES, SIZE, SIZE, 3), 40, np.uint8)))
    out = _run(source)
    assert counted() == {"scan": 1, "walk": 1}
    assert out[names.index("good/g0.jpg")].max() < -0.6  # the new picture


@pytest.mark.slow
def test_later_epochs_of_one_run_read_only_the_verdict(corpus_files, tmp_path, counted):
    files, bad = corpus_files
    source = _write(str(tmp_path), files)
    ds = clip_dataset(source, ClipOptions(FRAMES, SIZE // 2),
                      ReadOptions(shuffle=False, repeat=True, num_parallel_calls=1,
                                  verdicts=str(tmp_path / "v")))
    clips = list(ds.take(3 * N_GOOD))  # three epochs
    assert len(clips) == 3 * N_GOOD
    assert counted() == {"scan": len(files), "walk": len(files)}  # the first epoch's


@pytest.mark.slow
@pytest.mark.parametrize("cache", [True, False], ids=["tf_data_cache", "no_cache"])
def test_a_strip_found_bad_is_never_a_clip_in_later_epochs(corpus_files, tmp_path, cache):
    """The decode stage finds the damaged scans and records them; a later epoch that
    reaches the decode stage with such a strip (from tf.data's cache, which keeps what
    passed the header checks; or read ahead by the check stage before the verdict was
    recorded) drops it by its verdict: it once came out as a clip."""
    files, bad = corpus_files
    source = _write(str(tmp_path), files)
    ds = clip_dataset(source, ClipOptions(FRAMES, SIZE // 2),
                      ReadOptions(shuffle=False, repeat=True, cache=cache, with_labels=True,
                                  verdicts=str(tmp_path / "v")))
    labels = [int(label) for _, label in ds.take(4 * N_GOOD)]  # four epochs
    names = list(files)
    assert sorted(names[i] for i in set(labels)) == sorted(n for n in names if n not in bad)
    assert np.bincount(labels).max() == 4


@pytest.mark.slow
def test_without_verdicts_every_read_pays_and_without_full_checks_nothing_is_kept(
        corpus_files, tmp_path, counted):
    files, bad = corpus_files
    source = _write(str(tmp_path / "d"), files)
    for _ in range(2):
        assert len(_run(source, verdicts=False)) == N_GOOD
        assert counted()["scan"] == len(files)
    light = _run(source, full_checks=False, verdicts=str(tmp_path / "v"))
    assert len(light) == N_GOOD + len(bad)  # the known limit the full checks close
    assert counted() == {"scan": 0, "walk": 0}
    assert not (tmp_path / "v").exists()


@pytest.mark.slow
def test_strict_mode_raises_on_a_known_bad_strip_naming_it(corpus_files, tmp_path):
    files, bad = corpus_files
    source = _write(str(tmp_path / "d"), files)
    where = str(tmp_path / "v")
    _run(source, verdicts=where)  # records the verdicts
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        _run(source, verdicts=where, strict=True)
    error = checks.BadStripError.from_op_error(info.value)
    assert error.reason == "corrupt_data" and error.name.endswith(bad[0])


@pytest.mark.slow
def test_shards_and_lists_share_verdicts_by_content(corpus_files, tmp_path, counted):
    files, bad = corpus_files
    source = _write(str(tmp_path / "d"), {n: d for n, d in files.items() if n not in bad})
    report = write_shards(source, str(tmp_path / "shards"), 2, progress=False)
    counted()
    where = str(tmp_path / "v")
    out = list(clip_dataset(ShardSource(report.shards), ClipOptions(FRAMES, SIZE // 2),
                            ReadOptions(shuffle=False, repeat=False, verdicts=where)))
    assert len(out) == N_GOOD and counted()["scan"] == N_GOOD
    assert len(_run(source, verdicts=where)) == N_GOOD
    assert counted() == {"scan": 0, "walk": 0}  # the list's files: the same bytes


@pytest.mark.slow
def test_writers_in_parallel_lose_no_verdict(corpus_files, tmp_path, monkeypatch):
    """Two pipelines (each its own share of the names, as two workers read them) write
    into one directory at once, a file every 2 verdicts: every verdict is there, each in
    a file named by its content (none overwritten)."""
    monkeypatch.setattr(verdicts, "FLUSH_RECORDS", 2)
    files, _ = corpus_files
    source = _write(str(tmp_path / "d"), files)
    where = str(tmp_path / "v")
    threads = [threading.Thread(target=_run, args=(source,),
                                kwargs=dict(verdicts=where, shard=(2, i))) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    names = [n for n in os.listdir(where) if n.startswith("verdicts-")]
    assert len(names) >= 4
    keys, _ = verdicts.read_verdicts(where)
    assert sorted(keys.tolist()) == sorted(verdicts.key_of(d) for d in files.values())
    for name in names:
        body = open(os.path.join(where, name), "rb").read()[len(verdicts.HEADER):]
        assert name == f"verdicts-{verdicts.key_of(body)}.bin"


@pytest.mark.slow
def test_a_repeated_stream_writes_its_verdicts_while_it_runs(corpus_files, tmp_path,
                                                             monkeypatch):
    monkeypatch.setattr(verdicts, "FLUSH_SECONDS", 0.0)
    files, _ = corpus_files
    where = tmp_path / "v"
    ds = clip_dataset(_write(str(tmp_path / "d"), files), ClipOptions(FRAMES, SIZE // 2),
                      ReadOptions(seed=1, verdicts=str(where)))
    for _ in ds.take(2 * N_GOOD):  # an endless stream: no end to write them at
        pass
    assert len(verdicts.read_verdicts(str(where))[0]) == len(files)


@pytest.mark.slow
def test_under_op_determinism_the_verdicts_are_written_by_strip_count(corpus_files, tmp_path,
                                                                      monkeypatch):
    """tf.timestamp raises under op determinism (every strip was dropped and a repeated
    stream spun for ever): there the strips passed since the last write stand in."""
    from tensorflow.python.framework import config as tf_config
    monkeypatch.setattr(verdicts, "FLUSH_STRIPS", 3)
    files, bad = corpus_files
    where = tmp_path / "v"
    tf_config.enable_op_determinism()
    try:
        ds = clip_dataset(_write(str(tmp_path / "d"), files), ClipOptions(FRAMES, SIZE // 2),
                          ReadOptions(seed=1, verdicts=str(where)))
        clips = [c for c in ds.take(2 * N_GOOD)]  # an endless stream
    finally:
        tf_config.disable_op_determinism()
    assert len(clips) == 2 * N_GOOD
    keys, values = verdicts.read_verdicts(str(where))
    assert sorted(keys.tolist()) == sorted(verdicts.key_of(d) for d in files.values())
    assert int((verdicts.unpack(values)[0] == checks.CORRUPT_DATA).sum()) == len(bad)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["parallel_epochs", "distributed_epoch"])
def test_tf_data_service_workers_write_their_verdicts(corpus_files, tmp_path, monkeypatch,
                                                       mode):
    """Two workers: in parallel_epochs each reads every strip and writes its verdicts at
    its end element; in distributed_epoch one worker gets the end element, so the test
    writes as they come (FLUSH_SECONDS=0; see docs/data.md for what that leaves)."""
    if mode == "distributed_epoch":
        monkeypatch.setattr(verdicts, "FLUSH_SECONDS", 0.0)
    files, bad = corpus_files
    source = _write(str(tmp_path / "d"), files)
    where = str(tmp_path / "v")
    dispatcher = service.start_dispatcher()
    workers = [service.start_worker(dispatcher.target) for _ in range(2)]
    try:
        out = list(clip_dataset(source, ClipOptions(FRAMES, SIZE // 2), ReadOptions(
            shuffle=False, repeat=False, verdicts=where,
            service=ServiceConfig(dispatcher.target, mode))))
    finally:
        for worker in workers:
            worker.stop()
        dispatcher.stop()
    assert len(out) == N_GOOD * (2 if mode == "parallel_epochs" else 1)
    keys, values = verdicts.read_verdicts(where)
    assert sorted(keys.tolist()) == sorted(verdicts.key_of(d) for d in files.values())
    assert int((verdicts.unpack(values)[0] == checks.CORRUPT_DATA).sum()) == len(bad)
    counted = _Counts(monkeypatch)
    assert len(_run(source, verdicts=where)) == N_GOOD
    assert counted() == {"scan": 0, "walk": 0}


def test_verdict_files_read_back_whole_records_only(tmp_path):
    where = str(tmp_path)
    keys = np.array([5, 7, 9], np.int64)
    values = verdicts.pack(np.array([0, 9, 0]), np.array([64, 0, 32]), np.array([16, 0, 8]),
                           np.array([100, 200, 300]))
    name = verdicts.write_verdicts(where, keys, values)
    assert os.listdir(where) == [os.path.basename(name)]  # no temporary file left
    got = verdicts.read_verdicts(where)
    assert got[0].tolist() == [5, 7, 9] and got[1].tolist() == values.tolist()
    assert [v.tolist() for v in verdicts.unpack(values)] == [[0, 9, 0], [64, 0, 32],
                                                             [16, 0, 8], [100, 200, 300]]
    data = open(name, "rb").read()
    cut = os.path.join(where, "verdicts-cut.bin")  # a write cut short: two whole records
    open(cut, "wb").write(data[:len(verdicts.HEADER) + 2 * 16 + 5])
    old = os.path.join(where, "verdicts-old.bin")  # another version of the checks
    open(old, "wb").write(b"vgan-verdicts 1\n" + np.array([[11, 0]], "<i8").tobytes())
    got = dict(zip(*(v.tolist() for v in verdicts.read_verdicts(where))))
    assert got == dict(zip(keys.tolist(), values.tolist()))
    tensor = verdicts.pack(tf.constant(9), tf.constant(64), tf.constant(16), tf.constant(300))
    assert int(tensor) == int(verdicts.pack(9, 64, 16, 300))
    cache = verdicts.VerdictCache(where)
    known, reason, height, width = cache.lookup(tf.constant(9, tf.int64), tf.constant(300))
    assert bool(known) and (int(reason), int(height), int(width)) == (0, 32, 8)
    assert not bool(cache.lookup(tf.constant(9, tf.int64), tf.constant(301))[0])  # length
    assert not bool(cache.lookup(tf.constant(11, tf.int64), tf.constant(300))[0])


def test_read_options_refuse_a_bad_verdict_place():
    for bad in ("", 3, None):
        with pytest.raises(ValueError, match="verdicts"):
            ReadOptions(verdicts=bad)
    assert ReadOptions().full_checks and ReadOptions().verdicts is True
    assert verdicts.directory(True) == verdicts.default_dir()
    assert verdicts.directory(False) is None and verdicts.directory("x/y") == "x/y"


def test_the_default_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("VGAN_TF_CACHE_DIR", str(tmp_path / "a"))
    assert verdicts.default_dir() == str(tmp_path / "a" / "verdicts")
    monkeypatch.delenv("VGAN_TF_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert verdicts.default_dir() == str(tmp_path / "x" / "vgan_tf" / "verdicts")
    assert scans.FILL_VALUE == strips.FILL_VALUE == 128


@pytest.mark.slow
@pytest.mark.parametrize("read", [{}, {"skip_clips": 5}, {"verdicts": False}])
def test_a_repeated_stream_whose_every_strip_the_probes_refuse_ends(corpus_files, tmp_path,
                                                                    read):
    """Every strip passes the header checks and the decode stage refuses each one
    (corrupt_data): the repeated stream ends (it once spun for ever) after naming them."""
    files, bad = corpus_files
    source = _write(str(tmp_path / "d"), {name: files[name] for name in bad})
    counter = checks.SkipCounter()
    options = dict(dict(shuffle=True, seed=1, repeat=True, verdicts=str(tmp_path / "v")),
                   **read)
    ds = clip_dataset(source, ClipOptions(FRAMES, SIZE), ReadOptions(**options), counter)
    assert list(ds.take(3)) == []
    assert counter.counts()["corrupt_data"] >= len(bad)


@pytest.mark.parametrize("indexed", [True, False])
def test_the_refusal_guard_ends_after_limit_refusals_in_a_row(indexed):
    good = [True, False, False, True, False, False, False, True]
    ds = tf.data.Dataset.from_tensor_slices((tf.range(8), tf.constant(good),
                                             tf.range(8, dtype=tf.int64)))
    if not indexed:
        ds = ds.map(lambda x, flag, index: (x, flag))
    ds = pipeline._end_when_all_refused(ds, 3, 0, indexed)
    # 4, 5, 6 are three refusals in a row: the stream ends after 6, before 7.
    assert [int(e[0]) for e in ds] == [0, 1, 2, 3, 4, 5]
