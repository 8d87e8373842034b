"""Checks a corpus of strips once with the full checks, keeps their verdicts and reports
what it refused and why.

  vgan-check-strips data/train.txt --data_root=data     # or --list=data/train.txt
  python -m tools.check_strips --list=data/train.txt --report=check.json

Every flag is a field of vgan_tf.data.corpus_check.CheckStripsConfig (its help, default
and bounds come from there); bare arguments are list files.
"""
import sys

from absl import flags

from vgan_tf import config_flags
from vgan_tf.data.corpus_check import CheckStripsConfig

from . import entry

FLAGS = flags.FLAGS
config_flags.define_flags(CheckStripsConfig)


def positional_lists(argv):
    """`argv` with each bare argument (not a flag, not the value of the flag before it:
    `--data_root DIR`) written as --list=ARG."""
    out, value_next = argv[:1], False
    for arg in argv[1:]:
        if value_next or arg.startswith("-"):
            out.append(arg)
            name = arg.lstrip("-").split("=", 1)[0]
            value_next = ("=" not in arg and arg.startswith("-") and name in FLAGS
                          and not FLAGS[name].boolean)
        else:
            out.append(f"--list={arg}")
            value_next = False
    return out


def main(argv):
    del argv
    from vgan_tf.data.corpus_check import check_corpus

    config = config_flags.config_from_flags(CheckStripsConfig)
    report = check_corpus(config)
    refused = report.by_reason
    print(f"checked {report.total} strips ({report.checked} now, "
          f"{report.total - report.checked} had a verdict): {report.passed} passed, "
          f"refused {len(report.refused)} {refused or ''}; report {report.report_file}")


def run():
    sys.argv = positional_lists(sys.argv)
    entry.run(main)


if __name__ == "__main__":
    run()
