"""The Beam path writes what the local runner writes (needs [beam]): in this process
(DirectRunner) and in worker processes (DirectRunner's multi_processing mode); a run
whose worker is killed mid-video is run again (--beam_retries) to the outputs of an
uninterrupted one, and without retries stops and resumes on a rerun; mistakes found
before the pipeline runs are not retried; the TFRecord shards it writes with --shards
are vgan-make-shards' and read as the list's clips."""
from __future__ import annotations

import dataclasses
import json
import os
import re
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


def _killed_run(folder, pids_file, out_dir, *flags):
    """vgan-prepare on 2 worker processes with `flags`, one worker SIGKILLed inside its
    second video -> (the process, its stderr, the process ids recorded before the
    kill)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.prepare_videos", f"--input={folder}",
         f"--out_dir={out_dir}", "--min_frames=8", "--max_frames=12",
         f"--scene_filter={RECORDED.scene_filter}", "--runner=DirectRunner",
         f"--beam_options={' '.join(MULTI_PROCESS)}", *flags],
        cwd=REPO, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        victim = _mid_second_video(pids_file, process)
        before = set(_pids(pids_file))
        os.kill(victim, signal.SIGKILL)
        _, err = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    deadline = time.time() + 60
    while any(map(_alive, set(_pids(pids_file)))) and time.time() < deadline:
        time.sleep(0.1)
    assert not any(map(_alive, set(_pids(pids_file))))  # no worker outlives the run
    return process, err, before


def _uninterrupted(folder, tmp_path, monkeypatch) -> dict:
    _record_processes(monkeypatch, tmp_path / "whole.pids")
    whole = prepare_videos(folder, str(tmp_path / "whole"), RECORDED, workers=1,
                           progress=False)
    assert whole["total"]["clips_written"] == 12  # 38 frames a video: 3 clips of 12
    return whole


RETRY_LINE = re.compile(r"the DirectRunner pipeline failed \((.+)\); retrying: attempt "
                        r"2 of 3, the (\d+) videos already done are kept")


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
def test_a_worker_killed_mid_video_is_retried_to_the_uninterrupted_outputs(
        tmp_path, monkeypatch):
    """The DirectRunner does not retry the bundle of a killed worker; run_pipeline runs
    the pipeline again (--beam_retries, default 2): the command exits 0 after one retry
    line; no worker of the failed attempt works once the retry's workers have begun;
    the finished videos are kept (their clips counted as from an earlier run), the others
    redone: strips, list and summary those of an uninterrupted run, each clip once."""
    folder = _shaky_videos(tmp_path / "in", 4, frames=40)
    pids_file = _record_processes(monkeypatch, tmp_path / "killed.pids")
    killed_dir = tmp_path / "killed"
    process, err, before = _killed_run(folder, pids_file, killed_dir)
    assert process.returncode == 0, err[-3000:]
    retries = RETRY_LINE.findall(err)
    assert len(retries) == 1, err[-3000:]
    assert "rerun the same command" not in err
    kept = int(retries[0][1])
    assert 1 <= kept < 4
    recorded = _pids(pids_file)
    first_new = next(i for i, pid in enumerate(recorded) if pid not in before)
    assert not before & set(recorded[first_new:])  # the attempts never overlapped
    summary = json.load(open(killed_dir / corpus.SUMMARY_NAME))["total"]
    assert (summary["videos_from_earlier_run"], summary["clips_from_earlier_run"],
            summary["clips_written"]) == (kept, 3 * kept, 12 - 3 * kept)
    _uninterrupted(folder, tmp_path, monkeypatch)
    listed = _listed(killed_dir)
    assert len(listed) == len(set(listed)) == 12 and listed == _listed(tmp_path / "whole")
    assert _outputs(str(killed_dir)) == _outputs(str(tmp_path / "whole"))


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
def test_with_no_retries_a_killed_worker_stops_the_run_and_a_rerun_resumes(
        tmp_path, monkeypatch):
    """--beam_retries=0: the run stops (exit 1, a line saying a rerun resumes), its other
    worker ends with it, no list is written; the rerun keeps the finished videos, redoes
    the others and lists each clip once: strips, list and summary those of an
    uninterrupted run."""
    folder = _shaky_videos(tmp_path / "in", 4, frames=40)
    pids_file = _record_processes(monkeypatch, tmp_path / "killed.pids")
    killed_dir = tmp_path / "killed"
    process, err, _ = _killed_run(folder, pids_file, killed_dir, "--beam_retries=0")
    assert process.returncode == 1, err[-3000:]
    assert "vgan_tf.prepare: the DirectRunner pipeline failed; the videos it finished " \
        "keep their strips and markers in" in err
    assert "rerun the same command to resume" in err and "retrying" not in err
    assert not (killed_dir / corpus.LIST_NAME).exists()
    finished = [name for name in os.listdir(killed_dir)
                if (killed_dir / name / video_lib.MARKER).exists()]
    assert 1 <= len(finished) < 4, finished

    rerun = beam_runner.run_pipeline(folder, str(killed_dir), RECORDED, "DirectRunner",
                                     MULTI_PROCESS)
    _uninterrupted(folder, tmp_path, monkeypatch)
    assert (rerun["total"]["clips_written"], rerun["total"]["clips_from_earlier_run"]) == \
        (12 - 3 * len(finished), 3 * len(finished))
    listed = _listed(killed_dir)
    assert len(listed) == len(set(listed)) == 12 and listed == _listed(tmp_path / "whole")
    assert _outputs(str(killed_dir)) == _outputs(str(tmp_path / "whole"))


def _failing(monkeypatch, *failing_calls) -> list:
    """video.prepare_video raising RuntimeError at its calls numbered `failing_calls`
    (from 0) in this process (in-process runners only) -> the list of its calls' ids."""
    calls, real = [], video_lib.prepare_video

    def prepare(path, video_id, out_dir, options, on_frame=None):
        calls.append(video_id)
        if len(calls) - 1 in failing_calls:
            raise RuntimeError(f"failure {len(calls) - 1}")
        return real(path, video_id, out_dir, options, on_frame)
    monkeypatch.setattr(video_lib, "prepare_video", prepare)
    return calls


@pytest.mark.slow
def test_a_failed_attempt_is_run_again_keeping_the_finished_videos(
        tmp_path, monkeypatch, capsys):
    """In this process (FnApiRunner, one worker): the second video's preparation fails
    once -> one retry line counting the one finished video; the retry reads it back from
    its marker and redoes the others; outputs those of the local runner."""
    folder = _shaky_videos(tmp_path / "in", 3, frames=30)
    local = prepare_videos(folder, str(tmp_path / "local"), OPTIONS, workers=1,
                           progress=False)
    capsys.readouterr()
    calls = _failing(monkeypatch, 1)
    beam = beam_runner.run_pipeline(folder, str(tmp_path / "beam"), OPTIONS,
                                    "FnApiRunner")
    err = capsys.readouterr().err
    assert ("vgan_tf.prepare: the FnApiRunner pipeline failed (RuntimeError: failure 1 "
            "[while running 'Prepare']); retrying: attempt 2 of 3, the 1 videos already "
            "done are kept") in err
    assert err.count("retrying") == 1 and "rerun the same command" not in err
    assert len(calls) == 5 and sorted(calls[2:]) == sorted(set(calls))  # 2 + 3
    assert local["total"]["clips_written"] == 6  # 28 frames a video: 2 clips of 12
    assert (beam["total"]["videos_from_earlier_run"], beam["total"]["clips_written"],
            beam["total"]["clips_from_earlier_run"]) == (1, 4, 2)
    assert corpus.without_run_keys(beam) == corpus.without_run_keys(local)
    assert _outputs(str(tmp_path / "beam")) == _outputs(str(tmp_path / "local"))


@pytest.mark.slow
def test_when_every_attempt_fails_the_error_is_raised_and_a_rerun_resumes(
        tmp_path, monkeypatch, capsys):
    folder = _shaky_videos(tmp_path / "in", 3, frames=30)
    out = str(tmp_path / "out")
    _failing(monkeypatch, 1, 3)  # the first attempt's 2nd call, the second's 2nd
    with pytest.raises(RuntimeError, match="failure 3"):
        beam_runner.run_pipeline(folder, out, OPTIONS, "FnApiRunner", retries=1)
    err = capsys.readouterr().err
    assert "retrying: attempt 2 of 2, the 1 videos already done are kept" in err
    assert (f"vgan_tf.prepare: the FnApiRunner pipeline failed 2 times; the videos it "
            f"finished keep their strips and markers in {out}: rerun the same command "
            "to resume") in err
    calls = _failing(monkeypatch, 0)  # retries=0: today's behaviour
    with pytest.raises(RuntimeError, match="failure 0"):
        beam_runner.run_pipeline(folder, out, OPTIONS, "FnApiRunner", retries=0)
    err = capsys.readouterr().err
    assert "retrying" not in err and calls == [calls[0]]
    assert (f"vgan_tf.prepare: the FnApiRunner pipeline failed; the videos it finished "
            f"keep their strips and markers in {out}: rerun the same command to "
            "resume") in err
    assert not os.path.exists(os.path.join(out, corpus.LIST_NAME))
    finished = beam_runner.finished_videos(out, corpus.video_ids(
        corpus.find_videos(folder)))
    assert finished in (1, 2)  # the second attempt's first call may have read one back
    monkeypatch.undo()
    rerun = beam_runner.run_pipeline(folder, out, OPTIONS, "FnApiRunner", retries=0)
    assert (rerun["total"]["videos_from_earlier_run"], rerun["total"]["clips_listed"]) \
        == (finished, 6)


def test_mistakes_found_before_the_pipeline_runs_are_not_retried(tmp_path, monkeypatch,
                                                                  capsys):
    folder = _shaky_videos(tmp_path / "in", 1, frames=4)
    calls = _failing(monkeypatch)
    with pytest.raises(ValueError, match="--beam_retries must be >= 0, got -1"):
        beam_runner.run_pipeline(folder, str(tmp_path / "out"), OPTIONS, retries=-1)
    with pytest.raises(ValueError, match="Unexpected pipeline runner: NoSuchRunner"):
        beam_runner.run_pipeline(folder, str(tmp_path / "out"), OPTIONS, "NoSuchRunner")
    with pytest.raises(FileNotFoundError, match="no such file"):
        beam_runner.run_pipeline(str(tmp_path / "none"), str(tmp_path / "out"), OPTIONS)
    err = capsys.readouterr().err
    assert calls == [] and "retrying" not in err and "rerun" not in err


def test_finished_videos_counts_this_runs_markers(tmp_path):
    for name in ("a", "b", "other"):
        os.makedirs(tmp_path / "out" / name)
        (tmp_path / "out" / name / video_lib.MARKER).write_text("{}")
    os.makedirs(tmp_path / "out" / "c")  # started, not finished
    assert beam_runner.finished_videos(str(tmp_path / "out"), ["a", "b", "c"]) == 2
    odd = tmp_path / "o[u]t*"  # glob characters in the folder's own name
    os.makedirs(odd / "a")
    (odd / "a" / video_lib.MARKER).write_text("{}")
    assert beam_runner.finished_videos(str(odd), ["a", "b"]) == 1


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
