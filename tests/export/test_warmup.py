"""Warm-up requests: one per signature and batch size, each answered by the export."""
import numpy as np
import tensorflow as tf

from vgan_tf.export import warmup
from vgan_tf.serving import api


def test_warmup_requests_cover_every_signature_and_run(exported):
    asked = []
    for request in warmup.read_warmup_requests(exported.path):
        assert request.model_spec.name == api.GENERATOR_MODEL
        signature = api.GENERATOR_SIGNATURES[request.model_spec.signature_name]
        inputs = {k: tf.constant(tf.make_ndarray(v)) for k, v in request.inputs.items()}
        assert set(inputs) == set(signature.inputs)
        batch = next(iter(inputs.values())).shape[0]
        asked.append((signature.name, batch))
        outputs = exported.loaded.signatures[signature.name](**inputs)
        assert set(outputs) == set(signature.outputs)
        for name, value in outputs.items():
            assert value.dtype.name == signature.outputs[name].dtype, name
            assert value.shape[0] == batch, name
    assert sorted(asked) == sorted((name, batch) for name in api.GENERATOR_SIGNATURES
                                   for batch in exported.warmup_batch_sizes)


def test_seed_requests_ask_for_seeds_0_to_batch():
    requests = warmup.generator_warmup_requests("m", latent_dim=3, batch_sizes=(3,))
    seeds = tf.make_ndarray(requests[0].inputs[api.SEED])
    np.testing.assert_array_equal(seeds, [0, 1, 2])
    assert seeds.dtype == np.int64  # the signature's dtype: int32 would be refused
