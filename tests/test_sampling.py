"""sampling.to_uint8: the one float -> pixel mapping (export signatures and viz/)."""
import numpy as np
import pytest
import tensorflow as tf

from vgan_tf import sampling
from vgan_tf.models import TwoStreamGenerator


def test_to_uint8_rounds_and_clips():
    values = np.array([-1.5, -1.0, -0.999, 0.0, 0.5, 1.0, 2.0], np.float32)
    expected = np.clip(np.round((values + 1.0) * 127.5), 0, 255).astype(np.uint8)
    out = sampling.to_uint8(values).numpy()
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(out, [0, 0, 0, 128, 191, 255, 255])
    np.testing.assert_array_equal(sampling.to_uint8([0.0, 0.5, 1.0, 1.2], 0.0, 1.0).numpy(),
                                  [0, 128, 255, 255])


def test_to_uint8_in_a_graph_keeps_shape_and_channels():
    graph = tf.function(lambda x: sampling.to_uint8(x, 0.0, 1.0))
    out = graph(tf.fill([2, 3, 4, 4, 1], 0.25))
    assert out.shape == (2, 3, 4, 4, 1) and out.dtype == tf.uint8
    assert np.all(out.numpy() == 64)


def test_sampling_is_deterministic_per_seed(tiny):
    g = TwoStreamGenerator(tiny.frames, tiny.size, tiny.latent_dim, tiny.base_width)
    a = sampling.sample(g, 4, seed=10)
    assert a.shape == (4, 8, 16, 16, 3)
    np.testing.assert_array_equal(a, sampling.sample(g, 4, seed=10))
    # Video i is the video of seed 10 + i, whatever the batch it is made in.
    np.testing.assert_allclose(sampling.sample(g, 2, seed=12, batch_size=1), a[2:], atol=1e-6)
    assert not np.allclose(a[0], a[1])
    parts = sampling.sample(g, 2, seed=10, parts=True)
    np.testing.assert_allclose(parts["video"], a[:2], atol=1e-6)
    assert parts["mask"].shape == (2, 8, 16, 16, 1)
    with pytest.raises(ValueError, match="num must be a positive integer"):
        sampling.sample(g, 0)
