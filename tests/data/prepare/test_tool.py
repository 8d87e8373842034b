"""tools/prepare_videos.py: the flags are PrepareOptions, mistakes are one line, a killed
and resumed run gives the outputs of an uninterrupted one."""
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
from tests.helpers import REPO
from vgan_tf.data.prepare import PrepareOptions, corpus
from vgan_tf.data.prepare import video as video_lib


def test_the_flags_carry_the_options_defaults():
    """In a subprocess: absl flags are one registry per process, and another binary's
    flags (vgan-train's --size) share names with these."""
    import json

    code = ("import json, tools.prepare_videos as t; print(json.dumps({n: t.FLAGS[n].default "
            "for n in t.OPTION_FLAGS}))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=120,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert result.returncode == 0, result.stderr[-2000:]
    flag_defaults = json.loads(result.stdout.strip().splitlines()[-1])
    defaults = PrepareOptions()
    names = {f.name for f in dataclasses.fields(PrepareOptions)} - {"erode"}
    assert set(flag_defaults) == names
    for name, value in flag_defaults.items():
        want = getattr(defaults, name)
        assert value == (list(want) if isinstance(want, tuple) else want), name


def _tool(*args, **kwargs):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.Popen([sys.executable, "-m", "tools.prepare_videos", *args],
                            cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


@pytest.mark.slow
@pytest.mark.parametrize("args,needle", [
    (["--input=/no/such/folder"], "--input '/no/such/folder'"),
    (["--max_frames=8"], "max_frames (8) must be >= min_frames (16)"),
    (["--scene_filter=nope"], "scene_filter 'nope'"),
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
    assert os.stat(first_marker).st_mtime_ns == stamp  # a finished video is skipped
    assert _outputs(str(killed_dir)) == _outputs(str(tmp_path / "whole"))
