"""The house rules: no import cycles, the rooms' boundaries, one public namespace."""
from __future__ import annotations

import ast
import os
import subprocess
import sys

import pytest

import vgan_tf
from tests.helpers import REPO

PACKAGE = os.path.join(REPO, "vgan_tf")


def _modules() -> dict:
    """{dotted module name: path} of every module of the package."""
    found = {}
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                dotted = os.path.relpath(path, REPO)[:-3].replace(os.sep, ".")
                found[dotted[:-len(".__init__")] if dotted.endswith(".__init__") else
                      dotted] = path
    return found


def _imports(modules: dict) -> dict:
    """{module: set of package modules it imports at any level (package __init__ files
    excluded as targets: importing a package's submodule is not importing the package)}."""
    inits = {m for m, p in modules.items() if p.endswith("__init__.py")}
    edges = {}
    for module, path in modules.items():
        package = module if path.endswith("__init__.py") else module.rsplit(".", 1)[0]
        targets = set()
        for node in ast.walk(ast.parse(open(path).read(), path)):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                names = [base] + [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            targets |= {n for n in names if n in modules and n != module and n not in inits}
        edges[module] = targets
    return edges


def _cycle(edges: dict):
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_inside_the_package():
    cycle = _cycle(_imports(_modules()))
    assert cycle is None, " -> ".join(cycle)


FAMILY_RECORDS = ("vgan_tf.models.families", "vgan_tf.models.video.family",
                  "vgan_tf.models.future.family")


def test_family_records_are_where_the_registry_says():
    from vgan_tf.models import families
    assert {f"vgan_tf.models.{name}.family" for name in families.FAMILIES} | {
        "vgan_tf.models.families"} == set(FAMILY_RECORDS)


@pytest.mark.parametrize("room,forbidden", [
    # networks: Keras only; a family's record may name its task, export and pictures
    ("vgan_tf.models", ("vgan_tf.data", "vgan_tf.training", "vgan_tf.export",
                        "vgan_tf.tasks", "vgan_tf.serving", "vgan_tf.viz")),
    *((record, ("vgan_tf.data", "vgan_tf.training", "vgan_tf.serving"))
      for record in FAMILY_RECORDS),
    ("vgan_tf.data", ("vgan_tf.models", "vgan_tf.tasks", "vgan_tf.training",
                      "vgan_tf.export")),
    ("vgan_tf.tasks", ("vgan_tf.data", "vgan_tf.training", "vgan_tf.export")),
    ("vgan_tf.export", ("vgan_tf.training", "vgan_tf.data")),
    ("vgan_tf.training", ("vgan_tf.export", "vgan_tf.serving")),
    ("vgan_tf.serving", ("vgan_tf.training", "vgan_tf.data", "vgan_tf.models")),
    ("vgan_tf.viz", ("vgan_tf.training", "vgan_tf.data")),
    ("vgan_tf.interop", ("vgan_tf.data", "vgan_tf.training", "vgan_tf.serving",
                         "vgan_tf.tasks")),
    ("vgan_tf.metrics", ("vgan_tf.training", "vgan_tf.tasks")),
])
@pytest.mark.slow
def test_rooms_keep_their_boundaries(room, forbidden):
    edges = _imports(_modules())
    for module, targets in edges.items():
        if room == "vgan_tf.models" and module in FAMILY_RECORDS:
            continue  # checked by their own rows
        if module == room or module.startswith(room + "."):
            bad = sorted(t for t in targets if t.startswith(forbidden))
            assert not bad, f"{module} imports {bad}"


def test_public_names_resolve_from_one_namespace():
    for name in vgan_tf.__all__:
        assert getattr(vgan_tf, name) is not None, name
    assert set(vgan_tf._PUBLIC) <= set(dir(vgan_tf))
    with pytest.raises(AttributeError, match="no_such_name"):
        vgan_tf.no_such_name  # noqa: B018


def test_the_readme_form_builds_a_gan(tiny):
    import vgan_tf as vg
    sizes = dict(frames=tiny.frames, size=tiny.size, base_width=tiny.base_width)
    gan = vg.VideoGAN(vg.TwoStreamGenerator(latent_dim=tiny.latent_dim, **sizes),
                      vg.Discriminator(**sizes))
    gan.compile()
    videos = vg.sample(gan.generator, 2, seed=3)
    assert videos.shape == (2, tiny.frames, tiny.size, tiny.size, 3)


@pytest.mark.slow
def test_light_modules_import_without_tensorflow():
    code = ("import sys, vgan_tf, vgan_tf.config_flags, vgan_tf.validation; "
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["False", "False"]


@pytest.mark.slow
def test_importing_the_package_starts_no_tensorflow_runtime():
    """A multi-worker strategy must be created before TensorFlow's runtime starts; a
    module that makes a tensor when imported (a module-level tf.constant) would start it."""
    skip = (".prepare.beam", "interop.t7")  # beam is an optional extra
    names = [n for n in _modules() if not n.endswith(skip) and ".tools" not in n]
    code = ("import importlib, sys\n"
            f"for name in {names!r}:\n"
            "    importlib.import_module(name)\n"
            "from tensorflow.python.eager import context\n"
            "started = context.context()._context_handle is not None\n"
            "print('started' if started else 'not started')\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=300,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("not started"), result.stdout
