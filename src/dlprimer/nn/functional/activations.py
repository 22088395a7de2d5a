"""Differentiable functions of the primer, on numpy arrays or Tensors.

Given a Tensor they return a Tensor (so gradients flow); given an array or a list
they return a numpy array. Activations: sigmoid (1), softmax (4), ReLU and tanh (Sec. 9).

>>> softmax([0.03, -1.91, 1.56, 0.34]).round(3)   # the z of Sec. 5, giving ŷ of (14)
array([0.14 , 0.02 , 0.648, 0.191])
"""

from __future__ import annotations

import numpy as np

from dlprimer.engine.checks import as_float_array
from dlprimer.engine.numerics import minus_max, stable_sigmoid, stable_softmax
from dlprimer.engine.tensor import Tensor

__all__ = [
    "sigmoid", "softmax", "log_softmax", "relu", "tanh",
    "affine",
]


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
    out = stable_sigmoid(_plain(z))
    return float(out) if out.ndim == 0 else out


def softmax(z, axis: int = -1):
    """S_Softmax(z) = e^{z} / Σ_i e^{z_i}, eq. (4), over the last axis by default.

    With the z of Sec. 5 the exponentials are (1.030, 0.148, 4.759, 1.405) and
    1 / Σ e^{z_i} = 0.1362 (the primer prints 4.807 and 0.1353, slips of rounding), so

    >>> softmax([0.03, -1.91, 1.56, 0.34]).round(4)
    array([0.1403, 0.0202, 0.6481, 0.1913])
    >>> softmax([1000.0, -1000.0])   # max subtraction: no overflow
    array([1., 0.])

    An empty axis raises a ValueError, as ``scipy.special.softmax`` does (numpy's message
    would be about a "zero-size array"); an empty batch, shape (0, K), gives (0, K).
    """
    if isinstance(z, Tensor):
        return z.softmax(axis=axis)
    z = _plain(z)
    if z.ndim == 0:
        raise ValueError("softmax needs a vector (or a batch of them), got a scalar")
    return stable_softmax(z, axis)


def log_softmax(z, axis: int = -1):
    """log S_Softmax(z), by log-sum-exp: finite for any finite z.

    >>> log_softmax([1000.0, 0.0]).round(3)
    array([    0., -1000.])
    """
    if isinstance(z, Tensor):
        return z.log_softmax(axis=axis)
    z = _plain(z)
    if z.ndim == 0:
        raise ValueError("log_softmax needs a vector (or a batch of them), got a scalar")
    shifted = minus_max(z, axis, "log_softmax")
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


# ------------------------------------------------------------------------------ layers
# activation: (a = f(z), overwriting z; dL/dz from a and g = dL/da), for ``affine``
_ACTIVATIONS = {
    "relu": (lambda z: np.maximum(z, 0, out=z), lambda a, g: g * (a > 0)),
    "sigmoid": (stable_sigmoid, lambda a, g: g * a * (1 - a)),
    "tanh": (lambda z: np.tanh(z, out=z), lambda a, g: g * (1 - a * a)),
}


def activation_function(name: str | None):
    """(σ, dL/dz from σ(z) and dL/dσ) for a fused activation; (None, None) for None."""
    if name is None:
        return None, None
    if name not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)} or None, got "
                         f"{name!r}")
    return _ACTIVATIONS[name]


def affine(X: Tensor, W: Tensor, b: Tensor | None = None, activation: str | None = None
           ) -> Tensor:
    """The affine map of eq. (8) on a batch: Z = X Wᵀ + b, one sample a row; with
    ``activation`` ("relu", "sigmoid" or "tanh") the layer a = σ(Z) of eq. (33).

    Same result and gradients as ``X @ W.T + b`` (then ``.relu()`` ...), in one graph
    node instead of three or four. Fused for speed: a small network's step spends a
    noticeable share of its time on per-node bookkeeping, and σ is applied in place.

    >>> affine(Tensor([[1.0, 2.0]]), Tensor([[1.0, 0.0], [0.0, 3.0]]), Tensor([0.5, 0.0]))
    Tensor([[1.5, 6. ]], shape=(1, 2), dtype=float32)
    >>> affine(Tensor([[1.0, 2.0]]), Tensor([[-1.0, 0.0], [0.0, 3.0]]), activation="relu")
    Tensor([[0., 6.]], shape=(1, 2), dtype=float32)
    """
    x, w = X.data, W.data
    if w.ndim != 2 or x.shape[-1] != w.shape[1]:
        raise ValueError(f"affine map of inputs {x.shape} with W {w.shape}: W must be "
                         f"(out, in) with in = {x.shape[-1]}")
    sigma, derivative = activation_function(activation)
    # NOTE: leading axes flattened: one (n·T, in) x (in, out) product instead of numpy's
    # n separate (T, in) ones for a batch of sequences (3x faster at 32 x 128 rows).
    x2 = x.reshape(-1, x.shape[-1])  # (rows, in)
    out = (x2 @ w.T).reshape(*x.shape[:-1], w.shape[0])
    if b is not None:
        out += b.data
    if sigma is not None:
        out = sigma(out)  # a = σ(z)
    need_x, need_W = X.requires_grad, W.requires_grad

    def backward(g):
        if sigma is not None:
            g = derivative(out, g)  # dL/dz = σ'(z) ⊙ dL/da
        elif not (g.flags.c_contiguous or g.flags.f_contiguous):
            g = np.ascontiguousarray(g)  # keep the products on BLAS
        g2 = g.reshape(-1, g.shape[-1])  # (rows, out), leading axes flattened
        gX = (g2 @ w).reshape(x.shape) if need_x else None  # ∂C/∂X = G W
        gW = g2.T @ x2 if need_W else None  # ∂C/∂W = Gᵀ X
        gb = g2.sum(axis=0) if b is not None else None  # ∂C/∂b = Σ_rows G
        return (gX, gW, gb) if b is not None else (gX, gW)

    parents = (X, W, b) if b is not None else (X, W)
    return Tensor.from_op(out, parents, backward, "affine" if sigma is None else activation)
