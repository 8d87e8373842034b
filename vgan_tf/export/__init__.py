"""SavedModel export for TF Serving: signatures, versioned writer, warm-up requests.

Only this package builds serving signatures; their names, dtypes and the batch limit are
data in `vgan_tf.serving.api` (see docs/serving.md):

    from vgan_tf import export
    path = export.export_generator(generator, "/models", model_name="generator")
    path = export.export_predictor(predictor, "/models")   # /models/predictor/<N>/

writes `/models/<name>/<next free version>/` with the signatures of
`api.GENERATOR_SIGNATURES` (or `api.PREDICTOR_SIGNATURES`) and
`assets.extra/tf_serving_warmup_requests`. What is saved is `inference.inference_network`
of the model: a copy with BatchNorm folded into the convolutions and the small output heads
computed as forward convolutions, in fp32 (default) or, with `precision="bf16"`, with
bfloat16 convolutions (same output dtypes). `future_files` animates image files with a
predictor (what vgan-predict runs).
"""
from vgan_tf.export.inference import PRECISIONS, InferenceNetwork, inference_network
from vgan_tf.export.options import ExportOptions
from vgan_tf.export.predictor import PredictorServingModule
from vgan_tf.export.signatures import GeneratorServingModule
from vgan_tf.export.writer import (export_generator, export_generator_file,
                                   export_predictor, export_predictor_file, generator_path,
                                   list_versions, load_generator, next_version,
                                   predictor_path)

__all__ = [
    "PRECISIONS", "ExportOptions", "InferenceNetwork", "inference_network", "GeneratorServingModule",
    "PredictorServingModule", "export_generator",
    "export_generator_file", "export_predictor", "export_predictor_file", "generator_path",
    "list_versions", "load_generator", "next_version", "predictor_path",
]
