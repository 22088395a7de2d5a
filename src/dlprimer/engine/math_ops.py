"""Element-wise functions of a Tensor (primer Sec. 7 and 9): exp, log, sqrt, abs, the
activations ReLU, sigmoid and tanh, softmax and log-softmax, and clip.

A mixin that ``Tensor`` inherits; each method builds its output with ``from_op`` and
defines its backward rule beside it. This module does not import ``tensor.py`` (Tensor
imports it), so results are made by ``type(self).from_op``.
"""

from __future__ import annotations

from typing import Self

import numpy as np

from dlprimer.engine.numerics import minus_max, stable_sigmoid, stable_softmax

__all__ = ["MathOps"]


class MathOps:
    """Element-wise functions, each with its derivative beside it."""

    __slots__ = ()

    def exp(self) -> Self:
        """e^x element-wise; its own derivative."""
        out = np.exp(self.data)

        def backward(g):
            return (g * out,)

        return type(self).from_op(out, (self,), backward, "exp")

    def log(self) -> Self:
        """Natural logarithm element-wise; d/dx = 1/x."""
        x = self.data

        def backward(g):
            return (g / x,)

        return type(self).from_op(np.log(x), (self,), backward, "log")

    def sqrt(self) -> Self:
        """√x element-wise; d/dx = 1 / (2√x)."""
        out = np.sqrt(self.data)

        def backward(g):
            return (g / (2 * out),)

        return type(self).from_op(out, (self,), backward, "sqrt")

    def abs(self) -> Self:
        """|x| element-wise; the derivative used at 0 is 0 (as PyTorch)."""
        x = self.data

        def backward(g):
            return (g * np.sign(x),)

        return type(self).from_op(np.abs(x), (self,), backward, "abs")

    def relu(self) -> Self:
        """ReLU, max(0, x) element-wise (Sec. 9); the derivative used at 0 is 0."""
        x = self.data

        def backward(g):
            return (g * (x > 0),)

        return type(self).from_op(np.maximum(x, 0), (self,), backward, "relu")

    def sigmoid(self) -> Self:
        """σ_Sig(z) = 1 / (1 + e^{-z}), eq. (1); derivative σ(1 - σ)."""
        out = stable_sigmoid(self.data)

        def backward(g):
            return (g * out * (1 - out),)

        return type(self).from_op(out, (self,), backward, "sigmoid")

    def tanh(self) -> Self:
        """Hyperbolic tangent element-wise (Sec. 9); derivative 1 - tanh²."""
        out = np.tanh(self.data)

        def backward(g):
            return (g * (1 - out * out),)

        return type(self).from_op(out, (self,), backward, "tanh")

    def softmax(self, axis: int = -1) -> Self:
        """S_Softmax(z) = e^{z} / Σ_i e^{z_i} over ``axis``, eq. (4)."""
        out = stable_softmax(self.data, axis)

        def backward(g):
            # Jacobian diag(s) - s sᵀ applied to g, without forming it.
            return (out * (g - (g * out).sum(axis=axis, keepdims=True)),)

        return type(self).from_op(out, (self,), backward, "softmax")

    def log_softmax(self, axis: int = -1) -> Self:
        """log S_Softmax(z) = z - log Σ_i e^{z_i} over ``axis``, by log-sum-exp."""
        x = self.data
        # NOTE: subtracting the max first keeps e^{z} ≤ 1, so nothing overflows, and the
        # largest term is e^0 = 1, so the log never sees 0.
        shifted = minus_max(x, axis, "log_softmax")
        out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))

        def backward(g):
            return (g - np.exp(out) * g.sum(axis=axis, keepdims=True),)

        return type(self).from_op(out, (self,), backward, "log_softmax")

    def clip(self, low=None, high=None) -> Self:
        """Clamp into [low, high]; gradient passes where low ≤ x ≤ high (as torch.clamp).

        >>> import dlprimer as dp
        >>> dp.Tensor([-2, 0.5, 3]).clip(0, 1).numpy()
        array([0. , 0.5, 1. ], dtype=float32)
        """
        if low is None and high is None:
            raise ValueError("clip needs low, high or both")
        a = self.data
        inside = np.ones(a.shape, dtype=bool)
        if low is not None:
            inside &= a >= low
        if high is not None:
            inside &= a <= high

        def backward(g):
            return (g * inside,)

        out = np.clip(a, low, high).astype(a.dtype, copy=False)
        return type(self).from_op(out, (self,), backward, "clip")
