"""Inverted dropout, forward and backward side by side."""

from __future__ import annotations

import numbers

import numpy as np

from dlprimer.engine.tensor import Tensor, as_tensor

__all__ = ["check_dropout_p", "dropout"]


def check_dropout_p(p) -> float:
    """p (the probability of zeroing an entry) as a float in [0, 1), or a ValueError."""
    if (isinstance(p, bool) or not isinstance(p, numbers.Real) or not np.isfinite(p)
            or not 0 <= p < 1):
        raise ValueError(f"p (the probability of zeroing an entry) must be a number in [0, 1), "
                         f"got {p!r}; p = 1 would zero every entry and divide by 1 - p = 0")
    return float(p)


def dropout(x, p: float, rng: np.random.Generator, training: bool = True) -> Tensor:
    """Inverted dropout: y = x ⊙ r / (1 - p) with r_i ~ Bernoulli(1 - p) drawn from ``rng``.

    Each entry is zeroed with probability p and the survivors are scaled by 1/(1 - p), so
    E[y] = x and evaluation (``training=False``, or p = 0) is the identity; the gradient
    is g ⊙ r / (1 - p), the same mask.

    Parameters
    ----------
    x : Tensor or array, any shape
    p : float in [0, 1)
    rng : numpy Generator
        The source of the mask (never numpy's global state).
    training : bool

    >>> y = dropout(np.ones((2, 4)), 0.5, np.random.default_rng(0))
    >>> sorted(set(y.numpy().ravel().tolist()))     # dropped, or kept and doubled
    [0.0, 2.0]
    """
    x = as_tensor(x)
    p = check_dropout_p(p)
    if not training or p == 0:
        return x
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy Generator, got {type(rng).__name__}")
    # r / (1 - p): 0 where dropped (u < p, probability p), 1/(1 - p) where kept
    scaled_mask = (rng.random(x.shape) >= p).astype(x.dtype) / np.asarray(1 - p, x.dtype)

    def backward(g):
        return (g * scaled_mask,)

    return Tensor.from_op(x.data * scaled_mask, (x,), backward, "dropout")
