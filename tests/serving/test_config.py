"""serving/: the model configs parse as ModelServerConfig, batching.config has the
structure and numbers TF Serving needs, and the README has the commands."""
import os
import re

from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from tests.helpers import REPO
from vgan_tf.serving import api

SERVING = os.path.join(REPO, "serving")


def _model_config(name):
    parsed = model_server_config_pb2.ModelServerConfig()
    with open(os.path.join(SERVING, name)) as handle:
        text_format.Parse(handle.read(), parsed)
    return parsed


def test_model_configs_parse_with_the_serving_protos():
    configs = {c.name: c for c in _model_config("models.config").model_config_list.config}
    assert set(configs) == {api.GENERATOR_MODEL, "predictor"}
    for name, model in configs.items():
        assert model.base_path == f"/models/{name}"  # the Docker image's layout
        assert model.model_platform == "tensorflow"
    only = _model_config("generator.config").model_config_list.config
    assert len(only) == 1 and only[0] == configs[api.GENERATOR_MODEL]


# BatchingParameters fields (tensorflow_serving/servables/tensorflow/
# session_bundle_config.proto): True for google.protobuf wrappers ({ value: ... }).
BATCHING_FIELDS = {
    "max_batch_size": True, "batch_timeout_micros": True, "max_enqueued_batches": True,
    "num_batch_threads": True, "thread_pool_name": True,
    "enable_large_batch_splitting": True, "max_execution_batch_size": True,
    "allowed_batch_sizes": False, "pad_variable_length_inputs": False,
}


def test_batching_config_structure_and_numbers():
    """No installed wheel ships the BatchingParameters proto (tensorflow-serving-api 2.21
    has apis/ and config/ only; site-packages holds no session_bundle_config and no
    BatchingParameters), so this is a structural check, not a parse: one field per line,
    known names, wrapper fields as `name { value: V }`, the others as `name: V`, and the
    numbers that matter."""
    values = {}
    with open(os.path.join(SERVING, "batching.config")) as handle:
        for line in handle:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            match = re.fullmatch(r"(\w+) \{ value: (\w+) \}|(\w+): (\w+)", line)
            assert match, line
            name, value = (match.group(1), match.group(2)) if match.group(1) else (
                match.group(3), match.group(4))
            assert BATCHING_FIELDS.get(name) == bool(match.group(1)), line
            assert name not in values, f"{name} given twice"
            values[name] = int(value) if value.isdigit() else value
    assert values["max_batch_size"] == api.MAX_BATCH  # the export's guard
    assert values["enable_large_batch_splitting"] == "true"
    assert 1 <= values["max_execution_batch_size"] <= values["max_batch_size"]
    assert values["batch_timeout_micros"] > 0 and values["num_batch_threads"] >= 1


def test_readme_has_the_exact_commands():
    with open(os.path.join(SERVING, "README.md")) as handle:
        readme = handle.read()
    for needed in ("tensorflow_model_server --port=8500 --rest_api_port=8501",
                   "--model_config_file=", "--batching_parameters_file=",
                   "--enable_batching=true", "docker run", "tensorflow/serving",
                   "-p 8500:8500 -p 8501:8501", "python -m tools.export",
                   "python -m tools.serving_client"):
        assert needed in readme, needed
