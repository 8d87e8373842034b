"""Trains an action classifier on the learned video representation, then evaluates it.

    python -m tools.finetune_classifier --preset=ucf101 --regime=finetune \
        --pretrained=runs/golf --train_list=ucf/trainlist01.txt --test_list=ucf/testlist01.txt \
        --data_root=ucf/strips --model_dir=runs/ucf_finetune
    python -m tools.finetune_classifier ... --regime=linear --label_fraction=0.125

Regimes: random_init, linear (frozen features), finetune (see
vgan_tf.training.classification). Writes classifier.keras, report.json (top-1, top-5,
mean per-class accuracy, confusion matrix, settings) and confusion.png to --model_dir.
Every flag but --preset is a setting of ClassifierConfig (flat: --frames sets
config.model.frames; vgan_tf.config_flags).
"""
from __future__ import annotations

from absl import flags

from vgan_tf import config_flags
from vgan_tf.training import classification as classification_lib

from . import entry

FLAGS = flags.FLAGS
flags.DEFINE_enum("preset", None, sorted(classification_lib.PRESETS),
                  "Named settings: ucf101 (the paper's experiment), tiny (seconds on CPU). "
                  "Explicit flags override the preset.")
config_flags.define_flags(classification_lib.ClassifierConfig)


def config_from_flags() -> classification_lib.ClassifierConfig:
    """Preset, then the flags given; the sizes of --pretrained's network unless given."""
    cls = classification_lib.ClassifierConfig
    config = config_flags.config_from_flags(cls, FLAGS.preset, classification_lib.from_preset)
    given = set(config_flags.overrides_from_flags(cls))
    return classification_lib.with_pretrained_sizes(config, given)


def main(argv):
    del argv
    report = classification_lib.train_classifier(config_from_flags().validate())
    print(classification_lib.summary_line(report))
    print(f"report: {FLAGS.model_dir}/report.json  confusion: {FLAGS.model_dir}/confusion.png")


def run():
    entry.run(main)


if __name__ == "__main__":
    run()
