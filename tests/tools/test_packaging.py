"""The wheel: binaries installed as vgan_tf.tools (no top-level `tools` package), console
scripts that work from a fresh virtual environment."""
from __future__ import annotations

import glob
import os
import shutil
import site
import subprocess
import sys
import sysconfig

import pytest

from tests.helpers import REPO


@pytest.mark.slow
def test_wheel_installs_console_scripts_without_a_top_level_tools(tmp_path):
    wheels = tmp_path / "wheels"
    import importlib.util
    # Without build isolation when setuptools is here (no download); else pip fetches it.
    isolation = [] if importlib.util.find_spec("setuptools") is None else [
        "--no-build-isolation"]
    source = tmp_path / "source"  # a copy: the build writes build/ and *.egg-info there
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    for name in ("vgan_tf", "tools"):
        shutil.copytree(os.path.join(REPO, name), source / name, ignore=ignore)
    for name in ("setup.py", "setup.cfg", "README.md"):
        shutil.copy(os.path.join(REPO, name), source / name)
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation,
                            "-q", "-w", str(wheels), str(source)],
                           capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-3000:]
    wheel, = glob.glob(str(wheels / "vgan_tf-*.whl"))

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = str(venv / "bin" / "python")
    install = subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", wheel],
                             capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr[-3000:]
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()"
                              "['purelib'])"], capture_output=True, text=True,
                             check=True).stdout.strip()
    # The dependencies (TensorFlow, ...) come from this environment's site-packages, as
    # plain path entries: its .pth files (the editable vgan_tf among them) are not run.
    deps = [p for p in site.getsitepackages() + [sysconfig.get_paths()["purelib"]]
            if os.path.isdir(p)]
    with open(os.path.join(purelib, "zz_test_dependencies.pth"), "w") as handle:
        handle.write("\n".join(deps) + "\n")

    assert os.path.isdir(os.path.join(purelib, "vgan_tf", "tools"))
    assert not os.path.exists(os.path.join(purelib, "tools"))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH="")
    where = subprocess.run([python, "-c", "import vgan_tf, vgan_tf.tools.train as t; "
                            "print(vgan_tf.__file__); print(t.__file__)"],
                           cwd=str(tmp_path), env=env, capture_output=True, text=True,
                           timeout=120)
    assert where.returncode == 0, where.stderr[-2000:]
    assert all(line.startswith(purelib) for line in where.stdout.split()), where.stdout
    helpfull = subprocess.run([str(venv / "bin" / "vgan-train"), "--helpfull"],
                              cwd=str(tmp_path), env=env, capture_output=True, text=True,
                              timeout=120)
    assert helpfull.returncode == 1, helpfull.stderr[-2000:]  # absl: exit 1 after help
    for flag in ("--model_dir:", "--preset:", "--[no]synthetic:", "--strategy:"):
        assert flag in helpfull.stdout, flag
    import configparser
    parser = configparser.ConfigParser()
    parser.read(os.path.join(REPO, "setup.cfg"))
    scripts = [line.split("=")[0].strip() for line in
               parser["options.entry_points"]["console_scripts"].strip().splitlines()]
    assert len(scripts) >= 14 and "vgan-predict" in scripts
    for script in scripts:
        assert (venv / "bin" / script).exists(), script
    predict = subprocess.run([str(venv / "bin" / "vgan-predict"), "--helpfull"],
                             cwd=str(tmp_path), env=env, capture_output=True, text=True,
                             timeout=120)
    assert predict.returncode == 1 and "--crop" in predict.stdout, predict.stderr[-2000:]
    mistake = subprocess.run([str(venv / "bin" / "vgan-make-synthetic"), "--num_clips=0",
                              f"--out_dir={tmp_path}/x"], cwd=str(tmp_path), env=env,
                             capture_output=True, text=True, timeout=120)
    assert mistake.returncode == 2 and "vgan-make-synthetic: error:" in mistake.stderr
