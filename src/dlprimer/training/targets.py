"""From labels y to the targets a loss compares with the model's output, and the loss
C(θ) itself: the task of a fit (its output rule, loss and number of outputs) in one place.

Any Module's ``forward`` returns z, the output before the final activation. The task says
which activation turns z into ŷ: σ for one output separating two classes (eq. (1)),
softmax for K outputs (eq. (4)), none for regression. Cross-entropy is computed from z
(fused with σ or softmax, never taking log(0)); MSE (20) from ŷ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dlprimer.data import tables
from dlprimer.engine.checks import in_dtype
from dlprimer.engine.tensor import Tensor, no_grad
from dlprimer.nn.functional import binary_cross_entropy_with_logits, cross_entropy, mse_loss
from dlprimer.nn.module import Module

__all__ = ["LOSSES", "Task", "data_loss", "loss_and_output", "task_of", "weights"]

LOSSES = ("cross_entropy", "mse")


@dataclass(frozen=True)
class Task:
    """What a fit trains for: ``output`` ("sigmoid" | "softmax" | "identity"), ``loss``
    ("cross_entropy" | "mse"), ``K`` (the model's number of outputs, q), ``scalar`` (the
    model returns one number a row, shape (n,), as Model I does) and the dtype."""

    output: str
    loss: str
    K: int
    scalar: bool
    dtype: np.dtype

    def targets(self, y, name: str = "y") -> tuple[np.ndarray, np.ndarray | None]:
        """y → (training targets shaped as the output, classes or None for regression)."""
        if self.output == "identity":  # regression: the numbers themselves
            try:
                target = np.asarray(y, dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"an identity (regression) output needs numeric targets "
                                 f"{name}; for class labels use a sigmoid or softmax output"
                                 ) from None
            tables.require_finite_rows(target, name)
            target = in_dtype(target, self.dtype, name)
            return (target if self.scalar or target.ndim > 1 else target[:, None]), None
        indices, classes = tables.encode_labels(y)
        if len(classes) == 1:
            raise ValueError(f"{name} holds a single class ({classes[0].item()!r}); training "
                             "a classifier needs at least two")
        if self.output == "softmax":
            if len(classes) > self.K:
                raise ValueError(f"{name} has {len(classes)} classes {classes.tolist()[:10]} "
                                 f"but the model has K={self.K} outputs; build it with "
                                 f"K={len(classes)}")
            if len(classes) < self.K:
                if classes.dtype.kind in "iu" and classes.min() >= 0 and classes.max() < self.K:
                    indices, classes = np.asarray(y).astype(np.int64), np.arange(self.K)
                else:
                    raise ValueError(
                        f"{name} has {len(classes)} classes but the model has K={self.K} "
                        f"outputs; build it with K={len(classes)}, or make sure every class "
                        "occurs in the training rows (a class with very few rows can land "
                        "wholly in a validation or test split)")
            return self.encoded(indices), classes
        # sigmoid output: two classes, encoded 0 (negative) and 1 (positive) as in eq. (3)
        if self.K != 1:
            raise ValueError(f"a sigmoid output separates two classes with one output, but the "
                             f"model has q={self.K} outputs; end it with 1 output "
                             f"(sizes [..., 1]), or use output='softmax' with K outputs")
        if len(classes) > 2:
            raise ValueError(f"a sigmoid output separates two classes, but {name} has "
                             f"{len(classes)}: {classes.tolist()[:10]}; use SoftmaxModel or "
                             "output='softmax'")
        return self.encoded(indices), classes

    def encoded(self, indices: np.ndarray) -> np.ndarray:
        """Class indices as the loss wants them: indices (softmax + cross-entropy), one-hot
        rows (softmax + MSE), 0/1 numbers shaped as the output (sigmoid)."""
        if self.output == "softmax":
            return np.eye(self.K, dtype=self.dtype)[indices] if self.loss == "mse" else indices
        target = indices.astype(self.dtype)
        return target if self.scalar else target[:, None]

    @property
    def name(self) -> str:
        """"regression", "binary" or "multiclass" (``model.task_``)."""
        if self.output == "identity":
            return "regression"
        return "binary" if self.output == "sigmoid" else "multiclass"


def task_of(model: Module, row_shape: tuple[int, ...], y, loss: str | None) -> Task:
    """The task of fitting ``model`` to rows of shape ``row_shape`` and targets y: the
    model's own output rule where it has one (Models I-III), else read off the loss, the
    targets and the model's number of outputs."""
    if loss is not None and loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    output = model.output
    if output is None:  # a Module without an output rule: decide from y and the loss
        if loss == "mse" or (loss is None and (np.ndim(y) > 1
                                             or tables.infer_task(y) == "regression")):
            output = "identity"
    loss = loss or ("mse" if output == "identity" else "cross_entropy")
    if loss == "cross_entropy" and output == "identity":
        raise ValueError("cross-entropy needs a sigmoid or softmax output; use loss='mse' "
                         "for an identity (regression) output")
    # NOTE: one row of zeros of the input's shape through the model (in eval mode, so
    # Dropout and BatchNorm are left as they are) tells its output shape for any Module.
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            shape = model(Tensor(np.zeros((1, *row_shape), dtype=model.dtype))).shape
    finally:
        model.train(was_training)
    scalar = len(shape) == 1
    K = 1 if scalar else int(np.prod(shape[1:]))
    if output is None:
        output = "sigmoid" if K == 1 else "softmax"
    return Task(output, loss, K, scalar, model.dtype)


def loss_and_output(model: Module, X, y, task: Task, l2: float = 0.0):
    """(C(θ) = C_Data(θ) + (l2 / 2) Σ ‖W‖², the model's raw output): logits for
    cross-entropy, ŷ for MSE. The L2 penalty covers weights, not biases."""
    z = model(X)
    if task.loss == "cross_entropy":
        out = z
        C = cross_entropy(z, y) if task.output == "softmax" else \
            binary_cross_entropy_with_logits(z, y)
    else:
        out = z.sigmoid() if task.output == "sigmoid" else \
            z.softmax(axis=-1) if task.output == "softmax" else z
        C = mse_loss(out, y)
    if l2:
        for W in weights(model):
            C = C + (0.5 * l2) * (W * W).sum()
    return C, out.data


def weights(model: Module) -> list[Tensor]:
    """The parameters the L2 penalty covers: the weights, not the biases (b, b0, bias)."""
    return [p for name, p in model.named_parameters()
            if not name.rsplit(".", 1)[-1].startswith("b")]


def data_loss(model: Module, X, y, loss: str, l2: float = 0.0) -> Tensor:
    """C(θ) = C_Data(θ) + (l2 / 2) Σ ‖W‖², the mean loss over the rows of X, for targets y
    already shaped as the model's output (0/1 numbers, class indices or values).

    Cross-entropy is taken from the logits (fused with σ or softmax); the L2 penalty
    covers weights, not biases.
    """
    output = model.output or ("softmax" if np.ndim(y) == 1 and np.asarray(y).dtype.kind in "iu"
                              else "sigmoid")
    task = Task(output, loss, 1, np.ndim(y) == 1, model.dtype)
    return loss_and_output(model, X, y, task, l2)[0]
