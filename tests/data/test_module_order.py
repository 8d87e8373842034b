"""vgan_tf.data's modules build on each other in one order (data/__init__.py and
docs/data.md list it): each imports only the modules before it."""
from __future__ import annotations

import ast
import os

import vgan_tf.data

ORDER = ("control", "lists", "tfrecord", "options", "service", "checks", "verdicts", "scans",
         "strips", "sources", "forensics", "pipeline", "shard_writer", "corpus_check", "synthetic",
         "ucf101", "sample_video")
FOLDER = os.path.dirname(vgan_tf.data.__file__)


def _data_imports(name: str) -> set:
    """The vgan_tf.data modules (not packages) that module `name` imports, at any level."""
    tree = ast.parse(open(os.path.join(FOLDER, f"{name}.py")).read())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "vgan_tf.data":
                found |= {alias.name for alias in node.names}
            elif node.module.startswith("vgan_tf.data."):
                found.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            found |= {alias.name.split(".")[2] for alias in node.names
                      if alias.name.startswith("vgan_tf.data.")}
    return found


def test_every_module_is_in_the_order():
    modules = {name[:-3] for name in os.listdir(FOLDER)
               if name.endswith(".py") and name != "__init__.py"}
    assert modules == set(ORDER)


def test_each_module_imports_only_the_modules_before_it():
    for index, name in enumerate(ORDER):
        later = _data_imports(name) - set(ORDER[:index])
        assert not later, f"{name} imports {sorted(later)}, listed after it"


def test_the_order_finder_sees_both_import_forms():
    assert {"checks", "forensics", "strips", "service", "options", "sources"} <= \
        _data_imports("pipeline")
