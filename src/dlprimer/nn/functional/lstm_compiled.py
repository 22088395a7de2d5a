"""The LSTM scan's two step loops compiled with numba: the optional accelerator of
``lstm_kernel`` (``pip install dlprimer[fast]``), used for float32 scans only. The numpy
loops in lstm_kernel.py are the reference; tests/nn/test_lstm_compiled.py checks that both
give the same outputs and gradients.

NOTE: fused for speed. numpy needs 7 calls a forward step and 9 a backward step besides the
products, each 0.3-1.4 µs whatever its size; here a step is the product (BLAS, through
``np.dot``) and one pass over its (·, n) blocks that does all the element-wise work. The
backward pass also computes the slopes σ(1 - σ), 1 - g² and ∂h_t/∂c_t inside its one pass,
from the stored gates, and writes dL/dz_t straight into the (4H, T, n) layout that the
weight gradient's product reads. Same layout, gate order (o, i, f, g) and halved σ rows of W
as the numpy loops: σ(z) = (1 + tanh(z/2)) / 2.

Importing this module imports numba and compiles both loops for their one signature (or
loads them from numba's cache); ``accelerator.compiled("lstm_compiled")`` imports it on
first use.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["forward_loop", "backward_loop", "tanh32"]

_f32 = np.float32
_ONE, _HALF, _TWO = _f32(1.0), _f32(0.5), _f32(2.0)
_CLAMP = _f32(9.0)  # tanh(x) rounds to ±1 in float32 beyond |x| ≈ 9.01
_TWO_OVER_LN2 = _f32(2.0 / np.log(2.0))
# ln 2 = _LN2_HI + _LN2_LO, the low 9 bits of _LN2_HI zero: k·_LN2_HI is exact for k < 2^9
_LN2_HI, _LN2_LO = _f32(0.693145751953125), _f32(1.428606820309417e-06)
# 1/m!, the Taylor coefficients of expm1 (|r| ≤ ln2/2: the r^8 term is below float32's ε)
_C2, _C3, _C4, _C5, _C6, _C7 = (_f32(1.0 / m) for m in (2, 6, 24, 120, 720, 5040))
_TWO_TO_MINUS_26 = _f32(2.0 ** -26)

# error_model="numpy": no ZeroDivisionError branch in the loops, so LLVM vectorizes them;
# "contract" lets it use FMAs. No other fast-math flag: NaN and ±inf must propagate as in
# numpy (a diverging run is detected by its NaN).
_JIT = {"error_model": "numpy", "fastmath": {"contract"}, "cache": True, "nogil": True}


@njit(inline="always", **_JIT)
def tanh32(x):
    """tanh(x) for a float32 x, within 2.5 ulp of the true value (np.tanh: 1.4), with
    tanh(±inf) = ±1, tanh(NaN) = NaN, and no call into libm, so a loop over it vectorizes.

    tanh|x| = -e / (2 + e) with e = expm1(-2|x|) = 2^-k (1 + p) - 1, where
    -2|x| = -k ln 2 + r, |r| ≤ ln2/2, p = expm1(r) by its Taylor series and 2^-k =
    2^(26 - k) · 2^-26 exactly (k ≤ 26); for |x| < ln2/4, k = 0 and e = p: no cancellation.
    """
    a = abs(x)
    if not a <= _CLAMP:  # also NaN, so the integer k below is always defined
        a = _CLAMP
    kf = np.floor(a * _TWO_OVER_LN2 + _HALF)  # k = round(2|x| / ln 2), 0..26
    r = (kf * _LN2_HI - (a + a)) + kf * _LN2_LO  # -2|x| + k ln 2
    p = r * (_ONE + r * (_C2 + r * (_C3 + r * (_C4 + r * (_C5 + r * (_C6 + r * _C7))))))
    s = _f32(np.int32(1) << (np.int32(26) - np.int32(kf))) * _TWO_TO_MINUS_26  # 2^-k
    e = s * p + (s - _ONE)  # expm1(-2|x|)
    t = np.copysign(-e / (_TWO + e), x)
    return x if x != x else t  # NaN stays NaN


_FORWARD = "void(f4[:, ::1], f4[:, :, ::1], f4[:, :, ::1], f4[:, :, ::1], f4[:, ::1])"
_BACKWARD = ("void(f4[:, ::1], f4[:, :, ::1], f4[:, :, ::1], f4[:, :, ::1], f4[:, :, ::1], "
             "f4[:, ::1], f4[:, ::1], f4[:, ::1], f4[:, :, ::1])")


@njit(_FORWARD, **_JIT)
def forward_loop(W, hx, S, tc, z):
    """The forward steps t = 1..T in place, as lstm_kernel's numpy loop: z_t = W hx_t into
    the scratch z (4H, n), then S[t] = [o; i; f; g; c_{t-1}], c_t into S[t + 1], tanh(c_t)
    into tc[t], h_t into hx[t + 1] (W's σ rows halved, so o = (1 + tanh z_o) / 2)."""
    T, H, n = tc.shape
    for t in range(T):
        np.dot(W, hx[t], z)  # [z_o/2; z_i/2; z_f/2; z_g], (4H, n)
        St, Snext, tct, h = S[t], S[t + 1], tc[t], hx[t + 1]
        for j in range(H):
            for k in range(n):
                o = _HALF * tanh32(z[j, k]) + _HALF
                i = _HALF * tanh32(z[H + j, k]) + _HALF
                f = _HALF * tanh32(z[2 * H + j, k]) + _HALF
                g = tanh32(z[3 * H + j, k])
                c = f * St[4 * H + j, k] + i * g  # c_t = f ⊙ c_{t-1} + i ⊙ g
                tanh_c = tanh32(c)
                St[j, k], St[H + j, k], St[2 * H + j, k], St[3 * H + j, k] = o, i, f, g
                Snext[4 * H + j, k] = c
                tct[j, k] = tanh_c
                h[j, k] = o * tanh_c  # h_t = o ⊙ tanh(c_t)


@njit(_BACKWARD, **_JIT)
def backward_loop(W_T, S, tc, G, Dk, d, dhx, dc, dXs):
    """Backpropagation through time, t = T..1, in place: from dhx[:H] = dL/dh_T through
    step T + 1 (zero) and dc = dL/dc_T, with G[t] = dL/dh_t from the outputs. Writes dL/dz_t
    into Dk[:, t] (4H, T, n) and leaves dL/dh_0, dL/dc_0 in dhx[:H], dc. W_T is W_hhᵀ
    (H, 4H) or [W_hhᵀ; W_ihᵀ] (H + I, 4H), in the gate order (o, i, f, g); with the second,
    each step's product also gives dL/dx_t = W_ihᵀ dz_t, kept in dXs[t] (T, I, n). d (4H, n)
    is scratch."""
    T, H, n = tc.shape
    for t in range(T - 1, -1, -1):
        St, tct, Gt = S[t], tc[t], G[t]
        for j in range(H):
            for k in range(n):
                o, i, f, g = St[j, k], St[H + j, k], St[2 * H + j, k], St[3 * H + j, k]
                c_prev, tanh_c = St[4 * H + j, k], tct[j, k]
                d_h = dhx[j, k] + Gt[j, k]  # dL/dh_t: through step t + 1 and the output
                d_c = dc[j, k] + d_h * o * (_ONE - tanh_c * tanh_c)  # dL/dc_t
                d_o = d_h * tanh_c * o * (_ONE - o)  # dL/dz_o = dL/do σ'(z_o)
                d_i = d_c * g * i * (_ONE - i)
                d_f = d_c * c_prev * f * (_ONE - f)
                d_g = d_c * i * (_ONE - g * g)
                d[j, k], d[H + j, k], d[2 * H + j, k], d[3 * H + j, k] = d_o, d_i, d_f, d_g
                Dk[j, t, k], Dk[H + j, t, k] = d_o, d_i
                Dk[2 * H + j, t, k], Dk[3 * H + j, t, k] = d_f, d_g
                dc[j, k] = d_c * f  # dL/dc_{t-1}
        np.dot(W_T, d, dhx)  # [dL/dh_{t-1}; dL/dx_t]
        if dhx.shape[0] > H:
            dXs[t] = dhx[H:]
