"""GIF and JPEG-strip files of uint8 videos (Pillow)."""
import numpy as np
import pytest

from vgan_tf.viz import video_files


def test_video_files_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    palette = np.array([[0, 0, 0], [255, 0, 0], [0, 255, 0], [255, 255, 255]], np.uint8)
    video = palette[rng.integers(0, 4, size=(5, 8, 8))]
    np.testing.assert_array_equal(video_files.decode_gif(video_files.encode_gif(video)), video)
    strip = video_files.encode_strip_jpeg(video, quality=95)
    assert video_files.decode_strip(strip, 5).shape == (5, 8, 8, 3)
    path = video_files.write_gif(str(tmp_path / "a.gif"), video[..., :1])
    assert video_files.decode_gif(open(path, "rb").read()).shape == (5, 8, 8, 3)
    with pytest.raises(ValueError, match="uint8"):
        video_files.encode_gif(video.astype(np.float32))
    with pytest.raises(ValueError, match="frames"):
        video_files.decode_strip(strip, 3)
