"""`Family`: what the rest of the package needs to know about one model family.

A family is a folder under vgan_tf/models/ with its networks (networks.py) and one
`Family` record (family.py). Training (training/run.py), export (tools/export.py), the
loading of run folders (metrics/model_sources.py) and the sample pictures look a family up
by name in `families.FAMILIES` and call its record; nothing outside the family folders
branches on a family's name. Adding a family: a folder with networks.py and family.py, and
one line in families.py.

The record's functions take the config sections as plain objects (duck-typed):
`model` has the ModelConfig fields (frames, size, latent_dim, base_width, generator, ...);
`config` is a whole TrainConfig.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, NamedTuple


LAYER_FORMS = ("plain", "d_input", "g_heads", "both")
"""The values of `model.layer_forms` (vgan-train --layer_forms): which of the two stride-1
layer forms (models.blocks) the built networks use."""


class LayerForms(NamedTuple):
    d_input: bool  # D's first layer as space-to-depth + a stride-1 convolution
    g_heads: bool  # G's video heads as a stride-1 transposed convolution + depth-to-space


def layer_forms(model) -> LayerForms:
    """The forms `model.layer_forms` asks for; a model config without the setting (a run's
    config.json from before it) is plain. ValueError for another value."""
    forms = getattr(model, "layer_forms", "plain")
    if forms not in LAYER_FORMS:
        raise ValueError(f"--layer_forms must be one of {', '.join(LAYER_FORMS)}, got "
                         f"{forms!r}")
    return LayerForms(d_input=forms in ("d_input", "both"),
                      g_heads=forms in ("g_heads", "both"))


def no_checks(model) -> None:
    """A family without settings of its own to check."""


@dataclasses.dataclass(frozen=True)
class Family:
    """One model family.

    name: the `--model` value; summary: one line for help texts.
    final_file: the .keras file a finished run leaves in its folder.
    served_name: the default served model name of its export.
    build_generator(model): the trained network (what final_file holds), unbuilt weights.
    build_discriminator(model): its discriminator.
    build_task(generator, discriminator, config): the compiled-to-be AdversarialTask.
    export(network, export_base, options): writes a SavedModel version, returns its path.
    conditional: True when the network takes an image (samples need input frames: frame
      1 of real clips), False when it takes noise.
    write_samples(network, inputs, out_dir, pictures): the run's sample pictures (inputs:
      the input frames of a conditional family, else None); pictures has num, fps, scale.
    accepts(network): whether a loaded network is this family's (e.g. from a .keras file).
    validate(model): raises ValueError naming a flag that does not apply to the family.
    """

    name: str
    summary: str
    final_file: str
    served_name: str
    build_generator: Callable
    build_discriminator: Callable
    build_task: Callable
    export: Callable
    conditional: bool
    write_samples: Callable
    accepts: Callable
    validate: Callable = no_checks
