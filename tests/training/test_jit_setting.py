"""--jit_compile: on, off, or the device's default when not given."""
import json
import os

import pytest
from absl import flags

from vgan_tf import config_flags
from vgan_tf.training import config as config_lib
from vgan_tf.training import run as run_lib


def test_unset_means_the_device_default():
    runtime = config_lib.make(model_dir="x", synthetic=True).runtime
    assert runtime.jit_compile is None
    assert runtime.jit_compile_on(gpu=False) is False
    assert runtime.jit_compile_on(gpu=True) is config_lib.GPU_JIT_COMPILE
    assert config_lib.GPU_JIT_COMPILE is False  # pending a GPU measurement (docs)


@pytest.mark.parametrize("given", [True, False])
def test_a_given_value_wins_on_every_device(given):
    runtime = config_lib.make(model_dir="x", synthetic=True, jit_compile=given).runtime
    assert runtime.jit_compile_on(gpu=False) is given
    assert runtime.jit_compile_on(gpu=True) is given


@pytest.mark.parametrize("argv, value, present", [
    ([], None, False), (["--jit_compile"], True, True), (["--nojit_compile"], False, True),
    (["--jit_compile=false"], False, True)])
def test_the_flag_has_three_states(argv, value, present):
    values = flags.FlagValues()
    config_flags.define_flags(config_lib.TrainConfig, values, module_name="test")
    values(["prog"] + argv)
    assert values["jit_compile"].value is value
    overrides = config_flags.overrides_from_flags(config_lib.TrainConfig, values)
    assert ("jit_compile" in overrides) is present
    config = config_lib.make(model_dir="x", synthetic=True, **overrides)
    assert config.runtime.jit_compile is value


def test_the_setting_refuses_other_values():
    with pytest.raises(ValueError, match="--jit_compile must be true or false"):
        config_lib.make(model_dir="x", synthetic=True, jit_compile="auto").validate()


def test_a_run_may_change_it_on_resume_and_old_configs_keep_theirs(tmp_path):
    assert "jit_compile" in config_lib.RESUME_MAY_CHANGE
    saved = config_lib.from_preset("tiny", model_dir=str(tmp_path), synthetic=True)
    with open(os.path.join(tmp_path, config_lib.CONFIG_FILE), "w") as handle:
        json.dump({**saved.flat(), "jit_compile": False}, handle)  # as older runs wrote it
    resumed = config_lib.for_run({"model_dir": str(tmp_path)})
    assert resumed.runtime.jit_compile is False
    changed = config_lib.for_run({"model_dir": str(tmp_path), "jit_compile": True})
    assert changed.runtime.jit_compile is True


def test_build_gan_compiles_with_the_resolved_value(tmp_path, monkeypatch):
    config = config_lib.from_preset("tiny", model_dir=str(tmp_path), synthetic=True)
    monkeypatch.setattr(run_lib.strategy_lib, "has_gpu", lambda: False)
    assert run_lib.build_gan(config).jit_compile is False
    monkeypatch.setattr(run_lib.strategy_lib, "has_gpu", lambda: True)
    monkeypatch.setattr(config_lib, "GPU_JIT_COMPILE", True)
    assert run_lib.build_gan(config).jit_compile is True
    assert run_lib.build_gan(config.replace(jit_compile=False)).jit_compile is False
