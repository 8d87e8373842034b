"""Labelled list files of prepared UCF101 strips, one per official split file.

    vgan-prepare --input=UCF-101/ --out_dir=ucf/strips
    python -m tools.ucf101_lists --prepared=ucf/strips/train.txt \
        --class_index=ucfTrainTestlist/classInd.txt \
        --split=ucfTrainTestlist/trainlist01.txt --split=ucfTrainTestlist/testlist01.txt \
        --out_dir=ucf/strips

writes ucf/strips/trainlist01.txt and testlist01.txt ('<video id>/<clip>.jpg <label>',
labels 1-based as classInd.txt numbers them), ready for vgan-finetune --preset=ucf101.
"""
from absl import flags

from . import entry

FLAGS = flags.FLAGS
flags.DEFINE_string("prepared", None, "The list vgan-prepare wrote (<out_dir>/train.txt).")
flags.DEFINE_string("class_index", None, "UCF101's classInd.txt.")
flags.DEFINE_multi_string("split", [], "Official split file(s): trainlist0K.txt, "
                          "testlist0K.txt (repeatable).")
flags.DEFINE_string("out_dir", None, "Where the lists go (the prepared list's folder keeps "
                    "the paths relative to it).")
flags.mark_flags_as_required(["prepared", "class_index", "out_dir"])


def main(argv):
    del argv
    from vgan_tf.data import ucf101

    if not FLAGS.split:
        raise entry.UsageError("--split is required: one or more official split files")
    for path, (strips, missing) in ucf101.split_lists(FLAGS.prepared, FLAGS.class_index,
                                                      FLAGS.split, FLAGS.out_dir).items():
        print(f"{path}: {strips} strips" + (f" ({missing} videos of the split have no "
                                             "strip)" if missing else ""))


def run():
    entry.run(main)


if __name__ == "__main__":
    run()
