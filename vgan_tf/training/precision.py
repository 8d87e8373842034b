"""Mixed precision: --precision=fp32 | bf16 | fp16.

bf16 and fp16 run the convolutions in 16 bits with float32 variables (Keras
'mixed_bfloat16' / 'mixed_float16' policies). Whatever the policy, the networks' output
activations (tanh/sigmoid), D's logits and all losses stay float32 (the models pin those
layers to float32; tasks/losses.py casts). fp16 also needs loss scaling: both optimizers are
wrapped in keras.optimizers.LossScaleOptimizer (dynamic scale; a step whose gradients
overflow is skipped and the scale halved), and AdversarialTask.train_step (vgan_tf.tasks) scales the losses.
"""
from __future__ import annotations

import contextlib

import keras

PRECISIONS = ("fp32", "bf16", "fp16")
POLICIES = {"fp32": "float32", "bf16": "mixed_bfloat16", "fp16": "mixed_float16"}


@contextlib.contextmanager
def policy(precision: str):
    """Sets the Keras dtype policy of `precision` while models are built, then restores."""
    if precision not in POLICIES:
        raise ValueError(f"--precision must be one of {PRECISIONS}, got {precision!r}")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(POLICIES[precision])
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def wrap_optimizer(optimizer, precision: str):
    """`optimizer`, inside a LossScaleOptimizer for fp16."""
    if precision == "fp16":
        return keras.optimizers.LossScaleOptimizer(optimizer, name=f"{optimizer.name}_scaled")
    return optimizer
