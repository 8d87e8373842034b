"""serving/: models.config and generator.config parse as ModelServerConfig, batching.config
holds valid BatchingParameters, the README has the commands, the stand-in serves the config."""
import os
import re
import shutil

import numpy as np
import pytest
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from tests import serving_standin
from vgan_tf import config, export, serving_client
from vgan_tf.export import signatures as signatures_lib
from vgan_tf.models import TwoStreamGenerator

SERVING = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "serving")

# BatchingParameters (tensorflow_serving/servables/tensorflow/session_bundle_config.proto),
# not shipped in the tensorflow-serving-api wheel: field -> (kind, value type).
BATCHING_FIELDS = {
    "max_batch_size": ("wrapper", int), "batch_timeout_micros": ("wrapper", int),
    "max_enqueued_batches": ("wrapper", int), "num_batch_threads": ("wrapper", int),
    "thread_pool_name": ("wrapper", str), "enable_large_batch_splitting": ("wrapper", bool),
    "max_execution_batch_size": ("wrapper", int), "allowed_batch_sizes": ("repeated", int),
    "pad_variable_length_inputs": ("plain", bool),
}


def _scalar(text: str, kind):
    if kind is bool:
        if text not in ("true", "false"):
            raise ValueError(f"{text!r} is not a bool")
        return text == "true"
    if kind is int:
        return int(text)
    if not (text.startswith('"') and text.endswith('"')):
        raise ValueError(f"{text!r} is not a quoted string")
    return text[1:-1]


def parse_batching_parameters(text: str) -> dict:
    """A small text-format parser for BatchingParameters; raises ValueError on anything
    that TF Serving's parser would reject (unknown field, wrong type, bad syntax)."""
    body = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    token = re.compile(r"\s*(?:(\w+)\s*\{\s*value\s*:\s*([^\s}]+)\s*\}|(\w+)\s*:\s*([^\s]+))")
    values, position = {}, 0
    while body[position:].strip():
        match = token.match(body, position)
        if not match:
            raise ValueError(f"cannot parse near {body[position:position + 40]!r}")
        position = match.end()
        name = match.group(1) or match.group(3)
        raw = match.group(2) or match.group(4)
        if name not in BATCHING_FIELDS:
            raise ValueError(f"unknown field {name}")
        kind, value_type = BATCHING_FIELDS[name]
        if (kind == "wrapper") != bool(match.group(1)):
            raise ValueError(f"{name} must be written as "
                             f"{'{ value: ... }' if kind == 'wrapper' else 'name: value'}")
        value = _scalar(raw, value_type)
        if kind == "repeated":
            values.setdefault(name, []).append(value)
        elif name in values:
            raise ValueError(f"{name} given twice")
        else:
            values[name] = value
    return values


def _model_config(name):
    parsed = model_server_config_pb2.ModelServerConfig()
    with open(os.path.join(SERVING, name)) as handle:
        text_format.Parse(handle.read(), parsed)
    return parsed


def test_models_config_parses_with_the_serving_protos():
    configs = {c.name: c for c in _model_config("models.config").model_config_list.config}
    assert set(configs) == {"generator", "predictor"}
    for name, model in configs.items():
        assert model.base_path == f"/models/{name}"
        assert model.model_platform == "tensorflow"
        assert model.model_version_policy.WhichOneof("policy_choice") == "latest"
    assert configs["generator"].model_version_policy.latest.num_versions == 2
    only = _model_config("generator.config").model_config_list.config
    assert [c.name for c in only] == ["generator"]
    assert only[0] == configs["generator"]


def test_batching_config_is_valid_and_matches_the_export_guard():
    with open(os.path.join(SERVING, "batching.config")) as handle:
        values = parse_batching_parameters(handle.read())
    assert values["max_batch_size"] == signatures_lib.DEFAULT_MAX_BATCH
    assert values["enable_large_batch_splitting"] is True
    assert 1 <= values["max_execution_batch_size"] <= values["max_batch_size"]
    assert values["batch_timeout_micros"] > 0 and values["num_batch_threads"] >= 1
    for bad in ("max_batch_size: 4", "max_batch_size { value: x }", "nope { value: 1 }",
                "pad_variable_length_inputs { value: true }", "max_batch_size { value: 1 } "
                "max_batch_size { value: 2 }", "enable_large_batch_splitting { value: 1 }",
                "max_batch_size { value: 4"):
        with pytest.raises(ValueError):
            parse_batching_parameters(bad)
    assert parse_batching_parameters("allowed_batch_sizes: 8 allowed_batch_sizes: 64") == {
        "allowed_batch_sizes": [8, 64]}


def test_readme_has_the_exact_commands():
    with open(os.path.join(SERVING, "README.md")) as handle:
        readme = handle.read()
    for needed in ("tensorflow_model_server --port=8500 --rest_api_port=8501",
                   "--model_config_file=", "--batching_parameters_file=",
                   "--enable_batching=true", "docker run", "tensorflow/serving",
                   "-p 8500:8500 -p 8501:8501", "python -m tools.export",
                   "python -m tools.serving_client"):
        assert needed in readme, needed


def test_stand_in_serves_models_config_with_its_version_policy(tmp_path):
    sizes = config.TINY
    generator = TwoStreamGenerator(sizes.frames, sizes.size, sizes.latent_dim,
                                   sizes.base_width)
    first = export.export_generator(generator, str(tmp_path), warmup_batch_sizes=())
    for version in (2, 3):  # same model, more versions: a copy is as good as an export
        shutil.copytree(first, os.path.join(str(tmp_path), "generator", str(version)))
    server = serving_standin.StandInServer.from_model_config(
        os.path.join(SERVING, "models.config"), rewrite_base=("/models", str(tmp_path)))
    assert sorted(server.registry.models) == ["generator"]  # no predictor exported yet
    assert sorted(server.registry.models["generator"]) == [2, 3]  # latest 2
    with server:
        for version, code in ((3, None), (2, None), (1, "NOT_FOUND")):
            client = serving_client.GrpcClient(server.grpc_address, version=version)
            if code:
                with pytest.raises(serving_client.ServingError) as error:
                    client.generate([0])
                assert error.value.code == code
            else:
                assert client.generate([0])["video"].dtype == np.uint8
            client.close()
