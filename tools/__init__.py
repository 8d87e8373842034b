"""The binaries: `python -m tools.X` in a checkout, console scripts `vgan-X` once installed
(as vgan_tf.tools). Importing this package quiets TensorFlow before any binary imports it
(entry.quiet_start; `-v 1` on the command line keeps its log)."""
import sys

from . import entry

entry.quiet_start(sys.argv)
