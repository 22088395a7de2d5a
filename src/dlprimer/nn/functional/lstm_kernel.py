"""The fused LSTM scan's numpy kernel on plain arrays (``lstm_scan`` in recurrent.py wraps it
as one graph node): the forward keeps every step's gates and states, the backward is
backpropagation through time written out. Layout, gate order and tricks: ``lstm_forward``.

NOTE: fused for speed. A step works on (·, n) column blocks that stay in the L1 cache, where
a numpy call costs 0.3-1.4 µs whatever it does, so the kernel counts calls: 8 a forward step
and 10 a backward step, the products included. A call's arrays and all their per-step views
live in a ``_Workspace`` that later calls of the same shapes reuse (no allocation, no page
faults, no views made inside the loops); nothing in one ever reaches the caller.

Where numba is installed (``pip install dlprimer[fast]``), float32 scans run the two step
loops compiled (lstm_compiled.py: one product and one fused pass a step) on the same
workspace; ``DLPRIMER_COMPILED=0`` in the environment keeps the numpy loops, which stay the
reference (and serve float64). The switch and the loader: accelerator.py.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict

import numpy as np

import dlprimer.nn.functional.accelerator as accelerator

__all__ = ["lstm_forward"]


class _Workspace:
    """The arrays of one (n, T, I, H, dtype) scan and their per-step views; nothing in it
    ever escapes to the caller (results are fresh arrays or copies)."""

    def __init__(self, n: int, T: int, I: int, H: int, dtype) -> None:
        K = H + I + 1
        self.hx = np.empty((T + 1, K, n), dtype)  # hx_t = [h_{t-1}; x_t; 1] (x_T unused)
        self.hx[T, H:H + I] = 0
        self.hx[:, H + I] = 1
        # S_t = [o; i; f; g; c_{t-1}]; S_T holds c_T in the c rows.
        self.S = np.empty((T + 1, 5 * H, n), dtype)
        self.tanh_c = np.empty((T, H, n), dtype)  # tanh(c_t)
        self.products = np.empty((2 * H, n), dtype)  # [i ⊙ g; f ⊙ c_{t-1}]
        self.W = np.empty((4 * H, K), dtype)  # [W_hh W_ih b], rows (o, i, f, g)
        self.G = np.empty((T, H, n), dtype)  # dL/dh_t from the outputs, step-major
        self.D = np.empty((T, 4 * H, n), dtype)  # dL/dz_t
        self.Q = np.empty((T, 4 * H, n), dtype)  # the slopes dσ/dz, dtanh/dz
        self.R = np.empty((T, H, n), dtype)  # o ⊙ (1 - tanh²(c_t)) = ∂h_t/∂c_t
        self.Dk = np.empty((4 * H, T, n), dtype)  # D as (4H, T·n) for the weight product
        self.hxT = np.empty((T, n, H + I), dtype)  # [h_{t-1}; x_t] as rows, (T·n, H + I)
        self.ones = np.ones(T * n, dtype)
        self.dhx = np.empty((H + I, n), dtype)  # [dL/dh_{t-1}; dL/dx_t] (compiled loops)
        self.dh = self.dhx[:H]  # dL/dh_{t-1}: contiguous rows of dhx
        self.dc, self.x = (np.empty((H, n), dtype) for _ in range(2))
        self.z = np.empty((4 * H, n), dtype)  # the compiled loops' scratch for z_t, dz_t
        self.dXs = np.empty((T, I, n), dtype)  # dL/dx_t, step-major (compiled loops)
        self.nbytes = sum(a.nbytes for a in vars(self).values() if a.base is None)
        S, hx, tc = self.S, self.hx, self.tanh_c
        self.fwd_views = [
            (hx[t], S[t, :4 * H], S[t, :3 * H], S[t, H:3 * H], S[t, 3 * H:5 * H],
             S[t + 1, 4 * H:5 * H], tc[t], S[t, :H], hx[t + 1, :H])
            for t in range(T)]
        D, G, Q, R = self.D, self.G, self.Q, self.R
        self.bwd_views = [
            (G[t], tc[t], D[t], D[t, :H], R[t], D[t, H:2 * H], D[t, 2 * H:3 * H],
             S[t, 3 * H:4 * H], S[t, 4 * H:5 * H], D[t, 3 * H:], S[t, H:2 * H],
             S[t, 2 * H:3 * H], Q[t])
            for t in reversed(range(T))]


_POOL: OrderedDict[tuple, list[_Workspace]] = OrderedDict()  # free workspaces by shape
_POOL_LOCK = threading.Lock()
_MAX_SHAPES, _MAX_FREE, _MAX_BYTES = 4, 1, 64 << 20  # kept: 4 shapes, 1 each, ≤ 64 MiB each


def _take(key: tuple) -> _Workspace:
    """A free workspace for these shapes, or a new one."""
    with _POOL_LOCK:
        free = _POOL.get(key)
        if free:
            _POOL.move_to_end(key)
            return free.pop()
    return _Workspace(*key)


def _give_back(key: tuple, ws: _Workspace) -> None:
    """Called when the backward that used ws is gone (its graph freed): ws is free again."""
    if ws.nbytes > _MAX_BYTES:
        return
    with _POOL_LOCK:
        free = _POOL.setdefault(key, [])
        _POOL.move_to_end(key)
        if len(free) < _MAX_FREE:
            free.append(ws)
        while len(_POOL) > _MAX_SHAPES:
            _POOL.popitem(last=False)


def lstm_forward(X, W_ih, b_ih, b_hh, W_hh, h0, c0, dtype, need_dX: bool,
                 compiled: bool | None = None):
    """(Y, backward) for arrays X (n, T, I), W_ih (4H, I), b_ih, b_hh (4H,), W_hh (4H, H),
    h0, c0 (n, H), all of ``dtype``: Y (n, T + 1, H) holds h_1..h_T then c_T, and
    backward(gY) returns fresh arrays (dX or None, dW_ih, db (both biases), dW_hh, dh0, dc0).

    - Step vectors are columns: the step's input is hx_t = [h_{t-1}; x_t; 1] (K = H + I + 1
      rows), so z_t = [W_hh W_ih b_ih + b_hh] hx_t is one product with the inputs' share
      inside, and the weight gradients are one product Σ_t dz_t hx_tᵀ.
    - Gates are ordered (o, i, f, g), PyTorch's (i, f, g, o) rolled by one block; σ(z) =
      (1 + tanh(z/2)) / 2 (never overflows) lets one tanh serve all four gates once the σ
      rows of W are halved (exact). The slopes σ (1 - σ) and 1 - g² are four vectorized
      passes over (T, ·, n) before the backward's loop, as is ∂h_t/∂c_t = o (1 - tanh² c_t).
    - S_t keeps [i; f] and [g; c_{t-1}] as blocks: i ⊙ g and f ⊙ c_{t-1} are one call.

    ``compiled``: run the step loops compiled by numba (True), in numpy (False), or compiled
    where numba is installed and the scan is float32 (None, the default).
    """
    n, T, I = X.shape
    H = W_hh.shape[1]
    key = (n, T, I, H, np.dtype(dtype))
    fast = _choose(compiled, key[4])
    ws = _take(key)
    hx, S, tc, W = ws.hx, ws.S, ws.tanh_c, ws.W
    hx[0, :H] = h0.T
    hx[:T, H:H + I] = X.transpose(1, 2, 0)  # x_t as columns, (T, I, n)
    # rows (o, i, f, g) from PyTorch's (i, f, g, o), the σ rows halved (z/2, exact)
    np.multiply(W_hh[3 * H:], 0.5, W[:H, :H])
    np.multiply(W_hh[:2 * H], 0.5, W[H:3 * H, :H])
    W[3 * H:, :H] = W_hh[2 * H:3 * H]
    np.multiply(W_ih[3 * H:], 0.5, W[:H, H:H + I])
    np.multiply(W_ih[:2 * H], 0.5, W[H:3 * H, H:H + I])
    W[3 * H:, H:H + I] = W_ih[2 * H:3 * H]
    b = b_ih + b_hh
    np.multiply(b[3 * H:], 0.5, W[:H, H + I])
    np.multiply(b[:2 * H], 0.5, W[H:3 * H, H + I])
    W[3 * H:, H + I] = b[2 * H:3 * H]
    S[0, 4 * H:5 * H] = c0.T
    if fast is None:
        _numpy_forward(ws, H)
    else:
        fast.forward_loop(W, hx, S, tc, ws.z)
    Y = np.empty((n, T + 1, H), dtype)
    Y[:, :T] = hx[1:, :H].transpose(2, 0, 1)
    Y[:, T] = S[T, 4 * H:5 * H].T

    def backward(gY):  # backpropagation through time, t = T, ..., 1
        G, dh, dc = ws.G, ws.dh, ws.dc
        np.copyto(G, gY[:, :T].transpose(1, 2, 0))  # dL/dh_t from the outputs
        W_T = np.ascontiguousarray(W[:, :H + I].T)  # [W_hhᵀ; W_ihᵀ] (H + I, 4H), σ columns /2
        W_T[:, :3 * H] *= 2  # undo the halving
        dh[...] = 0  # dL/dh_t through step t + 1
        np.copyto(dc, gY[:, T].T)  # dL/dc_T from the output c_T
        if fast is None:
            _numpy_backward(ws, W_T[:H], H)
            return _gradients(ws, W_ih, need_dX)
        # dL/dz_t straight into Dk; with dX, [dL/dh_{t-1}; dL/dx_t] as one product a step
        rows = H + I if need_dX else H
        fast.backward_loop(W_T[:rows], S, tc, G, ws.Dk, ws.z, ws.dhx[:rows], dc, ws.dXs)
        return _gradients(ws, W_ih, need_dX, steps_dX=ws.dXs)

    weakref.finalize(backward, _give_back, key, ws)  # ws returns to the pool with the graph
    return Y, backward


def _choose(compiled: bool | None, dtype: np.dtype):
    """The compiled loops to run, or None for the numpy ones."""
    if compiled is False:
        return None
    fast = accelerator.compiled("lstm_compiled") if dtype == np.float32 else None
    if compiled and fast is None:
        raise ValueError("lstm_forward(compiled=True) needs numba (pip install "
                         "'dlprimer[fast]') and float32 arrays, got "
                         + (f"{dtype} arrays" if dtype != np.float32 else "no numba"))
    return fast


def _numpy_forward(ws: _Workspace, H: int) -> None:
    """The forward steps t = 1..T in numpy: S[t] = [o; i; f; g; c_{t-1}], c_t into S[t + 1],
    tanh(c_t) into tanh_c[t], h_t into hx[t + 1]."""
    W, prods = ws.W, ws.products
    matmul, tanh, multiply, add = np.matmul, np.tanh, np.multiply, np.add
    for hx_t, a, sig, sig_if, g_c, c_next, tc_t, o, h_next in ws.fwd_views:
        matmul(W, hx_t, a)  # [z_o/2; z_i/2; z_f/2; z_g]
        tanh(a, a)
        multiply(sig, 0.5, sig)
        add(sig, 0.5, sig)  # o, i, f = σ(z)
        multiply(sig_if, g_c, prods)  # [i ⊙ g; f ⊙ c_{t-1}]
        add(prods[:H], prods[H:], c_next)  # c_t
        tanh(c_next, tc_t)
        multiply(o, tc_t, h_next)  # h_t = o ⊙ tanh(c_t)


def _numpy_backward(ws: _Workspace, W_hh_T: np.ndarray, H: int) -> None:
    """The backward steps t = T..1 in numpy, from ws.dh (zero), ws.dc = dL/dc_T and ws.G:
    dL/dz_t into ws.D, then copied to ws.Dk (4H, T, n); dL/dh_0 and dL/dc_0 left in ws.dh
    and ws.dc."""
    S, tc, hx, D, Q, R = ws.S, ws.tanh_c, ws.hx, ws.D, ws.Q, ws.R
    dh, dc, x = ws.dh, ws.dc, ws.x
    T = tc.shape[0]
    multiply, add, matmul = np.multiply, np.add, np.matmul
    sig, Qs, g, Qg = S[:T, :3 * H], Q[:, :3 * H], S[:T, 3 * H:4 * H], Q[:, 3 * H:]
    np.subtract(1, sig, Qs)
    multiply(Qs, sig, Qs)  # σ' = σ (1 - σ)
    multiply(g, g, Qg)
    np.subtract(1, Qg, Qg)  # tanh' = 1 - g²
    multiply(hx[1:, :H], tc, R)
    np.subtract(S[:T, :H], R, R)  # o - h_t ⊙ tanh(c_t) = o (1 - tanh²(c_t))
    for g_t, tc_t, d, d_o, r_t, d_i, d_f, g, c, d_g, i, f, q in ws.bwd_views:
        add(dh, g_t, dh)
        multiply(dh, tc_t, d_o)  # dL/do
        multiply(dh, r_t, x)
        add(dc, x, dc)  # dL/dc_t
        multiply(dc, g, d_i)  # dL/di
        multiply(dc, c, d_f)  # dL/df
        multiply(dc, i, d_g)  # dL/dg
        multiply(dc, f, dc)  # dL/dc_{t-1}
        multiply(d, q, d)  # dL/dz_t
        matmul(W_hh_T, d, dh)  # dL/dh_{t-1}
    np.copyto(ws.Dk, D.transpose(1, 0, 2))


def _gradients(ws: _Workspace, W_ih: np.ndarray, need_dX: bool, steps_dX=None) -> tuple:
    """Fresh arrays (dX or None, dW_ih, db, dW_hh, dh0, dc0) from dL/dz_t in ws.Dk
    (4H, T, n) and dL/dh_0, dL/dc_0 in ws.dh, ws.dc; dX from ``steps_dX`` (T, I, n) where
    the loops made it, else as one product here."""
    Dk, hxT, hx = ws.Dk, ws.hxT, ws.hx
    H4, T, n = Dk.shape
    H, I = H4 // 4, hxT.shape[2] - H4 // 4
    # Σ_t dz_t hx_tᵀ = [dL/dW_hh  dL/dW_ih  dL/db], rows back in PyTorch's order
    # NOTE: as (4H, T·n) @ (T·n, H + I), both contiguous, the bias a gemv apart: this
    # product is 20% faster than tensordot's K = H + I + 1, transposed one (5% with the
    # copy of hx).
    np.copyto(hxT, hx[:T, :H + I].transpose(0, 2, 1))
    Dk2 = Dk.reshape(H4, T * n)
    dW = np.empty((H4, H + I + 1), Dk.dtype)
    np.matmul(Dk2, hxT.reshape(T * n, H + I), dW[:, :H + I])
    np.matmul(Dk2, ws.ones, dW[:, H + I])
    dW = np.roll(dW, -H, axis=0)
    dX = None
    if need_dX and steps_dX is not None:
        dX = np.ascontiguousarray(steps_dX.transpose(2, 0, 1))  # (n, T, I)
    elif need_dX:  # W_ihᵀ dz_t for every t as one product, then batch first: (n, T, I)
        Wt = np.roll(W_ih, H, axis=0).T  # (I, 4H)
        dX = np.ascontiguousarray((Wt @ Dk2).reshape(I, T, n).transpose(2, 1, 0))
    return (dX, np.ascontiguousarray(dW[:, H:H + I]), np.ascontiguousarray(dW[:, H + I]),
            np.ascontiguousarray(dW[:, :H]), ws.dh.T.copy(), ws.dc.T.copy())
