"""A run folder read from its checkpoints gives the network the run samples with."""
from __future__ import annotations

import json

import numpy as np
import tensorflow as tf

from vgan_tf import sampling
from vgan_tf.metrics import model_sources
from vgan_tf.models import TwoStreamGenerator


def _folder(tmp_path, tiny, ema_decay):
    sizes = dict(frames=tiny.frames, size=tiny.size, latent_dim=tiny.latent_dim,
                 base_width=tiny.base_width)
    raw, average = (TwoStreamGenerator(**sizes) for _ in range(2))
    for g in (raw, average):
        g.build((None, tiny.latent_dim))
    average.set_weights([w + 0.5 for w in average.get_weights()])
    run = tmp_path / f"run_{ema_decay}"
    (run / "checkpoints").mkdir(parents=True)
    tf.train.Checkpoint(generator=raw, generator_ema=average).save(
        str(run / "checkpoints" / "ckpt"))
    (run / "config.json").write_text(json.dumps(dict(model="video", ema_decay=ema_decay,
                                                     **sizes)))
    return str(run), raw, average


def test_a_checkpointed_run_with_an_average_gives_the_average(tmp_path, tiny):
    z = sampling.latents_for_seeds(np.arange(2, dtype=np.int64), tiny.latent_dim)
    for decay in (0.0, 0.9):
        run, raw, average = _folder(tmp_path, tiny, decay)
        expected = (average if decay else raw).generate_parts(z, training=False)["video"]
        got = model_sources.load_video_source(run).parts_from_z(z)["video"]
        np.testing.assert_allclose(got, expected, atol=1e-6)
