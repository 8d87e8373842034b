"""Evaluates a saved action classifier on a labelled list: top-1, top-5, mean per-class
accuracy and the confusion matrix (report.json and confusion.png in --out_dir).

    python -m tools.evaluate_classifier --classifier=runs/ucf_finetune/classifier.keras \
        --test_list=ucf/testlist01.txt --data_root=ucf/strips --label_base=1 --out_dir=eval
"""
from __future__ import annotations

import os

from absl import flags

from . import entry

FLAGS = flags.FLAGS
flags.DEFINE_string("classifier", None, "A classifier.keras written by vgan-finetune.")
flags.DEFINE_multi_string("test_list", [], "Labelled list file(s) to evaluate on.")
flags.DEFINE_string("data_root", "", "Folder the list paths are relative to.")
flags.DEFINE_integer("label_base", 0, "The first class's label in the lists (1: 1-based).")
flags.DEFINE_integer("batch_size", 32, "Clips per batch.")
flags.DEFINE_integer("test_clips", 1, "Windows per test video whose logits are averaged "
                     "(1: the centre window).", lower_bound=1)
flags.DEFINE_string("out_dir", None, "Where report.json and confusion.png go (default: the "
                    "classifier's folder).")
flags.mark_flag_as_required("classifier")


def main(argv):
    del argv
    import keras

    from vgan_tf.models import ActionClassifier
    from vgan_tf.training import classification as classification_lib

    if not FLAGS.test_list:
        raise entry.UsageError("--test_list is required: labelled list file(s)")
    if not os.path.isfile(FLAGS.classifier):
        raise FileNotFoundError(f"--classifier: no such file {FLAGS.classifier}")
    classifier = keras.saving.load_model(FLAGS.classifier, safe_mode=True)
    if not isinstance(classifier, ActionClassifier):
        raise entry.UsageError(f"--classifier: {FLAGS.classifier} holds a "
                               f"{type(classifier).__name__}, not an ActionClassifier")
    frames, size = classifier.video_shape[0], classifier.video_shape[1]
    config = classification_lib.ClassifierConfig(
        model_dir=FLAGS.out_dir or os.path.dirname(os.path.abspath(FLAGS.classifier)),
        test_list=tuple(FLAGS.test_list), data_root=FLAGS.data_root,
        num_classes=classifier.num_classes, label_base=FLAGS.label_base, frames=frames,
        size=size, base_width=classifier.layout.base_width, batch_size=FLAGS.batch_size,
        test_clips=FLAGS.test_clips)
    report = classification_lib.evaluate(classifier, config)
    report["classifier"] = os.path.abspath(FLAGS.classifier)
    os.makedirs(config.model_dir, exist_ok=True)
    paths = classification_lib.write_report(report, config.model_dir)
    print(classification_lib.summary_line(report))
    print("\n".join(paths))


def run():
    entry.run(main)


if __name__ == "__main__":
    run()
