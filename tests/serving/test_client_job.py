"""The client binary's job: ClientConfig (= its flags), run's lines (latency per call,
paths, the summary of several calls), and a client that never loads TensorFlow."""
import os
import subprocess
import sys

import pytest
from absl import flags

from tests.helpers import REPO
from tests.serving.probes import CALL_LINE, SUMMARY_LINE
from vgan_tf import config_flags
from vgan_tf.serving import api, client_job
from vgan_tf.serving.client_job import ClientConfig

FLAG_NAMES = {"server", "protocol", "model_name", "image", "version", "seeds", "seed", "num",
              "out_dir", "formats", "served_files", "form", "max_batch", "max_receive_mb",
              "timeout"}  # the 15 flags the binary had before they were derived


def test_flags_are_the_config_fields_with_the_old_names():
    values = flags.FlagValues()
    config_flags.define_flags(ClientConfig, values, module_name="serving_client")
    assert set(values) == FLAG_NAMES
    values(["prog", "--seeds=3,4", "--seeds=5", "--formats=gif", "--version=2",
            "--protocol=rest"])
    config = config_flags.config_from_flags(ClientConfig, flag_values=values).validate()
    assert config.seed_list() == [3, 4, 5] and config.format_list() == ("gif",)
    assert (config.version, config.protocol, config.model_name) == (2, "rest", None)
    default = ClientConfig().validate()
    assert default.seed_list() == [0, 1, 2, 3] and default.format_list() == ("gif", "strip")
    assert default.protocol is None and default.version is None


@pytest.mark.parametrize("fields, flag", [
    (dict(seeds=("1,x",)), "--seeds"), (dict(formats=("mp4",)), "--formats"),
    (dict(num=0), "--num"), (dict(protocol="http2"), "--protocol"),
    (dict(max_batch=0), "--max_batch"), (dict(timeout=0.0), "--timeout"),
    (dict(served_files="mp4"), "--served_files"),
])
def test_a_wrong_setting_names_its_flag(fields, flag):
    with pytest.raises(ValueError, match=flag):
        ClientConfig(**fields).validate()


def test_client_options_follow_the_protocol():
    grpc_options = ClientConfig(server="localhost:8500", max_receive_mb=2).client_options()
    assert grpc_options["max_receive_bytes"] == 2 << 20 and "form" not in grpc_options
    assert grpc_options["model_name"] == api.GENERATOR_MODEL
    rest = ClientConfig(server="http://localhost:8501", form="instances",
                        image=("a.png",)).client_options()
    assert rest["form"] == "instances" and "max_receive_bytes" not in rest
    assert rest["model_name"] == api.PREDICTOR_MODEL
    assert "form" in ClientConfig(server="localhost:8501", protocol="rest").client_options()


@pytest.mark.slow
def test_run_reports_each_call_the_paths_and_a_summary(served, tmp_path):
    lines = []
    config = ClientConfig(server=served.server.grpc_address, seeds=("3,4,5",), max_batch=2,
                          out_dir=str(tmp_path / "grpc"), formats=("gif",)).validate()
    paths = client_job.run(config, report=lines.append)
    calls = [CALL_LINE.match(line) for line in lines[:2]]
    assert all(calls) and [(m[1], m[2]) for m in calls] == [("1", "2"), ("2", "1")]
    assert lines[2:-1] == paths and all(os.path.isfile(p) for p in paths)
    assert sorted(os.path.basename(p) for p in paths) == sorted(
        f"seed_{s}{part}" for s in (3, 4, 5) for part in (".gif", "_mask.gif"))
    summary = SUMMARY_LINE.match(lines[-1])
    assert summary and (summary[1], summary[2]) == ("2", "3"), lines[-1]

    lines.clear()
    one = ClientConfig(server=served.server.rest_url, seeds=("6",),
                       out_dir=str(tmp_path / "rest")).validate()
    paths = client_job.run(one, report=lines.append)
    assert CALL_LINE.match(lines[0])[2] == "1"
    assert lines[1:] == paths  # one call: no summary


@pytest.mark.slow  # a subprocess
def test_the_grpc_client_loads_no_tensorflow(served, tmp_path):
    """The binary's whole gRPC path (flags, request, response, files) in a fresh process
    leaves `tensorflow` (and its runtime, `tensorflow.python`) unimported."""
    code = ("import sys\n"
            "from tools import serving_client\n"
            f"serving_client.FLAGS(['serving_client', '--server={served.server.grpc_address}',"
            f" '--seeds=1,2', '--out_dir={tmp_path}'])\n"
            "serving_client.main([''])\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('tensorflow', 'tensorflow_serving', 'keras')))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert CALL_LINE.match(lines[0]) and lines[-1] == "[]", lines
    assert os.path.isfile(tmp_path / "seed_2_mask.gif")
