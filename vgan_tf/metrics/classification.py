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
    rgb = _scale_colour(rates)
    return np.repeat(np.repeat(rgb, cell, axis=0), cell, axis=1)


def _scale_colour(rates) -> np.ndarray:
    """uint8 RGB of rates in [0, 1]: white (0) to dark blue (1)."""
    white, blue = np.array([255.0, 255.0, 255.0]), np.array([8.0, 48.0, 107.0])
    rgb = white + np.asarray(rates, np.float64)[..., None] * (blue - white)
    return np.round(rgb).astype(np.uint8)


def confusion_figure(matrix, label_base: int = 0, names=None) -> np.ndarray:
    """A readable, labelled picture of a confusion matrix: uint8 RGB.

    The cells of `confusion_picture` (at least 12 px each, the whole matrix at least 480
    px), the true class down the left and the predicted class along the top, labelled with
    `names` or the class numbers from `label_base` (every k-th where they would crowd), a
    title with the top-1 accuracy, and a colour scale from 0 to 1 of each true class.
    """
    from PIL import Image, ImageDraw, ImageFont

    matrix = np.asarray(matrix, np.float64)
    n = len(matrix)
    cell = max(12, -(-480 // max(n, 1)))
    labels = [str(x) for x in names] if names is not None else [
        str(label_base + i) for i in range(n)]
    font = ImageFont.load_default()
    left = 12 + max(font.getbbox(t)[2] for t in labels) if labels else 12
    top, bar = 44, 24
    every = max(1, -(-12 // cell))  # row labels at least 12 px apart
    widest = max((font.getbbox(t)[2] for t in labels), default=0)
    col_every = max(1, -(-(widest + 4) // cell))  # column labels side by side
    width = left + n * cell + 16 + bar + 40 + widest
    height = top + n * cell + 12
    canvas = Image.new("RGB", (width, height), "white")
    canvas.paste(Image.fromarray(confusion_picture(matrix, cell)), (left, top))
    draw = ImageDraw.Draw(canvas)
    accuracy = np.trace(matrix) / matrix.sum() if matrix.sum() else 0.0
    draw.text((4, 4), f"confusion (rows: true class, columns: predicted); top-1 accuracy "
              f"{accuracy:.3f}", fill="black", font=font)
    for i in range(0, n, every):
        draw.text((4, top + i * cell + (cell - 10) // 2), labels[i], fill="black", font=font)
    for i in range(0, n, col_every):
        draw.text((left + i * cell, top - 14), labels[i], fill="black", font=font)
    x0 = left + n * cell + 16
    for y in range(n * cell):
        rgb = _scale_colour(1.0 - y / max(n * cell - 1, 1))
        draw.line([(x0, top + y), (x0 + bar, top + y)], fill=tuple(int(v) for v in rgb))
    draw.text((x0 + bar + 4, top), "1", fill="black", font=font)
    draw.text((x0 + bar + 4, top + n * cell - 10), "0", fill="black", font=font)
    return np.asarray(canvas)


def _check(logits, labels):
    logits, labels = np.asarray(logits, np.float64), np.asarray(labels).astype(np.int64)
    if logits.ndim != 2 or labels.shape != (logits.shape[0],):
        raise ValueError(f"logits must be [n, classes] and labels [n], got {logits.shape} "
                         f"and {labels.shape}")
    return logits, labels
