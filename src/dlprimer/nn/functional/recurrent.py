"""Recurrent scans (primer Sec. 10): the Elman RNN and the LSTM run over a whole sequence;
re-exported by ``dlprimer.nn.functional`` and used by the layers ``nn.RNN`` and ``nn.LSTM``.

``rnn_scan`` and ``lstm_scan`` are fused primitives: the inputs' share of every step,
W_ih x_t + b, in one batched product, then a forward loop over t that keeps each step's
gates and states; the backward is backpropagation through time written out, step by step
in reverse. NOTE: fused for speed: as a graph of Tensor ops each step was about twenty
nodes, and an LSTM over 50 steps ran 8x slower than PyTorch's. Beside each stands its
specification, ``rnn_scan_composite`` and ``lstm_scan_composite``: the same recurrence
written in Tensor primitives, one line per equation, with gradients from the engine.

Inputs are batch-first: X ∈ R^{n × T × I}, n sequences of T vectors x_t ∈ R^I. Weights
follow PyTorch's nn.RNN / nn.LSTM (one layer, unidirectional): W_ih (k, I), W_hh (k, H),
b_ih and b_hh (k,), with k = H for the RNN and k = 4H for the LSTM.
"""

from __future__ import annotations

import numpy as np

from dlprimer.engine.ops import concatenate, stack
from dlprimer.engine.tensor import Tensor, as_tensor
from dlprimer.nn.functional.lstm_kernel import lstm_forward

__all__ = ["rnn_scan", "lstm_scan", "rnn_scan_composite", "lstm_scan_composite"]


def _check_scan(op: str, X, W_ih, b_ih, b_hh, W_hh, states, gates: int) -> tuple:
    """The scan's operands as Tensors of X's dtype, or a ValueError naming the shape that
    does not fit X (n, T, I), W_ih (gates·H, I), W_hh (gates·H, H), b (gates·H,), states
    (n, H)."""
    X = as_tensor(X)
    W_ih, b_ih, b_hh, W_hh = (as_tensor(a, dtype=X.dtype) for a in (W_ih, b_ih, b_hh, W_hh))
    states = tuple(as_tensor(s, dtype=X.dtype) for s in states)
    if X.ndim != 3 or X.shape[1] == 0:
        raise ValueError(f"{op} expects sequences X of shape (n, T, I) with T >= 1 (batch "
                         f"first), got shape {X.shape}")
    n, _, I = X.shape
    H = W_hh.shape[-1] if W_hh.ndim == 2 else 0
    expected = {"W_ih": (gates * H, I), "W_hh": (gates * H, H), "b_ih": (gates * H,),
                "b_hh": (gates * H,)}
    expected.update({name: (n, H) for name in ("h0", "c0")[:len(states)]})
    for (name, shape), t in zip(expected.items(), (W_ih, W_hh, b_ih, b_hh) + states,
                                strict=True):
        if t.shape != shape:
            raise ValueError(f"{op}: {name} must have shape {shape} for X of shape {X.shape} "
                             f"and {gates}·H = {gates * H} gate rows, got {t.shape}")
    return (X, W_ih, b_ih, b_hh, W_hh) + states


# ------------------------------------------------------------------- the composites
def rnn_scan_composite(X, W_ih, b_ih, b_hh, W_hh, h0) -> Tensor:
    """Elman RNN over a sequence, in Tensor primitives: the specification of ``rnn_scan``.

    h_t = tanh(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh) for t = 1..T, from h_0.

    Parameters
    ----------
    X : (n, T, I);  W_ih : (H, I);  b_ih, b_hh : (H,);  W_hh : (H, H);  h0 : (n, H)

    Returns (h_1, ..., h_T) stacked as (n, T, H).

    >>> H, I = 2, 1
    >>> out = rnn_scan_composite(np.ones((1, 3, I)), np.ones((H, I)), np.zeros(H),
    ...                          np.zeros(H), np.zeros((H, H)), np.zeros((1, H)))
    >>> out.shape, round(float(out.numpy()[0, 0, 0]), 4)      # tanh(1)
    ((1, 3, 2), 0.7616)
    """
    X, W_ih, b_ih, b_hh, W_hh, h = _check_scan("rnn_scan_composite", X, W_ih, b_ih, b_hh,
                                                W_hh, (h0,), gates=1)
    hs = []
    for t in range(X.shape[1]):
        x_t = X[:, t]  # (n, I)
        h = (x_t @ W_ih.T + b_ih + h @ W_hh.T + b_hh).tanh()  # h_t, (n, H)
        hs.append(h)
    return stack(hs, axis=1)  # (n, T, H)


def lstm_scan_composite(X, W_ih, b_ih, b_hh, W_hh, h0, c0) -> Tensor:
    """The LSTM over a sequence, in Tensor primitives: the specification of ``lstm_scan``.

    z_t = x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh ∈ R^{4H}, split in PyTorch's order
    (i, f, g, o); i = σ(z_i), f = σ(z_f), g = tanh(z_g), o = σ(z_o);
    c_t = f ⊙ c_{t-1} + i ⊙ g;  h_t = o ⊙ tanh(c_t); σ the sigmoid (1), ⊙ Sec. 7.

    Parameters
    ----------
    X : (n, T, I);  W_ih : (4H, I);  b_ih, b_hh : (4H,);  W_hh : (4H, H)
    h0, c0 : (n, H)

    Returns (n, T + 1, H): h_1, ..., h_T and then c_T, the layout of ``lstm_scan``.

    >>> H = 2
    >>> Y = lstm_scan_composite(np.ones((1, 3, 1)), np.ones((4 * H, 1)), np.zeros(4 * H),
    ...                         np.zeros(4 * H), np.zeros((4 * H, H)), np.zeros((1, H)),
    ...                         np.zeros((1, H)))
    >>> Y.shape
    (1, 4, 2)
    """
    X, W_ih, b_ih, b_hh, W_hh, h, c = _check_scan("lstm_scan_composite", X, W_ih, b_ih, b_hh,
                                                   W_hh, (h0, c0), gates=4)
    H = W_hh.shape[1]
    hs = []
    for t in range(X.shape[1]):
        z = X[:, t] @ W_ih.T + b_ih + h @ W_hh.T + b_hh  # z_t, (n, 4H)
        i = z[:, :H].sigmoid()  # input gate
        f = z[:, H:2 * H].sigmoid()  # forget gate
        g = z[:, 2 * H:3 * H].tanh()  # candidate
        o = z[:, 3 * H:].sigmoid()  # output gate
        c = f * c + i * g  # c_t, (n, H)
        h = o * c.tanh()  # h_t, (n, H)
        hs.append(h)
    n = X.shape[0]
    return concatenate([stack(hs, axis=1), c.reshape(n, 1, H)], axis=1)  # (n, T + 1, H)


# ------------------------------------------------------------------- the fused scans
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


def rnn_scan(X, W_ih, b_ih, b_hh, W_hh, h0) -> Tensor:
    """Elman RNN over a sequence as one fused primitive (specification:
    ``rnn_scan_composite``): h_t = tanh(W_ih x_t + b_ih + b_hh + W_hh h_{t-1}), t = 1..T.

    Parameters
    ----------
    X : (n, T, I);  W_ih : (H, I);  b_ih, b_hh : (H,);  W_hh : (H, H);  h0 : (n, H)

    Returns (h_1, ..., h_T) as (n, T, H).

    >>> H = 2
    >>> out = rnn_scan(np.ones((1, 3, 1)), np.ones((H, 1)), np.zeros(H), np.zeros(H),
    ...                np.zeros((H, H)), np.zeros((1, H)))
    >>> out.shape, round(float(out.numpy()[0, 0, 0]), 4)      # tanh(1)
    ((1, 3, 2), 0.7616)
    """
    X, W_ih, b_ih, b_hh, W_hh, h0 = _check_scan("rnn_scan", X, W_ih, b_ih, b_hh, W_hh, (h0,),
                                                 gates=1)
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


def lstm_scan(X, W_ih, b_ih, b_hh, W_hh, h0, c0) -> Tensor:
    """The LSTM recurrence as one fused primitive (specification: ``lstm_scan_composite``,
    whose docstring has the gate equations), from X (n, T, I) and (h_0, c_0), each (n, H).

    Returns (n, T + 1, H) holding h_1, ..., h_T and then c_T (one array, so that one node
    carries both outputs).

    >>> H = 2
    >>> Y = lstm_scan(np.ones((1, 3, 1)), np.ones((4 * H, 1)), np.zeros(4 * H),
    ...               np.zeros(4 * H), np.zeros((4 * H, H)), np.zeros((1, H)), np.zeros((1, H)))
    >>> Y.shape
    (1, 4, 2)
    """
    X, W_ih, b_ih, b_hh, W_hh, h0, c0 = _check_scan("lstm_scan", X, W_ih, b_ih, b_hh, W_hh,
                                                     (h0, c0), gates=4)
    dtype = np.result_type(X.data, W_hh.data)
    dtype = dtype if np.issubdtype(dtype, np.inexact) else np.float64
    # NOTE: fused for speed; the numpy kernel, its layout and its reused workspaces are in
    # lstm_kernel.py (one product and seven element-wise calls a forward step), and float32
    # scans run its loops compiled where numba is installed (lstm_compiled.py).
    Y, kernel_backward = lstm_forward(X.data, W_ih.data, b_ih.data, b_hh.data, W_hh.data,
                                      h0.data, c0.data, dtype, X.requires_grad)

    def backward(gY):
        dX, dW_ih, db, dW_hh, dh0, dc0 = kernel_backward(gY)
        return dX, dW_ih, db, db, dW_hh, dh0, dc0

    return Tensor.from_op(Y, (X, W_ih, b_ih, b_hh, W_hh, h0, c0), backward, "lstm")
