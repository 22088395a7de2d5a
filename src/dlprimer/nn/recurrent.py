"""Recurrent layers (primer Sec. 10): RNN and LSTM read a sequence one element at a time,
keeping an internal state.

Both are written in Tensor ops (matrix products, slices, sigmoid, tanh, stack), so their
gradients (backpropagation through time) come from the engine. Inputs are batch-first:
X ∈ R^{n × T × I}, n sequences of T vectors x_t ∈ R^I. Parameters follow PyTorch's
nn.RNN / nn.LSTM (one layer, unidirectional) so weights can be copied across.
"""

from __future__ import annotations

import numpy as np

from dlprimer.nn.module import Module, Parameter, as_rng
from dlprimer.ops import stack
from dlprimer.tensor import Tensor

__all__ = ["RNN", "LSTM"]


def _uniform(rng, shape, hidden_size, dtype):
    """U(-1/√H, 1/√H), PyTorch's initialization of recurrent layers."""
    bound = 1.0 / np.sqrt(hidden_size)
    return Parameter(rng.uniform(-bound, bound, size=shape), dtype)


def _check_sizes(**sizes):
    for name, value in sizes.items():
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _sequence(layer, X) -> Tensor:
    X = X if isinstance(X, Tensor) else Tensor(X, dtype=layer.W_ih.dtype)
    if X.ndim != 3 or X.shape[2] != layer.input_size:
        raise ValueError(
            f"{type(layer).__name__} expects sequences of shape (n, T, {layer.input_size}) "
            f"(batch first), got shape {X.shape}"
        )
    return X


def _state(layer, state, n: int, dtype, name: str) -> Tensor:
    if state is None:
        return Tensor(np.zeros((n, layer.hidden_size), dtype=dtype))
    state = state if isinstance(state, Tensor) else Tensor(state, dtype=dtype)
    if state.shape != (n, layer.hidden_size):
        raise ValueError(f"{name} must have shape ({n}, {layer.hidden_size}) = (n, H), "
                         f"got {state.shape}")
    return state


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

    def forward(self, X, h0=None) -> tuple[Tensor, Tensor]:
        X = _sequence(self, X)
        n, T, _ = X.shape
        h = _state(self, h0, n, X.dtype, "h0")
        # The input's share does not depend on h, so one matrix product covers every t.
        U = X @ self.W_ih.T + (self.b_ih + self.b_hh)  # (n, T, H)
        outputs = []
        for t in range(T):  # one element at a time, carrying the state h
            h = (U[:, t] + h @ self.W_hh.T).tanh()  # (n, H)
            outputs.append(h)
        return stack(outputs, axis=1), h  # (n, T, H), (n, H)


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

    def forward(self, X, state=None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        X = _sequence(self, X)
        n, T, _ = X.shape
        h0, c0 = (None, None) if state is None else state
        h = _state(self, h0, n, X.dtype, "h0")
        c = _state(self, c0, n, X.dtype, "c0")
        H = self.hidden_size
        # The input's share of z_t does not depend on h, so one product covers every t.
        U = X @ self.W_ih.T + (self.b_ih + self.b_hh)  # (n, T, 4H)
        outputs = []
        for t in range(T):  # one element at a time, carrying the state (h, c)
            z = U[:, t] + h @ self.W_hh.T  # (n, 4H)
            i = z[:, 0:H].sigmoid()
            f = z[:, H:2 * H].sigmoid()
            g = z[:, 2 * H:3 * H].tanh()
            o = z[:, 3 * H:4 * H].sigmoid()
            c = f * c + i * g  # (n, H)
            h = o * c.tanh()  # (n, H)
            outputs.append(h)
        return stack(outputs, axis=1), (h, c)  # (n, T, H), ((n, H), (n, H))
