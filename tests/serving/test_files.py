"""Served videos as files: write_videos, generate_to_files and the client binary."""
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.helpers import REPO
from tests.serving import probes
from vgan_tf.serving import GrpcClient, RestClient, files
from vgan_tf.viz import video_files

SIZES = probes.SIZES


def _mean_difference(a, b) -> float:
    return float(np.abs(a.astype(int) - b.astype(int)).mean())


def test_generate_to_files_writes_each_kind(served, tmp_path):
    expected = served.direct_outputs([3, 4, 5])["video"]
    with GrpcClient(served.server.grpc_address, max_batch=2) as client:  # 2 requests
        paths = files.generate_to_files(client, [3, 4, 5], str(tmp_path / "local"))
    names = sorted(os.path.basename(p) for p in paths)
    assert names == sorted(f"seed_{s}{part}" for s in (3, 4, 5) for part in (
        ".gif", "_strip.jpg", "_mask.gif", "_mask_strip.jpg"))
    gif = video_files.decode_gif((tmp_path / "local" / "seed_4.gif").read_bytes())
    assert gif.shape == expected[1].shape
    assert _mean_difference(gif, expected[1]) < 16  # Pillow's adaptive palette
    strip = video_files.decode_strip((tmp_path / "local" / "seed_5_strip.jpg").read_bytes(),
                                     SIZES.frames)
    assert _mean_difference(strip, expected[2]) < 16  # JPEG

    with RestClient(served.server.rest_url) as rest:
        served_strip = files.generate_to_files(rest, [5], str(tmp_path / "strip"),
                                               served_files="jpeg_strip")
        served_gif = files.generate_to_files(rest, [6], str(tmp_path / "gif"),
                                             formats=("gif",), served_files="gif")
        with pytest.raises(ValueError, match="served_files"):
            files.generate_to_files(rest, [5], str(tmp_path), served_files="mp4")
        with pytest.raises(ValueError, match="no seeds"):
            files.generate_to_files(rest, [], str(tmp_path))
    assert sorted(os.path.basename(p) for p in served_strip) == ["seed_5.gif",
                                                                 "seed_5_strip.jpg"]
    gif_from_strip = video_files.decode_gif((tmp_path / "strip" / "seed_5.gif").read_bytes())
    assert gif_from_strip.shape == expected[2].shape  # the strip's frames, as a GIF
    assert [os.path.basename(p) for p in served_gif] == ["seed_6.gif"]
    data = open(served_gif[0], "rb").read()
    assert data[:6] == b"GIF89a" and video_files.decode_gif(data).shape == expected[0].shape


def test_write_videos_refuses_what_it_cannot_write(tmp_path):
    floats = {"video": np.zeros([1, 2, 4, 4, 3], np.float32)}
    with pytest.raises(ValueError, match="uint8"):
        files.write_videos(floats, [0], str(tmp_path))
    with pytest.raises(ValueError, match="formats"):
        files.write_videos({}, [0], str(tmp_path), formats=("mp4",))


def _client_binary(*args):
    """tools/serving_client.py in a subprocess (absl flags are one global registry)."""
    return subprocess.run([sys.executable, "-m", "tools.serving_client", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=180,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))


@pytest.mark.slow
def test_client_binary(served, tmp_path):
    out_dir = tmp_path / "videos"
    grpc_run = _client_binary(f"--server={served.server.grpc_address}", "--seeds=3,4",
                              f"--out_dir={out_dir}", "--max_batch=1")  # two requests
    assert grpc_run.returncode == 0, grpc_run.stderr[-3000:]
    rest_run = _client_binary(f"--server={served.server.rest_url}", "--seeds=6",
                              "--served_files=gif", "--form=instances",
                              f"--out_dir={out_dir}")
    assert rest_run.returncode == 0, rest_run.stderr[-3000:]
    assert sorted(os.listdir(out_dir)) == sorted(
        ["seed_6.gif"] + [f"seed_{s}{part}" for s in (3, 4) for part in (
            ".gif", "_strip.jpg", "_mask.gif", "_mask_strip.jpg")])
    lines = grpc_run.stdout.splitlines()  # a line per request, the paths, the summary
    assert [probes.CALL_LINE.match(line)[1] for line in lines[:2]] == ["1", "2"], lines
    assert probes.SUMMARY_LINE.match(lines[-1]), lines
    assert sorted(lines[2:-1]) == sorted(
        str(out_dir / n) for n in os.listdir(out_dir) if not n.startswith("seed_6"))
    assert probes.CALL_LINE.match(rest_run.stdout.splitlines()[0])
    failed = _client_binary(f"--server={served.server.grpc_address}", "--model_name=nope",
                            "--seeds=1", f"--out_dir={out_dir}")
    assert failed.returncode != 0 and "NOT_FOUND" in failed.stderr


def test_auto_takes_server_files_over_rest_and_tensors_over_grpc(served, tmp_path):
    with RestClient(served.server.rest_url) as rest:
        assert files.resolve_served_files("auto", rest) == "jpeg_strip"
        assert files.resolve_served_files("auto", rest, ("gif",)) == "gif"
        assert files.resolve_served_files("none", rest) == "none"
        paths = files.generate_to_files(rest, [2], str(tmp_path / "rest"))
        gifs = files.generate_to_files(rest, [2], str(tmp_path / "gif"), formats=("gif",))
    assert sorted(os.path.basename(p) for p in paths) == ["seed_2.gif", "seed_2_strip.jpg"]
    strip = video_files.decode_strip((tmp_path / "rest" / "seed_2_strip.jpg").read_bytes(),
                                     SIZES.frames)
    expected = served.direct_outputs([2])["video"][0]
    assert _mean_difference(strip, expected) < 16  # the server's JPEG of the same video
    assert [os.path.basename(p) for p in gifs] == ["seed_2.gif"]
    assert (tmp_path / "gif" / "seed_2.gif").read_bytes()[:6] == b"GIF89a"
    with GrpcClient(served.server.grpc_address) as client:
        assert files.resolve_served_files("auto", client) == "none"
        paths = files.generate_to_files(client, [2], str(tmp_path / "grpc"))
    assert "seed_2_mask.gif" in {os.path.basename(p) for p in paths}
    with pytest.raises(ValueError, match="served_files must be one of auto"):
        files.resolve_served_files("mp4", client)
