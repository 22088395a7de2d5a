"""The scores the command prints: accuracy, log-loss and the confusion matrix for a
classifier; MSE (eq. (20)) and R² for a regression."""

from __future__ import annotations

import numpy as np

from dlprimer.cli.data import UsageError

__all__ = ["classification_scores", "format_scores", "regression_scores", "scores"]


def classification_scores(model, X, y) -> dict:
    """Accuracy, log-loss and the confusion matrix (rows: true class, columns: predicted)."""
    proba = model.predict_proba(X)
    classes = list(model.classes_) if model.classes_ is not None else sorted(set(y))
    index = {c: i for i, c in enumerate(classes)}
    unknown = sorted({str(v) for v in y if v not in index})
    if unknown:
        raise UsageError(f"labels {unknown[:5]} were not seen in training; the model knows "
                         f"{[str(c) for c in classes]} (the target is the one column besides "
                         "the model's features: is it the right one?)")
    truth = np.array([index[v] for v in y])
    P = np.column_stack([1 - proba, proba]) if proba.ndim == 1 else proba
    predicted = model.predict(X)
    pred_index = np.array([index[v] for v in predicted])
    eps = 1e-15  # log-loss convention: clip so that log(0) never happens
    log_loss = float(-np.mean(np.log(np.clip(P[np.arange(len(truth)), truth], eps, 1))))
    K = len(classes)
    confusion = np.zeros((K, K), dtype=int)
    np.add.at(confusion, (truth, pred_index), 1)
    return {"accuracy": float(np.mean(truth == pred_index)), "log_loss": log_loss,
            "confusion": confusion, "classes": [str(c) for c in classes]}


def regression_scores(model, X, y) -> dict:
    """Mean squared error, eq. (20), and R² = 1 − Σ(y − ŷ)²/Σ(y − ȳ)²."""
    y_hat = model.predict(X)
    y = np.asarray(y, dtype=float)
    mse = float(np.mean((y - y_hat) ** 2))
    total = float(np.sum((y - y.mean()) ** 2))
    return {"mse": mse, "r2": 1 - float(np.sum((y - y_hat) ** 2)) / total if total else np.nan}


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


def scores(model, X, y) -> dict:
    """Regression scores for an identity output, classification scores otherwise."""
    if model.output == "identity":
        return regression_scores(model, X, y)
    return classification_scores(model, X, y)
