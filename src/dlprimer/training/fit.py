"""Training: the gradient descent algorithm of Sec. 8, on full batches or mini-batches.

    1  θ ← θ⁽⁰⁾
    2  repeat
    3     compute the gradient ∇C(θ)          (backpropagation: loss.backward())
    4     θ ← θ - α ∇C(θ)                     (optimizer.step(), eq. (31) or a variant)
    5  until θ satisfies a termination condition

``fit`` is that loop, plus what real data needs: label encoding, standardization fit on
the training rows only, validation, early stopping, divergence checks, a progress bar.
"""

from __future__ import annotations

import math
import numbers
import sys
from dataclasses import dataclass, field

import numpy as np

from dlprimer.data import tables as _data
from dlprimer.engine.checks import in_dtype, positive_int, real_number
from dlprimer.engine.tensor import Tensor, no_grad
from dlprimer.models import Model
from dlprimer.nn.functional.activations import (
    binary_cross_entropy_with_logits,
    cross_entropy,
    mse_loss,
)
from dlprimer.optim import LBFGS, Adam, Optimizer

__all__ = ["fit", "History", "Callback", "EarlyStopping", "DivergenceError", "data_loss"]

LOSSES = ("cross_entropy", "mse")
CHECKPOINT_EVERY = 16  # mini-batch steps between copies of θ kept against divergence


class DivergenceError(FloatingPointError):
    """The loss became NaN or infinite; the model keeps its last finite parameters."""


@dataclass
class History:
    """What happened during ``fit``: one value per epoch, and why training stopped."""

    loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    metric: list[float] = field(default_factory=list)
    val_metric: list[float] = field(default_factory=list)
    metric_name: str = "accuracy"
    stop_reason: str = ""
    best_epoch: int | None = None

    @property
    def epochs(self) -> int:
        return len(self.loss)

    def diagnose(self) -> list[str]:
        """Plain-language convergence diagnostics with their numbers: is the loss still
        falling, did validation loss rise (overfitting), does the loss oscillate."""
        from dlprimer.training.diagnose import diagnose

        return diagnose(self)

    def __repr__(self) -> str:
        last = f"loss {self.loss[-1]:.4g}" if self.loss else "no epochs"
        if self.val_loss:
            last += f", val_loss {self.val_loss[-1]:.4g}"
        return f"History({self.epochs} epochs, {last}; stopped: {self.stop_reason})"


class Callback:
    """Hook into ``fit``; ``on_epoch_end`` returns True to stop training."""

    def on_train_begin(self, model: Model) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: dict, model: Model) -> bool | None:
        return None

    def on_train_end(self, model: Model) -> None:
        pass


class EarlyStopping(Callback):
    """Stop when the monitored loss has not improved by ``min_delta`` for ``patience``
    epochs; optionally put back the best parameters seen."""

    def __init__(self, patience: int = 10, min_delta: float = 0.0, monitor: str = "auto",
                 restore_best_weights: bool = True):
        patience = positive_int(patience, "patience (early_stopping)")
        if monitor not in ("auto", "loss", "val_loss"):
            raise ValueError(f'monitor must be "auto", "loss" or "val_loss", got {monitor!r}')
        self.patience, self.min_delta, self.monitor = patience, float(min_delta), monitor
        self.restore_best_weights = restore_best_weights

    def on_train_begin(self, model):
        self.best, self.best_epoch, self.best_theta, self.wait = math.inf, None, None, 0
        self.stopped = False

    def on_epoch_end(self, epoch, logs, model):
        key = self.monitor
        if key == "auto":
            key = "val_loss" if "val_loss" in logs else "loss"
        value = logs[key]
        if value < self.best - self.min_delta:
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_theta = model.theta().copy()
            return None
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped = True
            self.reason = (f"early stopping: {key} did not improve for {self.patience} epochs "
                           f"(best {self.best:.4g} at epoch {self.best_epoch})")
            return True
        return None

    def on_train_end(self, model):
        if self.restore_best_weights and self.best_theta is not None:
            model.set_theta(self.best_theta)


def data_loss(model: Model, X, y, loss: str, l2: float = 0.0) -> Tensor:
    """C(θ) = C_Data(θ) + (l2 / 2) Σ ‖W‖², the mean loss over the rows of X.

    Cross-entropy is taken from the logits (fused with σ or softmax); the L2 penalty
    covers weights, not biases.
    """
    return _loss_and_output(model, X, y, loss, l2)[0]


def _loss_and_output(model: Model, X, y, loss: str, l2: float = 0.0):
    """(C(θ), the model's raw output): logits for cross-entropy, ŷ for MSE."""
    if loss == "cross_entropy":
        out = model.logits(X)
        C = cross_entropy(out, y) if model.output == "softmax" else \
            binary_cross_entropy_with_logits(out, y)
    else:
        out = model(X)
        C = mse_loss(out, y)
    if l2:
        for name, p in model.named_parameters():
            if not name.rsplit(".", 1)[-1].startswith("b"):
                C = C + (0.5 * l2) * (p * p).sum()
    return C, out.data


def _targets(model: Model, y, loss: str, name: str = "y"):
    """y → (training targets, classes or None)."""
    if model.output == "identity":  # regression: the numbers themselves
        try:
            target = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"an identity (regression) output needs numeric targets {name}; "
                             "for class labels use a sigmoid or softmax output") from None
        _data.require_finite_rows(target, name)
        target = in_dtype(target, model.dtype, name)
        if target.ndim == 1:
            target = target if isinstance(model, _scalar_models()) else target[:, None]
        return target, None
    indices, classes = _data.encode_labels(y)
    K = model.n_outputs
    if model.output == "softmax":
        if len(classes) == 1:
            raise ValueError(f"y holds a single class ({classes[0].item()!r}); training a "
                             "classifier needs at least two")
        if len(classes) > K:
            raise ValueError(f"y has {len(classes)} classes {classes.tolist()[:10]} but the "
                             f"model has K={K} outputs; build it with K={len(classes)}")
        if len(classes) < K:
            if classes.dtype.kind in "iu" and classes.min() >= 0 and classes.max() < K:
                indices, classes = np.asarray(y).astype(np.int64), np.arange(K)
            else:
                raise ValueError(f"y has {len(classes)} classes but the model has K={K} "
                                 f"outputs; build it with K={len(classes)}, or make sure "
                                 "every class occurs in the training rows (a class with very "
                                 "few rows can land wholly in a validation or test split)")
        if loss == "mse":
            return np.eye(K, dtype=model.dtype)[indices], classes
        return indices, classes
    # sigmoid output: two classes, encoded 0 (negative) and 1 (positive) as in eq. (3)
    if model.n_outputs != 1:
        raise ValueError(f"a sigmoid output separates two classes with one output, but the "
                         f"model has q={model.n_outputs} outputs; end it with 1 output "
                         f"(sizes [..., 1]), or use output='softmax' with K outputs")
    if len(classes) > 2:
        raise ValueError(f"a sigmoid output separates two classes, but y has {len(classes)}: "
                         f"{classes.tolist()[:10]}; use SoftmaxModel or output='softmax'")
    if len(classes) == 1:
        raise ValueError(f"y holds a single class ({classes[0].item()!r}); training needs both")
    target = indices.astype(model.dtype)
    if not isinstance(model, _scalar_models()):
        target = target[:, None]
    return target, classes


def _scalar_models():
    from dlprimer.models import SigmoidModel

    return (SigmoidModel,)


def _score(model: Model, out: np.ndarray, target: np.ndarray, from_logits: bool):
    """(number correct, or sums for R²) of one batch, from the output already computed."""
    if model.output == "identity":
        return np.array([((target - out) ** 2).sum(), target.sum(), (target**2).sum(),
                         target.size])
    if model.output == "softmax":
        truth = target if target.ndim == 1 else target.argmax(axis=1)
        return np.array([np.count_nonzero(out.argmax(axis=1) == truth), len(out)])
    threshold = 0.0 if from_logits else 0.5  # σ(z) > 0.5 exactly when z > 0
    return np.array([np.count_nonzero((out > threshold) == (target > 0.5)), len(out)])


def _metric_value(model: Model, totals: np.ndarray) -> float:
    """Accuracy for classifiers; R² = 1 - SSE / Σ(y - ȳ)² for regression."""
    if model.output != "identity":
        return float(totals[0] / totals[1])
    sse, total, total_sq, count = totals
    spread = total_sq - total * total / count
    return float(1 - sse / spread) if spread > 0 else float("nan")


def _metric(model: Model, X, target, loss: str) -> float:
    """The metric on whole arrays (validation rows, full batches)."""
    with no_grad():
        out = model.logits(X).data if loss == "cross_entropy" else model(X).data
    return _metric_value(model, _score(model, out, target, loss == "cross_entropy"))


def fit(model: Model, X, y, loss: str | None = None, optimizer: Optimizer | None = None,
        epochs: int = 100, batch_size: int | None = None, validation_data=None,
        validation_split: float | None = None, seed: int = 0, progress: bool = True,
        callbacks=(), early_stopping: int | None = None, tol: float | None = None,
        grad_tol: float | None = None, l2: float = 0.0, standardize: bool = False) -> History:
    """Train ``model`` on rows X and targets y by gradient descent (Sec. 8).

    Parameters
    ----------
    model : SigmoidModel, SoftmaxModel or FeedForward
    X : array (n, p) or pandas DataFrame
    y : array (n,) of class labels of any kind (kept, and returned by ``predict``), or
        numbers for regression (identity output), (n, q) for several outputs.
    loss : "cross_entropy" | "mse" | None
        None picks cross-entropy for sigmoid/softmax outputs and MSE (20) otherwise.
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
    ``stop_reason``.
    """
    if not isinstance(model, Model):
        raise TypeError(f"model must be a dlprimer model (SigmoidModel, SoftmaxModel, "
                        f"FeedForward), got {type(model).__name__}")
    loss = loss or ("mse" if model.output == "identity" else "cross_entropy")
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    if loss == "cross_entropy" and model.output == "identity":
        raise ValueError("cross-entropy needs a sigmoid or softmax output; use loss='mse' "
                         "for an identity (regression) output")
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

    X, feature_names = _data.as_matrix(X, "X")
    y = _data.label_vector(y) if np.ndim(y) == 1 or np.shape(y)[1:] == (1,) else np.asarray(y)
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} entries; give one target "
                         "per row")
    if X.shape[1] != model.n_features:
        raise ValueError(f"X has {X.shape[1]} columns but the model expects "
                         f"p={model.n_features} features")
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
        stratify = model.output != "identity"
        X, X_val, y, y_val = _data.train_test_split(X, y, validation_split, stratify, seed)
        validation_data = (X_val, y_val)

    target, classes = _targets(model, y, loss)
    model.classes_ = classes
    model.feature_names = feature_names
    if standardize:
        model.standardizer = _data.Standardizer().fit(X)
        X = model.standardizer.transform(X)
    else:
        model.standardizer = None
    X = np.ascontiguousarray(in_dtype(X, model.dtype, "X"))
    val = None
    if validation_data is not None:
        X_val, y_val = validation_data
        X_val, _ = _data.as_matrix(X_val, "validation X")
        if len(X_val) != len(y_val):
            raise ValueError(f"validation_data: X_val has {len(X_val)} rows but y_val has "
                             f"{len(y_val)} entries; give one target per row")
        if model.standardizer is not None:
            X_val = model.standardizer.transform(X_val)
        if classes is not None:  # the training labels' encoding; a subset of them is fine
            val_target = _encode_like(model, y_val, classes, loss)
        else:
            val_target, _ = _targets(model, y_val, loss, "validation y")
        val = (np.ascontiguousarray(in_dtype(X_val, model.dtype, "validation X")), val_target)

    history = History(metric_name="r2" if model.output == "identity" else "accuracy")
    callbacks = list(callbacks)
    if early_stopping:
        callbacks.append(EarlyStopping(patience=early_stopping))
    for cb in callbacks:
        cb.on_train_begin(model)

    params = model.parameters()
    if isinstance(optimizer, LBFGS):
        _fit_lbfgs(model, X, target, loss, optimizer, epochs, l2, history, val, callbacks)
    else:
        _fit_gradient_steps(model, X, target, loss, optimizer, epochs, batch_size, l2, seed,
                            progress, callbacks, tol, grad_tol, history, val, params)
    for cb in callbacks:
        cb.on_train_end(model)
        if getattr(cb, "stopped", False):
            history.stop_reason = cb.reason
            history.best_epoch = cb.best_epoch
    return history


def _encode_like(model, y_val, classes, loss):
    y_val = _data.label_vector(y_val)
    lookup = {c: i for i, c in enumerate(classes.tolist())}
    unknown = [v for v in np.unique(y_val).tolist() if v not in lookup]
    if unknown:
        raise ValueError(f"validation labels {unknown[:5]} do not occur in the training "
                         f"labels {classes.tolist()[:10]}")
    indices = np.array([lookup[v] for v in y_val.tolist()], dtype=np.int64)
    if model.output == "softmax":
        return np.eye(len(classes), dtype=model.dtype)[indices] if loss == "mse" else indices
    target = indices.astype(model.dtype)
    return target if isinstance(model, _scalar_models()) else target[:, None]


def _epoch_logs(model, loss, val, epoch_loss, epoch_metric, history) -> dict:
    history.loss.append(epoch_loss)
    history.metric.append(epoch_metric)
    logs = {"loss": epoch_loss, history.metric_name: history.metric[-1]}
    if val is not None:
        with no_grad():
            history.val_loss.append(float(data_loss(model, val[0], val[1], loss).data))
        history.val_metric.append(_metric(model, *val, loss))
        logs["val_loss"] = history.val_loss[-1]
        logs["val_" + history.metric_name] = history.val_metric[-1]
    return logs


def _fit_gradient_steps(model, X, target, loss, optimizer, epochs, batch_size, l2, seed,
                        progress, callbacks, tol, grad_tol, history, val, params):
    optimizer.setup(params)
    rng = np.random.default_rng(seed)
    n = len(X)
    full_batch = batch_size is None or batch_size >= n
    last_finite = [p.data.copy() for p in params]
    checkpoint_step = 0
    # NOTE: copying θ every step would cost several percent of a small model's step; a
    # checkpoint every CHECKPOINT_EVERY mini-batch steps (every step in full batch) bounds
    # what a divergence can lose.
    every = 1 if full_batch else CHECKPOINT_EVERY
    bar = _progress_bar(epochs, progress)
    history.stop_reason = f"reached the maximum of {epochs} epochs"
    step = 0
    try:
        for epoch in range(1, epochs + 1):
            total, grad_sq, scores = 0.0, 0.0, 0
            batches = [None] if full_batch else _data.batches(n, batch_size, rng)
            with np.errstate(all="ignore"):  # NaN/inf are caught by the checks below
                for idx in batches:
                    Xb, yb = (X, target) if idx is None else (X[idx], target[idx])
                    C, out = _loss_and_output(model, Xb, yb, loss, l2)
                    value = float(C.data)
                    if not math.isfinite(value):
                        _diverged(params, last_finite, checkpoint_step, optimizer, value,
                                  epoch, step)
                    if step % every == 0:  # θ at which the loss is finite
                        for p, keep in zip(params, last_finite, strict=True):
                            np.copyto(keep, p.data)
                        checkpoint_step = step
                    for p in params:
                        p.grad = None
                    C.backward()
                    if grad_tol is not None:
                        grad_sq = sum(float((p.grad * p.grad).sum()) for p in params
                                      if p.grad is not None)
                    optimizer.step()
                    step += 1
                    total += value * len(Xb)
                    scores = scores + _score(model, out, yb, loss == "cross_entropy")
            # NOTE: like Keras, the training loss and metric of an epoch are averages over
            # its batches (θ moves during the epoch); this avoids a second pass over X.
            epoch_loss = total / n
            with np.errstate(all="ignore"):  # a diverging θ is reported by the next step
                logs = _epoch_logs(model, loss, val, epoch_loss,
                                   _metric_value(model, scores), history)
            if bar is not None:
                bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items()}, refresh=False)
                bar.update(1)
            if any(cb.on_epoch_end(epoch, logs, model) for cb in callbacks):
                break
            if grad_tol is not None and math.sqrt(grad_sq) < grad_tol:
                history.stop_reason = (f"gradient norm ‖∇C(θ)‖ = {math.sqrt(grad_sq):.3g} "
                                       f"fell below grad_tol={grad_tol} at epoch {epoch}")
                break
            if tol is not None and epoch > 1 and abs(history.loss[-2] - epoch_loss) < tol:
                history.stop_reason = (f"loss changed by less than tol={tol} at epoch {epoch}")
                break
    finally:
        if bar is not None:
            bar.close()


def _diverged(params, last_finite, checkpoint_step, optimizer, value, epoch, step):
    for p, keep in zip(params, last_finite, strict=True):
        p.data[...] = keep
        p.grad = None
    lr = getattr(optimizer, "lr", None)
    raise DivergenceError(
        f"the loss became {value} at epoch {epoch} (step {step + 1}) with learning rate "
        f"α = {lr:g}: the steps are too large. Lower the learning rate (try α = {lr / 10:g}) "
        "or standardize the inputs (standardize=True). The model keeps the parameters of "
        f"step {checkpoint_step + 1}, the last checkpoint with a finite loss."
    )


def _fit_lbfgs(model, X, target, loss, optimizer, epochs, l2, history, val, callbacks):
    params = model.parameters()
    dtype = model.dtype
    last = {}  # the latest evaluation: θ, C(θ), and the score of its output

    def loss_and_grad(theta):
        model.set_theta(theta.astype(dtype))
        for p in params:
            p.grad = None
        with np.errstate(all="ignore"):
            C, out = _loss_and_output(model, X, target, loss, l2)
            C.backward()
        grad = np.concatenate([(p.grad if p.grad is not None else np.zeros_like(p.data))
                               .ravel() for p in params])
        value = float(C.data)
        last.update(theta=theta.copy(), value=value,
                    score=_score(model, out, target, loss == "cross_entropy"))
        return value, grad.astype(np.float64)

    def record(theta):
        # NOTE: scipy calls back with the accepted point, which it has just evaluated:
        # reuse that evaluation instead of another pass over X.
        if "theta" not in last or not np.array_equal(theta, last["theta"]):
            loss_and_grad(theta)
        logs = _epoch_logs(model, loss, val, last["value"],
                           _metric_value(model, last["score"]), history)
        if any(cb.on_epoch_end(len(history.loss), logs, model) for cb in callbacks):
            raise StopIteration  # scipy ends the minimization and returns this iterate

    # NOTE: each L-BFGS iteration counts as an epoch: callbacks and early stopping see
    # its logs, and the history has one entry an iteration.
    result = optimizer.minimize(loss_and_grad, model.theta(), max_iter=epochs, callback=record)
    model.set_theta(result.x.astype(dtype))
    for p in params:
        p.grad = None
    if not np.isfinite(result.fun):
        raise DivergenceError(f"L-BFGS ended with a non-finite loss ({result.fun})")
    history.stop_reason = f"L-BFGS: {result.message} after {result.nit} iterations"
    if not history.loss:
        record(result.x)


def _progress_bar(epochs: int, progress: bool):
    if not progress or not sys.stderr.isatty():
        return None
    from tqdm.auto import tqdm

    return tqdm(total=epochs, desc="fit", unit="epoch", file=sys.stderr, leave=True)
