"""OpenCV's sample video vtest.avi, fetched and checked: real footage for `make demo-real`.

vtest.avi (768x576, 795 frames at 10 fps, pedestrians walking in front of a still
building) ships in OpenCV's samples/data and in Debian's `opencv-doc` package. `fetch`
copies it from a path the user gives, or takes it out of the `opencv-doc` package that
`apt-get download` fetches (no root needed: the package is unpacked with `dpkg-deb`, not
installed); either way the file must match VTEST_SHA256, and it is written atomically.
No TensorFlow.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import tarfile
import tempfile

from vgan_tf import config_flags
from vgan_tf.config_flags import setting
from vgan_tf.files import sha256_of

VTEST_SHA256 = "45cddc9490be69345cbdab64ca583be65987e864ca408038e648db99e10516cf"
PACKAGE = "opencv-doc"
MEMBER = "./usr/share/doc/opencv-doc/examples/data/vtest.avi"
APT_TIMEOUT_S = 600  # the package is 96 MB


@dataclasses.dataclass(frozen=True)
class FetchOptions:
    """The flags of tools/fetch_sample_video.py (config_flags settings)."""

    dest: str = setting("data/vtest.avi", "Where the video is written.")
    source: str | None = setting(None, "A local vtest.avi to take (default: the opencv-doc "
                                 "package, through apt-get download).")
    sha256: str = setting(VTEST_SHA256, "What the file must hash to.")

    def __post_init__(self):
        config_flags.validate_fields(self)


def _checked_copy(source: str, options: FetchOptions, what: str) -> str:
    found = sha256_of(source)
    if found != options.sha256:
        raise ValueError(f"{what}: sha256 {found} is not vtest.avi's {options.sha256}")
    folder = os.path.dirname(os.path.abspath(options.dest))
    os.makedirs(folder, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, delete=False, suffix=".tmp") as handle:
        temporary = handle.name
    shutil.copyfile(source, temporary)
    os.chmod(temporary, 0o644)
    os.replace(temporary, options.dest)
    return options.dest


def _from_package(options: FetchOptions) -> str:
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise OSError("no apt-get/dpkg-deb here to fetch opencv-doc: give the video's path "
                      "(--source=.../vtest.avi, from OpenCV's samples/data)")
    with tempfile.TemporaryDirectory(prefix="vgan_vtest_") as work:
        try:
            done = subprocess.run(["apt-get", "download", PACKAGE], cwd=work,
                                  capture_output=True, text=True, check=False,
                                  timeout=APT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise OSError(f"apt-get download {PACKAGE} took over {APT_TIMEOUT_S} s: give "
                          f"the video's path (--source=.../vtest.avi)") from None
        debs = [name for name in os.listdir(work) if name.endswith(".deb")]
        if done.returncode != 0 or not debs:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise OSError(f"apt-get download {PACKAGE} failed ({last}): give the video's "
                          f"path (--source=.../vtest.avi, from OpenCV's samples/data)")
        unpacked = os.path.join(work, "vtest.avi")
        with subprocess.Popen(["dpkg-deb", "--fsys-tarfile", os.path.join(work, debs[0])],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as unpack:
            # stderr: dpkg-deb complains of the broken pipe once the member is read.
            with tarfile.open(fileobj=unpack.stdout, mode="r|") as archive:
                for member in archive:
                    if member.name == MEMBER and member.isfile():
                        with open(unpacked, "wb") as out:
                            shutil.copyfileobj(archive.extractfile(member), out)
                        break
            unpack.stdout.close()
        if not os.path.isfile(unpacked):
            raise OSError(f"{debs[0]} holds no {MEMBER}")
        return _checked_copy(unpacked, options, f"{debs[0]}'s vtest.avi")


def fetch(options: FetchOptions) -> str:
    """options.dest, holding vtest.avi (kept when it is already there and checks out)."""
    if os.path.isfile(options.dest) and sha256_of(options.dest) == options.sha256:
        return options.dest
    if options.source is not None:
        if not os.path.isfile(options.source):
            raise FileNotFoundError(f"--source {options.source!r}: no such file")
        return _checked_copy(options.source, options, options.source)
    return _from_package(options)
