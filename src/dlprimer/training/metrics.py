"""Metrics: one definition each of accuracy, log-loss, mean squared error (20), R²,
the confusion matrix and the ROC curve with its area. The CLI, the reports and the
figures all use these.

>>> accuracy(["a", "b", "b"], ["a", "b", "a"])
0.6666666666666666
>>> round(log_loss([0, 1], [[0.9, 0.1], [0.2, 0.8]]), 4)     # -(log 0.9 + log 0.8) / 2
0.1643
>>> r2_score([1.0, 2.0, 3.0], [1.0, 2.0, 2.0])               # 1 - 1 / 2
0.5
"""

from __future__ import annotations

import numpy as np

from dlprimer.notation import mean_squared_error

__all__ = ["accuracy", "confusion_counts", "log_loss", "mean_squared_error", "r2_score",
           "roc_auc", "roc_points"]

#: Probabilities are clipped to [EPS, 1] in the log-loss, the usual convention, so that a
#: confidently wrong row costs log(1/EPS) ≈ 34.5 instead of infinity.
EPS = 1e-15


def accuracy(y_true, y_pred) -> float:
    """The share of rows whose predicted label equals the true one."""
    y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise ValueError(f"y_true and y_pred must have one entry per row (at least one), got "
                         f"{y_true.size} and {y_pred.size}")
    return float(np.mean(y_true == y_pred))


def log_loss(indices, P) -> float:
    """Cross-entropy of class probabilities P (n, K) at the true class indices (n,):
    -(1/n) Σ_i log P[i, y_i], probabilities clipped to [EPS, 1]. For one sigmoid output P
    may be (n,), the probability of class 1."""
    indices = np.asarray(indices, dtype=np.int64).ravel()
    P = np.asarray(P, dtype=np.float64)
    if P.ndim == 1:
        P = np.column_stack([1 - P, P])
    if len(P) != len(indices) or len(P) == 0:
        raise ValueError(f"log_loss needs one probability row per label (at least one), got "
                         f"{len(P)} rows and {len(indices)} labels")
    picked = P[np.arange(len(indices)), indices]
    return float(-np.mean(np.log(np.clip(picked, EPS, 1))))


def r2_score(y_true, y_pred) -> float:
    """R² = 1 - Σ(y - ŷ)² / Σ(y - ȳ)², column means for several outputs; NaN when y is
    constant (R² is undefined there)."""
    y = np.asarray(y_true, dtype=np.float64)
    y_hat = np.asarray(y_pred, dtype=np.float64).reshape(y.shape)
    total = float(np.sum((y - y.mean(axis=0)) ** 2))
    return 1 - float(np.sum((y - y_hat) ** 2)) / total if total > 0 else float("nan")


def confusion_counts(y_true, y_pred, labels=None) -> tuple[np.ndarray, list]:
    """Counts C[i, j] of rows of true class labels[i] predicted as labels[j].

    >>> C, labels = confusion_counts(["a", "b", "b", "a"], ["a", "b", "a", "a"])
    >>> C, labels
    (array([[2, 0],
           [1, 1]]), ['a', 'b'])
    """
    y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred must have one entry per row, got {y_true.size} "
                         f"and {y_pred.size}")
    if labels is None:
        labels = np.unique(np.concatenate([y_true, y_pred])).tolist()
    labels = list(labels)
    index = {label: i for i, label in enumerate(labels)}
    unknown = sorted({v for v in y_true.tolist() + y_pred.tolist() if v not in index}, key=str)
    if unknown:
        raise ValueError(f"labels {unknown[:5]} occur in the data but not in labels={labels}")
    counts = np.zeros((len(labels), len(labels)), dtype=np.int64)
    np.add.at(counts, ([index[v] for v in y_true.tolist()],
                       [index[v] for v in y_pred.tolist()]), 1)
    return counts, labels


def _binary(y_true, scores, pos_label):
    y_true, scores = np.asarray(y_true).ravel(), np.asarray(scores, dtype=float).ravel()
    if y_true.shape != scores.shape:
        raise ValueError(f"y_true and scores must have one entry per row, got {y_true.size} "
                         f"and {scores.size}")
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores contain NaN or infinite values")
    classes = np.unique(y_true)
    if pos_label is None:
        if len(classes) != 2:
            raise ValueError(f"a ROC curve needs two classes in y_true, got {len(classes)}: "
                             f"{classes.tolist()[:10]}; for K classes plot one class against "
                             "the rest (pos_label=...)")
        pos_label = classes[1]
    positive = y_true == pos_label
    if positive.all() or not positive.any():
        raise ValueError(f"y_true needs both positive ({pos_label!r}) and negative rows")
    return positive, scores


def roc_points(y_true, scores, pos_label=None) -> tuple[np.ndarray, np.ndarray]:
    """False and true positive rates (FPR, TPR) at every distinct threshold τ on the scores,
    from (0, 0) to (1, 1); the larger label of y_true is positive unless ``pos_label``."""
    positive, scores = _binary(y_true, scores, pos_label)
    order = np.argsort(-scores, kind="mergesort")
    scores, positive = scores[order], positive[order]
    # one point per distinct score: ties move TPR and FPR together (a diagonal segment)
    last = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    tp = np.cumsum(positive)[last]
    fp = (last + 1) - tp
    tpr = np.r_[0.0, tp / positive.sum()]
    fpr = np.r_[0.0, fp / (~positive).sum()]
    return fpr, tpr


def roc_auc(y_true, scores, pos_label=None) -> float:
    """Area under the ROC curve (trapezoidal rule): the probability that a random positive
    row scores higher than a random negative one (ties count one half).

    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    fpr, tpr = roc_points(y_true, scores, pos_label)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
