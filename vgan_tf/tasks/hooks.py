"""The hooks of the adversarial train step: terms added to G's or D's loss.

An AdversarialTask adds to the adversarial losses the terms registered on it
(`add_generator_term`, `add_discriminator_penalty`, before training starts), in both
g_step forms:
  * a G-side term is called as `term(parts, real)` with the generated parts (a dict with
    "video", recorded on G's tape) and the real batch, on the tape of G's update;
  * a D-side penalty is called as `penalty(batch)` with a `RealBatch` (the real videos,
    D's logits of them, their input gradients, the step), on the tape of D's update.
Both return a `TermValue`. Its `loss` is replica-scaled like the adversarial losses
(`tf.nn.compute_average_loss`: per-example values summed and divided by the GLOBAL batch
size, so the SUM all-reduce of gradients over replicas gives the gradient of the
global-batch mean); its logged values are plain per-replica means.

Each term declares `metric_names`, the names its `metrics` are logged under (after g_loss,
G terms first, in registration order, then the accuracies). In evaluation (`test_step`)
the terms are called the same way outside any tape, with `RealBatch.training` False.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Mapping, Protocol, Union

import tensorflow as tf

Scalar = Union[tf.Tensor, float]


@dataclasses.dataclass(frozen=True)
class TermValue:
    """What a term gives one step.

    loss: the replica-scaled loss added to the loss differentiated, or None (the term only
      logs).
    logged: its part of the logged g_loss (G terms) or d_loss (D penalties), a plain
      per-replica mean; None leaves that log alone.
    metrics: {name: plain per-replica mean} for every name of the term's `metric_names`.
    weight: how much this step's metrics count in the running means (0 on a step where a
      lazy term did not run, so its logs average over the steps where it did).
    """

    loss: tf.Tensor | None
    logged: tf.Tensor | None = None
    metrics: Mapping[str, Scalar] = dataclasses.field(default_factory=dict)
    weight: Scalar = 1.0


@dataclasses.dataclass(frozen=True)
class RealBatch:
    """What a D-side penalty sees: this replica's real batch as D's update saw it.

    videos: the real videos, float32 [batch, frames, size, size, 3].
    logits: D's logits of them (the forward pass of D's loss, training mode).
    input_gradients: a function returning d(sum of logits)/d(videos), [batch, frames, size,
      size, 3], computed on D's tape (a penalty on it can be differentiated, as R1 needs);
      each call recomputes it, so call it once, and only on the steps that need it.
    step: the task's step counter before this step's update (int64 scalar).
    training: True in the train step, False in evaluation.
    """

    videos: tf.Tensor
    logits: tf.Tensor
    input_gradients: Callable[[], tf.Tensor]
    step: tf.Tensor
    training: bool = True


class GeneratorTerm(Protocol):
    """A term of G's loss: `term(parts, real) -> TermValue`."""

    metric_names: tuple

    def __call__(self, parts: Mapping[str, tf.Tensor], real: tf.Tensor) -> TermValue:
        ...


class DiscriminatorPenalty(Protocol):
    """A term of D's loss: `penalty(batch: RealBatch) -> TermValue`."""

    metric_names: tuple

    def __call__(self, batch: RealBatch) -> TermValue:
        ...


def add_losses(loss, values):
    """`loss` plus every value's replica-scaled loss (in order; None skipped)."""
    for value in values:
        if value.loss is not None:
            loss += value.loss
    return loss


def add_logged(logged, values):
    """`logged` plus every value's part of the logged loss (in order; None skipped)."""
    for value in values:
        if value.logged is not None:
            logged += value.logged
    return logged
