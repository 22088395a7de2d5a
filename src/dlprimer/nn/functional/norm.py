"""Layer normalization, one fused primitive, and beside it its specification in Tensor
primitives (``layer_norm_composite``); re-exported by ``dlprimer.nn.functional``."""

from __future__ import annotations

import numbers

import numpy as np

from dlprimer.engine.tensor import Tensor, as_tensor, unbroadcast

__all__ = ["layer_norm", "layer_norm_composite"]


def check_eps(eps) -> float:
    """eps of a normalization as a float, or a ValueError unless it is finite and > 0.

    NOTE: stricter than PyTorch, which takes any float: with eps ≤ 0 a constant row
    divides 0 by 0 (NaN), and a negative eps can make σ² + eps negative.
    """
    if (isinstance(eps, bool) or not isinstance(eps, numbers.Real)
            or not np.isfinite(eps) or eps <= 0):
        raise ValueError(f"eps must be a finite number > 0 (it keeps √(σ² + eps) away from 0 "
                         f"for a constant row; 1e-5 is usual), got {eps!r}")
    return float(eps)


def layer_norm(x, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """Layer normalization: standardize (13) each sample over its last axis, then scale.

    y = (x - μ) / √(σ² + eps) ⊙ weight + bias, with μ and σ² the sample mean and the
    (1/d) sample variance (10) of the last axis.

    >>> layer_norm(np.array([[1.0, 2.0, 3.0]])).numpy().round(4)
    array([[-1.2247,  0.    ,  1.2247]])

    Stable for any finite x, even where (x - μ)² overflows (float32 beyond about 1e19):

    >>> layer_norm(np.array([1e30, 2e30, 3e30], dtype=np.float32)).numpy().round(4)
    array([-1.2247,  0.    ,  1.2247], dtype=float32)
    """
    x = as_tensor(x)
    eps = check_eps(eps)
    params = [None if p is None else as_tensor(p, dtype=x.dtype) for p in (weight, bias)]
    a = x.data
    # NOTE: (x - μ)² overflows for |x| beyond √max (1.8e19 in float32, 1.3e154 in float64),
    # and σ² = inf would give an output of zeros. So a row whose largest |x| comes within
    # 2^20 of that is divided by the power of two 2^k that brings it into [1, 2): exact,
    # every digit kept. x̂ = (x - μ) / √(σ² + eps) is unchanged when x is scaled by 2^-k
    # and eps by 4^-k. Other rows (k = 0) are computed as they are.
    top = np.max(np.abs(a), axis=-1, keepdims=True, initial=0)  # (..., 1)
    e = np.frexp(np.where(np.isfinite(top), top, 0))[1]  # top < 2^e
    k = np.where(e > np.finfo(a.dtype).maxexp // 2 - 20, e - 1, 0)  # (..., 1)
    scaled = bool(k.any())
    if scaled:
        a = np.ldexp(a, -k)  # |a| < 2 in the scaled rows: squares of differences stay ≤ 16
        # NOTE: x̂ is unchanged by a shift too; shifting by the row's first entry makes a
        # constant row exactly 0, where its mean computed directly can be off by an ulp, a
        # rounding noise that is not small next to eps / 4^k.
        a = a - a[..., :1]
    centred = a - a.mean(axis=-1, keepdims=True)  # x - μ (scaled by 2^-k), (..., d)
    variance = np.mean(centred * centred, axis=-1, keepdims=True)  # σ², 1/d as (10)
    eps_k = eps
    if scaled:  # eps / 4^k; where that underflows, the smallest normal number keeps 0/0 away
        eps_k = np.maximum(np.ldexp(np.asarray(eps, dtype=a.dtype), -2 * k),
                           np.finfo(a.dtype).tiny)
    inv_std = 1.0 / np.sqrt(variance + eps_k)  # (..., 1), for the scaled row
    x_hat = centred * inv_std  # standardized, eq. (13)
    w, b = (None if p is None else p.data for p in params)
    out = x_hat if w is None else x_hat * w
    out = out if b is None else out + b

    # NOTE: one primitive with its backward written out, for speed: as a composite of
    # Tensor ops it took about 12 graph nodes and 4x PyTorch's time.
    def backward(g):
        gw = None if w is None else unbroadcast(g * x_hat, w.shape)  # Σ g ⊙ x̂
        gb = None if b is None else unbroadcast(g, b.shape)  # Σ g
        d_hat = g if w is None else g * w  # dL/dx̂
        # x̂ = (x - μ)/σ: dL/dx = (dL/dx̂ - mean(dL/dx̂) - x̂ mean(dL/dx̂ ⊙ x̂)) / σ
        gx = d_hat - d_hat.mean(axis=-1, keepdims=True)
        gx -= x_hat * np.mean(d_hat * x_hat, axis=-1, keepdims=True)
        gx *= inv_std
        if scaled:  # the true 1/σ is inv_std · 2^-k
            gx = np.ldexp(gx, -k)
        return (gx,) + tuple(grad for grad, p in ((gw, w), (gb, b)) if p is not None)

    parents = (x,) + tuple(p for p in params if p is not None)
    return Tensor.from_op(out, parents, backward, "layer_norm")


def layer_norm_composite(x, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """Layer normalization in Tensor primitives: the specification of the fused
    ``layer_norm``, with the same parameters.

    y = (x - μ) / √(σ² + eps) ⊙ weight + bias: each sample standardized (13) over its last
    axis with the sample mean μ and the (1/d) sample variance σ² of eq. (10).
    NOTE: a deliberate simplification: unlike ``layer_norm`` it does not rescale rows whose
    squared deviations overflow (|x| beyond about 1e19 in float32, 1e154 in float64).

    >>> layer_norm_composite(np.array([[1.0, 2.0, 3.0]])).numpy().round(4)
    array([[-1.2247,  0.    ,  1.2247]])
    """
    x = as_tensor(x)
    eps = check_eps(eps)
    mu = x.mean(axis=-1, keepdims=True)  # μ, (..., 1)
    centred = x - mu  # x - μ, (..., d)
    variance = (centred * centred).mean(axis=-1, keepdims=True)  # σ², (..., 1)
    y = centred / (variance + eps).sqrt()  # x̂, eq. (13)
    if weight is not None:
        y = y * as_tensor(weight, dtype=x.dtype)
    if bias is not None:
        y = y + as_tensor(bias, dtype=x.dtype)
    return y
