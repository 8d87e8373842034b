"""GIF and JPEG-strip files of uint8 videos (Pillow)."""
import io

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


def test_gifs_keep_repeated_and_still_frames():
    """Pillow stores identical consecutive frames as one longer frame: every frame must
    still come back (a still video, a pause in the middle)."""
    from vgan_tf.viz import video_files as vf

    rng = np.random.default_rng(3)
    a, b = rng.integers(0, 256, (2, 6, 6, 3), dtype=np.uint8)
    paused = np.stack([a, b, b, b, a, a, b, a])
    np.testing.assert_array_equal(vf.decode_gif(vf.encode_gif(paused)).shape, paused.shape)
    still = np.repeat(a[None], 5, axis=0)
    assert vf.decode_gif(vf.encode_gif(still, fps=4)).shape == still.shape
    from PIL import Image  # a GIF from elsewhere (no comment): the shortest frame is the unit
    buffer = io.BytesIO()
    frames = [Image.fromarray(f) for f in (a, b)]
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:],
                   duration=[100, 300], loop=0)
    assert vf.decode_gif(buffer.getvalue()).shape[0] == 4
