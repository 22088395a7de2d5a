"""Batch normalization, one fused primitive and the composite that specifies it.

Batch normalization standardizes (13) each channel over the batch: for input x of shape
(n, C) or (n, C, *) the statistics of channel c are the sample mean μ_c and the biased
(1/m) sample variance σ²_c, eq. (10), of the m = n·(product of the trailing axes) entries
x[:, c, ...]:

    y = (x - μ) / √(σ² + eps) ⊙ weight + bias

In training mode μ and σ² are the batch's, and the running estimates are moved towards
them, ``running ← (1 - momentum)·running + momentum·batch``, with the UNBIASED variance
(m/(m-1))·σ² for ``running_var``; in evaluation mode the running estimates stand in for
μ and σ². These are PyTorch's semantics (``torch.nn.functional.batch_norm``).
"""

from __future__ import annotations

import numbers

import numpy as np

from dlprimer.engine.tensor import Tensor, as_tensor
from dlprimer.nn.functional.norm import check_eps

__all__ = ["batch_norm", "batch_norm_composite", "check_momentum"]


def check_momentum(momentum, allow_none: bool = False) -> float | None:
    """momentum as a float in [0, 1], or a ValueError; None (a layer's cumulative
    average, as PyTorch's) passes where ``allow_none``."""
    if momentum is None and allow_none:
        return None
    if (isinstance(momentum, bool) or not isinstance(momentum, numbers.Real)
            or not 0 <= momentum <= 1):
        also = " or None" if allow_none else ""
        raise ValueError(f"momentum must be a number in [0, 1] (the weight of the newest "
                         f"batch in the running statistics; 0.1 is usual){also}, "
                         f"got {momentum!r}")
    return float(momentum)


def _geometry(x: Tensor, running_mean, running_var, weight, bias, training: bool, op: str):
    """(reduction axes, broadcast shape (1, C, 1, ...), m) after checking the shapes."""
    if x.ndim < 2:
        raise ValueError(f"{op} expects input of shape (n, C) or (n, C, ...), channels on "
                         f"axis 1, got shape {x.shape}")
    C = x.shape[1]
    for name, value in (("running_mean", running_mean), ("running_var", running_var),
                        ("weight", weight), ("bias", bias)):
        if value is not None and np.shape(value) != (C,):
            raise ValueError(f"{op}: {name} must have shape ({C},), one entry per channel of "
                             f"the input {x.shape}, got {np.shape(value)}")
    if not training and (running_mean is None or running_var is None):
        raise ValueError(f"{op} in evaluation mode (training=False) normalizes with the "
                         "running statistics: pass running_mean and running_var")
    axes = (0,) + tuple(range(2, x.ndim))  # every axis but the channels
    m = x.size // C if C else 0  # entries per channel
    if training and m <= 1:
        raise ValueError(f"{op} in training mode needs more than 1 value per channel to "
                         f"estimate a variance, got input of shape {x.shape}")
    shape = (1, C) + (1,) * (x.ndim - 2)  # a per-channel vector, broadcast over x
    return axes, shape, m


def _update(running_mean, running_var, mean, variance, m: int, momentum: float) -> None:
    """Move the running estimates (in place) towards the batch's; unbiased variance."""
    if running_mean is not None:
        running_mean *= 1 - momentum
        running_mean += momentum * mean.reshape(-1)
    if running_var is not None:
        unbiased = variance.reshape(-1) * (m / (m - 1))  # Bessel's correction, n/(n-1)
        running_var *= 1 - momentum
        running_var += momentum * unbiased


def batch_norm(x, running_mean=None, running_var=None, weight=None, bias=None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalization of x (n, C, *) per channel, forward and backward in one node.

    Parameters
    ----------
    x : Tensor or array (n, C) or (n, C, *)
    running_mean, running_var : ndarray (C,) or None
        Updated in place when ``training``; used instead of the batch statistics when not.
    weight, bias : Tensor (C,) or None
        The learned scale and shift (none: 1 and 0).
    training : bool
        Batch statistics (True) or running statistics (False).
    momentum : float in [0, 1]
        Weight of this batch in the running statistics.
    eps : float > 0

    Returns y, a Tensor of the shape of x.

    >>> x = np.array([[1.0], [2.0], [3.0]])            # n = 3 samples of C = 1 channel
    >>> mean, var = np.zeros(1), np.ones(1)
    >>> batch_norm(x, mean, var, training=True).numpy().round(4).ravel()
    array([-1.2247,  0.    ,  1.2247])
    >>> mean, var                                      # 0.1·2, 0.9 + 0.1·1 (unbiased)
    (array([0.2]), array([1.]))
    """
    x = as_tensor(x)
    eps = check_eps(eps)
    momentum = check_momentum(momentum)
    params = [None if p is None else as_tensor(p, dtype=x.dtype) for p in (weight, bias)]
    axes, shape, m = _geometry(x, running_mean, running_var, *params, training, "batch_norm")
    a = x.data
    if training:
        mean = a.mean(axis=axes, keepdims=True)  # μ_c, (1, C, 1, ...)
        # NOTE: two passes, Σ(x - μ)² / m, not E[x²] - μ², which cancels catastrophically
        # for channels whose mean is large next to their spread.
        centred = a - mean  # (n, C, ...)
        variance = np.mean(centred * centred, axis=axes, keepdims=True)  # biased σ²_c
        _update(running_mean, running_var, mean, variance, m, momentum)
    else:
        mean = np.asarray(running_mean, dtype=a.dtype).reshape(shape)
        variance = np.asarray(running_var, dtype=a.dtype).reshape(shape)
        centred = a - mean
    inv_std = 1.0 / np.sqrt(variance + eps)  # (1, C, 1, ...)
    x_hat = centred * inv_std  # standardized, eq. (13)
    w, b = (None if p is None else p.data.reshape(shape) for p in params)
    out = x_hat if w is None else x_hat * w
    out = out if b is None else out + b

    # NOTE: fused for speed: the composite below takes about 15 graph nodes.
    def backward(g):
        gw = None if w is None else np.sum(g * x_hat, axis=axes)  # Σ g ⊙ x̂, (C,)
        gb = None if b is None else np.sum(g, axis=axes)  # Σ g, (C,)
        d_hat = g if w is None else g * w  # dL/dx̂
        if training:  # μ, σ depend on x: dL/dx = (d̂ - mean(d̂) - x̂ mean(d̂ ⊙ x̂)) / σ, d̂ = dL/dx̂
            gx = d_hat - d_hat.mean(axis=axes, keepdims=True)
            gx -= x_hat * np.mean(d_hat * x_hat, axis=axes, keepdims=True)
            gx *= inv_std
        else:  # constants: x̂ is an affine map of x
            gx = d_hat * inv_std
        return (gx,) + tuple(grad for grad, p in ((gw, w), (gb, b)) if p is not None)

    parents = (x,) + tuple(p for p in params if p is not None)
    return Tensor.from_op(out, parents, backward, "batch_norm")


def batch_norm_composite(x, running_mean=None, running_var=None, weight=None, bias=None,
                         training: bool = False, momentum: float = 0.1,
                         eps: float = 1e-5) -> Tensor:
    """``batch_norm`` written in Tensor primitives (mean, -, ⊙, √, /): the specification
    that the fused op is tested against; gradients come from the primitives.

    >>> x = np.array([[1.0], [2.0], [3.0]])
    >>> batch_norm_composite(x, training=True).numpy().round(4).ravel()
    array([-1.2247,  0.    ,  1.2247])
    """
    x = as_tensor(x)
    eps = check_eps(eps)
    momentum = check_momentum(momentum)
    params = [None if p is None else as_tensor(p, dtype=x.dtype) for p in (weight, bias)]
    axes, shape, m = _geometry(x, running_mean, running_var, *params, training,
                               "batch_norm_composite")
    if training:
        mean = x.mean(axis=axes, keepdims=True)  # (1, C, 1, ...)
        centred = x - mean  # (n, C, ...)
        variance = (centred * centred).mean(axis=axes, keepdims=True)  # biased σ², (1, C, ...)
        _update(running_mean, running_var, mean.data, variance.data, m, momentum)
    else:
        centred = x - Tensor(np.asarray(running_mean, dtype=x.dtype).reshape(shape))
        variance = Tensor(np.asarray(running_var, dtype=x.dtype).reshape(shape))
    out = centred / (variance + eps).sqrt()  # x̂, eq. (13)
    weight, bias = params
    if weight is not None:
        out = out * weight.reshape(*shape)
    if bias is not None:
        out = out + bias.reshape(*shape)
    return out
