"""The scores the command prints: accuracy, log-loss and the confusion matrix for a
classifier; MSE (eq. (20)) and R² for a regression."""

from __future__ import annotations

import numpy as np

from dlprimer.cli.data import UsageError
from dlprimer.data.tables import index_labels
from dlprimer.training.metrics import accuracy, confusion_counts, log_loss, r2_score

__all__ = ["classification_scores", "format_scores", "regression_scores", "scores"]


def classification_scores(model, X, y, proba=None) -> dict:
    """Accuracy, log-loss and the confusion matrix (rows: true class, columns: predicted);
    ``proba`` is ``model.predict_proba(X)`` where it was computed already (X unused then)."""
    classes = list(model.classes_) if model.classes_ is not None else sorted(set(y))
    try:
        truth = index_labels(y, classes)
    except ValueError:
        unknown = sorted({str(v) for v in y if v not in set(classes)})
        raise UsageError(f"labels {unknown[:5]} were not seen in training; the model knows "
                         f"{[str(c) for c in classes]} (the target is the one column besides "
                         "the model's features: is it the right one?)") from None
    proba = model.predict_proba(X) if proba is None else proba
    predicted = model.decide(proba)
    confusion, _ = confusion_counts(np.asarray(classes)[truth], predicted, classes)
    return {"accuracy": accuracy(np.asarray(classes)[truth], predicted),
            "log_loss": log_loss(truth, proba),
            "confusion": confusion, "classes": [str(c) for c in classes]}


def regression_scores(model, X, y, y_hat=None) -> dict:
    y_hat = model.predict(X) if y_hat is None else y_hat
    y = np.asarray(y, dtype=float).reshape(y_hat.shape)
    return {"mse": float(np.mean((y - y_hat) ** 2)), "r2": r2_score(y, y_hat)}


def format_scores(scores: dict) -> str:
    """The scores as the terminal shows them."""
    if "mse" in scores:
        return f"MSE {scores['mse']:.4g}   R² {scores['r2']:.4f}"
    lines = [f"accuracy {scores['accuracy']:.4f}   log-loss {scores['log_loss']:.4f}",
             "confusion matrix (rows: true class, columns: predicted):"]
    names = scores["classes"]
    width = max(6, *(len(n) for n in names))
    lines.append(" " * (width + 2) + " ".join(f"{n:>{width}}" for n in names))
    for name, row in zip(names, scores["confusion"], strict=True):
        lines.append(f"{name:>{width}}  " + " ".join(f"{v:>{width}d}" for v in row))
    return "\n".join(lines)


def scores(model, X, y, outputs=None) -> dict:
    """Regression scores for an identity output, classification scores otherwise;
    ``outputs`` is ``model.predict_proba(X)`` where it was computed already."""
    if model.output == "identity":
        return regression_scores(model, X, y, outputs)
    return classification_scores(model, X, y, outputs)
