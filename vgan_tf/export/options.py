"""How a model is exported: `ExportOptions` (each field is a flag of vgan-export).

No TensorFlow here.
"""
from __future__ import annotations

import dataclasses

from vgan_tf.config_flags import section, setting
from vgan_tf.serving import api

PRECISIONS = ("fp32", "bf16")


@dataclasses.dataclass(frozen=True)
class ExportOptions:
    """Where the SavedModel goes and what it is made of."""

    model_name: str | None = setting(None, "Model folder and served model name (default: "
                                     "the family's: generator, or predictor for the future "
                                     "predictor).")
    version: int | None = setting(None, "Integer version; default: the next free one.",
                                  minimum=1)
    max_batch: int = setting(api.MAX_BATCH, "Largest batch a request may hold.", minimum=1)
    warmup_batch_sizes: str = setting("1", "Comma-separated batch sizes of the warm-up "
                                      "requests (empty: no warm-up file).")
    crop: str = setting("centre", "Future predictor: how image_bytes of another shape "
                        "become square (the centre square, or none: the whole image "
                        "resized).", choices=api.CROPS)
    precision: str = setting("fp32", "fp32: float32 convolutions (default); bf16: bfloat16 "
                             "convolutions (faster on CPUs with AVX512_BF16 or AMX; outputs "
                             "keep their dtypes; docs/serving.md has the measured "
                             "difference).", choices=PRECISIONS)
    fold_batch_norm: bool = setting(True, "Fold each BatchNorm into the convolution before "
                                    "it (same outputs up to float rounding; fewer ops).")
    subpixel_channels: int | None = setting(None, "Stride-2 transposed convolutions to at "
                                            "most this many channels run as one forward "
                                            "convolution + interleave (default: the output "
                                            "heads).", minimum=0)
    fuse_heads: bool = setting(True, "Heads that read the same tensor (foreground and "
                               "mask) run as one forward convolution (same outputs; the "
                               "input is padded and read once).")

    def __post_init__(self):
        if not isinstance(self.warmup_batch_sizes, str):  # a sequence of ints from Python
            object.__setattr__(self, "warmup_batch_sizes",
                               ",".join(str(int(b)) for b in self.warmup_batch_sizes))
        self.warmup_sizes  # noqa: B018 (validates)

    @property
    def warmup_sizes(self) -> tuple:
        """The warm-up batch sizes as integers (() for none)."""
        sizes = []
        for item in filter(None, (part.strip() for part in
                                  self.warmup_batch_sizes.split(","))):
            if not item.isdigit() or int(item) < 1:
                raise ValueError(f"--warmup_batch_sizes must be positive integers separated "
                                 f"by commas, got {self.warmup_batch_sizes!r}")
            sizes.append(int(item))
        return tuple(sizes)

    def name_or(self, default: str) -> str:
        return self.model_name or default


@dataclasses.dataclass(frozen=True)
class ExportConfig:
    """What vgan-export exports (one of generator, predictor, model_dir) and how."""

    model: str = setting("video", "Model family of --model_dir: video (the generator) or "
                         "future (the future predictor; implied by --predictor).")
    generator: str | None = setting(None, "Path of a saved generator (.keras).")
    predictor: str | None = setting(None, "Path of a saved future predictor (.keras).")
    model_dir: str | None = setting(None, "Training directory: exports its final network "
                                    "(generator.keras, predictor.keras for --model=future).")
    export_base: str = setting("", "TF Serving base folder (holds <model_name>/).")
    options: ExportOptions = section(ExportOptions, "How the SavedModel is made.")

    def source(self) -> tuple:
        """("family", name) for --model_dir (its --model), or ("served", name) for a .keras
        file given by --generator / --predictor (the family serving under that name);
        then the path. ValueError naming the flags."""
        given = [name for name in ("generator", "predictor", "model_dir")
                 if getattr(self, name)]
        if len(given) != 1:
            raise ValueError("give exactly one of --generator, --predictor and --model_dir")
        if not self.export_base:
            raise ValueError("--export_base is required: the TF Serving base folder")
        if self.model_dir:
            return ("family", self.model), self.model_dir
        return ("served", given[0]), getattr(self, given[0])
