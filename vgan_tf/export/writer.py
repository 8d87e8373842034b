"""Versioned SavedModel writer: `EXPORT_BASE/<model name>/<integer version>/`.

A version is written into a hidden temporary folder beside its final place and renamed
into place at the end, so a running `tensorflow_model_server` polling the base path never
sees a half-written version. The next free version (highest existing + 1, starting at 1)
is used unless one is given.
"""
from __future__ import annotations

import importlib
import os
import shutil
import uuid

import keras
import numpy as np
import tensorflow as tf

from vgan_tf import validation
from vgan_tf.export import inference
from vgan_tf.export.options import ExportOptions
from vgan_tf.export import predictor as predictor_lib
from vgan_tf.export import signatures as signatures_lib
from vgan_tf.export import warmup as warmup_lib
from vgan_tf.serving import api


def list_versions(model_base: str) -> list:
    """Sorted integer versions present under `model_base` (other names are ignored)."""
    if not tf.io.gfile.isdir(model_base):
        return []
    versions = []
    for name in tf.io.gfile.listdir(model_base):
        name = name.rstrip("/")
        if name.isdigit() and tf.io.gfile.isdir(os.path.join(model_base, name)):
            versions.append(int(name))
    return sorted(versions)


def next_version(model_base: str) -> int:
    """Highest existing version + 1, or 1 for a new model."""
    versions = list_versions(model_base)
    return versions[-1] + 1 if versions else 1


GENERATOR_FILENAME = "generator.keras"


def generator_path(model_dir: str) -> str:
    """Where training saves the final generator: `<model_dir>/generator.keras`."""
    return os.path.join(model_dir, GENERATOR_FILENAME)


def load_generator(path: str):
    """Loads a generator (or predictor) saved by training (`<model_dir>/generator.keras`,
    `<model_dir>/predictor.keras`)."""
    importlib.import_module("vgan_tf.models")  # registers the custom Keras classes

    if not os.path.exists(path):
        raise FileNotFoundError(f"no generator at {path}")
    return keras.saving.load_model(path, safe_mode=True)


def _ensure_built(generator):
    if not generator.built:
        generator(np.zeros([1, generator.latent_dim], np.float32), training=False)


def _options(options: ExportOptions | None, settings: dict) -> ExportOptions:
    if options is not None and settings:
        raise TypeError("give an ExportOptions or settings, not both")
    return options if options is not None else ExportOptions(**settings)


def _network(model, options: ExportOptions):
    return inference.inference_network(model, options.precision, options.fold_batch_norm,
                                       options.subpixel_channels, options.fuse_heads)


def export_generator(generator, export_base: str, options: ExportOptions | None = None,
                     **settings) -> str:
    """Exports `generator` with the signatures of `api.GENERATOR_SIGNATURES` into
    `export_base/<model_name>/<version>/` (`options`, or its fields as keywords).

    Returns the version directory. Raises FileExistsError if `version` already exists.
    An empty `warmup_batch_sizes` skips the warm-up file. What is saved is
    `inference.inference_network(generator, precision, fold_batch_norm)`: a copy with the
    BatchNorms folded into the convolutions before them, the k4 s2 transposed convolutions
    to at most `subpixel_channels` channels (default `inference.SUBPIXEL_CHANNELS`: the
    output heads) computed as forward convolutions, in fp32 or with bfloat16
    convolutions (precision="bf16"); the outputs' dtypes do not depend on it.
    """
    options = _options(options, settings)
    inference.check_precision(options.precision)
    _ensure_built(generator)
    model_name = options.name_or(api.GENERATOR_MODEL)

    def save(staging):
        module = signatures_lib.GeneratorServingModule(_network(generator, options),
                                                       max_batch=options.max_batch)
        tf.saved_model.save(module, staging, signatures=module.signatures())
        if options.warmup_sizes:
            warmup_lib.write_warmup_requests(staging, warmup_lib.generator_warmup_requests(
                model_name, generator.latent_dim, options.warmup_sizes))

    return _write_version(export_base, model_name, options.version, save)


def _write_version(export_base: str, model_name: str, version, save) -> str:
    """Runs save(staging_dir), then renames the staging folder to its version folder."""
    if not model_name or "/" in model_name:
        raise ValueError(f"model_name must be a plain folder name, got {model_name!r}")
    model_base = os.path.join(export_base, model_name)
    if version is None:
        version = next_version(model_base)
    validation.positive_int("version", version)
    final = os.path.join(model_base, str(int(version)))
    if os.path.exists(final):
        raise FileExistsError(f"version {version} of {model_name} already exists: {final}")
    os.makedirs(model_base, exist_ok=True)
    staging = os.path.join(model_base, f".tmp-{version}-{uuid.uuid4().hex[:8]}")
    try:
        save(staging)
        try:
            os.rename(staging, final)
        except OSError as error:
            raise FileExistsError(
                f"version {version} of {model_name} appeared while exporting: {final}"
            ) from error
    finally:
        if os.path.exists(staging):
            shutil.rmtree(staging, ignore_errors=True)
    return final


def export_generator_file(path: str, export_base: str, options: ExportOptions | None = None,
                          **settings) -> str:
    """Loads a `.keras` generator and exports it (as `export_generator`)."""
    return export_generator(load_generator(path), export_base, options, **settings)


PREDICTOR_FILENAME = "predictor.keras"


def predictor_path(model_dir: str) -> str:
    """Where a --model=future run saves its final predictor: `<model_dir>/predictor.keras`."""
    return os.path.join(model_dir, PREDICTOR_FILENAME)


def export_predictor(predictor, export_base: str, options: ExportOptions | None = None,
                     **settings) -> str:
    """Exports a FuturePredictor with the signatures of `api.PREDICTOR_SIGNATURES` into
    `export_base/<model_name>/<version>/`; returns the version directory. Options as for
    `export_generator`, plus `crop` (how served images of another shape become square)."""
    options = _options(options, settings)
    inference.check_precision(options.precision)
    if not predictor.built:
        predictor(np.zeros((1,) + tuple(predictor.image_shape), np.float32), training=False)
    model_name = options.name_or(api.PREDICTOR_MODEL)

    def save(staging):
        module = predictor_lib.PredictorServingModule(
            _network(predictor, options), max_batch=options.max_batch, crop=options.crop)
        tf.saved_model.save(module, staging, signatures=module.signatures())
        if options.warmup_sizes:
            warmup_lib.write_warmup_requests(staging, warmup_lib.predictor_warmup_requests(
                model_name, predictor.image_shape[0], options.warmup_sizes))

    return _write_version(export_base, model_name, options.version, save)


def export_predictor_file(path: str, export_base: str, options: ExportOptions | None = None,
                          **settings) -> str:
    """Loads a `.keras` predictor and exports it (as `export_predictor`)."""
    return export_predictor(load_generator(path), export_base, options, **settings)
