"""Operations on several tensors: join (``concatenate``, ``stack``), choose (``where``,
``maximum``) and clamp (``clip``), each with its backward beside its forward, as in
``dlprimer.engine.tensor``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dlprimer.engine.tensor import Tensor, unbroadcast
from dlprimer.engine.validate import axis_index, broadcast_error

__all__ = ["concatenate", "stack", "where", "maximum", "clip"]


def _lift_all(values: Sequence) -> list[Tensor]:
    return [v if isinstance(v, Tensor) else Tensor(v) for v in values]


def int_pair(x, y) -> tuple[Tensor, Tensor]:
    """Two operands as Tensors; a Python number takes the other operand's dtype."""
    if isinstance(x, Tensor):
        return x, x.lift(y)
    if isinstance(y, Tensor):
        return y.lift(x), y
    return Tensor(x), Tensor(y)


def concatenate(tensors: Sequence, axis: int = 0) -> Tensor:
    """Join tensors along an existing axis; the gradient is split back into pieces.

    >>> concatenate([Tensor([1, 2]), Tensor([3])]).numpy()
    array([1., 2., 3.], dtype=float32)
    """
    tensors = _lift_all(tensors)
    if not tensors:
        raise ValueError("concatenate needs at least one tensor")
    first = tensors[0].shape
    axis = axis_index(axis, len(first), first, "concatenate")
    for i, t in enumerate(tensors[1:], 1):
        if len(t.shape) != len(first) or any(
                a != b for j, (a, b) in enumerate(zip(t.shape, first, strict=True)) if j != axis):
            raise ValueError(f"concatenate along axis {axis}: tensor {i} has shape {t.shape} "
                             f"but tensor 0 has {first}; every other axis must match")
    sizes = [t.shape[axis] for t in tensors]
    cuts = np.cumsum(sizes)[:-1]

    def backward(g):
        return tuple(np.split(g, cuts, axis=axis))

    data = np.concatenate([t.data for t in tensors], axis=axis)
    return Tensor.from_op(data, tuple(tensors), backward, "concatenate")


def stack(tensors: Sequence, axis: int = 0) -> Tensor:
    """Stack same-shaped tensors along a new axis.

    >>> stack([Tensor([1, 2]), Tensor([3, 4])]).shape
    (2, 2)
    """
    tensors = _lift_all(tensors)
    if not tensors:
        raise ValueError("stack needs at least one tensor")
    first = tensors[0].shape
    if isinstance(axis, int) and not -len(first) - 1 <= axis <= len(first):
        raise ValueError(f"stack: axis {axis} is out of range: tensors of shape {first} stack "
                         f"into a {len(first) + 1}-D result (valid axes "
                         f"{-len(first) - 1}..{len(first)})")
    for i, t in enumerate(tensors[1:], 1):
        if t.shape != first:
            raise ValueError(f"stack: tensor {i} has shape {t.shape} but tensor 0 has {first}; "
                             "stacked tensors must all have the same shape")

    def backward(g):
        return tuple(np.moveaxis(g, axis, 0))

    data = np.stack([t.data for t in tensors], axis=axis)
    return Tensor.from_op(data, tuple(tensors), backward, "stack")


def where(condition, x, y) -> Tensor:
    """Entries of x where ``condition`` holds, else of y (all three broadcast).

    >>> where(np.array([True, False]), Tensor([1, 2]), 0).numpy()
    array([1., 0.], dtype=float32)
    """
    condition = np.asarray(condition.data if isinstance(condition, Tensor) else condition, bool)
    x, y = int_pair(x, y)

    def backward(g):
        return (
            unbroadcast(np.where(condition, g, 0), x.shape),
            unbroadcast(np.where(condition, 0, g), y.shape),
        )

    try:
        out = np.where(condition, x.data, y.data)
    except ValueError:
        raise broadcast_error("where(condition, x, y)", condition.shape, x.shape,
                              y.shape) from None
    return Tensor.from_op(out, (x, y), backward, "where")


def maximum(x, y) -> Tensor:
    """Element-wise maximum; at ties each side gets half the gradient (as torch.maximum).

    >>> maximum(Tensor([1, 5]), Tensor([3, 2])).numpy()
    array([3., 5.], dtype=float32)
    """
    x, y = int_pair(x, y)
    a, b = x.data, y.data

    def backward(g):
        share = (a > b) + 0.5 * (a == b)
        return unbroadcast(g * share, a.shape), unbroadcast(g * (1 - share), b.shape)

    try:
        out = np.maximum(a, b)
    except ValueError:
        raise broadcast_error("maximum(x, y)", a.shape, b.shape) from None
    return Tensor.from_op(out, (x, y), backward, "maximum")


def clip(x, low=None, high=None) -> Tensor:
    """Clamp x into [low, high]; gradient passes where low ≤ x ≤ high (as torch.clamp).

    >>> clip(Tensor([-2, 0.5, 3]), 0, 1).numpy()
    array([0. , 0.5, 1. ], dtype=float32)
    """
    x = x if isinstance(x, Tensor) else Tensor(x)
    return x.clip(low, high)
