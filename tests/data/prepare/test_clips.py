"""Clip cutting: length bounds, clips per video, drop reasons, filters, frame rate."""
from __future__ import annotations

import numpy as np
import pytest

from tests.data.prepare import videos
from tests.data.prepare.test_stabilize import _clips
from vgan_tf.data.prepare import PrepareOptions, filters, reader, stabilize


def test_the_defaults_are_the_original_settings():
    o = PrepareOptions()
    assert (o.size, o.min_frames, o.max_frames, o.skip_frames, o.clips_per_video) == \
        (128, 16, 34, 2, 100)
    assert (o.reference, o.index, o.trees, o.checks, o.ratio, o.min_matches,
            o.ransac_threshold, o.erode, o.jpeg_quality) == \
        ("chain", "linear", 5, 50, 0.7, 10, 5.0, 5, 95)
    assert o.fps is None and o.max_camera_motion is None and \
        o.min_foreground_motion is None and o.scene_filter is None


@pytest.mark.parametrize("field,value", [("size", 0), ("min_frames", 1),
                                         ("max_frames", 10), ("skip_frames", -1),
                                         ("ratio", 1.5), ("reference", "last"),
                                         ("index", "lsh"), ("jpeg_quality", 101),
                                         ("fps", 0), ("max_camera_motion", -1.0)])
def test_bad_options_name_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        PrepareOptions(**{field: value})


@pytest.mark.slow
def test_clip_length_bounds_and_clips_per_video(tmp_path):
    path = videos.shaky_video(tmp_path / "v.avi", frames=40)  # 38 frames after the skip
    default = _clips(path)
    assert [(c.num_frames, c.reason) for c in default] == [(34, None), (4, "too_short")]
    bounded = _clips(path, min_frames=9, max_frames=10)
    assert [(c.num_frames, c.reason) for c in bounded] == \
        [(10, None), (10, None), (10, None), (8, "too_short")]
    assert all(c.frames.shape == (10, 128, 128, 3) for c in bounded[:3])
    assert [c.num_frames for c in _clips(path, max_frames=10, min_frames=8,
                                         clips_per_video=2)] == [10, 10]
    assert [c.num_frames for c in _clips(path, skip_frames=0, max_frames=20)] == [20, 20]


def test_a_frame_without_features_drops_its_clip_with_that_reason(tmp_path):
    canvas = videos.scene(videos.WIDTH * 2, videos.HEIGHT * 2, seed=1)
    good = videos.camera_views(canvas, videos.shake(20, seed=1))
    flat = [np.full_like(good[0], 128)] * 4
    path = videos.write_video(tmp_path / "flat.avi", good + flat)
    # clip 0: frames 2..19 fine, frame 20 flat -> no descriptors; clip 1: flat 21 + 22;
    # clip 2: frame 23, then the stream ends
    assert [(c.reason, c.frames) for c in _clips(path)] == \
        [(stabilize.NO_DESCRIPTORS, None), (stabilize.NO_DESCRIPTORS, None),
         (filters.TOO_SHORT, None)]


def test_unrelated_frames_drop_clips_for_too_few_matches(tmp_path):
    frames = [videos.scene(videos.WIDTH, videos.HEIGHT, seed=s) for s in range(10)]
    path = videos.write_video(tmp_path / "cuts.avi", frames)
    # 8 frames after the skip: each clip starts, its second frame fails
    assert [c.reason for c in _clips(path)] == [stabilize.FEW_MATCHES] * 4


@pytest.mark.slow
def test_motion_filters_and_the_scene_filter_count_their_reasons(tmp_path):
    shaky = videos.shaky_video(tmp_path / "shaky.avi", frames=20)
    static = videos.static_video(tmp_path / "static.avi", frames=20)
    (clip,) = [c for c in _clips(shaky) if c.reason is None]
    assert clip.camera_motion > 2.0  # about 4 px shifts and 1.5 degrees per frame
    assert [c.reason for c in _clips(shaky, max_camera_motion=2.0)] == \
        [filters.CAMERA_MOTION]
    assert [c.reason for c in _clips(shaky, max_camera_motion=50.0)] == [None]
    assert [c.reason for c in _clips(static, min_foreground_motion=1.0)] == \
        [filters.STATIC]
    assert [c.reason for c in _clips(shaky, min_foreground_motion=1.0)] == [None]
    keep = "tests.data.prepare.scene_filters:bright_middle"
    assert [c.reason for c in _clips(shaky, scene_filter=None)] == [None]
    with reader.FrameReader(shaky, 2) as frames:
        from vgan_tf.data.prepare import clips
        options = PrepareOptions()
        seen = []

        def record(middle):
            seen.append(middle)
            return False

        results = list(clips.cut_clips(frames, options, record))
    assert [c.reason for c in results] == [filters.SCENE_FILTER]
    assert seen[0].shape == (128, 128, 3) and seen[0].dtype == np.uint8
    np.testing.assert_array_equal(seen[0], clip.frames[len(clip.frames) // 2])
    assert filters.load_scene_filter(keep)(np.full((4, 4, 3), 200, np.uint8)) is True
    assert filters.load_scene_filter(keep)(np.zeros((4, 4, 3), np.uint8)) is False
    with pytest.raises(ValueError, match="no_such_function"):
        filters.load_scene_filter("tests.data.prepare.scene_filters:no_such_function")
    with pytest.raises(ValueError, match="neither"):
        filters.load_scene_filter("not a spec")


def test_a_saved_model_scene_filter(tmp_path):
    import tensorflow as tf

    class Bright(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8)])
        def __call__(self, images):
            return {"keep": tf.cast(tf.reduce_mean(tf.cast(images, tf.float32)) > 100,
                                    tf.float32)[None]}

    module = Bright()
    tf.saved_model.save(module, str(tmp_path / "model"),
                        signatures={"serving_default": module.__call__})
    keep = filters.load_scene_filter(str(tmp_path / "model"))
    assert keep(np.full((8, 8, 3), 200, np.uint8)) is True
    assert keep(np.zeros((8, 8, 3), np.uint8)) is False
    with pytest.raises(ValueError, match="SavedModel"):
        filters.load_scene_filter(str(tmp_path))


def test_target_fps_takes_frames_by_time_stamp(tmp_path):
    frames = [np.full((24, 32, 3), 10 * k, np.uint8) for k in range(20)]
    path = videos.write_video(tmp_path / "ramp.avi", frames, fps=25.0)
    every = [f[0, 0, 0] for f in reader.FrameReader(path)]
    half = [f[0, 0, 0] for f in reader.FrameReader(path, fps=12.5)]
    tenth = reader.FrameReader(path, skip=2, fps=2.5)
    assert half == every[::2]
    assert [f[0, 0, 0] for f in tenth] == every[2::10]
    assert tenth.frames_read == 20
