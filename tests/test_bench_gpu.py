"""bench/gpu.py without a GPU: it says so and exits 0; its FLOP, MFU and peak arithmetic;
its whole flow on the CPU at tiny sizes (slow)."""
import importlib.util
import os
import subprocess
import sys
import types

import keras
import pytest

from tests.helpers import REPO
from vgan_tf.models import Discriminator, TwoStreamGenerator, blocks

SCRIPT = os.path.join(REPO, "bench", "gpu.py")


@pytest.fixture(scope="module")
def gpu():
    spec = importlib.util.spec_from_file_location("bench_gpu", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_gpu"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    del sys.modules["bench_gpu"]


def test_without_a_gpu_it_says_so_and_measures_nothing(gpu, monkeypatch, capsys):
    monkeypatch.setattr(gpu, "gpu_name", lambda tf: None)
    monkeypatch.setattr(gpu, "build_variants", lambda *a: pytest.fail("measured"))
    assert gpu.run(gpu.Settings()) is None
    assert capsys.readouterr().out.startswith("no GPU:")


@pytest.mark.slow
def test_the_script_exits_0_without_a_gpu():
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="-1", TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, SCRIPT], capture_output=True, text=True,
                            env=env, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "no GPU" in result.stdout


@pytest.mark.parametrize("name, card", [
    ("NVIDIA H100 80GB HBM3", "H100 SXM"), ("NVIDIA H100 PCIe", "H100 PCIe"),
    ("NVIDIA H100 NVL", "H100 NVL"), ("NVIDIA H200", "H200 SXM"),
    ("NVIDIA A100-SXM4-80GB", "A100"), ("NVIDIA A100 80GB PCIe", "A100"),
    ("NVIDIA L4", "L4"), ("NVIDIA L40S", None), ("Tesla T4", None)])
def test_the_card_is_found_by_its_name(gpu, name, card):
    found = gpu.card_peaks(name)
    assert (found and found[0]) == card
    if card:
        peaks = found[1]
        assert peaks["bf16"] == peaks["fp16"] > peaks["fp32"] > peaks["fp32_cuda"]
    assert gpu.card_peaks("NVIDIA H100 80GB HBM3")[1]["bf16"] == 989.4


def test_fp32_divides_by_the_tf32_rate_only_when_tf_uses_it(gpu, monkeypatch):
    import tensorflow as tf
    settings = gpu.Settings()
    monkeypatch.setattr(tf.config.experimental, "tensor_float_32_execution_enabled",
                        lambda: True)
    assert gpu.device_peaks(tf, "NVIDIA A100", settings)[1]["fp32"] == 156.0
    monkeypatch.setattr(tf.config.experimental, "tensor_float_32_execution_enabled",
                        lambda: False)
    assert gpu.device_peaks(tf, "NVIDIA A100", settings)[1]["fp32"] == 19.5
    assert gpu.device_peaks(tf, "Tesla T4", settings)[1] == {}
    given = gpu.device_peaks(tf, "Tesla T4", gpu.Settings(peak_tflops=65.0))[1]
    assert given == {"fp32": 65.0, "bf16": 65.0, "fp16": 65.0}


def _built(layer, shape):
    keras.Sequential([keras.Input(shape), layer])
    return layer


def test_multiply_adds_of_one_layer_by_hand(gpu):
    conv = _built(blocks.down3d(2, "c"), (4, 4, 4, 3))
    assert gpu.layer_macs(conv) == 2 * 2 * 2 * (4 * 4 * 4 * 3 * 2)  # output positions
    up = _built(blocks.up(3, 3, "u"), (2, 2, 2, 5))
    assert gpu.layer_macs(up) == 2 * 2 * 2 * (4 * 4 * 4 * 3 * 5)  # input positions
    up2d = _built(blocks.up(2, 3, "u2"), (3, 2, 5))
    assert gpu.layer_macs(up2d) == 3 * 2 * (4 * 4 * 3 * 5)
    # the stride-1 forms compute the same sums: the same count
    assert gpu.layer_macs(_built(blocks.down3d(2, "c", space_to_depth=True),
                                 (4, 4, 4, 3))) == gpu.layer_macs(conv)
    assert gpu.layer_macs(_built(blocks.up(3, 3, "u", depth_to_space=True),
                                 (2, 2, 2, 5))) == gpu.layer_macs(up)


def test_tiny_network_counts_add_up_the_layers(gpu, tiny):
    g = TwoStreamGenerator(tiny.frames, tiny.size, tiny.latent_dim, tiny.base_width)
    d = Discriminator(tiny.frames, tiny.size, tiny.base_width)
    g_layers = [2 * gpu.layer_macs(layer) / 1e9 for layer in gpu.conv_layers(g)]
    assert len(g_layers) == 2 * len(tiny.layout.widths) + 3  # two streams and three heads
    assert len(gpu.conv_layers(d)) == len(tiny.layout.widths) + 1  # + the logit
    d_forward = gpu.forward_gflop(d)
    assert gpu.step_gflop(g, d) == pytest.approx(3 * sum(g_layers) - g_layers[0]
                                                 + 6 * d_forward)


def test_paper_size_counts_are_the_documented_ones(gpu):
    g, d = TwoStreamGenerator(), Discriminator()
    assert gpu.forward_gflop(g) == pytest.approx(4.51, abs=0.005)
    assert gpu.forward_gflop(d) == pytest.approx(4.16, abs=0.005)
    assert gpu.step_gflop(g, d) == pytest.approx(38.5, abs=0.05)  # train_step's "coarse"


def test_videos_per_second_gflops_and_mfu(gpu):
    r = gpu.rates([0.5, 1.0, 2.0], batch=64, gflop=38.7, peak_tflops=989.4)
    assert r["videos_s"] == 64.0 and r["videos_s_best"] == 128.0  # median, best
    assert r["gflops"] == pytest.approx(64 * 38.7)
    assert r["mfu"] == pytest.approx(64 * 38.7 / 989_400)
    assert gpu.rates([1.0], 1, 4.51, None)["mfu"] is None


def _train(forms="plain", **ratios):
    out = {}
    for precision, ratio in ratios.items():
        out[(precision, False, forms)] = {"videos_s": 10.0}
        out[(precision, True, forms)] = {"videos_s": 10.0 * ratio}
    return out


def test_the_xla_choice(gpu):
    assert gpu.jit_choice(_train(fp32=1.2, bf16=1.5, fp16=1.1)) is True
    assert gpu.jit_choice(_train(fp32=0.8, bf16=0.9)) is False
    assert gpu.jit_choice(_train(fp32=1.2, bf16=0.9)) is None
    assert gpu.jit_choice({("fp32", False, "plain"): {"videos_s": 1.0}}) is None
    both = {**_train(fp32=1.2), **_train("both", fp32=0.9)}  # per form: on, then off
    assert gpu.jit_choice(both) is None


def test_the_layer_forms_choice(gpu):
    plain = _train(fp32=1.2, bf16=1.5)
    faster = {key: {"videos_s": value["videos_s"] * 1.1}
              for key, value in _train("both", fp32=1.2, bf16=1.5).items()}
    assert gpu.forms_choice({**plain, **faster}) == "both"
    slower = {key: {"videos_s": value["videos_s"] * 0.9}
              for key, value in _train("both", fp32=1.2, bf16=1.5).items()}
    assert gpu.forms_choice({**plain, **slower}) == "plain"
    mixed = {**slower, ("fp32", True, "both"): {"videos_s": 99.0}}
    assert gpu.forms_choice({**plain, **mixed}) is None
    assert gpu.forms_choice(plain) is None  # one form: nothing to choose


def test_report_lines(gpu):
    train = {key: {**value, "videos_s_best": value["videos_s"], "gflops": 387.0,
                   "mfu": None if key[0] == "fp16" else 0.25}
             for key, value in _train(fp32=2.0, fp16=1.5).items()}
    serving = {("bf16", 64): dict(videos_s=640.0, gflops=2886.4, mfu=0.5)}
    lines = gpu.report("H100", {"fp32": 494.7}, 38.7, train, serving, 4.51,
                       gpu.Settings())
    assert "| fp32 | on | plain | 20.0 | 20.0 | 0.39 | 0.25 |" in lines
    assert "| fp16 | off | plain | 10.0 | 10.0 | 0.39 | - |" in lines
    assert "| bf16 | 64 | 100.00 | 640.0 | 2.89 | 0.50 |" in lines
    assert lines[-1] == "jit_compile on GPU: on (XLA on / off, videos/s: fp32 x2.00, fp16 x1.50)"
    train[("fp32", False, "both")] = {**train[("fp32", False, "plain")], "videos_s": 12.5}
    lines = gpu.report("H100", {"fp32": 494.7}, 38.7, train, serving, 4.51,
                       gpu.Settings(layer_forms=("plain", "both")))
    assert lines[-1] == "layer_forms on GPU: both (form / plain, videos/s: fp32 both x1.25)"


def test_the_dry_run_sizes(gpu):
    flags = types.SimpleNamespace(
        frames=32, size=64, base_width=64, batch=64, precisions=["fp32"], jit=["off", "on"],
        layer_forms=["plain", "both"], rounds=3, steps=5, warmup=2,
        serving_batches=["1", "64"], serving_calls=5,
        budget_s=450.0, peak_tflops=0.0, cpu_dry_run=True)
    settings = gpu.settings_from_flags(flags)
    assert (settings.frames, settings.size, settings.batch) == (8, 16, 2)
    assert settings.jit == (False, True) and settings.precisions == ("fp32",)
    assert settings.layer_forms == ("plain", "both")
    flags.cpu_dry_run = False
    assert gpu.settings_from_flags(flags).batch == 64


@pytest.mark.slow
def test_the_whole_flow_runs_on_the_cpu_at_tiny_sizes(gpu, capsys):
    settings = gpu.Settings(**{**gpu.DRY_RUN, "precisions": ("fp32",), "jit": (False,),
                               "layer_forms": ("plain", "both"), "cpu_dry_run": True,
                               "peak_tflops": 1.0})
    results = gpu.run(settings)
    assert results["train"]["fp32 jit=off"]["videos_s"] > 0
    assert results["train"]["fp32 jit=off"]["mfu"] > 0
    assert results["train"]["fp32 jit=off forms=both"]["videos_s"] > 0
    assert set(results["serving"]) == {"fp32 b1", "fp32 b2", "bf16 b1", "bf16 b2"}
    assert results["jit_compile_on_gpu"] is None  # XLA not measured both ways
    assert results["layer_forms_on_gpu"] in ("plain", "both")
    out = capsys.readouterr().out
    assert "jit_compile on GPU: mixed" in out and "layer_forms on GPU: " in out
