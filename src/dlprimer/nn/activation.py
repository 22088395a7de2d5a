"""Activation functions as layers (Sec. 9), for ``Sequential``: no parameters, the
element-wise σ of eq. (33) applied to the previous layer's output."""

from __future__ import annotations

from dlprimer.engine.tensor import Tensor, as_tensor
from dlprimer.nn.module import Module, register

__all__ = ["ReLU", "Sigmoid", "Tanh"]


class _Activation(Module):
    """An element-wise activation; ``config()`` is its name alone."""

    def config(self) -> dict:
        return {"kind": type(self).__name__}


@register
class ReLU(_Activation):
    """a = ReLU(z) = max(0, z) element-wise (Sec. 9); the derivative used at 0 is 0.

    Input and output: any shape (n, ...).

    >>> import numpy as np
    >>> ReLU()(np.array([[-2.0, 0.0, 3.0]])).numpy()
    array([[0., 0., 3.]])
    """

    def forward(self, z) -> Tensor:
        return as_tensor(z).relu()


@register
class Sigmoid(_Activation):
    """a = σ_Sig(z) = 1 / (1 + e^{-z}) element-wise, eq. (1); never overflows.

    Input and output: any shape (n, ...).

    >>> import numpy as np
    >>> Sigmoid()(np.array([[0.0, -1000.0, 1000.0]])).numpy()     # σ(0) = 1/2
    array([[0.5, 0. , 1. ]])
    """

    def forward(self, z) -> Tensor:
        return as_tensor(z).sigmoid()


@register
class Tanh(_Activation):
    """a = tanh(z) element-wise (Sec. 9), with values in (-1, 1).

    Input and output: any shape (n, ...).

    >>> import numpy as np
    >>> Tanh()(np.array([[0.0, 1.0]])).numpy().round(4)
    array([[0.    , 0.7616]])
    """

    def forward(self, z) -> Tensor:
        return as_tensor(z).tanh()
