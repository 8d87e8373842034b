"""Exports a trained generator (or future predictor) for TF Serving:
EXPORT_BASE/<model_name>/<version>/.

    python -m tools.export --model_dir=runs/ucf --export_base=/models
    python -m tools.export --generator=runs/ucf/generator.keras --export_base=/models \
        --model_name=generator --version=3
    python -m tools.export --model=future --model_dir=runs/future --export_base=/models
    python -m tools.export --predictor=runs/future/predictor.keras --export_base=/models
    python -m tools.export --model_dir=runs/ucf --export_base=/models --precision=bf16

See docs/serving.md for the signatures and serving/README.md for serving the result.
"""
from absl import flags

from vgan_tf.serving import api

from . import entry

FLAGS = flags.FLAGS
flags.DEFINE_enum("model", "video", ["video", "future"], "video: the generator; future: "
                  "the future predictor (implied by --predictor).")
flags.DEFINE_string("generator", None, "Path of a saved generator (.keras).")
flags.DEFINE_string("predictor", None, "Path of a saved future predictor (.keras).")
flags.DEFINE_string("model_dir", None, "Training directory; uses <model_dir>/generator.keras "
                    "(predictor.keras with --model=future).")
flags.DEFINE_string("export_base", None, "TF Serving base folder (holds <model_name>/).")
flags.DEFINE_string("model_name", None, "Model folder and served model name (default: "
                    "generator, or predictor for the future predictor).")
flags.DEFINE_integer("version", None, "Integer version; default: the next free one.")
flags.DEFINE_integer("max_batch", api.MAX_BATCH, "Largest batch a request may hold.")
flags.DEFINE_list("warmup_batch_sizes", ["1"], "Batch sizes of the warm-up requests "
                  "(empty: no warm-up file).")
flags.DEFINE_enum("crop", "centre", list(api.CROPS), "Future predictor: how image_bytes "
                  "of another shape become square (the centre square, or none: the whole "
                  "image resized).")
flags.DEFINE_enum("precision", "fp32", ["fp32", "bf16"], "fp32: float32 convolutions "
                  "(default); bf16: bfloat16 convolutions (faster on CPUs with AVX512_BF16 "
                  "or AMX; outputs keep their dtypes; measured difference in the README's "
                  "serving section).")
flags.DEFINE_bool("fold_batch_norm", True, "Fold each BatchNorm into the convolution "
                  "before it (same outputs up to float rounding; fewer ops).")
flags.mark_flag_as_required("export_base")


def main(argv):
    del argv
    from vgan_tf import export

    given = [name for name in ("generator", "predictor", "model_dir") if FLAGS[name].value]
    if len(given) != 1:
        raise entry.UsageError("give exactly one of --generator, --predictor and --model_dir")
    future = FLAGS.predictor is not None or FLAGS.model == "future"
    if FLAGS.generator and future:
        raise entry.UsageError("--generator is the video model: use --predictor for "
                               "--model=future")
    kwargs = dict(version=FLAGS.version, max_batch=FLAGS.max_batch,
                  warmup_batch_sizes=[int(b) for b in FLAGS.warmup_batch_sizes if b],
                  precision=FLAGS.precision, fold_batch_norm=FLAGS.fold_batch_norm)
    if future:
        path = FLAGS.predictor or export.predictor_path(FLAGS.model_dir)
        written = export.export_predictor_file(
            path, FLAGS.export_base, model_name=FLAGS.model_name or api.PREDICTOR_MODEL,
            crop=FLAGS.crop, **kwargs)
    else:
        path = FLAGS.generator or export.generator_path(FLAGS.model_dir)
        written = export.export_generator_file(
            path, FLAGS.export_base, model_name=FLAGS.model_name or api.GENERATOR_MODEL,
            **kwargs)
    print(written)


def run():
    entry.run(main)


if __name__ == "__main__":
    run()
