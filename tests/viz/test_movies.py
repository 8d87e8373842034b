"""vgan-generate and viz.movies: the documented files from each of the three sources."""
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.helpers import REPO
from tests.metrics import model_fixtures
from vgan_tf.viz import movies, video_files

KERAS_FILES = ["background.png", "foreground.gif", "frame_strips.png", "interpolation.gif",
               "interpolation.png", "mask.gif", "masked_foreground.gif", "samples.gif",
               "samples.mp4"]
SAVED_MODEL_FILES = sorted(set(KERAS_FILES) - {"foreground.gif", "masked_foreground.gif"})


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    return model_fixtures.write_model_sources(str(tmp_path_factory.mktemp("models")))


def test_slerp_keeps_the_ends_and_the_norm_between_orthogonal_unit_vectors():
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    path = movies.slerp(a, b, np.linspace(0, 1, 5))
    np.testing.assert_allclose(path[0], a, atol=1e-6)
    np.testing.assert_allclose(path[-1], b, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(path[2], [np.sqrt(0.5)] * 2, atol=1e-6)  # not the chord
    np.testing.assert_allclose(movies.slerp(a, 2 * a, [0.5])[0], [1.5, 0.0], atol=1e-6)


def test_write_mp4_round_trips_the_frame_count(tmp_path):
    import cv2
    video = np.zeros((7, 24, 32, 3), np.uint8)
    video[:, :, :16] = 200
    path = movies.write_mp4(str(tmp_path / "v.mp4"), video, fps=4)
    capture, frames = cv2.VideoCapture(path), []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    assert len(frames) == 7 and frames[0].shape == (24, 32, 3)
    assert frames[0][:, :8].mean() > 150 and frames[0][:, 24:].mean() < 50
    with pytest.raises(ValueError, match="uint8"):
        movies.write_mp4(str(tmp_path / "bad.mp4"), video.astype(np.float32))


def _run(args):
    return subprocess.run([sys.executable, "-m", "tools.generate", *args], cwd=REPO,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
@pytest.mark.parametrize("kind,expected", [("checkpoint", KERAS_FILES),
                                           ("keras", KERAS_FILES),
                                           ("saved_model", SAVED_MODEL_FILES)])
def test_generate_writes_the_documented_files(sources, kind, expected, tmp_path):
    out = tmp_path / "pictures"
    result = _run([f"--generator={sources[kind]}", f"--out_dir={out}", "--num=4",
                   "--steps=3", "--interpolate=2,9"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(os.listdir(out)) == expected
    assert sorted(os.path.basename(p) for p in result.stdout.split()) == expected
    samples = video_files.decode_gif((out / "samples.gif").read_bytes())
    assert samples.shape == (16, 2 * 17 + 1, 2 * 17 + 1, 3)  # 2x2 grid of 16x16, pad 1
    strip = np.asarray(Image.open(out / "interpolation.png"))
    assert strip.shape == (17 + 1, 3 * 17 + 1, 3)
    strips = np.asarray(Image.open(out / "frame_strips.png"))
    rows = 8 if "mask.gif" in expected else 4  # each video with its mask beneath
    assert strips.shape == (rows * 17 + 1, 8 * 17 + 1, 3)  # frames 0, 2, .. 14
    # the first row is the first sample's frames 0, 2, ..: frame 2 is the GIF's frame 2
    np.testing.assert_allclose(strips[1:17, 18:34].astype(int),
                               samples[2, 1:17, 1:17].astype(int), atol=2)


@pytest.mark.slow
def test_the_same_seeds_give_the_same_pictures_from_every_source(sources):
    from vgan_tf.metrics import model_sources
    pictures = [movies.generated_pictures(model_sources.load_video_source(sources[k]), 2,
                                          seed=3, interpolate=(0, 5), steps=3)
                for k in ("checkpoint", "keras", "saved_model")]
    for other in pictures[1:]:
        for name in ("samples", "mask", "background", "interpolation"):
            assert np.abs(pictures[0][name].astype(int) - other[name]).max() <= 1, name
    ends = movies.generated_pictures(model_sources.load_video_source(sources["keras"]), 2,
                                     seed=0, interpolate=(0, 1), steps=3)
    first = ends["samples"][:, 1:17, 1:17]
    assert np.abs(ends["interpolation"][:, 1:17, 1:17].astype(int) - first).max() <= 1


@pytest.mark.slow
@pytest.mark.parametrize("args,needle", [
    (["--generator={tmp}/none", "--out_dir={tmp}/o"], "none"),
    (["--generator=x", "--out_dir={tmp}/o", "--interpolate=1"], "--interpolate"),
])
def test_generate_mistakes_are_one_line(args, needle, tmp_path):
    result = _run([a.format(tmp=tmp_path) for a in args])
    lines = [l for l in result.stderr.splitlines() if l.strip() and not l.startswith(
        ("WARNING: All log messages before absl", "I0000", "W0000", "E0000"))]
    assert result.returncode == 2, result.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("generate: error: ") and needle in lines[0]
