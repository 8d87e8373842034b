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
from vgan_tf.metrics import evaluation, fvd, model_sources, video_folder
from vgan_tf.viz import video_files


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    return model_fixtures.write_model_sources(str(tmp_path_factory.mktemp("models")))


@pytest.fixture(scope="module")
def real_data(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("synthetic"))
    synthetic.write_synthetic_dataset(folder, 4, frames=16, size=16)
    return os.path.join(folder, synthetic.LIST_NAME)


@pytest.mark.slow
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


@pytest.mark.slow
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
    with pytest.raises(ValueError, match="hold 4 clips, fewer than --num_samples=5"):
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


@pytest.mark.slow
def test_the_binary_prints_the_metrics(sources, real_data, real_i3d, tmp_path):
    result = _run([f"--generator={sources['saved_model']}", f"--data_list={real_data}",
                   "--num_samples=2", "--batch_size=2", f"--cache_dir={tmp_path}"],
                  env={"VGAN_TF_CACHE_DIR": real_i3d[1]})
    assert result.returncode == 0, result.stderr[-3000:]
    names = [line.split(":")[0] for line in result.stdout.splitlines()]
    assert names == ["num_samples", "fvd", "kvd", "fvd16", "kvd16"]
    assert result.stdout.splitlines()[0] == "num_samples: 2"
    assert float(result.stdout.splitlines()[1].split(":")[1]) > 0
    assert "generated clips: 2/2 clips" in result.stderr  # the progress display (no TTY)
    assert "\r" not in result.stderr
    warnings = [l for l in result.stderr.splitlines() if l.startswith("warning:")]
    assert len(warnings) == 1 and "2 clips per side, fewer than the 2048" in warnings[0]


@pytest.mark.slow
@pytest.mark.parametrize("args,needle", [
    (["--generator=x"], "--data_list and --data_shards"),
    (["--generator={tmp}/missing", "--data_list=a.txt"], "missing"),
    (["--generator=x", "--data_list=a.txt", "--frames=0"], "--frames must be a positive"),
    (["--generator=x", "--data_list=a.txt", "--window=middle"], "--window"),
    (["--generator=x", "--data_list=a.txt", "--protocol=fvd"], "--protocol"),
])
def test_binary_mistakes_are_one_line(args, needle, tmp_path):
    result = _run([a.format(tmp=tmp_path) for a in args])
    lines = [l for l in result.stderr.splitlines() if l.strip() and not l.startswith(
        ("WARNING: All log messages before absl", "I0000", "W0000", "E0000"))]
    assert result.returncode == 2, result.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("evaluate: error: ") and needle in lines[0]


@pytest.mark.slow
def test_too_few_clips_are_found_before_any_feature_pass(sources, real_data, tmp_path):
    """Lists (entries), shards (records) and folders of generated videos are counted first:
    the error comes before I3D (here: its stand-in) has seen a clip."""
    features, network = model_fixtures.pixel_features()
    clip = data.ClipOptions(frames=16, size=16)
    options = evaluation.EvalOptions(num_samples=5, batch_size=2, cache_dir="")
    generator = model_sources.load_video_source(sources["keras"])
    with pytest.raises(ValueError, match=r"list\(s\) .*train.txt hold 4 clips, fewer than "
                                         r"--num_samples=5"):
        evaluation.evaluate(data.ListSource(real_data), clip, generator, options,
                            features=features, progress=False)
    data.write_shards(data.ListSource(real_data), str(tmp_path / "shards"), 2, progress=False)
    shards = data.ShardSource(str(tmp_path / "shards" / "*"))
    assert evaluation.available_clips(shards, 100) == 4
    assert evaluation.available_clips(shards, 3) == 3
    with pytest.raises(ValueError, match="shards .* hold 4 clips"):
        evaluation.evaluate(shards, clip, generator, options, features=features,
                            progress=False)
    folder = tmp_path / "videos"
    folder.mkdir()
    for i, video in enumerate(sampling.to_uint8(generator.videos([0, 1, 2])).numpy()):
        video_files.write_gif(str(folder / f"{i}.gif"), video)
    four = evaluation.EvalOptions(num_samples=4, batch_size=2, cache_dir="")
    with pytest.raises(ValueError, match="holds 3 readable gif videos, fewer than the 4"):
        evaluation.evaluate(data.ListSource(real_data), clip, video_folder.VideoFolder(
            str(folder)), four, features=features, progress=False)
    assert network.calls == 0


def test_measured_videos_take_the_first_frames_and_round_to_8_bits(sources):
    generator = model_sources.load_video_source(sources["keras"])
    measured = evaluation.MeasuredVideos(generator, 9, quantize=True)
    assert measured.video_shape == (9, 16, 16, 3)
    (batch,) = list(measured.batches(2, 2, seed=3))
    full = generator.videos([3, 4])
    assert batch.shape == (2, 9, 16, 16, 3) and batch.dtype == np.float32
    levels = (batch + 1.0) * 127.5
    np.testing.assert_allclose(levels, np.round(levels), atol=1e-4)  # on the 8-bit grid
    assert np.abs(batch - full[:, :9]).max() <= 0.5 / 127.5 + 1e-6
    exact = next(evaluation.MeasuredVideos(generator, 9).batches(2, 2, seed=3))
    np.testing.assert_array_equal(exact, full[:, :9])
    with pytest.raises(ValueError, match="--clip_frames=17: the generator makes 16-frame"):
        evaluation.MeasuredVideos(generator, 17)


def test_the_flags_keep_their_names_and_defaults():
    from absl import flags

    from vgan_tf import config_flags

    values = flags.FlagValues()
    config_flags.define_flags(evaluation.EvaluateConfig, flag_values=values)
    defaults = {name: values[name].default for name in values}
    assert {k: defaults[k] for k in (
        "generator", "frames", "generated_kind", "data_root", "num_samples", "batch_size",
        "seed", "window", "cache_dir")} == dict(
            generator=None, frames=None, generated_kind="auto", data_root=None,
            num_samples=2048, batch_size=16, seed=0, window="first", cache_dir=None)
    assert not defaults["data_list"] and not defaults["data_shards"]
    assert set(defaults) == {"generator", "frames", "generated_kind", "quantize",
                             "data_list", "data_root", "data_shards", "window", "min_frames",
                             "clip_frames", "num_samples", "batch_size", "seed", "cache_dir",
                             "shuffle", "metrics"}


def test_the_fvd2048_16f_protocol_sets_its_settings_and_flags_override_them():
    config = evaluation.from_protocol("fvd2048_16f", generator="g", data_list=("a.txt",))
    assert config.options.num_samples == 2048 and config.clip_frames == 16
    assert config.real.window == "random" and config.real.min_frames == 16
    assert not config.options.shuffle and config.generated.quantize
    assert config.validate() is config
    smaller = evaluation.from_protocol("fvd2048_16f", num_samples=64)
    assert smaller.options.num_samples == 64 and smaller.clip_frames == 16
    with pytest.raises(ValueError, match="--protocol must be one of"):
        evaluation.from_protocol("fvd")
    with pytest.raises(ValueError, match="--data_list and --data_shards"):
        smaller.validate()


def test_the_progress_callback_writes_plain_lines_off_a_terminal():
    import io

    stream = io.StringIO()
    bar = evaluation.ProgressBar("real clips", 4, stream=stream)
    for done in (2, 4):
        bar(done, 4)
    text = stream.getvalue()
    assert "\r" not in text and "\x1b" not in text
    assert text.splitlines()[-1].startswith("real clips: 4/4 clips, ")
    late = io.StringIO()
    unsized = evaluation.ProgressBar("sample files", stream=late)  # total at the first call
    unsized(3, 3)
    assert late.getvalue().startswith("sample files: 3/3 clips")


def test_eval_options_name_the_flag_of_a_wrong_setting():
    assert evaluation.EvalOptions(metrics=["fvd"]).metrics == ("fvd",)
    with pytest.raises(ValueError, match="--metrics must be a sequence"):
        evaluation.EvalOptions(metrics="fvd")
    with pytest.raises(ValueError, match="--shuffle must be true or false"):
        evaluation.EvalOptions(shuffle="no")
    with pytest.raises(ValueError, match="num_samples must be at least 2"):
        evaluation.EvalOptions(num_samples=1)
