"""Dropout layer: a regularizer that zeroes random entries while training."""

from __future__ import annotations

from dlprimer.engine.tensor import Tensor, as_tensor
from dlprimer.nn.functional.dropout import check_dropout_p, dropout
from dlprimer.nn.module import Module, as_rng, register

__all__ = ["Dropout"]


@register
class Dropout(Module):
    """Inverted dropout: in training mode y = x ⊙ r / (1 - p), r_i ~ Bernoulli(1 - p);
    in evaluation mode (``eval()``) or with p = 0, y = x.

    Each call in training mode draws a fresh mask from the layer's own Generator, so the
    same seed gives the same sequence of masks. Input and output: any shape (n, ...).

    Parameters
    ----------
    p : float in [0, 1)
        The probability of zeroing an entry.
    seed : int or numpy Generator
        Source of the masks (never numpy's global state). Not part of ``config()``.

    >>> import numpy as np
    >>> layer = Dropout(0.5)
    >>> sorted(set(layer(np.ones((4, 4))).numpy().ravel().tolist()))   # 0, or 1/(1 - p)
    [0.0, 2.0]
    >>> layer.eval()(np.ones((1, 3))).numpy()                          # identity
    array([[1., 1., 1.]])
    """

    def __init__(self, p: float = 0.5, seed=0):
        self.p = check_dropout_p(p)
        self.rng = as_rng(seed)

    def config(self) -> dict:
        return {"kind": "Dropout", "p": self.p}

    def forward(self, x) -> Tensor:
        return dropout(as_tensor(x), self.p, self.rng, training=self.training)
