"""tools/entry.py: binaries quiet by default (TensorFlow's start-up log, its Python INFO
lines and empty warnings dropped; -v 1 brings them back) and --help listing the binary's
flags in both forms, `python -m tools.X` and the console script `vgan-X`."""
from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import warnings

import pytest

from tests.helpers import REPO
from tools import entry

NOISE = ("cuda", "onednn", "cpu_feature_guard", "absl::initializelog", "i0000", "e0000")


def _run(args, **kwargs):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300, **kwargs)


@pytest.mark.parametrize("argv,expected", [
    (["train"], None),
    (["train", "-v", "1"], 1),
    (["train", "-v=2"], 2),
    (["train", "--v=1"], 1),
    (["train", "--verbosity", "3"], 3),
    (["train", "--verbosity=0", "--model_dir=x"], 0),
    (["train", "--verbosity=1", "-v=-1"], -1),      # the last one wins, as in absl
    (["train", "--verbosity=debug"], None),         # absl refuses it later
    (["train", "--", "--verbosity=1"], None),       # after --: not a flag
    (["train", "--verbose=1", "--vv=1"], None),     # other flags
])
def test_verbosity_is_read_from_the_command_line(argv, expected):
    assert entry.verbosity_from_argv(argv) == expected


def test_quiet_start_keeps_a_level_the_environment_sets_and_verbosity_overrides(
        monkeypatch):
    from absl import logging as absl_logging
    tf_logger, absl_logger = logging.getLogger("tensorflow"), absl_logging.get_absl_logger()
    level, filters = tf_logger.level, list(absl_logger.filters)
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    try:
        with warnings.catch_warnings():
            entry.quiet_start(["train"])
            assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"
            assert tf_logger.level == logging.WARNING
            entry.quiet_start(["train"])
            assert sum(isinstance(f, entry._DropTensorFlowInfo)
                       for f in absl_logger.filters) == 1
            monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "1")
            entry.quiet_start(["train"])
            assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "1"
            entry.quiet_start(["train", "-v", "1"])
            assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"
    finally:
        tf_logger.setLevel(level)
        absl_logger.filters[:] = filters


START = "I0000 00:00:1796587630.942187   17735 port.cc:153] oneDNN custom operations on."
OLD_FORM = "2025-09-17 14:44:05.157831: W external/x/cudart_stub.cc:32] Could not find cuda"
CUINIT = "E0000 00:00:1796587411.555792   13401 cuda_platform.cc:52] failed call to cuInit"
FATAL = "F0000 00:00:1796587411.555792   13401 cpu_feature_guard.cc:9] compiled to use AVX"


def test_chatter_follows_the_cpp_log_level():
    assert entry.is_chatter(START, 1) and not entry.is_chatter(START, 0)
    assert entry.is_chatter(OLD_FORM, 2) and not entry.is_chatter(OLD_FORM, 1)
    assert entry.is_chatter(CUINIT, 3) and not entry.is_chatter(CUINIT, 2)
    assert not entry.is_chatter(FATAL, 3)
    assert entry.is_chatter(entry.ABSL_BANNER + " to STDERR", 1)
    assert not entry.is_chatter(entry.ABSL_BANNER + " to STDERR", 0)
    for ours in ("train: error: Unknown command line flag 'x'",
                 "I1206 20:09:59.554954 139681124154240 run.py:165] Training steps 0..20"):
        assert not entry.is_chatter(ours, 3), ours


def test_tensorflows_python_info_lines_are_dropped_ours_kept():
    import tensorflow as tf
    inside = os.path.join(os.path.dirname(tf.__file__), "python", "checkpoint", "x.py")
    drop = entry._DropTensorFlowInfo()

    def record(level, path):
        return logging.LogRecord("absl", level, path, 1, "message", None, None)
    assert not drop.filter(record(logging.INFO, inside))
    assert drop.filter(record(logging.WARNING, inside))
    assert drop.filter(record(logging.INFO, os.path.join(REPO, "vgan_tf", "training",
                                                         "run.py")))


def test_the_keras_shuffle_warning_is_matched():
    """The pattern in QUIET_WARNINGS matches the warning Keras gives on fit."""
    import tensorflow as tf
    from keras.src.trainers import data_adapters
    data = tf.data.Dataset.from_tensor_slices(([0.0, 1.0], [0.0, 1.0])).batch(1)
    for quiet in (False, True):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if quiet:
                for message in entry.QUIET_WARNINGS:
                    warnings.filterwarnings("ignore", message=message)
            data_adapters.get_data_adapter(data, shuffle=True)
        shuffle = [w for w in caught if "shuffle" in str(w.message)]
        assert len(shuffle) == (0 if quiet else 1), [str(w.message) for w in caught]


@pytest.mark.slow
def test_filtered_stderr_keeps_the_rest_even_through_an_abort():
    """The filter is a separate process: what a library writes before it aborts (an F
    line) is not lost with the process."""
    code = ("import os; from tools import entry\n"
            "with entry.filtered_stderr(3):\n"
            f"    os.write(2, {(START + chr(10) + 'keep me' + chr(10)).encode()!r})\n"
            f"    os.write(2, {(CUINIT + chr(10) + FATAL + chr(10)).encode()!r})\n"
            "    os.abort()\n")
    result = _run(["-c", code])
    assert result.returncode == -signal.SIGABRT, result.stderr
    assert result.stderr.splitlines() == ["keep me", FATAL]


@pytest.mark.slow
@pytest.mark.parametrize("args,line", [
    (["-m", "tools.train", "--no_such_flag"],
     "train: error: Unknown command line flag 'no_such_flag'"),
    (["-m", "tools.train", "--batch_size=abc"],
     "train: error: flag --batch_size=abc: invalid literal for int() with base 10: 'abc'"),
    # export imports TensorFlow in main, after the flags are parsed.
    (["-m", "tools.export", "--model_dir=/nonexistent/run", "--export_base=/tmp/x"],
     "export: error: no generator at /nonexistent/run/generator.keras"),
])
def test_a_mistake_prints_one_line_and_no_tensorflow_chatter(args, line):
    result = _run(args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [line]


@pytest.mark.slow
def test_verbosity_brings_tensorflows_log_back():
    result = _run(["-m", "tools.train", "-v", "1", "--no_such_flag"])
    lines = result.stderr.splitlines()
    assert result.returncode == 2
    assert lines[-1] == "train: error: Unknown command line flag 'no_such_flag'"
    assert any(re.match(entry.CHATTER, line) for line in lines[:-1]), lines


@pytest.mark.slow
@pytest.mark.parametrize("form", [
    ["-m", "tools.train", "--help"],
    # What the console script vgan-train runs (setup.cfg: vgan_tf.tools.train:run).
    ["-c", "from tools.train import run; import sys; sys.argv=['vgan-train','--help']; "
           "run()"],
])
def test_help_lists_the_binarys_flags_in_both_forms(form):
    result = _run(form)
    assert result.returncode == 1, result.stderr          # absl's --help exit status
    assert result.stdout.startswith("Trains the VideoGAN"), result.stdout[:300]
    for flag in ("--model_dir", "--preset", "--batch_size", "--data_list"):
        assert f"  {flag}:" in result.stdout, flag
    assert "Try --helpfull" in result.stdout
    assert not any(word in result.stderr.lower() for word in NOISE), result.stderr
