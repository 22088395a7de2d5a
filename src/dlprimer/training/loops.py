"""The two training loops: gradient steps (the algorithm of Sec. 8) and L-BFGS.

    1  θ ← θ⁽⁰⁾
    2  repeat
    3     compute the gradient ∇C(θ)          (backpropagation: loss.backward())
    4     θ ← θ - α ∇C(θ)                     (optimizer.step(), eq. (31) or a variant)
    5  until θ satisfies a termination condition

Both read what they need from one ``Run``: the model, the prepared data, the task, the
optimizer and the termination conditions.
"""

from __future__ import annotations

import importlib.util
import math
import sys
import warnings
from dataclasses import dataclass, field

import numpy as np

from dlprimer.data import tables
from dlprimer.engine.tensor import no_grad
from dlprimer.nn.module import Module
from dlprimer.optim import Optimizer
from dlprimer.training.divergence import DivergenceError, cause, first_non_finite, state_arrays
from dlprimer.training.history import History
from dlprimer.training.targets import Task, loss_and_output

__all__ = ["CHECKPOINT_EVERY", "ConvergenceWarning", "DivergenceError", "Run", "bar_kind",
           "gradient_steps", "in_kernel", "lbfgs", "one_epoch", "train"]

CHECKPOINT_EVERY = 16  # mini-batch steps between copies of θ kept against divergence


class ConvergenceWarning(UserWarning):
    """The optimizer stopped at its iteration cap before its convergence test held."""


@dataclass
class Run:
    """Everything one fit works with: the model and its training rows (X, targets), the
    task, the optimizer, epochs and batches, the penalty, the termination conditions, the
    callbacks, the validation rows (X_val, targets) or None, and the History it fills."""

    model: Module
    X: np.ndarray
    target: np.ndarray
    task: Task
    optimizer: Optimizer
    epochs: int
    batch_size: int | None = None
    l2: float = 0.0
    seed: int = 0
    progress: bool = True
    tol: float | None = None
    grad_tol: float | None = None
    callbacks: list = field(default_factory=list)
    val: tuple | None = None
    history: History = field(default_factory=History)
    #: True when a convergence test (tol, grad_tol, L-BFGS's own) ended training, False
    #: when the epoch cap did though one was asked for; None when none was asked for.
    converged: bool | None = None
    #: Keep the optimizer's state (its step count, moments) from an earlier run over the
    #: same parameters: ``partial_fit``'s next epoch continues where the last one ended.
    resume: bool = False

    def loss(self, X, target):
        """(C(θ) on these rows, the model's raw output on them)."""
        return loss_and_output(self.model, X, target, self.task, self.l2)

    def score(self, out: np.ndarray, target: np.ndarray) -> np.ndarray:
        """(number correct, rows) of one batch, or the sums R² needs, from its output."""
        if self.task.output == "identity":
            return np.array([((target - out) ** 2).sum(), target.sum(), (target**2).sum(),
                             target.size])
        if self.task.output == "softmax":
            truth = target if target.ndim == 1 else target.argmax(axis=1)
            return np.array([np.count_nonzero(out.argmax(axis=1) == truth), len(out)])
        threshold = 0.0 if self.task.loss == "cross_entropy" else 0.5  # σ(z) > ½ ⟺ z > 0
        return np.array([np.count_nonzero((out > threshold) == (target > 0.5)), len(out)])

    def metric(self, totals: np.ndarray) -> float:
        """Accuracy for classifiers; R² = 1 - SSE / Σ(y - ȳ)² for regression."""
        if self.task.output != "identity":
            return float(totals[0] / totals[1])
        sse, total, total_sq, count = totals
        spread = total_sq - total * total / count
        return float(1 - sse / spread) if spread > 0 else float("nan")

    def end_epoch(self, epoch: int, loss: float, metric: float) -> bool:
        """Record the epoch (and the validation rows' loss and metric, in eval mode); True
        when a callback stops training."""
        h = self.history
        h.loss.append(loss)
        h.metric.append(metric)
        logs = {"loss": loss, h.metric_name: metric}
        if self.val is not None:
            self.model.eval()
            with no_grad(), np.errstate(all="ignore"):  # a diverging θ: the next step says
                C, out = loss_and_output(self.model, *self.val, self.task)
            self.model.train()
            h.val_loss.append(float(C.data))
            h.val_metric.append(self.metric(self.score(out, self.val[1])))
            logs["val_loss"] = h.val_loss[-1]
            logs["val_" + h.metric_name] = h.val_metric[-1]
        if self.bar is not None:
            self.bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items()}, refresh=False)
            self.bar.update(1)
        return any(cb.on_epoch_end(epoch, logs, self.model) for cb in self.callbacks)

    bar = None


def gradient_steps(run: Run) -> None:
    """Steps 1-5 with ``run.optimizer``: full batch (eq. (31) exactly) or shuffled
    mini-batches; the loss is checked for NaN/inf before every step, and θ and the
    buffers after the last one."""
    params = run.model.parameters()
    optimizer = run.optimizer
    if not (run.resume and [id(p) for p in optimizer.params] == [id(p) for p in params]):
        optimizer.setup(params)
    rng = np.random.default_rng(run.seed)
    n = len(run.X)
    full_batch = run.batch_size is None or run.batch_size >= n
    state = state_arrays(run.model)  # θ and BatchNorm's running statistics
    last_finite = [a.copy() for a in state]
    checkpoint = 0
    # NOTE: copying θ every step would cost several percent of a small model's step; a
    # checkpoint every CHECKPOINT_EVERY mini-batch steps (every step in full batch) bounds
    # what a divergence can lose.
    every = 1 if full_batch else CHECKPOINT_EVERY
    run.bar = _progress_bar(run.epochs, run.progress)
    run.history.stop_reason = f"reached the maximum of {run.epochs} epochs"
    step = 0
    try:
        for epoch in range(1, run.epochs + 1):
            total, grad_sq, scores = 0.0, 0.0, 0
            batches = [None] if full_batch else tables.batches(n, run.batch_size, rng)
            with np.errstate(all="ignore"):  # NaN/inf are caught by the checks below
                for idx in batches:
                    Xb, yb = (run.X, run.target) if idx is None else (run.X[idx], run.target[idx])
                    C, out = run.loss(Xb, yb)                          # C(θ)
                    value = float(C.data)
                    if not math.isfinite(value):
                        _diverged(run, state, last_finite, checkpoint, step,
                                  f"the loss became {value} at epoch {epoch} (step {step + 1})")
                    if step % every == 0:  # θ at which the loss is finite
                        for a, keep in zip(state, last_finite, strict=True):
                            np.copyto(keep, a)
                        checkpoint = step
                    for p in params:
                        p.grad = None
                    C.backward()                                       # step 3: ∇C(θ)
                    if run.grad_tol is not None:
                        grad_sq = sum(float((p.grad * p.grad).sum()) for p in params
                                      if p.grad is not None)
                    optimizer.step()                                   # step 4
                    step += 1
                    total += value * len(Xb)
                    scores = scores + run.score(out, yb)
            # NOTE: like Keras, the training loss and metric of an epoch are averages over
            # its batches (θ moves during the epoch); this avoids a second pass over X.
            epoch_loss = total / n
            if run.end_epoch(epoch, epoch_loss, run.metric(scores)):   # step 5
                break
            if run.grad_tol is not None and math.sqrt(grad_sq) < run.grad_tol:
                run.history.stop_reason = (
                    f"gradient norm ‖∇C(θ)‖ = {math.sqrt(grad_sq):.3g} fell below "
                    f"grad_tol={run.grad_tol} at epoch {epoch}")
                run.converged = True
                break
            if (run.tol is not None and epoch > 1
                    and abs(run.history.loss[-2] - epoch_loss) < run.tol):
                run.history.stop_reason = (f"loss changed by less than tol={run.tol} at "
                                           f"epoch {epoch}")
                run.converged = True
                break
        # NOTE: each loss is checked before its step, so the last step's result is not:
        # check θ (and the buffers) themselves once, and the loss at the final θ on the
        # last batch (in eval mode: no Dropout draw, no BatchNorm update).
        broken = first_non_finite(run.model)
        made = f"{broken} NaN or infinite"
        if broken is None:
            run.model.eval()
            with no_grad(), np.errstate(all="ignore"):
                value = float(run.loss(Xb, yb)[0].data)
            run.model.train()
            broken = None if math.isfinite(value) else "loss"
            made = f"the loss {value} on the {'training rows' if full_batch else 'last batch'}"
        if broken is not None:
            _diverged(run, state, last_finite, checkpoint, step,
                      f"the last step (step {step}, epoch {len(run.history.loss)}) made {made}")
    finally:
        if run.bar is not None:
            run.bar.close()
    if run.converged is None and (run.tol is not None or run.grad_tol is not None) \
            and not any(getattr(cb, "stopped", False) for cb in run.callbacks):
        run.converged = False  # the tests asked for never held


def train(run: Run, loop) -> History:
    """``loop(run)`` between the callbacks' ``on_train_begin`` and ``on_train_end``, in train
    mode (the model is left in eval mode); records convergence and why training stopped."""
    model = run.model
    for cb in run.callbacks:
        cb.on_train_begin(model)
    model.train()
    try:
        loop(run)
    finally:
        model.eval()
    model.converged_ = run.converged
    for cb in run.callbacks:
        cb.on_train_end(model)
        if getattr(cb, "stopped", False):
            run.history.stop_reason = cb.reason
            run.history.best_epoch = cb.best_epoch
    return run.history


def one_epoch(model: Module, X, target, task: Task, optimizer: Optimizer,
              batch_size: int | None, l2: float, seed: int, resume: bool) -> float:
    """One epoch of gradient steps on prepared rows, continuing the optimizer's state when
    ``resume`` (streaming training, ``partial_fit``); returns the epoch's mean loss."""
    run = Run(model, np.ascontiguousarray(X), target, task, optimizer, 1, batch_size, l2,
              seed, False, resume=resume)
    model.train()
    try:
        gradient_steps(run)
    finally:
        model.eval()
    return float(run.history.loss[-1])


def _diverged(run: Run, state, last_finite, checkpoint: int, steps_taken: int, what: str):
    """Raise the DivergenceError that says what diverged and why, after putting back the
    last checkpoint at which the loss was finite."""
    message = cause(run.model, run.optimizer, run.l2, steps_taken, what)  # at the bad θ
    for a, keep in zip(state, last_finite, strict=True):
        a[...] = keep
    for p in run.model.parameters():
        p.grad = None
    kept = ("its initial parameters θ⁽⁰⁾" if steps_taken == 0 else
            f"the parameters of step {checkpoint + 1}, the last checkpoint with a finite loss")
    raise DivergenceError(f"{message}. The model keeps {kept}.")


def lbfgs(run: Run) -> None:
    """Minimize C(θ) over θ as one vector with scipy's L-BFGS; each iteration is an epoch
    (callbacks and early stopping see its logs)."""
    model = run.model
    params = model.parameters()
    dtype = model.dtype
    last = {}  # the latest evaluation: θ, C(θ), and the score of its output
    finite = {"theta": model.theta().copy(), "evaluations": 0}  # the latest finite C(θ)

    def loss_and_grad(theta):
        model.set_theta(theta.astype(dtype))
        for p in params:
            p.grad = None
        with np.errstate(all="ignore"):
            C, out = run.loss(run.X, run.target)
            C.backward()
            grad = np.concatenate([(p.grad if p.grad is not None else np.zeros_like(p.data))
                                   .ravel() for p in params]).astype(np.float64)
        value = float(C.data)
        last.update(theta=theta.copy(), value=value, score=run.score(out, run.target))
        if math.isfinite(value) and np.isfinite(grad).all() and np.isfinite(theta).all():
            finite["theta"], finite["evaluations"] = model.theta().copy(), \
                finite["evaluations"] + 1
        elif not finite["evaluations"]:  # C(θ⁽⁰⁾) itself: no iterate to fall back on
            _lbfgs_diverged(run, finite, 0, f"the loss is {value}")
        return value, grad

    def record(theta):
        # NOTE: scipy calls back with the accepted point, which it has just evaluated:
        # reuse that evaluation instead of another pass over X.
        if "theta" not in last or not np.array_equal(theta, last["theta"]):
            loss_and_grad(theta)
        if run.end_epoch(len(run.history.loss) + 1, last["value"], run.metric(last["score"])):
            raise StopIteration  # scipy ends the minimization and returns this iterate

    run.bar = _progress_bar(run.epochs, run.progress)
    try:
        result = run.optimizer.minimize(loss_and_grad, model.theta(), max_iter=run.epochs,
                                        callback=record)
    finally:
        if run.bar is not None:
            run.bar.close()
    model.set_theta(result.x.astype(dtype))
    for p in params:
        p.grad = None
    broken = first_non_finite(model)
    if not np.isfinite(result.fun) or broken is not None:  # the final iterate, checked
        what = (f"L-BFGS ended with a non-finite loss ({result.fun})" if broken is None else
                f"L-BFGS ended with non-finite parameters (first {broken})")
        _lbfgs_diverged(run, finite, max(result.nit, 1), what)  # θ⁽⁰⁾'s loss was finite
    run.history.stop_reason = f"L-BFGS: {result.message} after {result.nit} iterations"
    stopped = any(getattr(cb, "stopped", False) for cb in run.callbacks)
    run.converged = None if stopped else bool(result.success)
    if result.status == 1 and not stopped:  # scipy: the iteration cap
        warnings.warn(f"L-BFGS hit its cap of {run.epochs} iterations before converging (the "
                      "gradient is not yet ≈ 0): θ may not be the minimum; train with more "
                      "epochs", ConvergenceWarning, stacklevel=4)
    if not run.history.loss:
        record(result.x)


def _lbfgs_diverged(run: Run, finite: dict, iterations: int, what: str):
    """Raise the DivergenceError of L-BFGS, with θ set to its last finite evaluation."""
    message = cause(run.model, run.optimizer, run.l2, iterations, what)  # at the bad θ
    run.model.set_theta(finite["theta"])
    for p in run.model.parameters():
        p.grad = None
    kept = ("the parameters of its last evaluation with a finite loss"
            if finite["evaluations"] else "its initial parameters θ⁽⁰⁾")
    raise DivergenceError(f"{message}. The model keeps {kept}.")


def in_kernel() -> bool:
    """True inside an IPython kernel (Jupyter); IPython is not imported to find out."""
    ipython = sys.modules.get("IPython")  # a kernel has always loaded it already
    get_ipython = getattr(ipython, "get_ipython", None)
    return get_ipython is not None and getattr(get_ipython(), "kernel", None) is not None


def bar_kind(progress: bool) -> str | None:
    """Which progress bar ``fit`` shows: "notebook" (tqdm's widget, in a kernel with
    ipywidgets), "text" (tqdm's text bar on stderr: a terminal, or a kernel without
    ipywidgets), or None (``progress=False``, or neither a terminal nor a kernel, e.g. a
    pipe, a log file or pytest)."""
    if not progress:
        return None
    if in_kernel():
        # NOTE: a kernel's stderr is no TTY, yet the notebook shows what is written to it.
        # tqdm.auto would warn when ipywidgets is missing; choose here instead.
        return "notebook" if importlib.util.find_spec("ipywidgets") is not None else "text"
    return "text" if sys.stderr.isatty() else None


def _progress_bar(epochs: int, progress: bool):
    kind = bar_kind(progress)
    if kind is None:
        return None
    options = {"total": epochs, "desc": "fit", "unit": "epoch", "leave": True}
    if kind == "notebook":
        from tqdm.notebook import tqdm

        return tqdm(**options)
    from tqdm import tqdm

    return tqdm(file=sys.stderr, **options)
