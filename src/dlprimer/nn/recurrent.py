"""Recurrent layers (primer Sec. 10): RNN and LSTM read a sequence one element at a time,
keeping an internal state.

Each layer calls one fused primitive of ``dlprimer.nn.functional.recurrent``
(``rnn_scan``, ``lstm_scan``, with backpropagation through time written out; their plain
composites ``rnn_scan_composite`` and ``lstm_scan_composite`` stand beside them as the
specification). Inputs are batch-first: X ∈ R^{n × T × I}, n sequences of T vectors
x_t ∈ R^I. Parameters follow PyTorch's nn.RNN / nn.LSTM (one layer, unidirectional) so
weights can be copied across. Both layers describe themselves with ``config()``.
"""

from __future__ import annotations

import numpy as np

from dlprimer.engine.checks import positive_int
from dlprimer.engine.tensor import Tensor
from dlprimer.nn.functional.recurrent import lstm_scan, rnn_scan
from dlprimer.nn.module import Module, Parameter, as_rng, register

__all__ = ["RNN", "LSTM"]


def _uniform(rng, shape, hidden_size, dtype):
    """U(-1/√H, 1/√H), PyTorch's initialization of recurrent layers."""
    bound = 1.0 / np.sqrt(hidden_size)
    return Parameter(rng.uniform(-bound, bound, size=shape), dtype)


def _check_sizes(**sizes):
    for name, value in sizes.items():
        positive_int(value, name)


def _sequence(layer, X) -> Tensor:
    X = X if isinstance(X, Tensor) else Tensor(X, dtype=layer.W_ih.dtype)
    if X.ndim != 3 or X.shape[2] != layer.input_size:
        raise ValueError(
            f"{type(layer).__name__} expects sequences of shape (n, T, {layer.input_size}) "
            f"(batch first), got shape {X.shape}"
        )
    if X.shape[1] == 0:
        raise ValueError(f"{type(layer).__name__} needs sequences of at least one element "
                         f"(T >= 1), got shape {X.shape}")
    return X


def _state(layer, state, n: int, dtype, name: str) -> Tensor:
    if state is None:
        return Tensor(np.zeros((n, layer.hidden_size), dtype=dtype))
    state = state if isinstance(state, Tensor) else Tensor(state, dtype=dtype)
    if state.shape != (n, layer.hidden_size):
        raise ValueError(f"{name} must have shape ({n}, {layer.hidden_size}) = (n, H), "
                         f"got {state.shape}")
    return state


@register
class RNN(Module):
    """Elman RNN: h_t = tanh(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh), h_0 = 0.

    Parameters
    ----------
    input_size, hidden_size : int
        I and H.
    seed : int or numpy Generator
        All parameters start U(-1/√H, 1/√H) (as PyTorch).
    dtype : float32 (default) or float64

    Parameters W_ih (H, I), W_hh (H, H), b_ih (H,), b_hh (H,).
    ``layer(X, h0=None)`` with X (n, T, I) returns (output (n, T, H), h_T (n, H)):
    the output stacks h_1, ..., h_T.

    >>> rnn = RNN(3, 5)
    >>> out, h = rnn(np.zeros((2, 7, 3)))
    >>> out.shape, h.shape
    ((2, 7, 5), (2, 5))
    """

    def __init__(self, input_size: int, hidden_size: int, seed=0, dtype=np.float32):
        _check_sizes(input_size=input_size, hidden_size=hidden_size)
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        rng = as_rng(seed)
        H = hidden_size
        self.W_ih = _uniform(rng, (H, input_size), H, dtype)
        self.W_hh = _uniform(rng, (H, H), H, dtype)
        self.b_ih = _uniform(rng, (H,), H, dtype)
        self.b_hh = _uniform(rng, (H,), H, dtype)

    def config(self) -> dict:
        return {"kind": "RNN", "input_size": self.input_size,
                "hidden_size": self.hidden_size, "dtype": str(self.dtype)}

    def forward(self, X, h0=None) -> tuple[Tensor, Tensor]:
        X = _sequence(self, X)
        n, T, _ = X.shape
        h = _state(self, h0, n, X.dtype, "h0")
        out = rnn_scan(X, self.W_ih, self.b_ih, self.b_hh, self.W_hh, h)  # h_1, ..., h_T
        return out, out[:, T - 1]  # (n, T, H), (n, H)


@register
class LSTM(Module):
    """Long short-term memory: a cell state c carries memory, gates decide what to keep.

    With z_t = x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh ∈ R^{4H}, split in PyTorch's order
    (i, f, g, o):

        i = σ(z_i)  input gate        f = σ(z_f)  forget gate
        g = tanh(z_g) candidate       o = σ(z_o)  output gate
        c_t = f ⊙ c_{t-1} + i ⊙ g     h_t = o ⊙ tanh(c_t)

    with σ the sigmoid (1) and ⊙ the Hadamard product (Sec. 7).

    Parameters
    ----------
    input_size, hidden_size : int
        I and H.
    seed : int or numpy Generator
        All parameters start U(-1/√H, 1/√H) (as PyTorch).
    dtype : float32 (default) or float64

    Parameters W_ih (4H, I), W_hh (4H, H), b_ih (4H,), b_hh (4H,).
    ``layer(X, state=None)`` with X (n, T, I) and state an optional pair (h_0, c_0) of
    (n, H) arrays returns (output (n, T, H), (h_T, c_T)).

    >>> lstm = LSTM(3, 5)
    >>> lstm.W_ih.shape, lstm.W_hh.shape
    ((20, 3), (20, 5))
    >>> out, (h, c) = lstm(np.zeros((2, 7, 3)))
    >>> out.shape, h.shape, c.shape
    ((2, 7, 5), (2, 5), (2, 5))
    """

    def __init__(self, input_size: int, hidden_size: int, seed=0, dtype=np.float32):
        _check_sizes(input_size=input_size, hidden_size=hidden_size)
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        rng = as_rng(seed)
        H = hidden_size
        self.W_ih = _uniform(rng, (4 * H, input_size), H, dtype)
        self.W_hh = _uniform(rng, (4 * H, H), H, dtype)
        self.b_ih = _uniform(rng, (4 * H,), H, dtype)
        self.b_hh = _uniform(rng, (4 * H,), H, dtype)

    def config(self) -> dict:
        return {"kind": "LSTM", "input_size": self.input_size,
                "hidden_size": self.hidden_size, "dtype": str(self.dtype)}

    def forward(self, X, state=None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        X = _sequence(self, X)
        n, T, _ = X.shape
        h0, c0 = (None, None) if state is None else state
        h = _state(self, h0, n, X.dtype, "h0")
        c = _state(self, c0, n, X.dtype, "c0")
        # h_1, ..., h_T, then c_T: (n, T + 1, H)
        Y = lstm_scan(X, self.W_ih, self.b_ih, self.b_hh, self.W_hh, h, c)
        return Y[:, :T], (Y[:, T - 1], Y[:, T])  # (n, T, H), ((n, H), (n, H))
