"""The Beam path writes what the local runner writes (needs [beam]): in this process
(DirectRunner) and in worker processes (DirectRunner's multi_processing mode); a run
whose worker is killed mid-video resumes to the outputs of an uninterrupted one; the
TFRecord shards it writes with --shards are vgan-make-shards' and read as the list's
clips."""
from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.data.prepare import scene_filters, videos
from tests.data.prepare.test_corpus import OPTIONS, _inputs, _outputs
from tests.helpers import REPO
from vgan_tf.data.prepare import beam as beam_runner
from vgan_tf.data.prepare import corpus, prepare_videos
from vgan_tf.data.prepare import video as video_lib

pytest.importorskip("apache_beam", reason="apache_beam is not installed (the [beam] extra)")

MULTI_PROCESS = ("--direct_running_mode=multi_processing", "--direct_num_workers=2")
RECORDED = dataclasses.replace(
    OPTIONS, scene_filter="tests.data.prepare.scene_filters:record_process")
"""OPTIONS with a scene filter that keeps every clip and records its process id."""


@pytest.mark.slow
def test_local_and_direct_runner_outputs_are_identical(tmp_path, capsys):
    folder = _inputs(str(tmp_path / "in"))
    videos.truncate(videos.shaky_video(f"{folder}/cut.avi", frames=40, seed=2), 0.5)
    local = prepare_videos(folder, str(tmp_path / "local"), OPTIONS, workers=1,
                           progress=False)
    local_err = capsys.readouterr().err
    beam = beam_runner.run_pipeline(folder, str(tmp_path / "beam"), OPTIONS,
                                    runner="DirectRunner")
    beam_err = capsys.readouterr().err
    total = local["total"]
    assert total["clips_written"] >= 4 and total["videos_failed"] == 4
    assert total["videos_truncated"] == 1 and local["truncated"][0]["frames_declared"] == 40
    assert corpus.without_run_keys(beam) == corpus.without_run_keys(local)
    assert beam["total"]["clips_written"] == total["clips_written"]
    assert _outputs(str(tmp_path / "beam")) == _outputs(str(tmp_path / "local"))
    problems = corpus.problem_lines(local)
    assert len(problems) == 5 and all(line in local_err for line in problems)
    assert all(line in beam_err for line in problems)  # the Beam path says the same
    # the Beam path resumes from the same markers: a second run changes nothing, and
    # counts the clips as the earlier run's
    again = beam_runner.run_pipeline(folder, str(tmp_path / "beam"), OPTIONS)
    assert corpus.without_run_keys(again) == corpus.without_run_keys(local)
    assert (again["total"]["clips_written"], again["total"]["clips_from_earlier_run"]) == \
        (0, total["clips_written"])


def test_direct_runner_modes_run_on_the_fn_api_runner():
    """The FnApiRunner honours --direct_running_mode; DirectRunner would try Prism first
    (in-process workers, whatever the mode)."""
    assert beam_runner.engine("DirectRunner", MULTI_PROCESS) == "FnApiRunner"
    assert beam_runner.engine("DirectRunner", ["--direct_running_mode",
                                               "multi_threading"]) == "FnApiRunner"
    assert beam_runner.engine("DirectRunner", ["--direct_num_workers=2"]) == "DirectRunner"
    assert beam_runner.engine("DataflowRunner", MULTI_PROCESS) == "DataflowRunner"


def _shaky_videos(folder, count: int, frames: int) -> str:
    os.makedirs(folder, exist_ok=True)
    for seed in range(count):
        videos.shaky_video(os.path.join(folder, f"v{seed}.avi"), frames=frames, seed=seed)
    return str(folder)


def _record_processes(monkeypatch, path) -> str:
    """RECORDED's filter appends to `path`; worker processes import this checkout."""
    monkeypatch.setenv(scene_filters.PIDS_FILE, str(path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        filter(None, [REPO, os.environ.get("PYTHONPATH")])))
    return str(path)


def _pids(path) -> list:
    return [int(line) for line in open(path).read().split()] if os.path.exists(path) \
        else []


def _listed(out_dir) -> list:
    text = open(os.path.join(out_dir, corpus.LIST_NAME)).read()
    return [line for line in text.splitlines() if not line.startswith("#")]


def _shard_files(folder) -> dict:
    return {name: open(os.path.join(folder, name), "rb").read()
            for name in sorted(os.listdir(folder))}


def _make_shards(out_dir, folder, num_shards: int) -> dict:
    """The shards vgan-make-shards writes from `<out_dir>/train.txt` ({name: bytes})."""
    from vgan_tf.data import ListSource, write_shards
    write_shards(ListSource(os.path.join(out_dir, corpus.LIST_NAME)), str(folder),
                 num_shards, progress=False)
    return _shard_files(folder)


@pytest.mark.slow
def test_two_worker_processes_write_what_the_local_runner_writes(tmp_path, monkeypatch):
    folder = _shaky_videos(tmp_path / "in", 3, frames=30)
    pids = _record_processes(monkeypatch, tmp_path / "local.pids")
    local = prepare_videos(folder, str(tmp_path / "local"), RECORDED, workers=1,
                           progress=False)
    assert set(_pids(pids)) == {os.getpid()}
    pids = _record_processes(monkeypatch, tmp_path / "beam.pids")
    beam = beam_runner.run_pipeline(folder, str(tmp_path / "beam"), RECORDED,
                                    "DirectRunner", MULTI_PROCESS, shards=2)
    # 28 frames a video: clips of 12, 12 and 4 (too short); every kept clip was filtered
    # in one of two worker processes, none in this one
    assert local["total"]["clips_written"] == len(_pids(pids)) == 6
    assert len(set(_pids(pids))) == 2 and os.getpid() not in _pids(pids)
    assert corpus.without_run_keys(beam) == corpus.without_run_keys(local)
    outputs = _outputs(str(tmp_path / "beam"))
    shards = [name for name in outputs if name.startswith(beam_runner.SHARDS_DIR + os.sep)]
    assert len(shards) == 2
    assert {k: v for k, v in outputs.items() if k not in shards} == \
        _outputs(str(tmp_path / "local"))
    assert _shard_files(tmp_path / "beam" / beam_runner.SHARDS_DIR) == \
        _make_shards(str(tmp_path / "local"), tmp_path / "made", 2)


def _alive(pid: int) -> bool:
    """Whether process `pid` runs (a zombie left to a parent that does not reap counts
    as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _mid_second_video(pids_file, process) -> int:
    """Waits until a worker has filtered 4 or 5 clips (3 per video: it has finished one
    video and is inside its second) -> that worker's process id."""
    deadline = time.time() + 240
    while process.poll() is None and time.time() < deadline:
        found = _pids(pids_file)
        busy = [pid for pid in set(found) if found.count(pid) in (4, 5)]
        if busy:
            return busy[0]
        time.sleep(0.005)
    raise AssertionError(f"no worker reached its second video: {_pids(pids_file)}")


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
def test_a_worker_killed_mid_video_and_a_rerun_give_the_uninterrupted_outputs(
        tmp_path, monkeypatch):
    """DirectRunner does not retry the bundle of a killed worker: the run stops (exit
    1, a line saying a rerun resumes), its other worker ends with it, no list is
    written; the rerun keeps the finished videos, redoes the others and lists each clip
    once: strips, list and summary those of an uninterrupted run."""
    folder = _shaky_videos(tmp_path / "in", 4, frames=40)
    pids_file = _record_processes(monkeypatch, tmp_path / "killed.pids")
    killed_dir = tmp_path / "killed"
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.prepare_videos", f"--input={folder}",
         f"--out_dir={killed_dir}", "--min_frames=8", "--max_frames=12",
         f"--scene_filter={RECORDED.scene_filter}", "--runner=DirectRunner",
         f"--beam_options={' '.join(MULTI_PROCESS)}"],
        cwd=REPO, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        victim = _mid_second_video(pids_file, process)
        os.kill(victim, signal.SIGKILL)
        out, err = process.communicate(timeout=240)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 1, err[-3000:]
    assert "rerun the same command to resume" in err
    deadline = time.time() + 60
    while any(map(_alive, set(_pids(pids_file)))) and time.time() < deadline:
        time.sleep(0.1)
    assert not any(map(_alive, set(_pids(pids_file))))  # no worker outlives the run
    assert not (killed_dir / corpus.LIST_NAME).exists()
    finished = [name for name in os.listdir(killed_dir)
                if (killed_dir / name / video_lib.MARKER).exists()]
    assert 1 <= len(finished) < 4, finished

    rerun = beam_runner.run_pipeline(folder, str(killed_dir), RECORDED, "DirectRunner",
                                     MULTI_PROCESS)
    _record_processes(monkeypatch, tmp_path / "whole.pids")
    whole = prepare_videos(folder, str(tmp_path / "whole"), RECORDED, workers=1,
                           progress=False)
    assert whole["total"]["clips_written"] == 12  # 38 frames a video: 3 clips of 12
    assert (rerun["total"]["clips_written"], rerun["total"]["clips_from_earlier_run"]) == \
        (12 - 3 * len(finished), 3 * len(finished))
    listed = _listed(killed_dir)
    assert len(listed) == len(set(listed)) == 12 and listed == _listed(tmp_path / "whole")
    assert _outputs(str(killed_dir)) == _outputs(str(tmp_path / "whole"))


@pytest.mark.slow
def test_the_shards_are_read_as_the_clips_of_the_list(tmp_path, capsys):
    import tensorflow as tf
    from vgan_tf.data import (ClipOptions, ListSource, ReadOptions, ShardSource,
                              tfrecord, video_dataset)

    folder = _shaky_videos(tmp_path / "in", 2, frames=30)
    out = str(tmp_path / "out")
    beam_runner.run_pipeline(folder, out, OPTIONS, "DirectRunner", shards=3)
    pattern = beam_runner.shard_pattern(out, 3)
    assert f"wrote 3 TFRecord shards of the listed strips: --data_shards='{pattern}'" \
        in capsys.readouterr().err
    listed = _listed(out)
    records = [tfrecord.parse_record(r) for r in tf.data.TFRecordDataset(
        tfrecord.expand_shards(pattern))]
    assert sorted(r["path"].numpy().decode() for r in records) == sorted(listed)
    assert len(listed) == 4 and {int(r["label"]) for r in records} == {-1}

    def clips(source):
        dataset = video_dataset(source, ClipOptions(frames=12, size=64), None,
                                ReadOptions(shuffle=False, repeat=False))
        return sorted(clip.tobytes() for clip in dataset.as_numpy_iterator())
    from_list = clips(ListSource(os.path.join(out, corpus.LIST_NAME)))
    assert len(from_list) == 4 and clips(ShardSource(pattern)) == from_list
    assert np.frombuffer(from_list[0], np.float32).std() > 0.1  # real frames
    # a rerun with another count replaces the shards: no clip twice under the folder
    beam_runner.run_pipeline(folder, out, OPTIONS, "DirectRunner", shards=2)
    assert _shard_files(os.path.join(out, beam_runner.SHARDS_DIR)) == \
        _make_shards(out, tmp_path / "made", 2)
