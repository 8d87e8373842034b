"""The versioned writer: TF Serving's layout, versions, atomic placement, the binary."""
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import REPO
from vgan_tf import export
from vgan_tf.export import warmup
from vgan_tf.serving import api


def test_layout_is_tf_serving_versioned(exported):
    assert exported.path == os.path.join(exported.base, api.GENERATOR_MODEL, "1")
    for name in ("saved_model.pb", "variables",
                 os.path.join("assets.extra", "tf_serving_warmup_requests")):
        assert os.path.exists(os.path.join(exported.path, name)), name
    # no staging folder left beside the version
    assert os.listdir(os.path.join(exported.base, api.GENERATOR_MODEL)) == ["1"]


@pytest.mark.slow
def test_next_free_version_and_explicit_version(generator, tmp_path):
    base = str(tmp_path)
    os.makedirs(os.path.join(base, "generator", "7"))
    os.makedirs(os.path.join(base, "generator", "notes"))
    assert export.list_versions(os.path.join(base, "generator")) == [7]
    assert export.next_version(os.path.join(base, "generator")) == 8
    assert export.next_version(os.path.join(base, "absent")) == 1
    first = export.export_generator(generator, base, warmup_batch_sizes=())
    assert first.endswith(os.path.join("generator", "8"))
    assert not os.path.exists(os.path.join(first, "assets.extra"))
    third = export.export_generator(generator, base, version=3, warmup_batch_sizes=())
    assert third.endswith(os.path.join("generator", "3"))
    with pytest.raises(FileExistsError, match="version 8"):
        export.export_generator(generator, base, version=8, warmup_batch_sizes=())
    with pytest.raises(ValueError, match="version"):
        export.export_generator(generator, base, version=0)
    with pytest.raises(ValueError, match="model_name"):
        export.export_generator(generator, base, model_name="a/b")
    assert sorted(os.listdir(os.path.join(base, "generator"))) == ["3", "7", "8", "notes"]


def test_load_generator_names_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no generator"):
        export.load_generator(str(tmp_path / "missing.keras"))


@pytest.mark.slow
def test_export_binary_from_model_dir(generator, tmp_path):
    model_dir, base = tmp_path / "run", tmp_path / "models"
    model_dir.mkdir()
    generator.save(export.generator_path(str(model_dir)))
    # A subprocess: tools' absl flags share one registry, so importing several binaries
    # into the test process would collide.
    result = subprocess.run(
        [sys.executable, "-m", "tools.export", f"--model_dir={model_dir}",
         f"--export_base={base}", "--model_name=gen", "--warmup_batch_sizes=1,2"],
        cwd=REPO, capture_output=True, text=True, timeout=180,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert result.returncode == 0, result.stderr[-3000:]
    path = base / "gen" / "1"
    assert result.stdout.strip().endswith(str(path))
    requests = warmup.read_warmup_requests(str(path))
    assert sorted((r.model_spec.name, r.model_spec.signature_name) for r in requests) == \
        sorted(("gen", name) for name in api.GENERATOR_SIGNATURES for _ in (1, 2))
    z = tf.ones([1, generator.latent_dim])
    served = tf.saved_model.load(str(path)).signatures["generate_float"](z=z)["video"]
    np.testing.assert_allclose(served.numpy(), generator(z, training=False).numpy(),
                               atol=1e-5)


@pytest.mark.slow
def test_export_binary_precision_flag(generator, tmp_path):
    model_path, base = tmp_path / "generator.keras", tmp_path / "models"
    generator.save(str(model_path))

    def run(*flags):
        return subprocess.run(
            [sys.executable, "-m", "tools.export", f"--generator={model_path}",
             f"--export_base={base}", "--warmup_batch_sizes=", *flags],
            cwd=REPO, capture_output=True, text=True, timeout=180,
            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))

    result = run("--precision=bf16", "--model_name=g16")
    assert result.returncode == 0, result.stderr[-3000:]
    reader = tf.train.load_checkpoint(str(base / "g16" / "1" / "variables" / "variables"))
    kernels = {d for n, d in reader.get_variable_to_dtype_map().items() if "kernel" in n}
    assert kernels == {tf.bfloat16}
    served = tf.saved_model.load(str(base / "g16" / "1")).signatures["serving_default"](
        seed=tf.constant([1, 2], tf.int64))
    assert served["video"].dtype == tf.uint8
    bad = run("--precision=fp16", "--model_name=bad")
    assert bad.returncode != 0 and "precision" in bad.stderr
    assert not (base / "bad").exists()
