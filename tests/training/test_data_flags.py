"""The data flags of the trainer: validation, TFRecord shards, skipped-strip counts in the
log and TensorBoard, random windows with a stride, strict mode, and the binary."""
import dataclasses
import glob
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import REPO
from vgan_tf import training
from vgan_tf.data import (ClipOptions, ListSource, ReadOptions, ShardSource, lists, strips,
                          synthetic, write_shards)
from vgan_tf.training import callbacks as callbacks_lib
from vgan_tf.training import input as input_lib
from vgan_tf.training import run as run_lib

# 4 steps of batch 4 (16 clips) from 6 good clips: the list is read more than twice.
SETTINGS = dict(steps=4, steps_per_epoch=2, checkpoint_every=2, keep_checkpoints=2,
                batch_size=4, num_samples=2, verbose=0, log_every=2, summary_every=2,
                sample_every=4, summary_samples=1)
GOOD = 6
# The bad entries of the mixed list, by the reason the checks give.
BAD = {"missing": ["bad/gone_0.jpg", "bad/gone_1.jpg"], "empty": ["bad/empty.jpg"],
       "not_jpeg": ["bad/text.jpg"], "truncated": ["bad/cut.jpg"]}
EXPECTED = {"missing": 2, "empty": 1, "not_jpeg": 1, "truncated": 1}
EXPECTED_LINE = "skipped 5 (missing 2, empty 1, not_jpeg 1, truncated 1)"


def tiny(model_dir, **overrides):
    values = dict(SETTINGS, model_dir=str(model_dir))
    values.update(overrides)
    return training.from_preset("tiny", **values)


def read_events(log_dir):
    """{tag: [(step, value)]} of the scalar summaries under log_dir."""
    events = {}
    for path in glob.glob(os.path.join(log_dir, "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                events.setdefault(value.tag, []).append(
                    (event.step, float(tf.make_ndarray(value.tensor))
                     if value.metadata.plugin_data.plugin_name == "scalars" else None))
    return events


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A synthetic set of GOOD clips (8 frames of 16 px), a mixed list with 5 bad entries,
    TFRecord shards of the good ones, and 20-frame strips for the window tests."""
    root = tmp_path_factory.mktemp("data")
    good_list = synthetic.write_synthetic_dataset(str(root), GOOD, frames=8, size=16, seed=3)
    os.makedirs(root / "bad")
    (root / "bad" / "empty.jpg").write_bytes(b"")
    (root / "bad" / "text.jpg").write_bytes(b"this is not a jpeg\n" * 20)
    whole = open(lists.read_lists(good_list).resolve(str(root))[0], "rb").read()
    (root / "bad" / "cut.jpg").write_bytes(whole[:len(whole) // 2])
    good = list(lists.read_lists(good_list).paths)
    bad = [rel for rels in BAD.values() for rel in rels]
    mixed = good[:2] + bad[:3] + good[2:4] + bad[3:] + good[4:]
    mixed_list = lists.write_list(str(root / "mixed.txt"), mixed)
    report = write_shards(ListSource(good_list, str(root)), str(root / "shards"), 2,
                          progress=False)
    long_dir = root / "long"
    long_list = synthetic.write_synthetic_dataset(str(long_dir), 4, frames=20, size=16,
                                                  seed=4)
    return dict(root=str(root), good_list=good_list, mixed_list=mixed_list,
                shards=report.shards, long_dir=str(long_dir), long_list=long_list)


# (a) validation: each new flag's bad values, and the data sources.
@pytest.mark.parametrize("overrides,needle", [
    (dict(window="middle"), "--window must be one of ('first', 'center', 'random'), got 'middle'"),
    (dict(resize="nearest"), "--resize must be one of ('dct', 'bilinear'), got 'nearest'"),
    (dict(stride=0), "--stride must be a positive integer, got 0"),
    (dict(stride=1.5), "--stride must be an integer, got 1.5"),
    (dict(strip_size=-16), "--strip_size must be >= 0 (0: any frame size), got -16"),
    (dict(data_cache="yes"), "--data_cache must be true or false, got 'yes'"),
    (dict(strict_data=1), "--strict_data must be true or false, got 1"),
    (dict(data_service="grpc://"), "--data_service must be a tf.data service dispatcher"),
    (dict(data_service="dispatcher"), "--data_service must be a tf.data service dispatcher"),
    (dict(data_service="grpc://host:port"), "--data_service must be a tf.data service"),
    (dict(synthetic=False, data_shards=(3,)), "--data_shards must be a sequence"),
    (dict(synthetic=False, data_shards=("",)), "--data_shards must be a sequence of non-empty"),
    (dict(synthetic=False, data_shards=("s/*.tfrecord",), data_root="/data"),
     "--data_root applies to --data_list only"),
    (dict(data_list=("l.txt",)),
     "--synthetic, --data_list and --data_shards exclude each other: give one (got "
     "--synthetic and --data_list)"),
    (dict(data_shards=("s/*",)), "(got --synthetic and --data_shards)"),
    (dict(synthetic=False, data_list=("l.txt",), data_shards=("s/*",)),
     "(got --data_list and --data_shards)"),
    (dict(synthetic=False), "give --data_list (with --data_root), --data_shards or "
                            "--synthetic"),
])
def test_data_flag_errors_name_the_flag(tmp_path, overrides, needle):
    values = dict(synthetic=True)
    values.update(overrides)
    with pytest.raises(ValueError) as info:
        tiny(tmp_path, **values).validate()
    assert needle in str(info.value)


def test_good_data_flags_validate_and_become_pipeline_options(tmp_path):
    config = tiny(tmp_path, data_shards=("s/*.tfrecord",), window="random", stride=3,
                  strip_size=64, resize="bilinear", data_cache=True, strict_data=True,
                  data_full_checks=True,
                  data_service="grpc://dispatcher.example:5050").validate()
    for address in ("host:5050", "grpc://10.0.0.7:5050", ""):
        assert config.replace(data_service=address).validate()
    clip, read = input_lib.data_options(config)
    assert clip == ClipOptions(config.model.frames, config.model.size, window="random", stride=3,
                               strip_size=64, resize="bilinear")
    assert read == ReadOptions(seed=config.training.seed, deterministic=True,
                               shuffle_buffer=config.training.shuffle_buffer, cache=True, strict=True,
                               full_checks=True, service="grpc://dispatcher.example:5050")
    assert input_lib.data_source(config) == ShardSource(("s/*.tfrecord",))
    # Default flags ask for the library's defaults (--strip_size=0 and --data_service=''
    # become None); training only pins the order (seed, deterministic) and the buffer.
    defaults = training.config.make(data_list=("l.txt",), data_root="/data")
    clip, read = input_lib.data_options(defaults)
    assert clip == ClipOptions(defaults.model.frames, defaults.model.size)
    assert dataclasses.replace(read, seed=None, deterministic=None,
                               shuffle_buffer=None) == ReadOptions()
    assert input_lib.data_source(defaults) == ListSource(("l.txt",), "/data")
    assert input_lib.data_source(defaults.replace(data_root="")) == ListSource(
        ("l.txt",), None)  # no root: entries are relative to the list file


# (b) TFRecord shards.
@pytest.mark.slow
def test_run_from_tfrecord_shards(data, tmp_path):
    shards = os.path.join(os.path.dirname(data["shards"][0]), "*.tfrecord")
    assert len(data["shards"]) == 2
    config = tiny(tmp_path / "run", data_shards=(shards,), steps=2, steps_per_epoch=2)
    gan = training.train(config)
    run = tmp_path / "run"
    assert int(gan.g_optimizer.iterations) == 2
    assert (run / "checkpoints" / "ckpt-2.index").exists()
    assert tf.train.latest_checkpoint(str(run / "checkpoints")).endswith("ckpt-2")
    events = read_events(str(run / "tensorboard"))
    # The clips came out of the shards: 2 steps of 4 (and read-ahead), none skipped.
    (step, passed), = events["data/passed"]
    assert step == 2 and passed >= 8
    assert events["data/skipped"] == [(2, 0.0)]
    # config.json holds the new fields and loads back into the same TrainConfig.
    saved = json.load(open(run / "config.json"))
    assert saved["data_shards"] == [shards] and saved["resize"] == "dct"
    loaded = training.config.load_config(saved)
    assert loaded == config and loaded.validate()


@pytest.mark.slow
def test_training_data_reads_shards_like_the_list(data):
    """The same clips from the shards as from the list they were made of."""
    shards = os.path.join(os.path.dirname(data["shards"][0]), "*.tfrecord")
    common = dict(model_dir="unused", batch_size=GOOD, frames=8, size=16)
    from_list = input_lib.training_data(training.from_preset(
        "tiny", data_list=(data["good_list"],), data_root=data["root"], **common))
    from_shards = input_lib.training_data(training.from_preset(
        "tiny", data_shards=(shards,), **common))
    a = next(iter(from_list)).numpy()
    b = next(iter(from_shards)).numpy()
    assert a.shape == b.shape == (GOOD, 8, 16, 16, 3)
    # Different orders, same set of clips.
    assert np.allclose(np.sort(a.reshape(GOOD, -1).sum(1)), np.sort(b.reshape(GOOD, -1).sum(1)),
                       atol=1e-3)


# (c) bad files mixed with good ones: the run completes and the counts are exact.
def _capture_logs(monkeypatch):
    lines = []
    for level in ("info", "warning"):
        monkeypatch.setattr(callbacks_lib.logging, level,
                            lambda fmt, *args, _l=level: lines.append(fmt % args))
    return lines


@pytest.mark.slow
def test_skipped_strips_counted_exactly_with_cache(data, tmp_path, monkeypatch, capfd):
    """With --data_cache each bad file is read once: exact counts at every summary."""
    lines = _capture_logs(monkeypatch)
    config = tiny(tmp_path / "run", data_list=(data["mixed_list"],), data_root=data["root"],
                  data_cache=True)
    gan = training.train(config)
    assert int(gan.g_optimizer.iterations) == 4
    assert (tmp_path / "run" / "checkpoints" / "ckpt-4.index").exists()
    events = read_events(str(tmp_path / "run" / "tensorboard"))
    assert events["data/skipped"] == [(2, 5.0), (4, 5.0)]
    for reason, count in EXPECTED.items():
        assert events[f"data/skipped/{reason}"] == [(2, count), (4, count)], reason
    for reason in ("corrupt", "not_square", "wrong_shape"):
        assert f"data/skipped/{reason}" not in events
    progress = [l for l in lines if l.startswith("step ")]
    assert len(progress) == 2 and all(l.endswith("  " + EXPECTED_LINE) for l in progress)
    final = [l for l in lines if l.startswith("Data: skipped")]
    assert final == [f"Data: {EXPECTED_LINE} bad strips during "
                     f"training (counted per read: once per epoch that reached the file, "
                     f"once with --data_cache); each was named in a 'vgan_tf.data: "
                     f"skipped strip' line"]
    err = capfd.readouterr().err
    for reason, rels in BAD.items():
        for rel in rels:
            assert f'{os.path.join(data["root"], rel)}" reason: "{reason}"' in err, rel


@pytest.mark.slow
def test_skipped_strips_counted_per_read_without_cache(data, tmp_path, monkeypatch):
    """Without the cache a bad file counts once per pass: 16 clips from 6 good ones take at
    least two full passes by step 4, so every count is at least twice the list's (and the
    read-ahead is bounded: measured 5 passes at step 4)."""
    lines = _capture_logs(monkeypatch)
    config = tiny(tmp_path / "run", data_list=(data["mixed_list"],), data_root=data["root"])
    training.train(config)
    events = read_events(str(tmp_path / "run" / "tensorboard"))
    step, total = events["data/skipped"][-1]
    assert step == 4
    reasons = {tag.split("/")[-1]: values[-1][1] for tag, values in events.items()
               if tag.startswith("data/skipped/")}
    assert set(reasons) == set(EXPECTED)
    for reason, count in EXPECTED.items():
        assert 2 * count <= reasons[reason] <= 12 * count, (reason, reasons)
    assert total == sum(reasons.values())
    final = [l for l in lines if l.startswith("Data: skipped ")]
    assert len(final) == 1 and " (missing " in final[0]
    assert int(final[0].split()[2]) >= total  # read later: the read-ahead may add more


@pytest.mark.slow
def test_strict_data_stops_naming_the_file(data, tmp_path):
    config = tiny(tmp_path / "run", data_list=(data["mixed_list"],), data_root=data["root"],
                  strict_data=True)
    with pytest.raises(training.BadDataError) as info:
        training.train(config)
    message = str(info.value)
    assert message.startswith("--strict_data: bad strip")
    named = [(rel, reason) for reason, rels in BAD.items() for rel in rels
             if f'"{os.path.join(data["root"], rel)}" reason: {reason} ' in message]
    assert len(named) == 1, message  # the file and its reason
    assert "training stopped after " in message


@pytest.mark.slow
def test_a_run_whose_every_strip_is_refused_stops_with_one_error(tmp_path):
    """Every strip passes the header checks and the decode stage refuses each (damaged
    scans, corrupt_data): the stream ends (it once spun for ever) and the run stops with
    DataRanOutError naming the skips; no final model is written."""
    from tests.data.test_flipped_bits import _flip
    rng = np.random.default_rng(3)
    names = []
    for i in range(3):
        frames = synthetic.render_clip(4, i, frames=8, size=16)[0]
        while True:
            damaged = _flip(strips.encode_strip(frames), 3, rng)
            if bool(strips.scan_damaged(damaged, 8 * 16, 16)):
                break
        (tmp_path / f"b{i}.jpg").write_bytes(damaged)
        names.append(f"b{i}.jpg")
    list_file = lists.write_list(str(tmp_path / "bad.txt"), names)
    config = tiny(tmp_path / "run", data_list=(list_file,), data_root=str(tmp_path))
    with pytest.raises(training.DataRanOutError) as info:
        training.train(config)
    assert "ran out before step 4" in str(info.value) and "corrupt_data" in str(info.value)
    assert not os.path.exists(run_lib.final_model_path(config))


# (d) random windows with a stride.
@pytest.mark.slow
def test_random_window_with_stride(data, tmp_path):
    """Every training clip is frames s, s+2, ..., s+14 of one 20-frame strip, and the
    random windows do not all start at 0; a 2-step run trains and checkpoints."""
    config = tiny(tmp_path / "run", data_list=(data["long_list"],), data_root=data["long_dir"],
                  window="random", stride=2, resize="bilinear", strip_size=16, steps=2)
    strips_ = [strips.read_strip(p).astype(np.float32) / 127.5 - 1
               for p in lists.read_lists(data["long_list"]).resolve(data["long_dir"])]
    batches = input_lib.training_data(config).take(3)
    starts = []
    for batch in batches.as_numpy_iterator():
        for clip in batch:
            found = [s for strip in strips_ for s in range(20 - 15 + 1)
                     if np.allclose(clip, strip[s:s + 15:2], atol=1e-5)]
            assert found, "a clip that is no stride-2 window of any strip"
            starts.append(found[0])
    assert len(starts) == 12 and set(starts) != {0}
    first = config.replace(window="first")
    for clip in next(iter(input_lib.training_data(first))).numpy():
        assert any(np.allclose(clip, strip[0:15:2], atol=1e-5) for strip in strips_)
    gan = training.train(config)
    assert int(gan.g_optimizer.iterations) == 2
    assert (tmp_path / "run" / "checkpoints" / "ckpt-2.index").exists()


@pytest.mark.slow
def test_run_on_tf_data_service(data, tmp_path, monkeypatch):
    """A loopback dispatcher and worker: the run trains from the service, says in a log
    line that skips are not counted here, and writes no data/ scalars."""
    from vgan_tf.data import service
    lines = _capture_logs(monkeypatch)
    dispatcher = service.start_dispatcher()
    worker = service.start_worker(dispatcher.target)
    assert dispatcher.target.startswith("grpc://")
    config = tiny(tmp_path / "run", data_list=(data["mixed_list"],), data_root=data["root"],
                  data_service=dispatcher.target, steps=2)
    assert input_lib.make_skip_counter(config) is None
    try:
        gan = training.train(config)
    finally:
        worker.stop()
        dispatcher.stop()
    assert int(gan.g_optimizer.iterations) == 2
    assert (tmp_path / "run" / "checkpoints" / "ckpt-2.index").exists()
    assert any(l.startswith("--data_service: skipped strips are logged by the tf.data "
                            "service workers") for l in lines), lines
    events = read_events(str(tmp_path / "run" / "tensorboard"))
    assert "losses/d_loss" in events and not [t for t in events if t.startswith("data/")]
    assert not [l for l in lines if l.startswith("Data: skipped")]


# (e) the binary.
def run_tool(*args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=REPO)
    return subprocess.run([sys.executable, "-m", "tools.train", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


def _flags(**settings):
    return [f"--{k}={v}" if not isinstance(v, bool) else f"--{'' if v else 'no'}{k}"
            for k, v in settings.items()]


@pytest.mark.slow
def test_binary_accepts_the_data_flags(data, tmp_path):
    run = tmp_path / "run"
    result = run_tool("--preset=tiny", f"--model_dir={run}", f"--data_list={data['mixed_list']}",
                      f"--data_root={data['root']}", "--window=random", "--stride=2",
                      "--strip_size=16", "--resize=bilinear", "--data_cache",
                      "--nostrict_data", "--data_service=", *_flags(**SETTINGS))
    assert result.returncode == 0, result.stderr[-3000:]
    progress = [l for l in result.stderr.splitlines() if "step 2/4 " in l or "step 4/4 " in l]
    assert len(progress) == 2 and all(l.endswith("  " + EXPECTED_LINE) for l in progress)
    assert f"Data: {EXPECTED_LINE} bad strips during training" in result.stderr
    assert (run / "checkpoints" / "ckpt-4.index").exists()
    saved = json.load(open(run / "config.json"))
    assert {k: saved[k] for k in ("window", "stride", "strip_size", "resize", "data_cache",
                                  "strict_data", "data_service")} == dict(
        window="random", stride=2, strip_size=16, resize="bilinear", data_cache=True,
        strict_data=False, data_service="")


@pytest.mark.slow
def test_binary_shards_and_flag_errors(data, tmp_path):
    shards = os.path.join(os.path.dirname(data["shards"][0]), "*.tfrecord")
    run = tmp_path / "run"
    result = run_tool("--preset=tiny", f"--model_dir={run}", f"--data_shards={shards}",
                      *_flags(**dict(SETTINGS, steps=2)))
    assert result.returncode == 0, result.stderr[-3000:]
    assert (run / "checkpoints" / "ckpt-2.index").exists()
    assert json.load(open(run / "config.json"))["data_shards"] == [shards]
    for args, needle in (
            (["--synthetic", "--stride=0"], "--stride must be a positive integer"),
            ([f"--data_shards={shards}", f"--data_list={data['good_list']}"],
             "exclude each other"),
            ([f"--data_shards={tmp_path}/none-*.tfrecord"], "matches no file")):
        result = run_tool("--preset=tiny", f"--model_dir={tmp_path / 'bad'}", *args)
        assert result.returncode != 0 and needle in result.stderr, (args, result.stderr[-2000:])
        assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_binary_strict_data_exits_with_the_file(data, tmp_path):
    result = run_tool("--preset=tiny", f"--model_dir={tmp_path / 'run'}",
                      f"--data_list={data['mixed_list']}", f"--data_root={data['root']}",
                      "--strict_data", *_flags(**SETTINGS))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    stopped = [l for l in result.stderr.splitlines()
               if l.startswith("Training stopped: --strict_data: bad strip")]
    assert stopped and any(f'"{os.path.join(data["root"], rel)}" reason: {reason} '
                           in stopped[0] for reason, rels in BAD.items() for rel in rels), (
        result.stderr[-3000:])
