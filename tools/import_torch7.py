"""Imports a released Torch7 VideoGAN network (.t7) into Keras, and optionally serves it.

    python -m tools.import_torch7 --t7=golf/iter100000_net.t7 --output=golf.keras
    python -m tools.import_torch7 --t7=golf/iter100000_net.t7 --output=golf.keras \
        --export_base=/models --model_name=golf
    python -m tools.import_torch7 --t7=golf/iter100000_netD.t7 --output=golf_d.keras

The file is read as data (never executed). A malformed file, or one whose module tree
differs from the original's, is refused in one line naming the file and the byte or the
first differing module path (vgan_tf.interop.torch7), exit status 2. Every flag is a
field of vgan_tf.interop.options.ImportConfig.
"""
from absl import flags

from vgan_tf import config_flags
from vgan_tf.interop.options import ImportConfig

from . import entry

config_flags.define_flags(ImportConfig)
flags.mark_flags_as_required(["t7", "output"])


def main(argv):
    del argv
    from vgan_tf.interop import torch7

    done = torch7.convert_config(config_flags.config_from_flags(ImportConfig))
    print(f"{done.kind} {done.config} -> {done.keras_path}")
    if done.export_path:
        print(f"exported -> {done.export_path}")


def run():
    entry.run(main)


if __name__ == "__main__":
    run()
