"""vgan_tf: "Generating Videos with Scene Dynamics" (Vondrick et al., NIPS 2016) in TF/Keras.

The public API is this one namespace:

    import vgan_tf as vg
    gan = vg.VideoGAN(vg.TwoStreamGenerator(), vg.Discriminator())

Names are loaded on first use (PEP 562), so `import vgan_tf` is cheap and light modules
(e.g. vgan_tf.serving.api, vgan_tf.config_flags) import without TensorFlow. Each name
below lives in exactly one module; `_PUBLIC` says which.
"""
from __future__ import annotations

import importlib
import typing

__version__ = "0.1.0"

_PUBLIC = {
    # Networks (vgan_tf.models).
    "TwoStreamGenerator": "vgan_tf.models",
    "OneStreamGenerator": "vgan_tf.models",
    "Discriminator": "vgan_tf.models",
    "FuturePredictor": "vgan_tf.models",
    "ActionClassifier": "vgan_tf.models",
    "NetworkSizes": "vgan_tf.config",
    # Adversarial training (vgan_tf.tasks).
    "VideoGAN": "vgan_tf.tasks",
    "FuturePredictionGAN": "vgan_tf.tasks",
    "paper_adam": "vgan_tf.tasks",
    "R1Penalty": "vgan_tf.tasks",
    # Data (vgan_tf.data).
    "video_dataset": "vgan_tf.data",
    "ListSource": "vgan_tf.data",
    "ShardSource": "vgan_tf.data",
    "ClipOptions": "vgan_tf.data",
    "ReadOptions": "vgan_tf.data",
    # Sampling and pictures.
    "sample": "vgan_tf.sampling",
    "write_samples": "vgan_tf.viz.samples",
    # Training runs (vgan_tf.training).
    "TrainConfig": "vgan_tf.training",
    "from_preset": "vgan_tf.training",
    "train": "vgan_tf.training",
    "ClassifierConfig": "vgan_tf.training.classification",
    "train_classifier": "vgan_tf.training.classification",
    # Export for TF Serving (vgan_tf.export).
    "export_generator": "vgan_tf.export",
    "load_generator": "vgan_tf.export",
    "export_predictor": "vgan_tf.export",
    "ExportOptions": "vgan_tf.export",
}

__all__ = sorted(_PUBLIC) + ["__version__"]


def __getattr__(name: str):
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'vgan_tf' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__():
    return sorted(set(globals()) | set(_PUBLIC))


if typing.TYPE_CHECKING:  # static tools see the real names
    from vgan_tf.config import NetworkSizes  # noqa: F401
    from vgan_tf.data import (ClipOptions, ListSource, ReadOptions, ShardSource,  # noqa
                              video_dataset)
    from vgan_tf.export import export_generator, export_predictor, load_generator  # noqa
    from vgan_tf.models import (ActionClassifier, Discriminator, FuturePredictor,  # noqa
                                OneStreamGenerator, TwoStreamGenerator)
    from vgan_tf.sampling import sample  # noqa: F401
    from vgan_tf.tasks import FuturePredictionGAN, VideoGAN, paper_adam  # noqa: F401
    from vgan_tf.training import TrainConfig, from_preset, train  # noqa: F401
    from vgan_tf.training.classification import ClassifierConfig, train_classifier  # noqa
    from vgan_tf.viz.samples import write_samples  # noqa: F401
