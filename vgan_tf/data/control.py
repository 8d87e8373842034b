"""Conditionals for tf.data functions that run only the branch taken.

`tf.cond` and `tf.switch_case` build functional If/Case ops, which TensorFlow lowers to
Switch/Merge nodes before running a graph: then every node of the untaken branches still
runs, as a dead node. In the pipeline's per-strip functions most branches are rare (the
deep header walk, the fill check's confirmation, the logging of a skip) and large, so
their dead nodes cost more than the work taken. `cond` and `switch_case` here build the
same ops marked not to be lowered (`_lower_using_switch_merge` false): the op calls the
taken branch's function and nothing else (what the lowered form costs per element:
docs/data.md, Speed).

They are plain `tf.cond` / `tf.switch_case` in eager mode. Where TensorFlow's private
switch (control_flow_util_v2._DISABLE_LOWER_USING_SWITCH_MERGE) is missing, they fall back
to the lowered ops: the same results, the old cost.
"""
from __future__ import annotations

import contextlib
import threading

import tensorflow as tf

try:  # TensorFlow's own switch, read when an If/Case/While op is built
    from tensorflow.python.ops import control_flow_util_v2 as _flow
except ImportError:  # pragma: no cover - a TensorFlow without the module
    _flow = None

_SWITCH = "_DISABLE_LOWER_USING_SWITCH_MERGE"
_lock = threading.RLock()  # re-entered by nested conds


@contextlib.contextmanager
def not_lowered():
    """Control flow ops built inside are not lowered to Switch/Merge (nested ones too)."""
    if _flow is None or not hasattr(_flow, _SWITCH):
        yield
        return
    with _lock:
        before = getattr(_flow, _SWITCH)
        setattr(_flow, _SWITCH, True)
        try:
            yield
        finally:
            setattr(_flow, _SWITCH, before)


def cond(pred, true_fn, false_fn):
    """tf.cond whose If op runs only the branch taken (see the module doc)."""
    with not_lowered():
        return tf.cond(pred, true_fn, false_fn)


def switch_case(branch_index, branch_fns):
    """tf.switch_case whose Case op runs only the branch taken."""
    with not_lowered():
        return tf.switch_case(branch_index, branch_fns)
