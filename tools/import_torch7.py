"""Imports a released Torch7 VideoGAN network (.t7) into Keras, and optionally serves it.

    python -m tools.import_torch7 --t7=golf/iter100000_net.t7 --output=golf.keras
    python -m tools.import_torch7 --t7=golf/iter100000_net.t7 --output=golf.keras \
        --export_base=/models --model_name=golf
    python -m tools.import_torch7 --t7=golf/iter100000_netD.t7 --output=golf_d.keras

The file is read as data (never executed). A file whose module tree differs from the
original's is refused with the first differing module path (vgan_tf.interop.torch7).
"""
from absl import flags

from vgan_tf.serving import api

from . import entry

FLAGS = flags.FLAGS
flags.DEFINE_string("t7", None, "The Torch7 file (generator or discriminator).")
flags.DEFINE_string("output", None, "Where to write the Keras model (.keras).")
flags.DEFINE_enum("kind", "auto", ["auto", "generator", "discriminator"],
                  "What the file holds; auto reads it from the module tree.")
flags.DEFINE_string("export_base", None, "Also export the generator for TF Serving "
                    "under this base folder (<export_base>/<model_name>/<version>/).")
flags.DEFINE_string("model_name", api.GENERATOR_MODEL, "Served model name (with "
                    "--export_base).")
flags.DEFINE_integer("version", None, "Export version (with --export_base); default: the "
                     "next free one.")
flags.mark_flags_as_required(["t7", "output"])


def main(argv):
    del argv
    from vgan_tf.interop import torch7

    done = torch7.convert(FLAGS.t7, FLAGS.output,
                          kind=None if FLAGS.kind == "auto" else FLAGS.kind,
                          export_base=FLAGS.export_base, model_name=FLAGS.model_name,
                          version=FLAGS.version)
    print(f"{done.kind} {done.config} -> {done.keras_path}")
    if done.export_path:
        print(f"exported -> {done.export_path}")


def run():
    entry.run(main)


if __name__ == "__main__":
    run()
