"""Generators from the three sources, and FVD/KVD of one against synthetic real clips."""
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.helpers import REPO
from tests.metrics import model_fixtures
from vgan_tf import data, sampling
from vgan_tf.data import synthetic
from vgan_tf.metrics import evaluation, fvd, model_sources


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    return model_fixtures.write_model_sources(str(tmp_path_factory.mktemp("models")))


@pytest.fixture(scope="module")
def real_data(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("synthetic"))
    synthetic.write_synthetic_dataset(folder, 4, frames=16, size=16)
    return os.path.join(folder, synthetic.LIST_NAME)


@pytest.mark.parametrize("kind", ["checkpoint", "keras", "saved_model"])
def test_each_source_gives_the_videos_of_the_seeds(sources, kind):
    source = model_sources.load_video_source(sources[kind])
    assert source.latent_dim == model_fixtures.LATENT
    assert source.video_shape == (16, 16, 16, 3)
    expected = sampling.sample(sources["generator"], 3, seed=5)
    np.testing.assert_allclose(source.videos([5, 6, 7]), expected, atol=1e-5)
    parts = source.parts([5])
    assert {"video", "mask", "background"} <= set(parts)
    assert parts["mask"].shape == (1, 16, 16, 16, 1)
    batches = list(source.batches(5, 2, seed=5))
    assert [len(b) for b in batches] == [2, 2, 1]
    np.testing.assert_allclose(batches[1][0], expected[2], atol=1e-5)


def test_a_path_that_is_no_generator_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing"):
        model_sources.load_video_source(str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="config.json"):
        model_sources.load_video_source(str(tmp_path))
    (tmp_path / "weights.h5").write_bytes(b"")
    with pytest.raises(ValueError, match="weights.h5"):
        model_sources.load_video_source(str(tmp_path / "weights.h5"))


def test_evaluate_reports_fvd_kvd_and_caches_the_real_features(sources, real_data,
                                                               real_i3d, tmp_path):
    features = fvd.ClipFeatures(real_i3d[0])
    source = model_sources.load_video_source(sources["keras"])
    clip = data.ClipOptions(frames=16, size=16)
    options = evaluation.EvalOptions(num_samples=3, batch_size=3, cache_dir=str(tmp_path))
    first = evaluation.evaluate(data.ListSource(real_data), clip, source, options,
                                features=features, progress=False)
    assert set(first.values) == {"fvd", "kvd", "fvd16", "kvd16"}
    assert first.values["fvd"] > 0 and not first.real_from_cache
    again = evaluation.evaluate(data.ListSource(real_data), clip, source, options,
                                features=features, progress=False)
    assert again.real_from_cache
    assert again.values["fvd"] == pytest.approx(first.values["fvd"], rel=1e-6)
    other_seed = evaluation.EvalOptions(num_samples=3, batch_size=3, seed=1,
                                        cache_dir=str(tmp_path))
    assert not evaluation.evaluate(data.ListSource(real_data), clip, source, other_seed,
                                   features=features, progress=False).real_from_cache
    with pytest.raises(ValueError, match="only 4 clips"):
        evaluation.evaluate(data.ListSource(real_data), clip, source,
                            evaluation.EvalOptions(num_samples=5, cache_dir=""),
                            features=features, progress=False)


def test_frame_counts_must_agree(sources, real_data):
    source = model_sources.load_video_source(sources["keras"])
    with pytest.raises(ValueError, match="16-frame clips"):
        evaluation.evaluate(data.ListSource(real_data), data.ClipOptions(frames=32, size=16),
                            source, progress=False)


def _run(args, env=None):
    return subprocess.run([sys.executable, "-m", "tools.evaluate", *args], cwd=REPO,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **(env or {})),
                          capture_output=True, text=True, timeout=300)


def test_the_binary_prints_the_metrics(sources, real_data, real_i3d, tmp_path):
    result = _run([f"--generator={sources['saved_model']}", f"--data_list={real_data}",
                   "--num_samples=2", "--batch_size=2", f"--cache_dir={tmp_path}"],
                  env={"VGAN_TF_CACHE_DIR": real_i3d[1]})
    assert result.returncode == 0, result.stderr[-3000:]
    names = [line.split(":")[0] for line in result.stdout.splitlines()]
    assert names == ["fvd", "kvd", "fvd16", "kvd16"]
    assert float(result.stdout.splitlines()[0].split(":")[1]) > 0
    assert "generated clips [" in result.stderr  # the progress bar


@pytest.mark.parametrize("args,needle", [
    (["--generator=x"], "--data_list and --data_shards"),
    (["--generator={tmp}/missing", "--data_list=a.txt"], "missing"),
])
def test_binary_mistakes_are_one_line(args, needle, tmp_path):
    result = _run([a.format(tmp=tmp_path) for a in args])
    lines = [l for l in result.stderr.splitlines() if l.strip() and not l.startswith(
        ("WARNING: All log messages before absl", "I0000", "W0000", "E0000"))]
    assert result.returncode == 2, result.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("evaluate: error: ") and needle in lines[0]
