"""Streaming training for the estimators: ``partial_fit``'s epoch, and the target scaling
the regressor keeps between calls."""

from __future__ import annotations

import numpy as np

from dlprimer.data.tables import Standardizer
from dlprimer.training.loops import one_epoch
from dlprimer.training.targets import task_of

__all__ = ["fit_on_dask", "partial_epoch", "target_scaling"]


def partial_epoch(estimator, model, X, target, fresh: bool, make_optimizer, seed: int) -> None:
    """One epoch of ``estimator``'s gradient steps on these rows. The optimizer's state
    (its step count, moments) carries over from the previous call, else comes new from
    ``make_optimizer()``; a ``fresh`` model also gets its standardizer from these rows (a
    model from ``fit`` keeps its own)."""
    state = getattr(estimator, "_partial_state", None)
    if fresh or state is None or state["model"] is not model:
        if estimator.optimizer == "lbfgs":
            raise ValueError("partial_fit takes gradient steps on one batch at a time; "
                             'optimizer="lbfgs" needs all rows at once: use fit')
        if fresh:
            model.standardizer = Standardizer().fit(X) if estimator.standardize else None
        state = estimator._partial_state = {
            "model": model, "optimizer": make_optimizer(), "calls": 0, "seed": seed,
            "task": task_of(model, X.shape[1:], target, None)}
        estimator.model_ = model
        estimator.loss_curve_ = list(getattr(estimator, "loss_curve_", []))
        estimator.n_iter_ = getattr(estimator, "n_iter_", 0)
    task = state["task"]
    target = task.encoded(target) if task.output != "identity" else task.targets(target)[0]
    estimator.loss_curve_.append(one_epoch(
        model, model.prepare(X), target, task, state["optimizer"], estimator.batch_size,
        estimator.l2, state["seed"] + state["calls"], resume=state["calls"] > 0))
    state["calls"] += 1
    estimator.n_iter_ += 1


def fit_on_dask(estimator, X, y, build, optimizer, seed: int) -> np.ndarray:
    """A classifier's ``fit`` on Dask X and y: the classes in one pass, then ``dp.fit``'s
    exact full-batch path (or local SGD for ``batch_size``); returns the classes."""
    import dask.array as da

    from dlprimer.training import fit

    classes = np.unique(da.unique(y if hasattr(y, "chunks") else y.to_dask_array()).compute())
    if len(classes) < 2:
        raise ValueError(f"y has only one class ({classes[0]!r}); a classifier needs two")
    model = build(int(X.shape[1]), len(classes))
    history = fit(model, X, y, optimizer=optimizer, epochs=estimator.epochs,
                  batch_size=estimator.batch_size, seed=seed, l2=estimator.l2,
                  progress=bool(estimator.verbose), early_stopping=estimator.early_stopping,
                  standardize=bool(estimator.standardize), classes=classes)
    estimator.model_, estimator.history_, estimator.n_iter_ = model, history, history.epochs
    estimator.loss_curve_ = [float(v) for v in history.loss]
    estimator.n_features_in_ = int(X.shape[1])
    return classes


def target_scaling(Y: np.ndarray, peak: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ȳ, s) of each target column; a constant one (s 0 up to rounding) is only centred."""
    # NOTE: Y.std squares Y, which overflows past ~1e154 and underflows below ~1e-154; the
    # statistics of Y / max|Y| (entries in [-1, 1]) are safe.
    peak = np.where(peak > 0, peak, 1.0)
    mean, std = (Y / peak).mean(axis=0), (Y / peak).std(axis=0)
    scale = np.where(std > 10 * np.finfo(np.float64).eps * np.abs(mean), std * peak, 1.0)
    return mean * peak, scale
