"""Metrics as a registry: a name -> a function of the two sides' features.

    from vgan_tf.metrics import registry

    @registry.register("mean_gap")
    def mean_gap(real, fake, options):
        return float(abs(real["all"].mean() - fake["all"].mean()))

`evaluation.evaluate` computes the features of both sides once (`fvd.ClipFeatures`:
{"all": [n, 400] I3D features of all the frames, "first16": [n, 400] of the first 16 frames
for clips of >= 16 frames}) and then calls each registered metric, or those named in
`EvalOptions.metrics`, as `fn(real, fake, options)` (options: the caller's options
object, the EvalOptions there). A metric returns a number, a {name: number} dict when it
has several values, or None where it does not apply (it is then left out of the report,
as fvd16 is for clips under 16 frames).

FVD, KVD, FVD16 and KVD16 (metrics.fvd) are registered here, in that order; a report lists
its values in the order of registration.
"""
from __future__ import annotations

from vgan_tf.metrics import fvd

METRICS: dict = {}
"""name -> fn(real features, fake features, options) -> number | {name: number} | None."""


def register(name: str, fn=None, *, replace: bool = False):
    """Registers `fn` as metric `name` (usable as a decorator: `@register("name")`).
    ValueError when the name is taken, unless `replace`."""
    if not name or not isinstance(name, str):
        raise ValueError(f"a metric needs a non-empty name, got {name!r}")

    def add(function):
        if name in METRICS and not replace:
            raise ValueError(f"a metric named {name!r} is already registered")
        METRICS[name] = function
        return function

    return add if fn is None else add(fn)


def unregister(name: str) -> None:
    """Removes metric `name` (ValueError when there is none)."""
    if METRICS.pop(name, None) is None:
        raise ValueError(f"no metric named {name!r} is registered")


def check(names) -> tuple:
    """The metric names to compute: `names` (an entry may be a comma list, as in
    `--metrics=fvd,kvd`), or every registered one when empty. ValueError naming the
    unknown ones (and the registered ones)."""
    names = tuple(part.strip() for name in names for part in name.split(",") if part.strip())
    names = names or tuple(METRICS)
    unknown = [name for name in names if name not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {', '.join(unknown)} (--metrics); registered: "
                         f"{', '.join(METRICS)}")
    return names


def compute(real: dict, fake: dict, options=None, names=()) -> dict:
    """{name: float} of the metrics `names` (default: all, in registration order) on
    the feature dicts `real` and `fake`."""
    out = {}
    for name in check(names):
        value = METRICS[name](real, fake, options)
        if value is None:
            continue
        if isinstance(value, dict):
            out.update({key: float(v) for key, v in value.items()})
        else:
            out[name] = float(value)
    return out


def _on(key: str, distance):
    """A metric: `distance` of the two sides' `key` features, None where one lacks them."""
    def metric(real, fake, options):
        del options
        if key not in real or key not in fake:
            return None
        return distance(real[key], fake[key])

    return metric


register("fvd", _on("all", fvd.fvd_from_features))
register("kvd", _on("all", fvd.polynomial_mmd))
register("fvd16", _on("first16", fvd.fvd_from_features))
register("kvd16", _on("first16", fvd.polynomial_mmd))
