"""Exports a trained generator for TF Serving: EXPORT_BASE/<model_name>/<version>/.

    python -m tools.export --model_dir=runs/ucf --export_base=/models
    python -m tools.export --generator=runs/ucf/generator.keras --export_base=/models \
        --model_name=generator --version=3

See docs/serving.md for the signatures and serving/README.md for serving the result.
"""
from absl import flags

from vgan_tf.serving import api

from . import entry

FLAGS = flags.FLAGS
flags.DEFINE_string("generator", None, "Path of a saved generator (.keras).")
flags.DEFINE_string("model_dir", None, "Training directory; uses <model_dir>/generator.keras.")
flags.DEFINE_string("export_base", None, "TF Serving base folder (holds <model_name>/).")
flags.DEFINE_string("model_name", api.GENERATOR_MODEL, "Model folder and served model name.")
flags.DEFINE_integer("version", None, "Integer version; default: the next free one.")
flags.DEFINE_integer("max_batch", api.MAX_BATCH, "Largest batch a request may hold.")
flags.DEFINE_list("warmup_batch_sizes", ["1"], "Batch sizes of the warm-up requests "
                  "(empty: no warm-up file).")
flags.mark_flag_as_required("export_base")


def main(argv):
    del argv
    from vgan_tf import export

    if bool(FLAGS.generator) == bool(FLAGS.model_dir):
        raise entry.UsageError("give exactly one of --generator and --model_dir")
    path = FLAGS.generator or export.generator_path(FLAGS.model_dir)
    written = export.export_generator_file(
        path, FLAGS.export_base, model_name=FLAGS.model_name, version=FLAGS.version,
        max_batch=FLAGS.max_batch,
        warmup_batch_sizes=[int(b) for b in FLAGS.warmup_batch_sizes if b])
    print(written)


def run():
    entry.run(main)


if __name__ == "__main__":
    run()
