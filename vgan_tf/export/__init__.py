"""SavedModel export for TF Serving: signatures, versioned writer, warm-up requests.

Only this package builds serving signatures; their names, dtypes and the batch limit are
data in `vgan_tf.serving.api` (see docs/serving.md):

    from vgan_tf import export
    path = export.export_generator(generator, "/models", model_name="generator")

writes `/models/generator/<next free version>/` with the signatures of
`api.GENERATOR_SIGNATURES` and `assets.extra/tf_serving_warmup_requests`.
"""
from vgan_tf.export.signatures import GeneratorServingModule
from vgan_tf.export.writer import (export_generator, export_generator_file, generator_path,
                                   list_versions, load_generator, next_version)

__all__ = [
    "GeneratorServingModule", "export_generator", "export_generator_file", "generator_path",
    "list_versions", "load_generator", "next_version",
]
