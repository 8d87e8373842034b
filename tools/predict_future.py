"""Animates still images with a trained future predictor: per image an animated GIF and a
JPEG strip (frames stacked vertically).

    vgan-predict --model=runs/future photo.jpg          (or python -m tools.predict_future)
    vgan-predict --model=runs/future/predictor.keras --out_dir=videos pictures/ --parts
    vgan-predict --model=export/predictor --crop=none beach.png
    vgan-predict --model=runs/future --scale=4 --mp4 photo.jpg

Inputs are image files (JPEG, PNG, BMP, WebP, GIF; any size) or folders of them. Each image
is centre-cropped to a square and resized to the model size (--crop=none resizes the
whole image instead, aspect ratio not kept). --model is a training folder (its
predictor.keras, else its latest checkpoint), a .keras file or an exported SavedModel.
A file that cannot be read as an image is named on stderr and skipped; the exit status is
1 if any file failed, 2 for a mistake in the flags. Every flag is a field of
vgan_tf.export.future_files.PredictConfig.
"""
from absl import flags

from vgan_tf import config_flags
from vgan_tf.export.future_files import PredictConfig

from . import entry

FLAGS = flags.FLAGS
config_flags.define_flags(PredictConfig)


class SomeFilesFailed(RuntimeError):
    """Some inputs could not be read (each was named on stderr)."""


def main(argv):
    import sys

    from vgan_tf.export import future_files

    del argv
    config = config_flags.config_from_flags(PredictConfig)
    config_flags.validate_fields(config)
    if not config.model:
        raise entry.UsageError("--model is required: a training folder, .keras file or "
                               "exported SavedModel")
    if not config.input:
        raise entry.UsageError("give one or more image files or folders")
    runner = future_files.load_predictor(config.model)
    report = future_files.predict_files(runner, config.input, config.options)
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
        positional = [item for item in FLAGS(argv, known_only=True)[1:]
                      if not item.startswith("-")]  # --help* are absl's, defined later
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
