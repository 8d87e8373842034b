"""Fetches OpenCV's sample video vtest.avi (real footage for `make demo-real`) and checks
its sha256.

  python -m tools.fetch_sample_video --dest=data/vtest.avi
  python -m tools.fetch_sample_video --dest=data/vtest.avi --source=~/opencv/samples/data/vtest.avi

Without --source it takes the file out of Debian's opencv-doc package (`apt-get download`,
unpacked with dpkg-deb; nothing is installed). Every flag is a setting of
vgan_tf.data.sample_video.FetchOptions. Exit status 2 with one line when the file cannot
be had or does not match.
"""
from absl import flags

from vgan_tf import config_flags
from vgan_tf.data import sample_video

from . import entry

FLAGS = flags.FLAGS
config_flags.define_flags(sample_video.FetchOptions)


def main(argv):
    del argv
    options = config_flags.config_from_flags(sample_video.FetchOptions)
    print(f"vtest.avi at {sample_video.fetch(options)} (sha256 {options.sha256[:12]}...)")
    return 0


def run():
    entry.run(main)


if __name__ == "__main__":
    run()
