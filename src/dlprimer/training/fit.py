"""``fit``: train any ``dp.nn.Module`` by the gradient descent algorithm of Sec. 8.

``fit`` checks its arguments once, prepares the rows (label encoding, standardization fit
on the training rows only, a validation split), records on the model what ``predict``
needs (its task, classes, standardizer and feature names), and hands one ``Run`` to a
loop of ``dlprimer.training.loops``.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from dlprimer.data import tables
from dlprimer.data.preprocess import Preprocessor, needs_preprocessor
from dlprimer.engine.checks import as_float_array, in_dtype, is_dask, positive_int, real_number
from dlprimer.engine.validate import shape_of
from dlprimer.nn.module import Module
from dlprimer.optim import LBFGS, Adam, Optimizer
from dlprimer.training.callbacks import EarlyStopping
from dlprimer.training.history import History
from dlprimer.training.loops import Run, gradient_steps, lbfgs, train
from dlprimer.training.targets import Task, task_of

__all__ = ["DISTRIBUTED", "fit"]

#: Dask's path, ``dlprimer.distributed.fit_dask``, installed by the package root (which sits
#: above both): ``fit`` hands Dask arrays and DataFrames to it, never gathering them.
DISTRIBUTED: dict = {}


def fit(model: Module, X, y, loss: str | None = None, optimizer: Optimizer | None = None,
        epochs: int = 100, batch_size: int | None = None, validation_data=None,
        validation_split: float | None = None, seed: int = 0, progress: bool = True,
        callbacks=(), early_stopping: int | None = None, tol: float | None = None,
        grad_tol: float | None = None, l2: float = 0.0, standardize: bool | None = None,
        preprocessor: Preprocessor | bool | None = None, classes=None) -> History:
    """Train ``model`` on rows X and targets y by gradient descent (Sec. 8).

    Parameters
    ----------
    model : any ``dp.nn.Module`` whose ``forward`` returns logits (or regression values):
        SigmoidModel, SoftmaxModel, FeedForward, a ``dp.nn.Sequential``, or your own.
    X : array (n, p) or pandas DataFrame; for a model of images or sequences, an array
        (n, ...) of the shape its first layer takes. A DataFrame with text, booleans,
        dates or missing cells goes through a ``dp.data.Preprocessor`` (roles printed).
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
    standardize : bool or None
        Fit a Standardizer (eq. (13)) on the training rows and keep it in the model, so
        ``predict`` works on raw rows. None (the default) standardizes a table (n, p) and
        leaves images and sequences as they are. With ``standardize=False`` and features
        whose scales differ by more than 1000×, fit warns.
    preprocessor : dp.data.Preprocessor, False or None
        How a DataFrame's raw columns become X̃. None: a default ``Preprocessor`` where
        the DataFrame needs one (text, booleans, dates, missing cells); a Preprocessor
        (fitted or not) to use yours; False never.
    classes : the class labels, for Dask y (else found in one pass over y); ignored in memory.

    X and y may be Dask arrays, DataFrames or Series (``dlprimer[dask]``): training then runs
    on the active ``distributed.Client`` (or Dask's default scheduler) without gathering the
    rows; full batch is exact, mini-batches use local SGD (``dlprimer.distributed.fit``).

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

    if is_dask(X) or is_dask(y):
        if "fit" not in DISTRIBUTED:
            raise ImportError("fitting on Dask arrays needs dlprimer's Dask extra: "
                              "pip install 'dlprimer[dask]'")
        return DISTRIBUTED["fit"](
            model, X, y, loss=loss, optimizer=optimizer, epochs=epochs, batch_size=batch_size,
            validation_data=validation_data, validation_split=validation_split, seed=seed,
            progress=progress, callbacks=callbacks, early_stopping=early_stopping, tol=tol,
            grad_tol=grad_tol, l2=l2, standardize=standardize, preprocessor=preprocessor,
            classes=classes)
    pre = _preprocessor(model, X, preprocessor, standardize)
    if pre is None:
        X, feature_names = _rows(X, "X")
    y_shape = shape_of(y, "y")
    y = tables.label_vector(y) if len(y_shape) == 1 or y_shape[1:] == (1,) else np.asarray(y)
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} entries; give one target "
                         "per row")
    if validation_data is not None and validation_split is not None:
        raise ValueError("give validation_data or validation_split, not both")
    if validation_data is not None and (not isinstance(validation_data, (tuple, list))
                                        or len(validation_data) != 2):
        raise ValueError("validation_data must be a pair (X_val, y_val), got "
                         f"{type(validation_data).__name__}")
    if validation_split is not None:
        validation_split = real_number(validation_split, "validation_split",
                                       "the fraction of rows held out", low=0.0)
        if not 0 < validation_split < 1:
            raise ValueError(f"validation_split must lie in (0, 1), got {validation_split}")
        stratify = loss != "mse" and y.ndim == 1 and tables.infer_task(y) != "regression"
        X, X_val, y, y_val = tables.train_test_split(X, y, validation_split, stratify, seed)
        validation_data = (X_val, y_val)

    model.preprocessor, model.standardizer, scale_ratio = pre, None, None
    if pre is not None:  # the roles and eq. (13) are learnt on the training rows only
        if pre.columns_ is None:
            pre.fit(X)
            if progress:  # what was done with each column, once, where fit found it
                print(pre.describe())
        feature_names, X = pre.feature_names_, pre.transform(X)
    elif standardize or (standardize is None and X.ndim == 2):
        if X.ndim != 2:
            raise ValueError(f"standardize=True standardizes the p columns of a 2-D table "
                             f"(eq. (13)); X has shape {X.shape}: scale images or sequences "
                             "before fit, or give standardize=False")
        model.standardizer = tables.Standardizer().fit(X)
        X = model.standardizer.transform(X)
    elif X.ndim == 2:
        scale_ratio = _scale_ratio(X)
    if model.n_features is not None and X.shape[1] != model.n_features:
        encoded = "" if pre is None else (
            f" after preprocessing ({', '.join(feature_names[:12])}"
            f"{' ...' if len(feature_names) > 12 else ''})")
        raise ValueError(f"X has {X.shape[1]} columns{encoded} but the model expects "
                         f"p={model.n_features} features; build it with {X.shape[1]} inputs")
    task = task_of(model, X.shape[1:], y, loss)
    target, classes = task.targets(y)
    model.output, model.task_, model.classes_ = task.output, task.name, classes
    model.feature_names = feature_names
    X = np.ascontiguousarray(in_dtype(X, model.dtype, "X"))
    val = None if validation_data is None else _validation(model, task, validation_data)

    history = History(metric_name="r2" if task.output == "identity" else "accuracy",
                      feature_scale_ratio=scale_ratio)
    callbacks = list(callbacks)
    if early_stopping:
        callbacks.append(EarlyStopping(patience=early_stopping))
    run = Run(model, X, target, task, optimizer, epochs, batch_size, l2, seed, progress, tol,
              grad_tol, callbacks, val, history)
    return train(run, lbfgs if isinstance(optimizer, LBFGS) else gradient_steps)


def _rows(X, name: str) -> tuple[np.ndarray, list[str] | None]:
    """A table (n, p) with its column names, or an array (n, ...) of images or sequences."""
    if tables.is_dataframe(X) or len(shape_of(X, name)) <= 2:
        return tables.as_matrix(X, name)
    X = as_float_array(X, name, dtype=np.float32 if getattr(X, "dtype", None) == np.float32
                       else np.float64, allow_nan=False)
    if len(X) == 0:
        raise ValueError(f"{name} must have at least one row, got shape {X.shape}")
    return X, None


def _preprocessor(model: Module, X, preprocessor, standardize) -> Preprocessor | None:
    """The Preprocessor fit uses for X: the one given, a default one where a DataFrame needs
    it (text, booleans, dates, gaps; Models I and II one-hot against a reference), or None."""
    if isinstance(preprocessor, Preprocessor):
        if not tables.is_dataframe(X):
            raise TypeError("a preprocessor encodes a pandas DataFrame's columns; X is "
                            f"{type(X).__name__}")
        return preprocessor
    if preprocessor not in (None, False):
        raise TypeError(f"preprocessor must be a dp.data.Preprocessor, None or False, got "
                        f"{type(preprocessor).__name__}")
    if preprocessor is False or not needs_preprocessor(X):
        return None
    return Preprocessor(standardize=standardize is not False,
                        drop_first=getattr(model, "identifiable", False))


def _scale_ratio(X: np.ndarray) -> float | None:
    """max_j s_j / min_j s_j over the non-constant columns; warns above 1000. Read off at
    most 4096 evenly spaced rows: a warning's heuristic, not worth a pass over a big X."""
    if X.shape[0] == 0:
        return None
    step = max(1, X.shape[0] // 4096)
    _, s, constant = tables.column_moments(X[::step])  # finite even for columns of ±1e308
    s = s[~constant]
    if s.size < 2:
        return None
    ratio = float(s.max() / s.min())
    if ratio > 1000:
        warnings.warn(f"the features' standard deviations differ by a factor of {ratio:.3g} "
                      "and standardize=False: gradient descent will crawl along the "
                      "small-scale features; pass standardize=True (eq. (13))",
                      UserWarning, stacklevel=3)
    return ratio


def _validation(model: Module, task: Task, validation_data) -> tuple[np.ndarray, np.ndarray]:
    """The validation rows prepared as the training rows were (preprocessing, encoding)."""
    X_val, y_val = validation_data
    if model.preprocessor is not None:
        X_val = model.preprocessor.transform(X_val)
    else:
        X_val, _ = _rows(X_val, "validation X")
        if model.standardizer is not None:
            X_val = model.standardizer.transform(X_val)
    if len(X_val) != len(y_val):
        raise ValueError(f"validation_data: X_val has {len(X_val)} rows but y_val has "
                         f"{len(y_val)} entries; give one target per row")
    if model.classes_ is not None:  # the training labels' encoding; a subset of them is fine
        target = task.encoded(tables.index_labels(y_val, model.classes_, "validation y"))
    else:
        target, _ = task.targets(y_val, "validation y")
    return np.ascontiguousarray(in_dtype(X_val, model.dtype, "validation X")), target
