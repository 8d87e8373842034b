"""Animates still images with a trained future predictor: per image an animated GIF and a
JPEG strip (frames stacked vertically).

    vgan-predict --model=runs/future photo.jpg          (or python -m tools.predict_future)
    vgan-predict --model=runs/future/predictor.keras --out_dir=videos pictures/ --parts
    vgan-predict --model=export/predictor --crop=none beach.png

Inputs are image files (JPEG, PNG, BMP, WebP, GIF; any size) or folders of them. Each image
is centre-cropped to a square and resized to the model size (--crop=none resizes the
whole image instead, aspect ratio not kept). --model is a training folder (its
predictor.keras, else its latest checkpoint), a .keras file or an exported SavedModel.
A file that cannot be read as an image is named on stderr and skipped; the exit status is
1 if any file failed, 2 for a mistake in the flags.
"""
from absl import flags

from vgan_tf.serving import api

from . import entry

FLAGS = flags.FLAGS
flags.DEFINE_string("model", None, "Training folder, .keras file or exported SavedModel.")
flags.DEFINE_multi_string("input", [], "An image file or folder (the same as giving it as "
                          "an argument); repeat for several.")
flags.DEFINE_string("out_dir", "predicted", "Where to write the GIFs and strips.")
flags.DEFINE_enum("crop", "centre", list(api.CROPS), "centre: the centre square of each "
                  "image; none: the whole image resized (aspect ratio not kept).")
flags.DEFINE_bool("parts", False, "Also write <name>_mask.gif and <name>_background.png.")
flags.DEFINE_bool("from_strips", False, "Inputs are JPEG strips (frames stacked "
                  "vertically): animate each strip's top frame.")
flags.DEFINE_integer("batch_size", 16, "Images per forward pass.", lower_bound=1)
flags.DEFINE_float("fps", 8.0, "Frames per second of the GIFs.", lower_bound=0.1)
flags.DEFINE_bool("progress", True, "Show a progress bar on stderr.")
flags.mark_flag_as_required("model")


class SomeFilesFailed(RuntimeError):
    """Some inputs could not be read (each was named on stderr)."""


def main(argv):
    import sys

    from vgan_tf.export import future_files

    del argv
    inputs = FLAGS.input
    if not inputs:
        raise entry.UsageError("give one or more image files or folders")
    runner = future_files.load_predictor(FLAGS.model)
    report = future_files.predict_files(
        runner, inputs, FLAGS.out_dir, crop=FLAGS.crop, parts=FLAGS.parts,
        batch_size=FLAGS.batch_size, fps=FLAGS.fps, from_strips=FLAGS.from_strips,
        progress=sys.stderr if FLAGS.progress else None)
    print("\n".join(report.written))
    for path, reason in report.failed:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    if report.failed:
        names = ", ".join(path for path, _ in report.failed)
        raise SomeFilesFailed(f"{len(report.failed)} file(s) could not be read as images: "
                              f"{names}")


def _positional_as_flags(argv: list) -> list:
    """`vgan-predict a.jpg b/` -> `vgan-predict --input=a.jpg --input=b/` (entry.run takes
    flags only). Flags that do not parse are left for entry.run to report."""
    try:
        positional = FLAGS(argv, known_only=True)[1:]
    except flags.Error:
        return argv
    finally:
        FLAGS.unparse_flags()
    rest = list(argv)
    for item in reversed(positional):
        del rest[len(rest) - 1 - rest[::-1].index(item)]
    return rest + [f"--input={item}" for item in positional]


def run():
    import sys

    sys.argv = _positional_as_flags(sys.argv)
    entry.run(main, stopped=(SomeFilesFailed,), stopped_prefix="vgan-predict: ")


if __name__ == "__main__":
    run()
