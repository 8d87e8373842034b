"""A tiny built generator and its export (with warm-up requests), once per package."""
from dataclasses import dataclass

import numpy as np
import pytest
import tensorflow as tf

from vgan_tf import config, export
from vgan_tf.models import TwoStreamGenerator



@dataclass
class Exported:
    base: str           # the export base
    path: str           # the version folder
    loaded: object      # tf.saved_model.load(path)
    max_batch: int      # the in-graph limit: small, so the guard is cheap to reach
    warmup_batch_sizes: tuple


@pytest.fixture(scope="package")
def generator():
    sizes = config.TINY
    model = TwoStreamGenerator(sizes.frames, sizes.size, sizes.latent_dim, sizes.base_width)
    model(np.zeros([1, sizes.latent_dim], np.float32), training=False)
    return model


@pytest.fixture(scope="package")
def exported(generator, tmp_path_factory):
    base = str(tmp_path_factory.mktemp("export_base"))
    max_batch, warmup_batch_sizes = 8, (1, 2)
    path = export.export_generator(generator, base, max_batch=max_batch,
                                   warmup_batch_sizes=warmup_batch_sizes)
    return Exported(base, path, tf.saved_model.load(path), max_batch, warmup_batch_sizes)
