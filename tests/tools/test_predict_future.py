"""vgan-predict: a folder with one corrupt file -> the good GIFs and strips, the bad file
named, exit status 1; from a run folder, a .keras file or an export."""
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.helpers import REPO
from vgan_tf import config
from vgan_tf.models import FuturePredictor
from vgan_tf.viz import video_files

SIZES = config.TINY


def run_tool(*args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=REPO)
    return subprocess.run([sys.executable, "-m", "tools.predict_future", *args], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    predictor = FuturePredictor(SIZES.frames, SIZES.size, SIZES.base_width)
    path = str(folder / "predictor.keras")
    predictor.save(path)
    return path


@pytest.fixture
def pictures(tmp_path):
    folder = tmp_path / "pictures"
    folder.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (40, 60, 3), np.uint8)).save(folder / "wide.jpg")
    Image.fromarray(rng.integers(0, 256, (20, 20, 3), np.uint8)).save(folder / "small.png")
    Image.fromarray(rng.integers(0, 256, (30, 30, 3), np.uint8)).save(folder / "pic.bmp")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff this is no jpeg")
    (folder / "notes.txt").write_text("not an image and not picked from the folder")
    return folder


@pytest.mark.slow
def test_folder_with_a_corrupt_file(model_file, pictures, tmp_path):
    out = tmp_path / "out"
    result = run_tool(f"--model={model_file}", f"--out_dir={out}", "--parts", str(pictures))
    assert result.returncode == 1, result.stderr[-2000:]
    assert "broken.jpg" in result.stderr.strip().splitlines()[-1]
    made = sorted(os.listdir(out))
    assert made == sorted(f"{stem}{suffix}" for stem in ("wide", "small", "pic") for suffix
                          in (".gif", "_strip.jpg", "_mask.gif", "_background.png"))
    strip = video_files.decode_strip((out / "wide_strip.jpg").read_bytes(), SIZES.frames)
    assert strip.shape == (SIZES.frames, SIZES.size, SIZES.size, 3)


@pytest.mark.slow
def test_good_files_exit_0_and_mistakes_exit_2(model_file, pictures, tmp_path, ):
    export_base = tmp_path / "export"
    from vgan_tf.export import writer
    writer.export_predictor_file(model_file, str(export_base), warmup_batch_sizes=())
    ok = run_tool(f"--model={export_base / 'predictor'}", f"--out_dir={tmp_path / 'o'}",
                  "--crop=none", str(pictures / "wide.jpg"), "--noprogress")
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert ok.stdout.split() == [str(tmp_path / "o" / "wide.gif"),
                                 str(tmp_path / "o" / "wide_strip.jpg")]
    missing = run_tool(f"--model={tmp_path / 'nothing'}", str(pictures))
    assert missing.returncode == 2 and "nothing" in missing.stderr
    no_inputs = run_tool(f"--model={model_file}")
    assert no_inputs.returncode == 2 and "image files" in no_inputs.stderr


def test_library_reports_and_skips(model_file, pictures, tmp_path):
    from vgan_tf.export import future_files
    runner = future_files.load_predictor(model_file)
    report = future_files.predict_files(
        runner, [str(pictures)], future_files.PredictOptions(out_dir=str(tmp_path / "lib"),
                                                             progress=False))
    assert [os.path.basename(p) for p, _ in report.failed] == ["broken.jpg"]
    assert len(report.written) == 6
    centre = future_files.read_image(str(pictures / "wide.jpg"), 16)
    whole = future_files.read_image(str(pictures / "wide.jpg"), 16, crop="none")
    assert centre.shape == whole.shape == (16, 16, 3) and (centre != whole).any()


def test_scale_and_mp4_enlarge_the_videos_and_keep_the_strip(model_file, pictures, tmp_path):
    from vgan_tf.export import future_files
    runner = future_files.load_predictor(model_file)
    options = future_files.PredictOptions(out_dir=str(tmp_path / "big"), scale=3, mp4=True,
                                          parts=True, progress=False)
    report = future_files.predict_files(runner, [str(pictures / "wide.jpg")], options)
    assert sorted(os.path.basename(p) for p in report.written) == [
        "wide.gif", "wide.mp4", "wide_background.png", "wide_mask.gif", "wide_strip.jpg"]
    gif = video_files.decode_gif((tmp_path / "big" / "wide.gif").read_bytes())
    assert gif.shape == (SIZES.frames, 3 * SIZES.size, 3 * SIZES.size, 3)
    strip = video_files.decode_strip((tmp_path / "big" / "wide_strip.jpg").read_bytes(),
                                     SIZES.frames)
    assert strip.shape == (SIZES.frames, SIZES.size, SIZES.size, 3)
    assert Image.open(tmp_path / "big" / "wide_background.png").size == (3 * SIZES.size,) * 2
    assert (tmp_path / "big" / "wide.mp4").stat().st_size > 0


@pytest.mark.slow
def test_export_binary_exports_the_predictor(model_file, tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=REPO)
    result = subprocess.run(
        [sys.executable, "-m", "tools.export", f"--predictor={model_file}",
         f"--export_base={tmp_path}", "--warmup_batch_sizes="],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == str(tmp_path / "predictor" / "1")
    assert (tmp_path / "predictor" / "1" / "saved_model.pb").exists()

