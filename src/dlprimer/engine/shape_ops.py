"""Shape operations on a Tensor (primer Sec. 7): reshape, transpose (eq. (24)), swapaxes
and indexing.

A mixin that ``Tensor`` inherits; each method builds its output with ``from_op`` and
defines its backward rule beside it. This module does not import ``tensor.py`` (Tensor
imports it), so results are made by ``type(self).from_op``.
"""

from __future__ import annotations

import numbers
from typing import Self

import numpy as np

from dlprimer.engine.validate import axis_index

__all__ = ["ShapeOps"]


def _is_basic_index(index) -> bool:
    """True for indices made of ints, slices, None and Ellipsis (no fancy indexing)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(
        isinstance(p, (numbers.Integral, slice)) or p is None or p is Ellipsis for p in parts
    )


class ShapeOps:
    """Rearranging a Tensor's entries; every backward rule puts the gradient back."""

    __slots__ = ()

    def reshape(self, *shape) -> Self:
        """Same entries, new shape (row-major order, as numpy)."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        source = self.shape

        def backward(g):
            return (g.reshape(source),)

        try:
            out = self.data.reshape(shape)
        except (ValueError, TypeError):
            unknown = " (-1 cannot be inferred from 0 entries: give every length)" \
                if self.size == 0 and -1 in shape else ""
            raise ValueError(f"reshape: a Tensor of shape {source} ({self.size} entries) "
                             f"cannot take the shape {shape}{unknown}; the lengths must "
                             f"multiply to {self.size}") from None
        return type(self).from_op(out, (self,), backward, "reshape")

    def transpose(self, *axes) -> Self:
        """Permute axes (reverse them by default): the transpose Xᵀ of eq. (24)."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        ndim = self.ndim
        axes = tuple(axis_index(a, ndim, self.shape, "transpose") for a in axes) \
            or tuple(reversed(range(ndim)))
        if sorted(axes) != list(range(ndim)):
            raise ValueError(f"transpose: axes {axes} must name each axis of a Tensor of shape "
                             f"{self.shape} once (a permutation of 0..{ndim - 1})")
        inverse = tuple(np.argsort(axes))

        def backward(g):
            return (g.transpose(inverse),)

        return type(self).from_op(self.data.transpose(axes), (self,), backward, "transpose")

    @property
    def T(self) -> Self:
        """Transpose, eq. (24): reverses the axes."""
        return self.transpose()

    def swapaxes(self, axis1: int, axis2: int) -> Self:
        """Exchange two axes (the batched transpose when they are -1 and -2)."""
        axis1, axis2 = (axis_index(a, self.ndim, self.shape, "swapaxes") for a in (axis1, axis2))

        def backward(g):
            return (g.swapaxes(axis1, axis2),)

        out = self.data.swapaxes(axis1, axis2)
        return type(self).from_op(out, (self,), backward, "swapaxes")

    def __getitem__(self, index) -> Self:
        """Indexing and slicing; the gradient is scattered back, repeated indices add up."""
        # Every Tensor is a ShapeOps: this tests for a Tensor index without importing Tensor.
        if isinstance(index, ShapeOps):
            index = index.data.astype(np.intp)
        elif isinstance(index, tuple):
            index = tuple(i.data.astype(np.intp) if isinstance(i, ShapeOps) else i
                          for i in index)
        x = self.data
        basic = _is_basic_index(index)

        def backward(g):
            grad = np.zeros_like(x)
            if basic:  # slices never repeat an entry
                grad[index] = g
            else:
                np.add.at(grad, index, g)
            return (grad,)

        return type(self).from_op(x[index], (self,), backward, "getitem")
