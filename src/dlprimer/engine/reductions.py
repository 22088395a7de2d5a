"""Reductions of a Tensor (primer Sec. 3): sum, mean and max over axes.

A mixin that ``Tensor`` inherits; each method builds its output with ``from_op`` and
defines its backward rule beside it. This module does not import ``tensor.py`` (Tensor
imports it), so results are made by ``type(self).from_op``.
"""

from __future__ import annotations

from typing import Self

import numpy as np

from dlprimer.engine.validate import axes_tuple

__all__ = ["ReductionOps"]


class ReductionOps:
    """Σ, mean and max of a Tensor over ``axis`` (all axes by default)."""

    __slots__ = ()

    def sum(self, axis=None, keepdims: bool = False) -> Self:
        """Σ over ``axis`` (all axes by default), the summation notation of eq. (11)."""
        shape = self.shape
        axes = axes_tuple(axis, shape, "sum")

        def backward(g):
            if not keepdims:
                g = np.expand_dims(g, axes)
            return (np.broadcast_to(g, shape),)

        out = self.data.sum(axis=axes, keepdims=keepdims)
        return type(self).from_op(out, (self,), backward, "sum")

    def mean(self, axis=None, keepdims: bool = False) -> Self:
        """Sample mean (1/n) Σ over ``axis``, eq. (10)."""
        axes = axes_tuple(axis, self.shape, "mean")
        count = int(np.prod([self.shape[a] for a in axes])) if axes else 1
        return self.sum(axis=axes, keepdims=keepdims) * (1.0 / max(count, 1))

    def max(self, axis=None, keepdims: bool = False) -> Self:
        """Maximum over ``axis``; ties share the gradient equally (as torch.amax)."""
        x = self.data
        axes = axes_tuple(axis, self.shape, "max")
        if any(self.shape[a] == 0 for a in axes):
            where = "all axes" if axis is None else f"axis {axis!r}"
            raise ValueError(f"max over {where} of a Tensor of shape {self.shape}: an axis of "
                             "length 0 has no maximum; reduce over non-empty axes only")
        top = x.max(axis=axes, keepdims=True)

        def backward(g):
            if not keepdims:
                g = np.expand_dims(g, axes)
            is_max = x == top
            return (g * is_max / is_max.sum(axis=axes, keepdims=True),)

        out = top if keepdims else np.squeeze(top, axis=axes)
        return type(self).from_op(out, (self,), backward, "max")
