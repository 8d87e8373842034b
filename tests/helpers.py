"""Shared test helpers (the keras-hub habit): one place checks config and saving round trips."""
from __future__ import annotations

import os

import keras
import numpy as np


def run_serialization_test(model):
    """get_config -> from_config gives an equal config, and serialize/deserialize works."""
    config = model.get_config()
    clone = type(model).from_config(config)
    assert clone.get_config() == config
    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(model))
    assert type(revived) is type(model)
    assert revived.get_config() == config
    return clone


def run_model_saving_test(model, inputs, tmp_path, call=None, atol=1e-6):
    """Saves `model` as .keras, reloads it with safe_mode on, and compares outputs."""
    call = call or (lambda m, x: m(x, training=False))
    expected = np.asarray(call(model, inputs))
    path = os.path.join(str(tmp_path), "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded) is type(model)
    np.testing.assert_allclose(np.asarray(call(loaded, inputs)), expected, atol=atol)
    return loaded
