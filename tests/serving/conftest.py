"""One exported tiny generator and two probe models, served by the development server.

The server has no batch limit of its own (as tensorflow_model_server without
--enable_batching), so every request reaches the exported graph and its guard."""
import os
from dataclasses import dataclass

import pytest
import tensorflow as tf

from tests.serving import probes
from vgan_tf import export
from vgan_tf.models import TwoStreamGenerator
from vgan_tf.serving import DevServer, api


@dataclass
class Served:
    server: DevServer
    base: str
    direct: object      # the loaded SavedModel of the generator
    generator: TwoStreamGenerator

    def direct_outputs(self, seeds, signature=api.SERVING_DEFAULT) -> dict:
        out = self.direct.signatures[signature](seed=tf.constant(seeds, tf.int64))
        return {k: v.numpy() for k, v in out.items()}


@pytest.fixture(scope="package")
def served(tmp_path_factory):
    sizes = probes.SIZES
    base = str(tmp_path_factory.mktemp("models"))
    generator = TwoStreamGenerator(sizes.frames, sizes.size, sizes.latent_dim,
                                   sizes.base_width)
    export.export_generator(generator, base, warmup_batch_sizes=())
    for name, probe in (("probe", probes.ImageProbe()), ("big", probes.BigProbe())):
        tf.saved_model.save(probe, os.path.join(base, name, "1"),
                            signatures={"serving_default": probe.serve})
    with DevServer.from_export_base(base) as server:
        direct = tf.saved_model.load(os.path.join(base, "generator", "1"))
        yield Served(server, base, direct, generator)
