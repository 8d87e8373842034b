"""A folder of generated GIFs/strips as the generated side of vgan-evaluate."""
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
from vgan_tf.viz import movies, video_files


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    return model_fixtures.write_model_sources(str(tmp_path_factory.mktemp("models")))


def _videos(n, frames=4, size=8, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, frames, size, size, 3), np.uint8)


def test_gifs_and_strips_read_back_exactly_in_name_order(tmp_path):
    videos = _videos(3)
    for i, video in enumerate(videos):
        video_files.write_gif(str(tmp_path / f"b{i}.gif"), video)
        # PNG strips are lossless: the same pixels come back
        from PIL import Image
        Image.fromarray(video.reshape(-1, 8, 3)).save(tmp_path / f"b{i}_strip.png")
    video_files.write_gif(str(tmp_path / "b0_mask.gif"), videos[0])  # a part: left out
    gifs = video_folder.VideoFolder(str(tmp_path))
    assert gifs.kind == "gif" and len(gifs) == 3 and gifs.video_shape == (4, 8, 8, 3)
    assert [os.path.basename(p) for p in gifs.paths] == ["b0.gif", "b1.gif", "b2.gif"]
    strips = video_folder.VideoFolder(str(tmp_path), kind="strip")
    batches = list(strips.batches(3, 2))
    assert [len(b) for b in batches] == [2, 1]
    np.testing.assert_allclose(np.concatenate(batches), videos / 127.5 - 1.0, atol=1e-6)
    wide = video_folder.VideoFolder(str(tmp_path), frames=2, kind="strip")  # 2 frames 16x8
    assert wide.video_shape == (2, 16, 8, 3)
    with pytest.raises(ValueError, match="holds 3 readable gif videos, fewer than the 4"):
        list(gifs.batches(4, 2))


def test_bad_files_are_named_counted_and_skipped(tmp_path, capsys):
    videos = _videos(2)
    video_files.write_gif(str(tmp_path / "a.gif"), videos[0])
    (tmp_path / "b.gif").write_bytes(b"GIF89a but not really")
    video_files.write_gif(str(tmp_path / "c.gif"), videos[1][:3])  # 3 frames, not 4
    video_files.write_gif(str(tmp_path / "d.gif"), videos[1])
    os.mkdir(tmp_path / "e.gif")  # a folder is not read
    folder = video_folder.VideoFolder(str(tmp_path))
    assert [os.path.basename(p) for p in folder.paths] == ["a.gif", "d.gif"]
    assert sorted(os.path.basename(p) for p in folder.skipped) == ["b.gif", "c.gif"]
    err = capsys.readouterr().err
    assert "b.gif: not a readable image" in err and "c.gif: shape [3, 8, 8, 3] differs" in err
    with pytest.raises(ValueError, match="no strip files"):
        video_folder.VideoFolder(str(tmp_path), kind="strip")
    (tmp_path / "x.jpg").write_bytes(video_files.encode_strip_jpeg(videos[0])[:-300])
    (tmp_path / "y.jpg").write_bytes(b"\xff\xd8 nothing")
    with pytest.raises(ValueError, match="none of its 2 strip files"):
        video_folder.VideoFolder(str(tmp_path), kind="strip")


def test_a_strip_of_non_square_frames_needs_the_frame_count(tmp_path):
    from PIL import Image
    Image.fromarray(np.zeros((20, 8, 3), np.uint8)).save(tmp_path / "s.png")
    with pytest.raises(ValueError, match="none of its 1"):
        video_folder.VideoFolder(str(tmp_path))
    assert video_folder.VideoFolder(str(tmp_path), frames=5).video_shape == (5, 4, 8, 3)


@pytest.mark.slow
def test_generated_videos_tells_models_from_folders(sources, tmp_path):
    assert isinstance(model_sources.generated_videos(sources["keras"]),
                      model_sources.VideoSource)
    with pytest.raises(ValueError, match="for folders"):
        model_sources.generated_videos(sources["saved_model"], frames=4)
    with pytest.raises(FileNotFoundError, match="config.json"):
        model_sources.generated_videos(str(tmp_path))  # empty: neither
    video_files.write_gif(str(tmp_path / "v.gif"), _videos(1)[0])
    assert isinstance(model_sources.generated_videos(str(tmp_path)), video_folder.VideoFolder)


@pytest.mark.slow
def test_sample_files_evaluate_like_the_generator_they_came_from(sources, real_i3d, tmp_path):
    """vgan-generate --sample_files -> folder -> the same FVD as the model itself (GIF
    quantises colours, so near, not equal)."""
    source = model_sources.load_video_source(sources["keras"])
    paths = movies.write_sample_files(source, str(tmp_path / "samples"), 3, seed=0)
    assert [os.path.basename(p) for p in paths] == [f"seed_{s:06d}.gif" for s in range(3)]
    gif = video_files.decode_gif(open(paths[1], "rb").read())
    expected = sampling.to_uint8(source.videos([1])).numpy()[0]
    assert gif.shape == expected.shape and np.abs(gif.astype(int) - expected).mean() < 12
    real = str(tmp_path / "real")
    synthetic.write_synthetic_dataset(real, 4, frames=16, size=16)
    features = fvd.ClipFeatures(real_i3d[0])
    clip = data.ClipOptions(frames=16, size=16)
    options = evaluation.EvalOptions(num_samples=3, batch_size=3, cache_dir="")
    real_source = data.ListSource(os.path.join(real, synthetic.LIST_NAME))
    of_model = evaluation.evaluate(real_source, clip, source, options, features=features,
                                   progress=False).values["fvd"]
    of_folder = evaluation.evaluate(real_source, clip, model_sources.generated_videos(
        str(tmp_path / "samples")), options, features=features, progress=False).values["fvd"]
    os.makedirs(tmp_path / "noise")  # a folder of noise videos is far from both
    for i, video in enumerate(_videos(3, 16, 16, seed=4)):
        video_files.write_gif(str(tmp_path / "noise" / f"n{i}.gif"), video)
    of_noise = evaluation.evaluate(real_source, clip, video_folder.VideoFolder(
        str(tmp_path / "noise")), options, features=features, progress=False).values["fvd"]
    assert abs(of_folder - of_model) < 0.2 * abs(of_noise - of_model), (of_model, of_folder,
                                                                         of_noise)


@pytest.mark.slow
def test_the_binaries_write_and_measure_a_folder(sources, real_i3d, tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", VGAN_TF_CACHE_DIR=real_i3d[1])
    out = tmp_path / "pictures"
    made = subprocess.run([sys.executable, "-m", "tools.generate",
                           f"--generator={sources['saved_model']}", f"--out_dir={out}",
                           "--num=2", "--steps=2", "--sample_files=3"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr[-3000:]
    assert sorted(os.listdir(out / "samples")) == [f"seed_{s:06d}.gif" for s in range(3)]
    real = str(tmp_path / "real")
    synthetic.write_synthetic_dataset(real, 4, frames=16, size=16)
    (out / "samples" / "broken.gif").write_bytes(b"nope")
    result = subprocess.run([sys.executable, "-m", "tools.evaluate",
                             f"--generator={out / 'samples'}",
                             f"--data_list={os.path.join(real, synthetic.LIST_NAME)}",
                             "--num_samples=3", "--batch_size=3", "--cache_dir="],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert [l.split(":")[0] for l in result.stdout.splitlines()] == [
        "num_samples", "fvd", "kvd", "fvd16", "kvd16"]
    assert "broken.gif: not a readable image" in result.stderr
    bad = subprocess.run([sys.executable, "-m", "tools.evaluate",
                          f"--generator={out / 'samples'}", "--generated_kind=strip",
                          f"--data_list={os.path.join(real, synthetic.LIST_NAME)}"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    lines = [l for l in bad.stderr.splitlines() if l.strip() and not l.startswith(
        ("WARNING: All log messages before absl", "I0000", "W0000", "E0000"))]
    assert bad.returncode == 2 and len(lines) == 1 and "no strip files" in lines[0], bad.stderr


@pytest.fixture(scope="module")
def strips(tmp_path_factory):
    """4 synthetic JPEG strips (16 frames of 32x32, quality 95) and their list."""
    folder = str(tmp_path_factory.mktemp("strips"))
    synthetic.write_synthetic_dataset(folder, 4, frames=16, size=32)
    return folder, os.path.join(folder, synthetic.LIST_NAME)


def _pipeline_clips(list_file, frames, size):
    """The real side's clips of every strip, in list order, as uint8."""
    read = data.ReadOptions(shuffle=False, repeat=False, drop_remainder=False)
    clips = np.concatenate([b.numpy() for b in data.video_dataset(
        data.ListSource(list_file), data.ClipOptions(frames=frames, size=size), 4, read)])
    return np.round((clips + 1.0) * 127.5).astype(np.uint8)


@pytest.mark.slow
def test_a_folder_of_strips_decodes_as_the_real_side_decodes_them(strips):
    """One decoder for both sides: a strip in a folder gives exactly the pixels the data
    pipeline gives for the same file (Pillow's accurate IDCT differs from TensorFlow's
    default fast one by several levels)."""
    folder, list_file = strips
    videos = video_folder.VideoFolder(os.path.join(folder, "clips"))
    assert videos.kind == "strip" and videos.video_shape == (16, 32, 32, 3)
    entries = data.read_lists([list_file]).resolve()
    assert sorted(entries) == videos.paths
    read = np.concatenate(list(videos.batches(4, 4)))
    order = [videos.paths.index(path) for path in entries]
    folder_uint8 = np.round((read[order] + 1.0) * 127.5).astype(np.uint8)
    np.testing.assert_array_equal(folder_uint8, _pipeline_clips(list_file, 16, 32))
    pillow = video_files.decode_strip(open(entries[0], "rb").read(), 16)
    assert np.abs(pillow.astype(int) - folder_uint8[0]).max() > 0  # the other decoder


@pytest.mark.slow
def test_fvd_of_a_folder_against_a_list_of_the_same_strips_is_zero(strips, real_i3d):
    folder, list_file = strips
    features = fvd.ClipFeatures(real_i3d[0])
    options = evaluation.EvalOptions(num_samples=4, batch_size=4, cache_dir="",
                                     shuffle=False)
    report = evaluation.evaluate(
        data.ListSource(list_file), data.ClipOptions(frames=16, size=32),
        video_folder.VideoFolder(os.path.join(folder, "clips")), options,
        features=features, progress=False)
    assert abs(report.values["fvd"]) < 0.01, report.values


def test_a_list_file_stands_for_a_folder_of_exactly_its_strips(strips, tmp_path):
    folder, list_file = strips
    entries = data.read_lists([list_file]).resolve()
    part = os.path.join(folder, "part.txt")  # the last two strips, in reverse order
    with open(part, "w") as handle:
        handle.write("".join(os.path.relpath(e, folder) + "\n" for e in entries[:1:-1]))
    videos = model_sources.generated_videos(part)
    assert isinstance(videos, video_folder.VideoFolder)
    assert videos.paths == entries[:1:-1] and videos.description == f"list {part}"
    whole = video_folder.VideoFolder(os.path.join(folder, "clips"))
    np.testing.assert_array_equal(next(videos.batches(2, 2))[0],
                                  next(whole.batches(4, 4))[whole.paths.index(entries[-1])])
    with pytest.raises(FileNotFoundError, match="no folder of videos"):
        video_folder.VideoFolder(str(tmp_path / "none.txt"))
