"""``fit``: train any ``dp.nn.Module`` by the gradient descent algorithm of Sec. 8.

``fit`` checks its arguments once, prepares the rows (label encoding, standardization fit
on the training rows only, a validation split), records on the model what ``predict``
needs (its task, classes, standardizer and feature names), and hands one ``Run`` to a
loop of ``dlprimer.training.loops``.
"""

from __future__ import annotations

import numbers

import numpy as np

from dlprimer.data import tables
from dlprimer.engine.checks import as_float_array, in_dtype, positive_int, real_number
from dlprimer.nn.module import Module
from dlprimer.optim import LBFGS, Adam, Optimizer
from dlprimer.training.callbacks import EarlyStopping
from dlprimer.training.history import History
from dlprimer.training.loops import Run, gradient_steps, lbfgs
from dlprimer.training.targets import Task, task_of

__all__ = ["fit"]


def fit(model: Module, X, y, loss: str | None = None, optimizer: Optimizer | None = None,
        epochs: int = 100, batch_size: int | None = None, validation_data=None,
        validation_split: float | None = None, seed: int = 0, progress: bool = True,
        callbacks=(), early_stopping: int | None = None, tol: float | None = None,
        grad_tol: float | None = None, l2: float = 0.0, standardize: bool = False) -> History:
    """Train ``model`` on rows X and targets y by gradient descent (Sec. 8).

    Parameters
    ----------
    model : any ``dp.nn.Module`` whose ``forward`` returns logits (or regression values):
        SigmoidModel, SoftmaxModel, FeedForward, a ``dp.nn.Sequential``, or your own.
    X : array (n, p) or pandas DataFrame; for a model of images or sequences, an array
        (n, ...) of the shape its first layer takes.
    y : array (n,) of class labels of any kind (kept, and returned by ``predict``), or
        numbers for regression (identity output), (n, q) for several outputs.
    loss : "cross_entropy" | "mse" | None
        None picks cross-entropy for classes and MSE (20) for numbers. A Module without an
        output rule of its own gets σ for one output and softmax for K outputs.
    optimizer : an optimizer from ``dp.optim`` (default ``Adam(lr=1e-3)``).
    epochs : int
        Passes over the data (step 5's maximum number of iterations).
    batch_size : int or None
        None is full batch, eq. (31) exactly; otherwise seeded, shuffled mini-batches.
    validation_data : (X_val, y_val) or None; validation_split : fraction held out
        (stratified) instead.
    seed : int
        Seeds the shuffling and the validation split.
    progress : bool
        A progress bar on a terminal (never when stderr is not a TTY).
    callbacks : sequence of Callback
    early_stopping : int or None
        Patience in epochs on the validation loss (training loss without validation);
        the best parameters are restored.
    tol, grad_tol : float or None
        Step 5's termination conditions: stop when the loss changes by less than ``tol``
        between epochs, or when ‖∇C(θ)‖ falls below ``grad_tol``.
    l2 : float
        Penalty (l2 / 2) Σ ‖W‖² on the weights, not the biases. For Model I, l2 = 1/(C n)
        gives the objective of scikit-learn's LogisticRegression(C).
    standardize : bool
        Fit a Standardizer (eq. (13)) on the training rows and keep it in the model, so
        ``predict`` works on raw rows.

    Returns
    -------
    History with ``loss``, ``val_loss``, ``metric``, ``val_metric`` per epoch and
    ``stop_reason``. The model is left in eval mode, trained.
    """
    if not isinstance(model, Module):
        raise TypeError(f"model must be a dp.nn.Module (SigmoidModel, SoftmaxModel, "
                        f"FeedForward, dp.nn.Sequential, ...), got {type(model).__name__}")
    if not model.parameters():
        raise ValueError(f"{type(model).__name__} has no parameters to train")
    epochs = positive_int(epochs, "epochs")
    batch_size = None if batch_size is None else positive_int(batch_size, "batch_size", "or None")
    if early_stopping is not None:
        early_stopping = positive_int(early_stopping, "early_stopping (the patience)", "or None")
    l2 = real_number(l2, "l2", "the weight of the penalty (l2 / 2) Σ ‖W‖²", low=0.0)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    optimizer = optimizer if optimizer is not None else Adam(lr=1e-3)
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must come from dp.optim, got {type(optimizer).__name__}")

    X, feature_names = _rows(X, "X")
    y = tables.label_vector(y) if np.ndim(y) == 1 or np.shape(y)[1:] == (1,) else np.asarray(y)
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} entries; give one target "
                         "per row")
    if model.n_features is not None and X.shape[1] != model.n_features:
        raise ValueError(f"X has {X.shape[1]} columns but the model expects "
                         f"p={model.n_features} features")
    if validation_data is not None and validation_split is not None:
        raise ValueError("give validation_data or validation_split, not both")
    if validation_data is not None and (not isinstance(validation_data, (tuple, list))
                                        or len(validation_data) != 2):
        raise ValueError("validation_data must be a pair (X_val, y_val), got "
                         f"{type(validation_data).__name__}")
    task = task_of(model, X.shape[1:], y, loss)
    if validation_split is not None:
        validation_split = real_number(validation_split, "validation_split",
                                       "the fraction of rows held out", low=0.0)
        if not 0 < validation_split < 1:
            raise ValueError(f"validation_split must lie in (0, 1), got {validation_split}")
        stratify = task.output != "identity"
        X, X_val, y, y_val = tables.train_test_split(X, y, validation_split, stratify, seed)
        validation_data = (X_val, y_val)

    target, classes = task.targets(y)
    model.output, model.task_, model.classes_ = task.output, task.name, classes
    model.feature_names = feature_names
    if standardize:
        if X.ndim != 2:
            raise ValueError(f"standardize=True standardizes the p columns of a 2-D table "
                             f"(eq. (13)); X has shape {X.shape}: scale images or sequences "
                             "before fit, or give standardize=False")
        model.standardizer = tables.Standardizer().fit(X)
        X = model.standardizer.transform(X)
    else:
        model.standardizer = None
    X = np.ascontiguousarray(in_dtype(X, model.dtype, "X"))
    val = None if validation_data is None else _validation(model, task, validation_data)

    history = History(metric_name="r2" if task.output == "identity" else "accuracy")
    callbacks = list(callbacks)
    if early_stopping:
        callbacks.append(EarlyStopping(patience=early_stopping))
    run = Run(model, X, target, task, optimizer, epochs, batch_size, l2, seed, progress, tol,
              grad_tol, callbacks, val, history)
    for cb in callbacks:
        cb.on_train_begin(model)
    model.train()
    try:
        (lbfgs if isinstance(optimizer, LBFGS) else gradient_steps)(run)
    finally:
        model.eval()
    for cb in callbacks:
        cb.on_train_end(model)
        if getattr(cb, "stopped", False):
            history.stop_reason = cb.reason
            history.best_epoch = cb.best_epoch
    return history


def _rows(X, name: str) -> tuple[np.ndarray, list[str] | None]:
    """A table (n, p) with its column names, or an array (n, ...) of images or sequences."""
    if np.ndim(X) <= 2 or tables.is_dataframe(X):
        return tables.as_matrix(X, name)
    X = as_float_array(X, name, dtype=np.float32 if getattr(X, "dtype", None) == np.float32
                       else np.float64, allow_nan=False)
    if len(X) == 0:
        raise ValueError(f"{name} must have at least one row, got shape {X.shape}")
    return X, None


def _validation(model: Module, task: Task, validation_data) -> tuple[np.ndarray, np.ndarray]:
    """The validation rows prepared as the training rows were (standardizer, encoding)."""
    X_val, y_val = validation_data
    X_val, _ = _rows(X_val, "validation X")
    if len(X_val) != len(y_val):
        raise ValueError(f"validation_data: X_val has {len(X_val)} rows but y_val has "
                         f"{len(y_val)} entries; give one target per row")
    if model.standardizer is not None:
        X_val = model.standardizer.transform(X_val)
    if model.classes_ is not None:  # the training labels' encoding; a subset of them is fine
        target = task.encoded(tables.index_labels(y_val, model.classes_, "validation y"))
    else:
        target, _ = task.targets(y_val, "validation y")
    return np.ascontiguousarray(in_dtype(X_val, model.dtype, "validation X")), target
