"""Every binary answers a user mistake with one line naming the flag or file: exit 2, no
traceback, no page of usage text, no TensorFlow start-up log before it. Run as a user
would, in a subprocess."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.helpers import REPO

MISTAKES = [
    ("train", ["--size=48", "--synthetic", "--model_dir={tmp}/run"], "size must be 4 * 2**n"),
    ("train", ["--batch_size=abc"], "--batch_size=abc"),
    ("train", ["--no_such_flag"], "no_such_flag"),
    ("train", ["--preset=tiny", "--model_dir={tmp}/run", "--data_list={tmp}/missing.txt"],
     "missing.txt"),
    ("train", ["--synthetic", "--model_dir={tmp}/run", "stray"], "unexpected arguments"),
    ("export", ["--model_dir={tmp}/missing", "--export_base={tmp}/export"], "missing"),
    ("export", ["--export_base={tmp}/export"], "--generator"),
    ("make_shards", ["--list={tmp}/missing.txt", "--out_dir={tmp}/shards"], "missing.txt"),
    ("make_synthetic", ["--num_clips=0", "--out_dir={tmp}/syn"], "--num_clips"),
    ("data_service", ["--role=worker"], "--dispatcher"),
    ("serving_client", ["--seeds=1,x", "--server=localhost:1"], "seeds"),
    ("prepare_videos", ["--out_dir={tmp}/strips"], "--input must have a value"),
    ("prepare_videos", ["--input={tmp}", "--out_dir={tmp}/strips", "--workers=0"],
     "--workers must be a positive integer, got 0"),
    ("fetch_sample_video", ["--dest={tmp}/v.avi", "--source={tmp}/nope"], "no such file"),
]


def run_binary(module, args, tmp):
    """Runs a binary as a user would: no TF_CPP_MIN_LOG_LEVEL (the binaries are quiet)."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([sys.executable, "-m", f"tools.{module}",
                           *[a.format(tmp=tmp) for a in args]],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
@pytest.mark.parametrize("module,args,needle", MISTAKES,
                         ids=[f"{m}-{i}" for i, (m, _, _) in enumerate(MISTAKES)])
def test_a_mistake_is_one_line(module, args, needle, tmp_path):
    result = run_binary(module, args, tmp_path)
    lines = result.stderr.splitlines()
    assert result.returncode == 2, result.stderr[-2000:]
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{module}: error: ") and needle in lines[0], lines
    assert "Traceback" not in result.stderr and "flags:" not in result.stdout
