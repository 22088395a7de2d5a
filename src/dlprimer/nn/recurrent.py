"""Recurrent layers (primer Sec. 10): RNN and LSTM read a sequence one element at a time,
keeping an internal state.

Each layer is one fused primitive (``_rnn_scan``, ``_lstm_scan``): the inputs' share of
every step, W_ih x_t + b, in one batched product, then a forward loop over t that keeps
each step's gates and states; its backward is backpropagation through time written out,
step by step in reverse. NOTE: fused for
speed: as a graph of Tensor ops, each step was about twenty nodes, and an LSTM over 50
steps ran 8x slower than PyTorch's. Inputs are batch-first: X ∈ R^{n × T × I}, n
sequences of T vectors x_t ∈ R^I. Parameters follow PyTorch's nn.RNN / nn.LSTM (one
layer, unidirectional) so weights can be copied across.
"""

from __future__ import annotations

import numpy as np

from dlprimer.engine.tensor import Tensor
from dlprimer.nn.module import Module, Parameter, as_rng

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
        out = _rnn_scan(X, self.W_ih, self.b_ih, self.b_hh, self.W_hh, h)  # h_1, ..., h_T
        return out, out[:, T - 1]  # (n, T, H), (n, H)


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
        # h_1, ..., h_T, then c_T: (n, T + 1, H)
        Y = _lstm_scan(X, self.W_ih, self.b_ih, self.b_hh, self.W_hh, h, c)
        return Y[:, :T], (Y[:, T - 1], Y[:, T])  # (n, T, H), ((n, H), (n, H))


# NOTE: inside the scans a step's vectors are columns: u_t, z_t, h_t are (·, n) blocks of
# (T, ·, n) arrays, so z_t = W_hh h_{t-1} + u_t is one product and each LSTM gate is a
# contiguous block of rows of z_t. numpy works on contiguous blocks about twice as fast as
# on the strided column slices of batch-first (n, 4H) rows.


def _steps_of(a: np.ndarray) -> np.ndarray:
    """Batch-first (n, T, k) -> contiguous (T, k, n): step t's vectors as columns."""
    return np.ascontiguousarray(a.transpose(1, 2, 0))


def _batch_first(a: np.ndarray) -> np.ndarray:
    """(T, k, n) -> contiguous (n, T, k), the layers' layout."""
    return np.ascontiguousarray(a.transpose(2, 0, 1))


def _input_share(X: Tensor, W_ih: Tensor, b_ih: Tensor, b_hh: Tensor):
    """(x, u): the inputs x_t and their share u_t = W_ih x_t + b_ih + b_hh of z_t, for
    every t at once (it does not depend on h), as (T, I, n) and (T, k, n)."""
    x = _steps_of(X.data)  # (T, I, n)
    u = np.matmul(W_ih.data, x)  # (T, k, n)
    u += (b_ih.data + b_hh.data)[:, None]
    return x, u


def _weight_gradients(dZ: np.ndarray, X: Tensor, x: np.ndarray, W_ih: np.ndarray,
                      h0: np.ndarray, hs: np.ndarray) -> tuple[np.ndarray | None, ...]:
    """dL/dX (None unless X needs it), dL/dW_ih, dL/db (both biases) and dL/dW_hh from
    dZ = (dL/dz_t) (T, k, n), with z_t = W_ih x_t + b_ih + b_hh + W_hh h_{t-1}."""
    k, H = dZ.shape[1], hs.shape[1]
    dX = None
    if X.requires_grad:
        dX = _batch_first(np.matmul(W_ih.T, dZ))  # W_ihᵀ dz_t for every t: (n, T, I)
    dZ_all = dZ.transpose(1, 0, 2).reshape(k, -1)  # (k, T·n): every step's columns
    x_all = x.transpose(1, 0, 2).reshape(x.shape[1], -1)  # (I, T·n)
    h_prev = np.concatenate([h0.T[None], hs[:-1]]).transpose(1, 0, 2).reshape(H, -1)
    # Σ_t dz_t x_tᵀ, Σ_t Σ_samples dz_t, Σ_t dz_t h_{t-1}ᵀ
    return dX, dZ_all @ x_all.T, dZ_all.sum(axis=1), dZ_all @ h_prev.T


def _rnn_scan(X: Tensor, W_ih: Tensor, b_ih: Tensor, b_hh: Tensor, W_hh: Tensor,
              h0: Tensor) -> Tensor:
    """h_t = tanh(W_ih x_t + b_ih + b_hh + W_hh h_{t-1}) for t = 1..T, from X (n, T, I)
    and h_0 (n, H); returns (h_1, ..., h_T) as (n, T, H)."""
    x, u = _input_share(X, W_ih, b_ih, b_hh)  # (T, I, n), (T, H, n)
    w = W_hh.data  # (H, H)
    T, H, n = u.shape
    hs = np.empty((T, H, n), np.result_type(u, w, h0.data))  # h_1, ..., h_T
    h = h0.data.T  # (H, n)
    for t in range(T):  # one element at a time, carrying the state h
        z = w @ h  # (H, n)
        z += u[t]
        h = np.tanh(z, out=hs[t])

    def backward(g):  # backpropagation through time, t = T, ..., 1
        g = _steps_of(g)  # dL/dh_t from the outputs, (T, H, n)
        dZ = np.empty_like(hs)  # dL/dz_t for every t
        dh = np.zeros((H, n), hs.dtype)  # dL/dh_t through h_{t+1}
        for t in reversed(range(T)):
            dh += g[t]  # ... plus the output's own gradient
            dz = dZ[t]
            np.multiply(hs[t], hs[t], out=dz)
            np.subtract(1, dz, out=dz)  # tanh' = 1 - h_t²
            dz *= dh
            dh = w.T @ dz  # dL/dh_{t-1}
        dX, dW_ih, db, dW_hh = _weight_gradients(dZ, X, x, W_ih.data, h0.data, hs)
        return dX, dW_ih, db, db, dW_hh, dh.T

    return Tensor.from_op(_batch_first(hs), (X, W_ih, b_ih, b_hh, W_hh, h0), backward, "rnn")


def _lstm_scan(X: Tensor, W_ih: Tensor, b_ih: Tensor, b_hh: Tensor, W_hh: Tensor,
               h0: Tensor, c0: Tensor) -> Tensor:
    """The LSTM recurrence from X (n, T, I) and (h_0, c_0): returns (n, T + 1, H) holding
    h_1, ..., h_T and then c_T (one array, so that one node carries both outputs)."""
    x, u = _input_share(X, W_ih, b_ih, b_hh)  # (T, I, n), (T, 4H, n)
    w = W_hh.data  # (4H, H)
    T, H4, n = u.shape
    H = H4 // 4
    dtype = np.result_type(u, w, h0.data, c0.data)
    hs = np.empty((T, H, n), dtype)  # h_1, ..., h_T
    gates = np.empty((T, H4, n), dtype)  # i, f, g, o of every step, after σ / tanh
    cs = np.empty((T + 1, H, n), dtype)  # c_0, ..., c_T
    tanh_c = np.empty((T, H, n), dtype)  # tanh(c_1), ..., tanh(c_T)
    cs[0] = c0.data.T
    h = h0.data.T  # (H, n)
    for t in range(T):  # one element at a time, carrying the state (h, c)
        z = w @ h  # (4H, n)
        z += u[t]
        a = gates[t]
        # NOTE: σ(z) = (1 + tanh(z/2)) / 2: never overflows, and four array operations
        # instead of the seven of dlprimer's general sigmoid, which also keeps the relative
        # precision of tiny values; a gate only multiplies, so absolute precision suffices.
        np.multiply(z, 0.5, out=a)
        np.tanh(a, out=a)
        a *= 0.5
        a += 0.5  # i, f, o (and g, replaced next)
        np.tanh(z[2 * H:3 * H], out=a[2 * H:3 * H])
        i, f, g, o = a[:H], a[H:2 * H], a[2 * H:3 * H], a[3 * H:]
        c = cs[t + 1]
        np.multiply(f, cs[t], out=c)
        c += i * g  # c_t = f ⊙ c_{t-1} + i ⊙ g
        np.tanh(c, out=tanh_c[t])
        h = np.multiply(o, tanh_c[t], out=hs[t])  # h_t = o ⊙ tanh(c_t)
    Y = np.empty((n, T + 1, H), dtype)
    Y[:, :T] = hs.transpose(2, 0, 1)
    Y[:, T] = cs[T].T

    def backward(gY):  # backpropagation through time, t = T, ..., 1
        g_h = _steps_of(gY[:, :T])  # dL/dh_t from the outputs, (T, H, n)
        dZ = np.empty_like(gates)  # dL/dz_t for every t
        dh = np.zeros((H, n), dtype)  # dL/dh_t through step t + 1
        dc = np.array(gY[:, T].T, dtype=dtype)  # dL/dc_t; at t = T from the output c_T
        # What does not depend on the gradient, for every step at once (fewer, larger
        # numpy calls than inside the loop): the gates' slopes dσ/dz and dh_t/dc_t.
        slopes = gates * (1 - gates)  # σ' = σ (1 - σ) for i, f, o ...
        g_all = gates[:, 2 * H:3 * H]
        np.multiply(g_all, g_all, out=slopes[:, 2 * H:3 * H])
        np.subtract(1, slopes[:, 2 * H:3 * H], out=slopes[:, 2 * H:3 * H])  # tanh' = 1 - g²
        dh_dc = gates[:, 3 * H:] * (1 - tanh_c * tanh_c)  # o ⊙ tanh'(c_t)
        for t in reversed(range(T)):
            dh += g_h[t]
            a, dz = gates[t], dZ[t]
            i, f, g = a[:H], a[H:2 * H], a[2 * H:3 * H]
            di, df, dg, do = dz[:H], dz[H:2 * H], dz[2 * H:3 * H], dz[3 * H:]
            np.multiply(dh, tanh_c[t], out=do)  # dL/do
            dc += dh * dh_dc[t]  # through h_t = o ⊙ tanh(c_t)
            np.multiply(dc, g, out=di)
            np.multiply(dc, cs[t], out=df)
            np.multiply(dc, i, out=dg)
            dc *= f  # dL/dc_{t-1}
            dz *= slopes[t]  # dL/dz_t
            dh = w.T @ dz  # dL/dh_{t-1}
        dX, dW_ih, db, dW_hh = _weight_gradients(dZ, X, x, W_ih.data, h0.data, hs)
        return dX, dW_ih, db, db, dW_hh, dh.T, dc.T

    return Tensor.from_op(Y, (X, W_ih, b_ih, b_hh, W_hh, h0, c0), backward, "lstm")
