"""Every iterator of the trainer's dataset yields the same stream where Keras makes a
throw-away iterator (models built under a strategy scope), and the cheaper bare pipeline
is used where it does not (the default strategy)."""
import numpy as np
import pytest
import tensorflow as tf

from vgan_tf import training
from vgan_tf.training import input as input_lib


def _config(tmp_path):
    return training.from_preset("tiny", synthetic=True, synthetic_clips=8, batch_size=4,
                                model_dir=str(tmp_path / "run"))


def _batches(dataset, n):
    return np.stack([b.numpy() for b in dataset.take(n)])


@pytest.mark.slow
def test_stable_iterators_give_every_iterator_the_same_stream(tmp_path):
    config = _config(tmp_path)
    source = input_lib.data_source(config, str(tmp_path))
    reference = _batches(input_lib.training_data(config, source), 3)
    stable = input_lib.training_data(config, source)
    first = iter(stable)
    for _ in range(5):
        next(first)
    np.testing.assert_array_equal(_batches(stable, 3), reference)
    # The premise: a bare seeded, reshuffling pipeline hands a later iterator other orders.
    bare = input_lib.training_data(config, source, stable_iterators=False)
    first = iter(bare)
    for _ in range(5):
        next(first)
    assert not np.array_equal(_batches(bare, 3), reference)


@pytest.mark.slow
def test_training_input_wraps_only_under_a_strategy_scope(tmp_path):
    config = _config(tmp_path)
    source = input_lib.data_source(config, str(tmp_path))
    reference = _batches(input_lib.training_data(config, source), 3)
    for strategy, stable in ((tf.distribute.get_strategy(), False),
                             (tf.distribute.OneDeviceStrategy("/cpu:0"), True)):
        dataset = input_lib.training_input(config, strategy, source)
        first = iter(dataset)
        for _ in range(5):
            next(first)
        assert np.array_equal(_batches(dataset, 3), reference) == stable, strategy
