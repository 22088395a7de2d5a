"""``dp.fit`` on a Dask cluster: the primer's algorithms, unchanged, over chunks that stay
where they live.

Full batch (``batch_size=None``), exact
    The loops of ``dlprimer.training.loops`` (gradient descent eq. (31), SGD, Adam on the
    full batch, L-BFGS) run as they do in memory; only "the loss and its gradient at θ" is
    computed differently. Each step sends θ to the workers, each chunk returns its sum of
    losses, sum of gradients, row count and score (``chunks.chunk_sums``), and the client
    adds them in chunk order and divides by n, with the L2 penalty added once. The result
    is the in-memory fit's, up to the order of floating-point additions.

Mini-batch (``batch_size`` set): local SGD, an approximation
    Each epoch, every chunk trains for one pass of mini-batches from the same θ with a
    fresh copy of the optimizer (seeded by the seed, the epoch and the chunk), and the
    client averages the chunks' θ weighted by their rows. With one chunk this is the
    in-memory mini-batch fit; with more, the steps within an epoch do not see the other
    chunks' updates (the optimizer's state restarts each epoch), so more epochs may be
    needed. The same seed and chunks give the same result.
"""

from __future__ import annotations

import copy
import uuid

import numpy as np

from dlprimer.data.preprocess import Preprocessor
from dlprimer.distributed.chunks import chunk_sums, local_model, prepared, targets_of
from dlprimer.distributed.rows import DaskRows, client_or_none
from dlprimer.distributed.tables import encoded_parts, needs_encoding
from dlprimer.engine.checks import in_dtype
from dlprimer.engine.tensor import no_grad
from dlprimer.nn.batchnorm import BatchNorm1d, BatchNorm2d
from dlprimer.nn.dropout import Dropout
from dlprimer.optim import LBFGS
from dlprimer.training.callbacks import EarlyStopping
from dlprimer.training.history import History
from dlprimer.training.loops import DivergenceError, Run, gradient_steps, lbfgs, train
from dlprimer.training.targets import task_of

__all__ = ["fit_dask"]


class _Sums:
    """C(θ) over all chunks, as the loops use a loss Tensor: ``.data`` and ``backward()``,
    which sets each parameter's ``.grad`` to its part of ∇C(θ)."""

    def __init__(self, value: float, grads: list[np.ndarray], params) -> None:
        self.data = np.float64(value)
        self._grads, self._params = grads, params

    def backward(self) -> None:
        for p, g in zip(self._params, self._grads, strict=True):
            p.grad = g


class DaskRun(Run):
    """A ``Run`` whose loss is computed on the cluster: X is the Dask array (its length is
    n, all the loops read of it), and ``loss`` ignores the rows it is given."""

    rows: DaskRows | None = None
    context: dict | None = None

    def loss(self, X, target):
        c = self.context
        theta = self.model.theta()
        if c["client"] is not None and theta.size > 1 << 16:  # a big θ goes once per worker
            theta = c["client"].scatter(theta, broadcast=True, hash=False)
        import dask

        tasks = [dask.delayed(chunk_sums, pure=False)(
            c["model"], c["token"], theta, xb, yb, self.task, c["classes"], c["scaler"])
            for xb, yb in self.rows.blocks()]
        parts = dask.compute(*tasks, optimize_graph=False)  # the graph is flat already
        n = sum(part[0] for part in parts)
        total = sum(part[1] for part in parts if part[0])
        grad = sum(part[2] for part in parts if part[0])
        score = sum(part[3] for part in parts if part[0])
        params = self.model.parameters()
        value, grads, start = total / n, [], 0
        for name, p in self.model.named_parameters():
            g = grad[start:start + p.data.size].reshape(p.shape) / n
            start += p.data.size
            if self.l2 and not name.rsplit(".", 1)[-1].startswith("b"):  # weights, not biases
                value += 0.5 * self.l2 * float((p.data.astype(np.float64) ** 2).sum())
                g = g + self.l2 * p.data
            grads.append(g.astype(p.data.dtype))
        return _Sums(value, grads, params), score

    def score(self, out, target):
        return out  # the chunks' scores, added already


def _refuse_non_sums(model) -> None:
    for m in model.modules():
        if isinstance(m, (Dropout, BatchNorm1d, BatchNorm2d)):
            raise ValueError(
                f"{type(m).__name__} makes the loss more than a sum over rows (it draws masks "
                "or normalizes over the batch), so the exact full-batch path over Dask chunks "
                "cannot compute it; remove the layer, or train in memory")


def fit_dask(model, X, y, *, loss, optimizer, epochs, batch_size, validation_data,
             validation_split, seed, progress, callbacks, early_stopping, tol, grad_tol, l2,
             standardize, preprocessor, classes=None) -> History:
    """``dp.fit`` for Dask X and y (the arguments are ``dp.fit``'s, checked there)."""
    if validation_split is not None:
        raise ValueError("validation_split needs the rows in memory; with Dask data give "
                         "validation_data=(X_val, y_val), a sample that fits in memory")
    pre = None
    if isinstance(preprocessor, Preprocessor) or (preprocessor is None and needs_encoding(X)):
        X, pre = encoded_parts(X, preprocessor, getattr(model, "identifiable", False))
        standardize = False if pre.standardizer is not None else standardize
    rows = DaskRows.of(X, y)
    full_batch = batch_size is None or batch_size >= rows.n
    if full_batch:
        _refuse_non_sums(model)
    if model.n_features is not None and rows.p != model.n_features:
        raise ValueError(f"X has {rows.p} columns but the model expects p={model.n_features} "
                         "features")
    probe = rows.first_targets()
    task = task_of(model, (rows.p,), probe, loss)
    if task.output != "identity":
        found = rows.classes() if classes is None else np.asarray(classes)
        if len(found) < 2:
            raise ValueError(f"y holds a single class ({found[0]!r}); a classifier needs two")
        task = task_of(model, (rows.p,), found, loss)
        model.classes_ = found
    else:
        model.classes_ = None
    model.output, model.task_ = task.output, task.name
    model.preprocessor, model.feature_names, model.converged_ = None, None, None
    model.standardizer = rows.standardizer() if standardize is not False else None

    val = None
    if validation_data is not None:
        X_val, y_val = (np.asarray(v.compute() if hasattr(v, "compute") else v)
                        for v in validation_data)
        X_val = model.standardizer.transform(X_val) if model.standardizer else X_val
        val = (np.ascontiguousarray(in_dtype(X_val, model.dtype, "validation X")),
               targets_of(task, y_val, model.classes_))

    history = History(metric_name="r2" if task.output == "identity" else "accuracy")
    callbacks = list(callbacks)
    if early_stopping:
        callbacks.append(EarlyStopping(patience=early_stopping))
    client = client_or_none()
    # one copy of the model per worker, sent once; each step then sends only θ
    shipped = model if client is None else client.scatter(model, broadcast=True, hash=False)
    run = DaskRun(model, rows.X, np.empty(0), task, optimizer, epochs, batch_size, l2, seed,
                  progress, tol, grad_tol, callbacks, val, history)
    run.rows = rows
    run.context = {"client": client, "model": shipped, "token": uuid.uuid4().hex,
                   "classes": model.classes_, "scaler": model.standardizer}
    train(run, _local_sgd if not full_batch else
          lbfgs if isinstance(optimizer, LBFGS) else gradient_steps)
    history.chunks, history.workers = rows.n_chunks, _workers(client)
    if pre is not None:  # encoding and eq. (13) as one Preprocessor: predict takes raw rows
        if model.standardizer is not None:
            pre.standardizer, pre.standardize = model.standardizer, True
        model.preprocessor, model.standardizer = pre, None
        model.feature_names = pre.feature_names_
    return history


def _workers(client) -> int:
    if client is None:
        return 1
    return len(client.scheduler_info().get("workers", {}))


def _local_sgd(run: DaskRun) -> None:
    """Local SGD: each chunk one epoch of mini-batches from the same θ, then the average
    of the chunks' θ weighted by their rows (see the module's docstring)."""
    import dask

    model, c = run.model, run.context
    n = run.rows.n
    for epoch in range(1, run.epochs + 1):
        theta = model.theta()
        tasks = [dask.delayed(_train_chunk, pure=False)(
            c["model"], c["token"], theta, xb, yb, run.task, c["classes"], c["scaler"],
            run.optimizer, run.batch_size, run.l2, [run.seed, epoch, k])
            for k, (xb, yb) in enumerate(run.rows.blocks())]
        parts = [part for part in dask.compute(*tasks) if part[0]]
        new = sum(part[1] * (part[0] / n) for part in parts)
        loss = sum(part[2] * part[0] for part in parts) / n
        score = sum(part[3] for part in parts)
        if not np.all(np.isfinite(new)) or not np.isfinite(loss):
            raise DivergenceError(f"local SGD diverged at epoch {epoch} (loss {loss}): lower "
                                  f"the learning rate (α = {getattr(run.optimizer, 'lr', '?')})")
        model.set_theta(new.astype(model.dtype))
        if run.end_epoch(epoch, float(loss), run.metric(score)):
            break
    run.history.stop_reason = run.history.stop_reason or \
        f"reached the maximum of {run.epochs} epochs"


def _train_chunk(model, token, theta, X, y, task, classes, scaler, optimizer, batch_size, l2,
                 seed):
    """One chunk's epoch of mini-batches from θ: (rows, θ after, mean loss, score)."""
    n = len(X)
    if n == 0:
        return 0, None, 0.0, None
    m = local_model(model, token)
    m.set_theta(theta)
    Xc = prepared(m, X, scaler)
    target = targets_of(task, y, classes)
    local = Run(m, Xc, target, task, copy.deepcopy(optimizer), 1, batch_size, l2,
                int(np.random.SeedSequence(seed).generate_state(1)[0]), False)
    m.train()
    gradient_steps(local)
    return n, m.theta().astype(np.float64), local.history.loss[-1], \
        local.score(*_output(local))


def _output(run: Run):
    with no_grad():
        _, out = run.loss(run.X, run.target)
    return out, run.target
