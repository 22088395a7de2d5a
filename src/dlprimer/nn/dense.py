"""Dense (fully connected) layer: the affine map of eq. (8)."""

from __future__ import annotations

import numpy as np

from dlprimer.engine.checks import positive_int
from dlprimer.engine.tensor import Tensor
from dlprimer.nn.functional.activations import affine
from dlprimer.nn.init import initialize
from dlprimer.nn.module import Module, Parameter, as_rng, register

__all__ = ["Dense"]


@register
class Dense(Module):
    """z = b + W u, eq. (8), with W ∈ R^{out × in} (rows are outputs) and b ∈ R^{out}.

    A batch is a data matrix X ∈ R^{n × in}, one sample a row as in eq. (9), so the
    batched form of z = b + W x is Z = X Wᵀ + b ∈ R^{n × out}.

    Parameters
    ----------
    in_features, out_features : int
        N_{ℓ-1} and N_ℓ.
    init : {"glorot", "he"}
        Weight initialization; biases start at zero.
    seed : int or numpy Generator
        Source of the initial weights.
    dtype : float32 (default) or float64

    >>> layer = Dense(3, 5)
    >>> layer.W.shape, layer.b.shape        # W ∈ R^{5×3}, b ∈ R^5, as in eq. (28)
    ((5, 3), (5,))
    >>> layer(np.ones((2, 3))).shape        # n = 2 samples
    (2, 5)
    """

    def __init__(self, in_features: int, out_features: int, init: str = "glorot", seed=0,
                 dtype=np.float32):
        in_features = positive_int(in_features, "in_features")
        out_features = positive_int(out_features, "out_features")
        rng = as_rng(seed)
        self.in_features = in_features
        self.out_features = out_features
        self.W = Parameter(initialize((out_features, in_features), in_features, out_features,
                                      rng, init, dtype), dtype)
        self.b = Parameter(np.zeros(out_features), dtype)

    def config(self) -> dict:
        return {"kind": "Dense", "in_features": self.in_features,
                "out_features": self.out_features, "dtype": str(self.dtype)}

    def forward(self, X, activation: str | None = None) -> Tensor:
        """Z = X Wᵀ + b (n, out); with ``activation`` ("relu", "sigmoid", "tanh") the
        layer's output a = σ(Z) of eq. (33), fused into the same graph node."""
        X = X if isinstance(X, Tensor) else Tensor(X, dtype=self.W.dtype)
        if X.ndim == 0 or X.shape[-1] != self.in_features:
            raise ValueError(
                f"Dense expects inputs with {self.in_features} features (last axis), got "
                f"shape {X.shape}"
            )
        return affine(X, self.W, self.b, activation)  # σ(X Wᵀ + b), (n, out)
