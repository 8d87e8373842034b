"""Evaluates a saved action classifier on a labelled list: top-1, top-5, mean per-class
accuracy and the confusion matrix (report.json and confusion.png in --out_dir).

    python -m tools.evaluate_classifier --classifier=runs/ucf_finetune/classifier.keras \
        --test_list=ucf/testlist01.txt --data_root=ucf/strips --label_base=1 --out_dir=eval

Every flag is a setting of ClassifierEvaluation below (vgan_tf.config_flags).
"""
from __future__ import annotations

import dataclasses
import os

from absl import flags

from vgan_tf import config_flags
from vgan_tf.config_flags import setting

from . import entry


@dataclasses.dataclass(frozen=True)
class ClassifierEvaluation:
    """The settings of this binary; the rest of the ClassifierConfig it builds comes from
    the classifier itself (its classes, clip shape and width)."""
    classifier: str | None = setting(None, "A classifier.keras written by vgan-finetune.")
    test_list: tuple = setting((), "Labelled list file(s) to evaluate on.")
    data_root: str = setting("", "Folder the list paths are relative to.")
    label_base: int = setting(0, "The first class's label in the lists (1: 1-based).")
    batch_size: int = setting(32, "Clips per batch.", minimum=1)
    test_clips: int = setting(1, "Windows per test video whose logits are averaged (1: the "
                              "centre window).", minimum=1)
    out_dir: str | None = setting(None, "Where report.json and confusion.png go (default: "
                                  "the classifier's folder).")

    def __post_init__(self):
        config_flags.validate_fields(self)


FLAGS = flags.FLAGS
config_flags.define_flags(ClassifierEvaluation)
flags.mark_flag_as_required("classifier")


def main(argv):
    del argv
    import keras

    from vgan_tf.models import ActionClassifier
    from vgan_tf.training import classification as classification_lib

    settings = config_flags.config_from_flags(ClassifierEvaluation)
    if not settings.test_list:
        raise entry.UsageError("--test_list is required: labelled list file(s)")
    if not os.path.isfile(settings.classifier):
        raise FileNotFoundError(f"--classifier: no such file {settings.classifier}")
    classifier = keras.saving.load_model(settings.classifier, safe_mode=True)
    if not isinstance(classifier, ActionClassifier):
        raise entry.UsageError(f"--classifier: {settings.classifier} holds a "
                               f"{type(classifier).__name__}, not an ActionClassifier")
    frames, size = classifier.video_shape[0], classifier.video_shape[1]
    config = classification_lib.make(
        model_dir=settings.out_dir or os.path.dirname(os.path.abspath(settings.classifier)),
        test_list=settings.test_list, data_root=settings.data_root,
        num_classes=classifier.num_classes, label_base=settings.label_base, frames=frames,
        size=size, base_width=classifier.layout.base_width,
        batch_size=settings.batch_size, test_clips=settings.test_clips)
    report = classification_lib.evaluate(classifier, config)
    report["classifier"] = os.path.abspath(settings.classifier)
    os.makedirs(config.model_dir, exist_ok=True)
    paths = classification_lib.write_report(report, config.model_dir)
    print(classification_lib.summary_line(report))
    print("\n".join(paths))


def run():
    entry.run(main)


if __name__ == "__main__":
    run()
