"""control.cond / switch_case: the same results as tf.cond / tf.switch_case, built as
If/Case ops that TensorFlow does not lower (only the taken branch runs), nested too."""
import tensorflow as tf

from vgan_tf.data import control


def _lowering(fn, *args):
    graph = tf.function(fn).get_concrete_function(*args).graph
    found = {}

    def visit(g):
        for op in g.get_operations():
            if op.type in ("If", "StatelessIf", "Case", "StatelessCase"):
                try:
                    lowered = op.get_attr("_lower_using_switch_merge")
                except ValueError:  # no attr: not lowered
                    lowered = False
                found.setdefault(op.type, []).append(lowered)
                for attr in ("then_branch", "else_branch"):
                    if op.type.endswith("If"):
                        visit(g._get_function(op.get_attr(attr).name).graph)
    visit(graph)
    return found


def test_nested_conds_are_not_lowered_and_agree_with_tf_cond():
    def nested(x):
        return control.cond(x > 0, lambda: control.cond(x > 5, lambda: x * 3, lambda: x + 1),
                            lambda: x - 1)

    def reference(x):
        return tf.cond(x > 0, lambda: tf.cond(x > 5, lambda: x * 3, lambda: x + 1),
                       lambda: x - 1)

    spec = tf.TensorSpec([], tf.int32)
    lowering = _lowering(nested, spec)
    assert sum(len(v) for v in lowering.values()) == 2, lowering
    assert not any(flag for flags in lowering.values() for flag in flags)
    assert any(_lowering(reference, spec).values())  # tf.cond's are lowered
    assert all(_lowering(reference, spec).values())
    for x in (-3, 0, 2, 9):
        assert int(tf.function(nested)(tf.constant(x))) == int(reference(tf.constant(x)))
    # TensorFlow's switch is restored after building (tf.cond elsewhere is lowered again).
    assert all(flag for flags in _lowering(reference, spec).values() for flag in flags)


def test_switch_case_in_a_dataset_map():
    def fn(i):
        return control.switch_case(tf.cast(i % 3, tf.int32),
                                   [lambda: i * 10, lambda: i + 100, lambda: -i])

    ds = tf.data.Dataset.range(6).map(fn, num_parallel_calls=2, deterministic=True)
    assert [int(v) for v in ds] == [0, 101, -2, 30, 104, -5]
    lowering = _lowering(fn, tf.TensorSpec([], tf.int64))
    assert lowering and not any(f for flags in lowering.values() for f in flags)
