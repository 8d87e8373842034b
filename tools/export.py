"""Exports a trained generator (or future predictor) for TF Serving:
EXPORT_BASE/<model_name>/<version>/.

    python -m tools.export --model_dir=runs/ucf --export_base=/models
    python -m tools.export --generator=runs/ucf/generator.keras --export_base=/models \
        --model_name=generator --version=3
    python -m tools.export --model=future --model_dir=runs/future --export_base=/models
    python -m tools.export --predictor=runs/future/predictor.keras --export_base=/models
    python -m tools.export --model_dir=runs/ucf --export_base=/models --precision=bf16

Every flag is a field of vgan_tf.export.ExportConfig. See docs/serving.md for the
signatures and serving/README.md for serving the result.
"""
from vgan_tf import config_flags
from vgan_tf.export.options import ExportConfig

from . import entry

config_flags.define_flags(ExportConfig)


def main(argv):
    del argv
    import os

    from vgan_tf.export import writer
    from vgan_tf.models import families

    config = config_flags.config_from_flags(ExportConfig)
    config_flags.validate_fields(config)
    (kind, name), path = config.source()
    if kind == "family":
        family = families.family(name)
        path = os.path.join(path, family.final_file)
    else:
        family = next(f for f in families.FAMILIES.values() if f.served_name == name)
    network = writer.load_generator(path)
    if not family.accepts(network):
        raise entry.UsageError(f"{path} holds a {type(network).__name__}, not the "
                               f"{family.name} family's network: give it with the flag of "
                               f"its family (--generator, --predictor)")
    written = family.export(network, config.export_base, config.options)
    print(written)


def run():
    entry.run(main)


if __name__ == "__main__":
    run()
