"""A trained video generator from any of the places training and export leave one.

`load_video_source(path)` accepts
- a training directory (`--model_dir`): its `generator.keras` when the run finished,
  otherwise the latest checkpoint under `checkpoints/`, restored into the generator that
  the run's `config.json` describes (the checkpoint's "generator" entry, as
  training.checkpoints writes it);
- a `.keras` generator file (`vgan_tf.export.load_generator`);
- an exported SavedModel folder (one with saved_model.pb, e.g. export/generator/3/),
  through its `generate_float` signature.

`generated_videos(path)` accepts those three and also a folder of GIFs or strips
(`metrics.video_folder.VideoFolder`): what `vgan-evaluate --generator` measures.

Each model gives a `VideoSource`: `latent_dim`, `video_shape` (frames, h, w, 3) and
`parts(seeds)` (or `parts_from_z(z)`) -> {"video" [b, T, H, W, 3] in [-1, 1], and where
the model has them "foreground", "mask" [b, T, H, W, 1] in [0, 1], "background" [b, H, W, 3]} as numpy,
from the per-seed latents of `vgan_tf.sampling` (so seed s is the video the exported
model serves for s).
"""
from __future__ import annotations

import json
import os

import numpy as np

CONFIG_NAME = "config.json"
CHECKPOINTS_NAME = "checkpoints"


class VideoSource:
    """A generator behind one interface (see the module docstring)."""

    def __init__(self, latent_dim: int, video_shape: tuple, parts_fn, description: str):
        self.latent_dim = int(latent_dim)
        self.video_shape = tuple(int(d) for d in video_shape)
        self._parts_fn = parts_fn
        self.description = description

    def parts(self, seeds) -> dict:
        from vgan_tf import sampling

        z = sampling.latents_for_seeds(np.asarray(seeds, np.int64), self.latent_dim)
        return self.parts_from_z(z)

    def parts_from_z(self, z) -> dict:
        """The parts (numpy float32) for latents z [b, latent_dim]."""
        return {k: np.asarray(v, np.float32) for k, v in self._parts_fn(z).items()}

    def videos(self, seeds) -> np.ndarray:
        return self.parts(seeds)["video"]

    def batches(self, num: int, batch_size: int, seed: int = 0):
        """Videos of seeds seed .. seed + num - 1 in batches of `batch_size`."""
        for start in range(0, num, batch_size):
            yield self.videos(np.arange(seed + start, seed + min(num, start + batch_size)))


def _keras_source(generator, description: str) -> VideoSource:
    if not hasattr(generator, "latent_dim"):
        raise ValueError(f"{description} holds a {type(generator).__name__}, not a video "
                         f"generator (give a generator.keras, a training folder or an "
                         f"exported generator)")

    def parts(z):
        out = generator.generate_parts(z, training=False)
        return {k: v.numpy() for k, v in out.items()}

    return VideoSource(generator.latent_dim, generator.video_shape, parts, description)


def _saved_model_source(path: str) -> VideoSource:
    import tensorflow as tf

    from vgan_tf.serving import api

    loaded = tf.saved_model.load(path)
    if api.GENERATE_FLOAT not in loaded.signatures:
        raise ValueError(f"{path} has no {api.GENERATE_FLOAT!r} signature (not a vgan_tf "
                         f"generator export?)")
    fn = loaded.signatures[api.GENERATE_FLOAT]
    spec = fn.structured_input_signature[1][api.Z]
    video_spec = fn.structured_outputs[api.VIDEO]

    def parts(z):
        out = fn(**{api.Z: tf.convert_to_tensor(z, tf.float32)})
        return {api.VIDEO: out[api.VIDEO].numpy(), "mask": out[api.MASK].numpy(),
                "background": out[api.BACKGROUND].numpy()}

    source = VideoSource(spec.shape[-1], video_spec.shape[1:], parts, f"SavedModel {path}")
    source._keep = loaded  # the functions need the loaded object alive
    return source


def _checkpoint_source(model_dir: str) -> VideoSource:
    import types

    import tensorflow as tf

    from vgan_tf.models import families

    config_path = os.path.join(model_dir, CONFIG_NAME)
    if not os.path.isfile(config_path):
        raise FileNotFoundError(f"{model_dir} has no generator.keras and no {CONFIG_NAME} "
                                f"(not a training directory?)")
    with open(config_path) as handle:
        config = json.load(handle)
    family = families.family(config.get("model", "video"))
    if family.conditional:
        raise ValueError(f"{model_dir} trained a {family.name!r} model ({family.summary}), "
                         f"not a video generator")
    latest = tf.train.latest_checkpoint(os.path.join(model_dir, CHECKPOINTS_NAME))
    if latest is None:
        raise FileNotFoundError(f"no checkpoint under {os.path.join(model_dir, CHECKPOINTS_NAME)}")
    model = types.SimpleNamespace(**dict(dict(generator="two_stream"), **config))
    generator = family.build_generator(model)
    # With --ema_decay the run samples and saves G's moving average: restore that.
    entry = "generator_ema" if config.get("ema_decay", 0.0) > 0 else "generator"
    tf.train.Checkpoint(**{entry: generator}).restore(latest).expect_partial() \
        .assert_existing_objects_matched()
    return _keras_source(generator, f"checkpoint {latest}")


def load_video_source(path: str) -> VideoSource:
    """The generator at `path` (see the module docstring); FileNotFoundError / ValueError
    naming the path when it is none of the three."""
    from vgan_tf import export

    if not os.path.exists(path):
        raise FileNotFoundError(f"no generator at {path}")
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, "saved_model.pb")):
            return _saved_model_source(path)
        keras_file = export.generator_path(path)
        if os.path.isfile(keras_file):
            return _keras_source(export.load_generator(keras_file), keras_file)
        return _checkpoint_source(path)
    if path.endswith(".keras"):
        return _keras_source(export.load_generator(path), path)
    raise ValueError(f"{path} is not a training directory, a .keras file or a SavedModel "
                     f"folder")


def _is_model_folder(path: str) -> bool:
    from vgan_tf import export

    return any(os.path.exists(os.path.join(path, name)) for name in (
        "saved_model.pb", CONFIG_NAME, CHECKPOINTS_NAME)) or os.path.isfile(
            export.generator_path(path))


def generated_videos(path: str, frames: int | None = None, kind: str = "auto"):
    """What makes the generated clips at `path`: a model (`load_video_source`) or, for a
    folder holding GIFs/strips and no model or a `.txt` list of strips, a
    `video_folder.VideoFolder` (frames and kind as there). Both have `video_shape` and `batches(num, batch_size, seed)`."""
    from vgan_tf.metrics import video_folder

    if (os.path.isdir(path) and not _is_model_folder(path) and
            video_folder.is_video_folder(path)) or video_folder.is_list_file(path):
        return video_folder.VideoFolder(path, frames, kind)
    if frames is not None or kind != "auto":
        raise ValueError(f"{path} is a model, not a folder of videos: the frame count and "
                         f"the file kind are for folders")
    return load_video_source(path)
