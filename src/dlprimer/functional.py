"""Differentiable functions of the primer, on numpy arrays or Tensors.

Given a Tensor they return a Tensor (so gradients flow); given an array or a list
they return a numpy array. Activations: sigmoid (1), softmax (4), ReLU and tanh (Sec. 9).

>>> softmax([0.03, -1.91, 1.56, 0.34]).round(3)   # the z of Sec. 5, giving ŷ of (14)
array([0.14 , 0.02 , 0.648, 0.191])
"""

from __future__ import annotations

import numpy as np

from dlprimer._checks import as_float_array
from dlprimer.tensor import Tensor, _sigmoid, _softmax

__all__ = ["sigmoid", "softmax", "log_softmax", "relu", "tanh"]


def _plain(z) -> np.ndarray:
    """An array-like input as a float array (float32 stays float32, the rest float64)."""
    if isinstance(z, np.ndarray) and z.dtype == np.float32:
        return z
    return as_float_array(z, "z")


def sigmoid(z):
    """σ_Sig(z) = 1 / (1 + e^{-z}), eq. (1), element-wise; never overflows.

    >>> sigmoid(0.0)                 # σ(0) = 1/2, as the primer notes
    0.5
    >>> sigmoid(np.array([-1000.0, 1000.0]))
    array([0., 1.])
    """
    if isinstance(z, Tensor):
        return z.sigmoid()
    out = _sigmoid(_plain(z))
    return float(out) if out.ndim == 0 else out


def softmax(z, axis: int = -1):
    """S_Softmax(z) = e^{z} / Σ_i e^{z_i}, eq. (4), over the last axis by default.

    With the z of Sec. 5 the exponentials are (1.030, 0.148, 4.759, 1.405) and
    1 / Σ e^{z_i} = 0.1362 (the primer prints 4.807 and 0.1353, slips of rounding), so

    >>> softmax([0.03, -1.91, 1.56, 0.34]).round(4)
    array([0.1403, 0.0202, 0.6481, 0.1913])
    >>> softmax([1000.0, -1000.0])   # max subtraction: no overflow
    array([1., 0.])
    """
    if isinstance(z, Tensor):
        return z.softmax(axis=axis)
    z = _plain(z)
    if z.ndim == 0:
        raise ValueError("softmax needs a vector (or a batch of them), got a scalar")
    return _softmax(z, axis)


def log_softmax(z, axis: int = -1):
    """log S_Softmax(z), by log-sum-exp: finite for any finite z.

    >>> log_softmax([1000.0, 0.0]).round(3)
    array([    0., -1000.])
    """
    if isinstance(z, Tensor):
        return z.log_softmax(axis=axis)
    z = _plain(z)
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def relu(z):
    """ReLU(z) = max(0, z) element-wise (Sec. 9).

    >>> relu(np.array([-2.0, 0.0, 3.0]))
    array([0., 0., 3.])
    """
    if isinstance(z, Tensor):
        return z.relu()
    return np.maximum(_plain(z), 0)


def tanh(z):
    """Hyperbolic tangent element-wise (Sec. 9).

    >>> tanh(np.array([0.0]))
    array([0.])
    """
    if isinstance(z, Tensor):
        return z.tanh()
    return np.tanh(_plain(z))
