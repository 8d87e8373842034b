"""vgan_tf.data.sample_video and tools/fetch_sample_video.py: the checked fetch of vtest.avi."""
import hashlib
import os
import shutil

import pytest

from vgan_tf.data import sample_video


def _options(tmp_path, source, content=b"not a video"):
    return sample_video.FetchOptions(dest=str(tmp_path / "out" / "vtest.avi"),
                                     source=str(source),
                                     sha256=hashlib.sha256(content).hexdigest())


def test_a_source_that_matches_is_copied_atomically_and_readable(tmp_path):
    source = tmp_path / "given.avi"
    source.write_bytes(b"not a video")
    options = _options(tmp_path, source)
    assert sample_video.fetch(options) == options.dest
    assert open(options.dest, "rb").read() == b"not a video"
    assert os.stat(options.dest).st_mode & 0o777 == 0o644
    assert os.listdir(tmp_path / "out") == ["vtest.avi"]  # no temporary left


def test_a_source_with_another_hash_is_refused_and_nothing_is_written(tmp_path):
    source = tmp_path / "given.avi"
    source.write_bytes(b"something else")
    options = _options(tmp_path, source)
    with pytest.raises(ValueError, match="sha256 .* is not vtest.avi's"):
        sample_video.fetch(options)
    assert not os.path.exists(options.dest)


def test_a_good_file_already_there_is_kept_without_a_source(tmp_path):
    options = sample_video.FetchOptions(dest=str(tmp_path / "vtest.avi"), source=None,
                                        sha256=hashlib.sha256(b"x").hexdigest())
    (tmp_path / "vtest.avi").write_bytes(b"x")
    assert sample_video.fetch(options) == options.dest  # apt-get is not asked


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("apt-get") is None, reason="needs apt-get (Debian)")
def test_the_opencv_doc_package_gives_the_real_vtest(tmp_path):
    options = sample_video.FetchOptions(dest=str(tmp_path / "vtest.avi"))
    try:
        path = sample_video.fetch(options)
    except OSError as error:  # no network or no such package in the apt lists
        pytest.skip(f"apt-get could not fetch opencv-doc: {error}")
    assert sample_video.sha256_of(path) == sample_video.VTEST_SHA256
    import cv2
    capture = cv2.VideoCapture(path)
    assert (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))) == (768, 576)
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 795
