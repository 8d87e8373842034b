"""Classification scores from logits and labels (numpy only): top-k accuracy, mean
per-class accuracy, the confusion matrix, and its picture.

    report = classification_report(logits, labels, num_classes)
    # {"top1": ..., "top5": ..., "mean_class_accuracy": ..., "confusion": [[...]], ...}
"""
from __future__ import annotations

import numpy as np


def top_k_accuracy(logits, labels, k: int = 1) -> float:
    """Fraction of rows whose label is among the k largest logits (ties: the lower class
    index ranks first, as a stable sort gives)."""
    logits, labels = _check(logits, labels)
    k = min(k, logits.shape[1])
    ranked = np.argsort(-logits, axis=1, kind="stable")[:, :k]
    return float(np.mean(np.any(ranked == labels[:, None], axis=1)))


def confusion_matrix(predictions, labels, num_classes: int) -> np.ndarray:
    """int64 [num_classes, num_classes]: row = true class, column = predicted class."""
    predictions, labels = np.asarray(predictions), np.asarray(labels)
    if predictions.shape != labels.shape or predictions.ndim != 1:
        raise ValueError(f"predictions {predictions.shape} and labels {labels.shape} must be "
                         "the same 1-D shape")
    for name, values in (("labels", labels), ("predictions", predictions)):
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"{name} must be in [0, {num_classes}), got {values.min()}.."
                             f"{values.max()}")
    matrix = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(matrix, (labels, predictions), 1)
    return matrix


def mean_class_accuracy(matrix: np.ndarray) -> float:
    """Mean over the classes that occur of (correct / occurrences)."""
    totals = matrix.sum(axis=1)
    present = totals > 0
    return float(np.mean(np.diag(matrix)[present] / totals[present])) if present.any() else 0.0


def classification_report(logits, labels, num_classes: int) -> dict:
    """top1, top5, mean_class_accuracy, count, confusion (nested lists), chance."""
    logits, labels = _check(logits, labels)
    if logits.shape[1] != num_classes:
        raise ValueError(f"logits have {logits.shape[1]} classes, expected {num_classes}")
    matrix = confusion_matrix(np.argmax(logits, axis=1), labels, num_classes)
    return {"count": int(labels.size), "top1": top_k_accuracy(logits, labels, 1),
            "top5": top_k_accuracy(logits, labels, 5),
            "mean_class_accuracy": mean_class_accuracy(matrix),
            "chance": 1.0 / num_classes, "confusion": matrix.tolist()}


def confusion_picture(matrix, cell: int = 8) -> np.ndarray:
    """uint8 RGB [n * cell, n * cell, 3]: each row normalised by its class count, white (0)
    to dark blue (1); the diagonal is where a good classifier is dark."""
    matrix = np.asarray(matrix, np.float64)
    totals = matrix.sum(axis=1, keepdims=True)
    rates = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
    white, blue = np.array([255.0, 255.0, 255.0]), np.array([8.0, 48.0, 107.0])
    rgb = white + rates[..., None] * (blue - white)
    return np.repeat(np.repeat(np.round(rgb).astype(np.uint8), cell, axis=0), cell, axis=1)


def _check(logits, labels):
    logits, labels = np.asarray(logits, np.float64), np.asarray(labels).astype(np.int64)
    if logits.ndim != 2 or labels.shape != (logits.shape[0],):
        raise ValueError(f"logits must be [n, classes] and labels [n], got {logits.shape} "
                         f"and {labels.shape}")
    return logits, labels
