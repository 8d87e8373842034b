"""Labelled list files of prepared UCF101 strips, one per official split file.

    vgan-prepare --input=UCF-101/ --out_dir=ucf/strips
    python -m tools.ucf101_lists --prepared=ucf/strips/train.txt \
        --class_index=ucfTrainTestlist/classInd.txt \
        --split=ucfTrainTestlist/trainlist01.txt --split=ucfTrainTestlist/testlist01.txt \
        --out_dir=ucf/strips

writes ucf/strips/trainlist01.txt and testlist01.txt ('<video id>/<clip>.jpg <label>',
labels 1-based as classInd.txt numbers them), ready for vgan-finetune --preset=ucf101.
Every flag is a field of vgan_tf.data.ucf101.SplitListsConfig (its help and default come
from there).
"""
from absl import flags

from vgan_tf import config_flags
from vgan_tf.data.ucf101 import SplitListsConfig

from . import entry

FLAGS = flags.FLAGS
config_flags.define_flags(SplitListsConfig)
flags.mark_flags_as_required(["prepared", "class_index", "out_dir"])


def main(argv):
    del argv
    from vgan_tf.data import ucf101

    config = config_flags.config_from_flags(SplitListsConfig)
    for path, (strips, missing) in ucf101.split_lists(config.prepared, config.class_index,
                                                      config.split, config.out_dir).items():
        print(f"{path}: {strips} strips" + (f" ({missing} videos of the split have no "
                                             "strip)" if missing else ""))


def run():
    entry.run(main)


if __name__ == "__main__":
    run()
