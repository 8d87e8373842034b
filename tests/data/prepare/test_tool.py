"""tools/prepare_videos.py: the flags are PrepareRun's settings (its own and its
PrepareOptions'), mistakes are one line, failed or truncated videos give exit status 3, a
killed and resumed run gives the outputs of an uninterrupted one and counts what the
earlier run wrote apart."""
from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.data.prepare import videos
from tests.data.prepare.test_corpus import _outputs
from tests import helpers
from tests.helpers import REPO
from vgan_tf import config_flags
from vgan_tf.data.prepare import PrepareOptions, PrepareRun, corpus
from vgan_tf.data.prepare import video as video_lib


RUN_FLAGS = {"input", "out_dir", "workers", "runner", "beam_options", "progress",
             "shards", "beam_retries"}


@pytest.mark.slow
def test_the_flags_are_the_options_fields():
    """Every flag of the binary is a setting of PrepareRun, with its default and help: the
    eight of the run and every field of PrepareOptions. In a subprocess: absl flags are one
    registry per process, and another binary's flags (vgan-train's --size) share names
    with these."""
    flags = helpers.binary_flags("tools.prepare_videos")
    settings = {f.name: f for f in config_flags.settings(PrepareRun)}
    fields = {f.name for f in dataclasses.fields(PrepareOptions)}
    assert set(flags) == set(settings) == fields | RUN_FLAGS
    defaults = PrepareOptions()
    for name, field in settings.items():
        default, text = flags[name]
        expected = getattr(defaults, name) if name in fields else field.default
        assert default == expected, name
        assert text.startswith(field.metadata["help"]) or text.endswith(
            field.metadata["help"]), name  # enums put "<a|b>: " first
    assert flags["input"][0] is None and flags["out_dir"][0] is None  # required flags


def test_a_run_is_built_from_flat_settings_and_validated():
    run = config_flags.build(PrepareRun, dict(input=("a", "b"), out_dir="out", size=64,
                                              beam_options="--project=P --x='a b'"))
    assert run.options == PrepareOptions(size=64) and run.input == ("a", "b")
    assert (run.workers, run.runner, run.progress, run.shards) == (None, "local", True, 0)
    beam = config_flags.build(PrepareRun, dict(input=("a",), out_dir="o", shards=4,
                                               runner="DirectRunner"))
    assert beam.shards == 4
    assert run.beam_args == ["--project=P", "--x=a b"]
    assert config_flags.flatten(run)["size"] == 64
    for values, message in [
            (dict(out_dir="out"), "--input is required"),
            (dict(input=("a",)), "--out_dir is required"),
            (dict(input=("a",), out_dir="o", workers=0),
             "--workers must be a positive integer, got 0"),
            (dict(input=("a",), out_dir="o", shards=-1),
             "--shards must be >= 0 (0: none), got -1"),
            (dict(input=("a",), out_dir="o", shards=2),
             "--shards=2 needs a Beam --runner (e.g. DirectRunner); after a local run, "
             "vgan-make-shards --list=<out_dir>/train.txt --out_dir=<out_dir>/shards "
             "--num_shards=2 writes the same shards"),
            (dict(input=("a",), out_dir="o", beam_options="'a"),
             "--beam_options \"'a\": No closing quotation"),
            (dict(input=("a",), out_dir="o", min_frames=20, max_frames=18),
             "--max_frames (18) must be >= min_frames (20)")]:
        with pytest.raises(ValueError) as info:
            config_flags.build(PrepareRun, values)
        assert str(info.value) == message


def _tool(*args, **kwargs):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.Popen([sys.executable, "-m", "tools.prepare_videos", *args],
                            cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


@pytest.mark.slow
@pytest.mark.parametrize("args,needle", [
    (["--input=/no/such/folder"], "--input '/no/such/folder'"),
    (["--max_frames=8"], "max_frames (8) must be >= min_frames (16)"),
    (["--size=0"], "--size must be a positive integer, got 0"),
    (["--jpeg_quality=101"], "--jpeg_quality must be an integer in 1..100, got 101"),
    (["--fps=-2"], "--fps must be > 0, got -2.0"),
    (["--scene_filter=nope"], "scene_filter 'nope'"),
    (["--shards=2"], "--shards=2 needs a Beam --runner"),
])
def test_a_mistake_is_one_line(tmp_path, args, needle):
    path = videos.static_video(str(tmp_path / "v.avi"), frames=20)
    args = args if args[0].startswith("--input") else [f"--input={path}", *args]
    process = _tool(*args, f"--out_dir={tmp_path / 'out'}", "--workers=1")
    out, err = process.communicate(timeout=120)
    lines = [line for line in err.splitlines() if line.startswith("prepare_videos")]
    assert process.returncode == 2, err[-2000:]
    assert len(lines) == 1 and lines[0].startswith("prepare_videos: error: ") and \
        needle in lines[0], err[-2000:]
    assert "Traceback" not in err


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_uninterrupted_outputs(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(4):
        videos.shaky_video(str(folder / f"v{i}.avi"), frames=40, seed=i)
    args = [f"--input={folder}", "--workers=1", "--min_frames=8", "--max_frames=12",
            "--noprogress"]
    whole = _tool(*args, f"--out_dir={tmp_path / 'whole'}")
    out, err = whole.communicate(timeout=300)
    assert whole.returncode == 0, err[-2000:]
    assert "wrote 12 clips from 4 videos" in out

    killed_dir = tmp_path / "killed"
    killed = _tool(*args, f"--out_dir={killed_dir}", start_new_session=True)
    first_marker = killed_dir / "v0" / video_lib.MARKER
    deadline = time.time() + 240
    while not first_marker.exists() and killed.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    os.killpg(killed.pid, signal.SIGKILL)
    killed.communicate(timeout=60)
    markers = [d for d in os.listdir(killed_dir)
               if os.path.exists(killed_dir / d / video_lib.MARKER)]
    assert 1 <= len(markers) < 4, markers  # killed between videos 1 and 4
    assert not (killed_dir / corpus.LIST_NAME).exists()  # no list of a partial run
    stamp = os.stat(first_marker).st_mtime_ns

    resumed = _tool(*args, f"--out_dir={killed_dir}")
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err[-2000:]
    earlier = 3 * len(markers)  # 3 clips per video
    assert f"wrote {12 - earlier} clips ({earlier} from an earlier run) from 4 videos" \
        in out
    assert os.stat(first_marker).st_mtime_ns == stamp  # a finished video is skipped
    assert _outputs(str(killed_dir)) == _outputs(str(tmp_path / "whole"))


@pytest.mark.slow
def test_failed_or_truncated_videos_exit_3_and_a_rerun_counts_apart(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    videos.shaky_video(str(folder / "whole.avi"), frames=30)
    videos.truncate(videos.shaky_video(str(folder / "cut.avi"), frames=40, seed=1), 0.5)
    args = [f"--input={folder}", f"--out_dir={tmp_path / 'out'}", "--workers=1",
            "--min_frames=8", "--max_frames=12", "--noprogress"]
    first = _tool(*args)
    out, err = first.communicate(timeout=300)
    assert first.returncode == 3, err[-2000:]
    written = int(out.split("wrote ")[1].split()[0])
    assert written >= 2 and "from 2 videos" in out and "truncated videos 1" in out, out
    assert f"video {str(folder / 'cut.avi')!r} reason: 'truncated': decoded" in err
    rerun = _tool(*args)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 3, err[-2000:]  # still truncated: still said
    assert f"wrote 0 clips ({written} from an earlier run) from 2 videos" in out, out
    os.remove(folder / "cut.avi")
    open(folder / "zero.mp4", "wb").close()  # a video that fails to read
    failed = _tool(*args[:1], f"--out_dir={tmp_path / 'other'}", *args[2:])
    out, err = failed.communicate(timeout=300)
    assert failed.returncode == 3 and "failed videos 1; truncated videos 0" in out, err
    os.remove(folder / "zero.mp4")
    whole = _tool(*args[:1], f"--out_dir={tmp_path / 'whole'}", *args[2:])
    out, err = whole.communicate(timeout=300)
    assert whole.returncode == 0 and "failed videos 0; truncated videos 0" in out, err
