"""What vgan-import-torch7 does: `ImportConfig` (each field is one of its flags).

No TensorFlow here, so that the binary defines its flags (and answers --help) without it.
"""
from __future__ import annotations

import dataclasses

from vgan_tf.config_flags import setting

GENERATOR = "generator"
DISCRIMINATOR = "discriminator"
KINDS = (GENERATOR, DISCRIMINATOR)
AUTO = "auto"
SERVED_GENERATOR = "generator"  # vgan_tf.serving.api.GENERATOR_MODEL (a test keeps them equal)


@dataclasses.dataclass(frozen=True)
class ImportConfig:
    """The .t7 file to read, the .keras file to write, and the optional export."""

    t7: str | None = setting(None, "The Torch7 file (generator or discriminator).")
    output: str | None = setting(None, "Where to write the Keras model (.keras).")
    kind: str = setting(AUTO, "What the file holds; auto reads it from the module tree.",
                        choices=(AUTO,) + KINDS)
    export_base: str | None = setting(None, "Also export the generator for TF Serving "
                                      "under this base folder "
                                      "(<export_base>/<model_name>/<version>/).")
    model_name: str = setting(SERVED_GENERATOR, "Served model name (with --export_base).")
    version: int | None = setting(None, "Export version (with --export_base); default: the "
                                  "next free one.", minimum=1)

    @property
    def kind_or_none(self) -> str | None:
        """The kind asked for, None for auto (read from the module tree)."""
        return None if self.kind == AUTO else self.kind
