"""tools/import_torch7.py as a user runs it, and the interop room's boundaries."""
from __future__ import annotations

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from tests.helpers import REPO
from tests.interop import reference, torch_nets
from tests.interop import t7_writer as w
from tests.test_package import _imports, _modules
from vgan_tf import config as config_lib
from vgan_tf import models  # noqa: F401  (registers the classes load_model revives)


def _run(*args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-m", "tools.import_torch7", *args], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=240)


def _our_lines(stderr):
    return [l for l in stderr.splitlines() if l.strip() and not l.startswith(
        ("WARNING: All log messages before absl", "I0000", "W0000", "E0000"))]


@pytest.mark.slow
def test_the_binary_converts_and_exports(tmp_path):
    sizes = config_lib.TINY
    weights = torch_nets.generator_weights(sizes)
    t7_path = str(tmp_path / "iter1000_net.t7")
    w.save(t7_path, torch_nets.generator_tree(sizes, weights, cudnn=True, type_name="Cuda"))
    out = str(tmp_path / "golf.keras")
    result = _run(f"--t7={t7_path}", f"--output={out}", f"--export_base={tmp_path}/models",
                  "--model_name=golf")
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"-> {out}" in result.stdout and "golf/1" in result.stdout
    assert os.path.exists(tmp_path / "models" / "golf" / "1" / "saved_model.pb")
    z = np.random.default_rng(0).normal(size=(2, sizes.latent_dim)).astype(np.float32)
    video = np.asarray(keras.saving.load_model(out)(z, training=False))
    expected = reference.generator(weights, z, len(sizes.layout.widths))["video"]
    np.testing.assert_allclose(video, reference.to_channels_last(expected), atol=1e-4)


@pytest.mark.slow
def test_a_refused_file_is_one_line_naming_the_module(tmp_path):
    layout = config_lib.TINY.layout
    tree = torch_nets.discriminator_tree(layout, torch_nets.discriminator_weights(layout))
    tree.fields["modules"][3] = w.Module("nn.ReLU", {})  # d_bn1 (Lua index 4) replaced
    t7_path = str(tmp_path / "netD.t7")
    w.save(t7_path, tree)
    view = str(tmp_path / "view.t7")  # 113 bytes that once allocated 1 GiB
    w.save(view, w.Tensor(w.Storage(np.zeros(1, np.float32)), (1 << 28,), stride=(0,)))
    version = str(tmp_path / "version.t7")
    w.save(version, w.Module("nn.ReLU", {}, version="inf"))  # once an OverflowError
    for args, needle in [
            ([f"--t7={t7_path}"], "netD.t7: modules[4]: expected VolumetricBatchNormalization, "
                                  "found nn.ReLU"),
            ([f"--t7={view}"], "view.t7: a torch.FloatTensor of size [268435456]"),
            ([f"--t7={version}"], "version.t7: a bad class version 'V inf'"),
            ([f"--t7={tmp_path}/missing.t7"], "missing.t7")]:
        result = _run(*args, f"--output={tmp_path}/out.keras")
        lines = _our_lines(result.stderr)
        assert result.returncode == 2, result.stderr[-2000:]
        assert len(lines) == 1 and lines[0].startswith("import_torch7: error: "), lines
        assert needle in lines[0], lines
        assert not os.path.exists(tmp_path / "out.keras")


def test_the_flags_are_the_import_config():
    from absl import flags

    from tools import import_torch7  # noqa: F401  (defines the flags)
    from vgan_tf import config_flags
    from vgan_tf.interop import options
    from vgan_tf.serving import api

    assert options.SERVED_GENERATOR == api.GENERATOR_MODEL
    fields = {f.name: f for f in config_flags.settings(options.ImportConfig)}
    assert sorted(fields) == ["export_base", "kind", "model_name", "output", "t7", "version"]
    for name, field in fields.items():
        flag = flags.FLAGS[name]
        assert flag.default == field.default, name
        assert flag.help.endswith(field.metadata["help"]), name
    assert flags.FLAGS["kind"].parser.enum_values == ["auto", "generator", "discriminator"]
    argv = ["import_torch7", "--t7=a.t7", "--output=b.keras", "--kind=generator",
            "--export_base=/m", "--version=3"]
    flags.FLAGS.unparse_flags()
    flags.FLAGS(argv)
    try:
        config = config_flags.config_from_flags(options.ImportConfig)
    finally:
        flags.FLAGS.unparse_flags()
    assert config == options.ImportConfig(t7="a.t7", output="b.keras", kind="generator",
                                          export_base="/m", version=3)
    assert config.kind_or_none == "generator" and options.ImportConfig().kind_or_none is None


def test_a_wrong_setting_is_refused_before_anything_is_read(tmp_path):
    from vgan_tf.interop import options, torch7

    config = options.ImportConfig(t7=str(tmp_path / "missing.t7"),
                                  output=str(tmp_path / "out.keras"), version=0)
    with pytest.raises(ValueError, match="--version must be a positive integer"):
        torch7.convert_config(config)


def test_interop_keeps_its_room():
    edges = _imports(_modules())
    allowed = ("vgan_tf.config", "vgan_tf.models", "vgan_tf.interop", "vgan_tf.export")
    found = {m: t for m, t in edges.items() if m.startswith("vgan_tf.interop")}
    assert "vgan_tf.interop.torch7" in found and "vgan_tf.interop.t7" in found
    for module, targets in found.items():
        bad = sorted(t for t in targets if not t.startswith(allowed))
        assert not bad, f"{module} imports {bad}"
    assert found["vgan_tf.interop.t7"] == set()  # the format reader: numpy only
    assert found["vgan_tf.interop.options"] == {"vgan_tf.config_flags"}  # no TensorFlow
