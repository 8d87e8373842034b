"""Metrics as a registry: the four of FVD, a new metric reaching evaluate's report without
an edit of evaluate, names checked before any feature pass."""
import os

import numpy as np
import pytest

from tests.metrics import model_fixtures
from vgan_tf import data
from vgan_tf.data import synthetic
from vgan_tf.metrics import evaluation, fvd, registry


@pytest.fixture(scope="module")
def real_data(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("synthetic"))
    synthetic.write_synthetic_dataset(folder, 4, frames=16, size=16)
    return os.path.join(folder, synthetic.LIST_NAME)


@pytest.fixture
def toy_metric():
    """Registers mean_gap (|mean of real - mean of fake| over the "all" features) for one
    test."""
    def mean_gap(real, fake, options):
        assert isinstance(options, evaluation.EvalOptions)
        return abs(float(real["all"].mean()) - float(fake["all"].mean()))

    registry.register("mean_gap", mean_gap)
    yield mean_gap
    registry.unregister("mean_gap")


def _noise_source(seed=0):
    """Generated side: uniform noise clips of 16 frames of 16x16."""
    from vgan_tf.metrics.model_sources import VideoSource

    def parts(z):
        rng = np.random.default_rng(int(np.abs(np.asarray(z)).sum() * 1000) + seed)
        return {"video": rng.uniform(-1, 1, (len(z), 16, 16, 16, 3)).astype(np.float32)}

    return VideoSource(4, (16, 16, 16, 3), parts, "noise")


def test_the_four_are_registered_in_order_and_give_the_distance_functions():
    assert list(registry.METRICS)[:4] == ["fvd", "kvd", "fvd16", "kvd16"]
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(30, 6)), rng.normal(size=(30, 6)) + 0.5
    out = registry.compute({"all": a, "first16": b}, {"all": b, "first16": b})
    assert out["fvd"] == fvd.fvd_from_features(a, b)
    assert out["kvd"] == fvd.polynomial_mmd(a, b)
    assert out["fvd16"] == fvd.fvd_from_features(b, b)
    assert list(registry.compute({"all": a}, {"all": b})) == ["fvd", "kvd"]  # no first16
    assert list(registry.compute({"all": a}, {"all": b}, names=("kvd",))) == ["kvd"]


def test_register_refuses_a_taken_name_and_takes_several_values():
    with pytest.raises(ValueError, match="already registered"):
        registry.register("fvd", lambda real, fake, options: 0.0)
    registry.register("pair", lambda real, fake, options: {"pair_a": 1, "pair_b": 2.5})
    try:
        out = registry.compute({"all": np.zeros((2, 3))}, {"all": np.ones((2, 3))},
                               names=("pair",))
        assert out == {"pair_a": 1.0, "pair_b": 2.5}
    finally:
        registry.unregister("pair")
    assert "pair" not in registry.METRICS
    with pytest.raises(ValueError, match="no metric named 'pair'"):
        registry.unregister("pair")
    with pytest.raises(ValueError, match="unknown metric.*nope.*registered: fvd"):
        registry.check(("fvd", "nope"))
    with pytest.raises(ValueError, match="unknown metric.*nope.*registered: fvd"):
        registry.check(("fvd,nope",))


def test_a_metrics_entry_may_be_a_comma_list():
    assert registry.check(("fvd,kvd", "fvd16")) == ("fvd", "kvd", "fvd16")
    assert registry.check(("kvd, fvd",)) == ("kvd", "fvd")


@pytest.mark.slow
def test_a_registered_metric_reaches_the_report_of_evaluate(real_data, toy_metric):
    assert registry.check(()) == ("fvd", "kvd", "fvd16", "kvd16", "mean_gap")  # the default
    features, _ = model_fixtures.pixel_features()
    clip = data.ClipOptions(frames=16, size=16)
    options = evaluation.EvalOptions(num_samples=4, batch_size=2, cache_dir="",
                                     metrics=("mean_gap", "fvd"))
    report = evaluation.evaluate(data.ListSource(real_data), clip, _noise_source(), options,
                                 features=features, progress=False)
    assert list(report.values) == ["mean_gap", "fvd"]
    assert report.values["mean_gap"] > 0.01  # noise (mean ~0) vs synthetic scenes
    assert report.lines()[1].startswith("mean_gap: ")


def test_an_unknown_metric_is_refused_before_any_feature_pass(real_data):
    features, network = model_fixtures.pixel_features()
    options = evaluation.EvalOptions(num_samples=4, batch_size=2, cache_dir="",
                                     metrics=("fvd", "nope"))
    with pytest.raises(ValueError, match="unknown metric"):
        evaluation.evaluate(data.ListSource(real_data), data.ClipOptions(frames=16, size=16),
                            _noise_source(), options, features=features, progress=False)
    assert network.calls == 0
