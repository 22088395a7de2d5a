"""What each worker computes on the chunks it holds: sums over rows, never means.

The full-batch loss of Sec. 8 is a mean over all n rows, C(θ) = (1/n) Σᵢ Cᵢ(θ) (+ the L2
penalty), so its value and gradient are sums over chunks divided by n:

    C(θ) = (1/n) Σ_c S_c(θ),   ∇C(θ) = (1/n) Σ_c ∇S_c(θ),   S_c = Σ_{i in chunk c} Cᵢ(θ)

A worker returns (n_c, S_c, ∇S_c, score_c) for its chunk c; the client adds them in chunk
order. The same holds for the standardizer's statistics (n, mean, M2 per chunk, combined
as in Chan et al.'s parallel variance) and for the classes (the union of each chunk's).

Workers keep one copy of the model per thread (``_local``), so concurrent tasks of a
threaded worker never share parameters, and θ is the only thing sent each step.
"""

from __future__ import annotations

import copy
import threading

import numpy as np

from dlprimer.data.tables import index_labels
from dlprimer.engine.tensor import no_grad
from dlprimer.training.loops import Run
from dlprimer.training.targets import Task, loss_and_output

__all__ = ["chunk_classes", "chunk_moments", "chunk_sums", "combine_moments", "local_model",
           "predict_chunk", "prepared", "targets_of"]

_local = threading.local()


def local_model(model, token: str):
    """This thread's copy of ``model`` for the fit ``token`` (made once per thread)."""
    cache = getattr(_local, "models", None)
    if cache is None:
        cache = _local.models = {}
    if token not in cache:
        cache.clear()  # one fit at a time per thread: drop the copies of earlier fits
        cache[token] = copy.deepcopy(model)  # the worker's copy stays as it was sent
    return cache[token]


def prepared(model, X: np.ndarray, scaler) -> np.ndarray:
    """A chunk's rows as the model sees them: standardized (eq. (13)) when fit so."""
    X = np.asarray(X)
    if scaler is not None:
        X = scaler.transform(X)
    return np.ascontiguousarray(X, dtype=model.dtype)


def targets_of(task: Task, y: np.ndarray, classes) -> np.ndarray:
    """A chunk's labels as the loss wants them (the classes found over all chunks)."""
    if classes is None:
        return task.targets(y)[0]
    return task.encoded(index_labels(np.asarray(y), classes))


def chunk_sums(model, token: str, theta: np.ndarray, X, y, task: Task, classes, scaler,
               gradient: bool = True):
    """(n_c, S_c, ∇S_c as one vector or None, score_c) of one chunk at θ, with no penalty
    (the client adds it once)."""
    n = len(X)
    if n == 0:
        return 0, 0.0, None, None
    m = local_model(model, token)
    m.set_theta(theta)
    Xc = prepared(m, X, scaler)
    if not np.all(np.isfinite(Xc)):
        raise ValueError(f"a chunk of X holds {int((~np.isfinite(Xc)).sum())} NaN or infinite "
                         "value(s): give dp.fit a Dask DataFrame (its gaps are imputed by the "
                         "Preprocessor) or fill them first")
    target = targets_of(task, y, classes)
    params = m.parameters()
    if not gradient:
        with no_grad(), np.errstate(all="ignore"):
            C, out = loss_and_output(m, Xc, target, task)
        return n, float(C.data) * n, None, Run.score(_Scorer(task), out, target)
    for p in params:
        p.grad = None
    with np.errstate(all="ignore"):  # a non-finite sum is caught by the client
        C, out = loss_and_output(m, Xc, target, task)
        C.backward()
    grad = np.concatenate([(p.grad if p.grad is not None else np.zeros_like(p.data)).ravel()
                           for p in params]).astype(np.float64) * n
    return n, float(C.data) * n, grad, Run.score(_Scorer(task), out, target)


class _Scorer:
    """Just what ``Run.score`` reads: the task."""

    def __init__(self, task: Task) -> None:
        self.task = task


def chunk_moments(X) -> tuple[int, np.ndarray, np.ndarray]:
    """(n, column means, M2 = Σ (x - mean)²) of one chunk, in float64, scaled so that
    values near the float64 limit neither overflow nor lose the mean."""
    X = np.asarray(X, dtype=np.float64)
    n = len(X)
    if n == 0:
        p = X.shape[1] if X.ndim == 2 else 0
        return 0, np.zeros(p), np.zeros(p)
    mean = X.mean(axis=0) if np.all(np.isfinite(X.sum(axis=0))) else \
        (X / n).sum(axis=0)
    return n, mean, ((X - mean) ** 2).sum(axis=0)


def combine_moments(parts) -> tuple[int, np.ndarray, np.ndarray]:
    """Chan et al.'s pairwise update: (n, mean, M2) of all chunks from each chunk's."""
    n, mean, m2 = 0, None, None
    for n_c, mean_c, m2_c in parts:
        if n_c == 0:
            continue
        if mean is None:
            n, mean, m2 = n_c, mean_c.copy(), m2_c.copy()
            continue
        total = n + n_c
        delta = mean_c - mean
        mean = mean + delta * (n_c / total)
        m2 = m2 + m2_c + delta * delta * (n * n_c / total)
        n = total
    return n, mean, m2


def chunk_classes(y) -> np.ndarray:
    """The distinct labels of one chunk."""
    return np.unique(np.asarray(y))


def predict_chunk(X, model, kind: str) -> np.ndarray:
    """``predict_proba`` or ``predict`` of one chunk (the model's own rules)."""
    if len(X) == 0:
        return np.empty((0,) if kind == "predict" or model.output != "softmax"
                        else (0, len(model.classes_)))
    return model.predict_proba(X) if kind == "predict_proba" else model.predict(X)
