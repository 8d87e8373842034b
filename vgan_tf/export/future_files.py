"""Still images on disk -> predicted videos on disk: what `vgan-predict` runs.

    runner = load_predictor("runs/future")          # a run folder, a .keras file or an
                                                    # exported SavedModel
    report = predict_files(runner, ["photo.jpg", "pictures/"], "out/")

Each image file (JPEG, PNG, BMP, GIF: its first frame, WebP; any size) is decoded as the
exported model decodes `image_bytes` (`images.decode_image`; WebP with Pillow), made square and resized to the model size by `images.prepare_image` (the centre
square by default, or `crop="none"`: the whole image, aspect ratio not kept; the same ops
as the exported model's `image_bytes` input) and animated. Per image `<stem>.gif` and
`<stem>_strip.jpg` (frames stacked vertically) are written, with `parts=True` also
`<stem>_mask.gif` and `<stem>_background.png`. A file that cannot be read as an image is
named in the report and skipped.
"""
from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
import tensorflow as tf
from PIL import Image

from vgan_tf import sampling
from vgan_tf.config_flags import section, setting
from vgan_tf.export import images, writer
from vgan_tf.serving import api
from vgan_tf.viz import video_files

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif")


class PredictorRunner:
    """uint8 images [n, size, size, 3] -> uint8 parts {video, mask, background}, from a
    Keras predictor or an exported SavedModel (its predict_from_image signature)."""

    def __init__(self, call, frames: int, size: int, source: str):
        self._call, self.frames, self.size, self.source = call, frames, size, source

    def __call__(self, images_uint8) -> dict:
        return {k: np.asarray(v) for k, v in self._call(np.asarray(images_uint8,
                                                                  np.uint8)).items()}

    @classmethod
    def from_keras(cls, predictor, source: str = "model"):
        def call(batch):
            parts = predictor.generate_parts(images.to_model_range(batch), training=False)
            return {api.VIDEO: sampling.to_uint8(parts["video"]).numpy(),
                    api.MASK: sampling.to_uint8(parts["mask"], 0.0, 1.0).numpy(),
                    api.BACKGROUND: sampling.to_uint8(parts["background"]).numpy()}
        frames, size = predictor.video_shape[:2]
        return cls(call, frames, size, source)


def _saved_model_dir(path: str) -> str | None:
    """`path` if it holds a SavedModel, else its highest integer version that does."""
    if os.path.exists(os.path.join(path, "saved_model.pb")):
        return path
    versions = writer.list_versions(path)
    for version in reversed(versions):
        candidate = os.path.join(path, str(version))
        if os.path.exists(os.path.join(candidate, "saved_model.pb")):
            return candidate
    return None


def _from_checkpoints(model_dir: str):
    import types

    from vgan_tf.models import families

    with open(os.path.join(model_dir, "config.json")) as handle:
        config = json.load(handle)
    family = families.family(config.get("model", "video"))
    if not family.conditional:
        raise ValueError(f"{model_dir} is a run of --model={family.name} ({family.summary}),"
                         " not a future predictor")
    latest = tf.train.latest_checkpoint(os.path.join(model_dir, "checkpoints"))
    if latest is None:
        raise FileNotFoundError(f"no checkpoint in {model_dir}/checkpoints")
    predictor = family.build_generator(types.SimpleNamespace(**config))
    entry = "generator_ema" if config.get("ema_decay", 0.0) > 0 else "generator"
    tf.train.Checkpoint(**{entry: predictor}).restore(latest).expect_partial()
    return PredictorRunner.from_keras(predictor, latest)


def load_predictor(path: str) -> PredictorRunner:
    """A run folder (its predictor.keras, else its latest checkpoint), a `.keras` file, or
    an exported SavedModel (a version folder or the model folder holding versions)."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"no predictor at {path}")
    if os.path.isfile(path):
        model = writer.load_generator(path)
        if not hasattr(model, "image_shape"):
            raise ValueError(f"{path} holds a {type(model).__name__}, not a FuturePredictor")
        return PredictorRunner.from_keras(model, path)
    saved = _saved_model_dir(path)
    if saved is not None:
        loaded = tf.saved_model.load(saved)
        if api.PREDICT_FROM_IMAGE not in loaded.signatures:
            raise ValueError(f"{saved} is not an exported predictor (no "
                             f"{api.PREDICT_FROM_IMAGE} signature)")
        function = loaded.signatures[api.PREDICT_FROM_IMAGE]
        _, frames, size = function.structured_outputs[api.VIDEO].shape[:3]

        def call(batch):
            return {k: v.numpy() for k, v in function(image=tf.constant(batch)).items()}

        runner = PredictorRunner(call, int(frames), int(size), saved)
        runner._loaded = loaded  # keeps the variables alive
        return runner
    keras_file = writer.predictor_path(path)
    if os.path.exists(keras_file):
        return load_predictor(keras_file)
    if os.path.exists(os.path.join(path, "config.json")):
        return _from_checkpoints(path)
    raise FileNotFoundError(f"{path} holds no predictor.keras, checkpoints or SavedModel")


def image_files(inputs) -> list:
    """The files named by `inputs` (files, or folders: their image files, sorted)."""
    found = []
    for item in inputs:
        if os.path.isdir(item):
            found += sorted(os.path.join(item, n) for n in os.listdir(item)
                            if n.lower().endswith(IMAGE_SUFFIXES)
                            and os.path.isfile(os.path.join(item, n)))
        elif os.path.isfile(item):
            found.append(item)
        else:
            raise FileNotFoundError(f"no such file or folder: {item}")
    return found


def read_image(path: str, size: int, crop: str = "centre", from_strip: bool = False):
    """uint8 [size, size, 3] of one image file; OSError/ValueError when unreadable.

    JPEG, PNG, GIF and BMP files are decoded by the served model's own decoder
    (`images.decode_image`), so a file gives the same input here and on the server; other
    formats (WebP) through Pillow. from_strip: the file is a JPEG strip (frames stacked
    vertically): its top frame."""
    with open(path, "rb") as handle:
        data = handle.read()
    if images.is_served_format(data):
        try:
            pixels = images.decode_image(tf.constant(data)).numpy()
        except tf.errors.InvalidArgumentError as error:
            raise ValueError(error.message.split("\n")[0]) from None
    else:
        with Image.open(path) as opened:
            opened.load()
            if opened.mode.startswith("I;16") or opened.mode == "I":
                raise ValueError(f"{opened.mode} images are read as PNG only")
            pixels = np.asarray(opened.convert("RGB"))
    if from_strip:
        pixels = pixels[:pixels.shape[1]]
    return images.prepare_image(pixels, size, crop).numpy()


@dataclasses.dataclass
class Report:
    written: list = dataclasses.field(default_factory=list)
    failed: list = dataclasses.field(default_factory=list)  # (path, reason)


@dataclasses.dataclass(frozen=True)
class PredictOptions:
    """What vgan-predict writes per image (each field is one of its flags)."""

    out_dir: str = setting("predicted", "Where to write the GIFs and strips.")
    crop: str = setting("centre", "centre: the centre square of each image; none: the "
                        "whole image resized (aspect ratio not kept).", choices=api.CROPS)
    parts: bool = setting(False, "Also write <name>_mask.gif and <name>_background.png.")
    from_strips: bool = setting(False, "Inputs are JPEG strips (frames stacked vertically):"
                                " animate each strip's top frame.")
    batch_size: int = setting(16, "Images per forward pass.", minimum=1)
    fps: float = setting(8.0, "Frames per second of the GIFs and MP4s.", minimum=0.1)
    scale: int = setting(1, "Enlarge the GIFs, MP4s and part pictures by pixel repetition "
                         "(the strips keep the model's size).", minimum=1)
    mp4: bool = setting(False, "Also write <name>.mp4 (as vgan-generate's samples.mp4).")
    progress: bool = setting(True, "Show progress on stderr.")


@dataclasses.dataclass(frozen=True)
class PredictConfig:
    """vgan-predict's flags: the predictor, the inputs and PredictOptions."""

    model: str = setting("", "Training folder, .keras file or exported SavedModel.")
    input: tuple = setting((), "An image file or folder (the same as giving it as an "
                           "argument); repeat for several.")
    options: PredictOptions = section(PredictOptions, "What is written per image.")


def _scaled(picture: np.ndarray, scale: int) -> np.ndarray:
    if scale > 1:
        picture = np.repeat(np.repeat(picture, scale, axis=-3), scale, axis=-2)
    return picture


def _write_one(outputs: dict, row: int, stem: str, options: PredictOptions) -> list:
    """The files of one animated image; returns their paths."""
    video = outputs[api.VIDEO][row]
    big = _scaled(video, options.scale)
    written = [video_files.write_gif(stem + ".gif", big, options.fps),
               video_files.write_strip(stem + "_strip.jpg", video)]
    if options.mp4:
        from vgan_tf.viz import movies

        written.append(movies.write_mp4(stem + ".mp4", big, options.fps))
    if options.parts:
        mask = np.repeat(outputs[api.MASK][row], 3, axis=-1)
        written.append(video_files.write_gif(stem + "_mask.gif",
                                             _scaled(mask, options.scale), options.fps))
        Image.fromarray(_scaled(outputs[api.BACKGROUND][row], options.scale)).save(
            stem + "_background.png")
        written.append(stem + "_background.png")
    return written


def predict_files(runner: PredictorRunner, inputs, options: PredictOptions = None
                  ) -> Report:
    """Animates every image of `inputs` into options.out_dir (see the module docstring)."""
    from vgan_tf.progress import Progress

    options = options or PredictOptions()
    images.check_crop(options.crop)
    paths = image_files(inputs)
    if not paths:
        raise ValueError(f"no image files in {list(inputs)}")
    os.makedirs(options.out_dir, exist_ok=True)
    report = Report()
    bar = Progress(len(paths), unit="image", label="predict") if options.progress else None
    for start in range(0, len(paths), options.batch_size):
        good, pixels = [], []
        for path in paths[start:start + options.batch_size]:
            try:
                pixels.append(read_image(path, runner.size, options.crop,
                                         options.from_strips))
                good.append(path)
            except (OSError, ValueError, SyntaxError) as error:
                report.failed.append((path, f"{type(error).__name__}: {error}"))
        if good:
            outputs = runner(np.stack(pixels))
            for row, path in enumerate(good):
                stem = os.path.join(options.out_dir,
                                    os.path.splitext(os.path.basename(path))[0])
                report.written.extend(_write_one(outputs, row, stem, options))
        if bar is not None:
            bar.update(len(paths[start:start + options.batch_size]),
                       failed=len(report.failed))
    if bar is not None:
        bar.close()
    return report


__all__ = ["PredictConfig", "PredictOptions", "PredictorRunner", "Report", "image_files", "load_predictor", "predict_files",
           "read_image"]
