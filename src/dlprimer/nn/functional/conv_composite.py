"""Convolution, eqs. (37)-(39), in Tensor primitives: the specification of the fused
``conv2d`` of ``dlprimer.nn.functional.conv``, whose backward is written out for speed.
A test checks that the two agree in values and gradients. Re-exported by
``dlprimer.nn.functional``.
"""

from __future__ import annotations

import numpy as np

from dlprimer.engine.ops import concatenate
from dlprimer.engine.tensor import Tensor
from dlprimer.nn.functional.conv import check_conv2d

__all__ = ["conv2d_composite"]


def _zero_pad(x: Tensor, ph: int, pw: int) -> Tensor:
    """x (n, C, H, W) with ph rows of zeros above and below and pw columns of zeros left
    and right: (n, C, H + 2ph, W + 2pw)."""
    n, C, H, W = x.shape
    if ph:
        rows = Tensor(np.zeros((n, C, ph, W), x.dtype))
        x = concatenate([rows, x, rows], axis=2)  # (n, C, H + 2ph, W)
    if pw:
        cols = Tensor(np.zeros((n, C, H + 2 * ph, pw), x.dtype))
        x = concatenate([cols, x, cols], axis=3)  # (n, C, H + 2ph, W + 2pw)
    return x


def conv2d_composite(x, W, b=None, stride=1, padding=0) -> Tensor:
    """2-D convolution (cross-correlation) in Tensor primitives: the specification of the
    fused ``conv2d``, with the same parameters (no fused activation: apply ``.relu()`` and
    the like to the result).

    Eq. (38), with channels, stride and zero padding: each output entry is the inner
    product (15) of a kernel with the window of the padded image x under it,
    z[s, o, i, j] = b[o] + Σ_c Σ_{i'} Σ_{j'} x[s, c, i·stride + i', j·stride + j'] W[o, c, i', j'];
    as vectors, eq. (39): z[s, o, i, j] = vec(W[o])ᵀ vec(window) + b[o].

    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> conv2d_composite(x, np.ones((1, 1, 3, 3))).numpy()[0, 0]   # sums of 3×3 windows
    array([[45., 54.],
           [81., 90.]])
    """
    x, W, b, (sh, sw), (ph, pw), (H_out, W_out) = check_conv2d("conv2d_composite", x, W, b,
                                                               stride, padding)
    n, C = x.shape[:2]
    C_out, _, kh, kw = W.shape
    x_p = _zero_pad(x, ph, pw)  # (n, C, H + 2ph, W + 2pw)
    rows = (np.arange(H_out) * sh)[:, None] + np.arange(kh)  # (H_out, kh): i·stride + i'
    cols = (np.arange(W_out) * sw)[:, None] + np.arange(kw)  # (W_out, kw): j·stride + j'
    # windows[s, c, i, j, i', j'] = x_p[s, c, i·stride + i', j·stride + j']: the window
    # under the kernel at output position (i, j), gathered by indexing;
    # shape (n, C, H_out, W_out, kh, kw)
    windows = x_p[:, :, rows[:, None, :, None], cols[None, :, None, :]]
    K = C * kh * kw  # length of a vectorized window
    patches = windows.transpose(0, 2, 3, 1, 4, 5).reshape(n, H_out, W_out, K)  # vec(window)
    z = patches @ W.reshape(C_out, K).T  # (n, H_out, W_out, C_out): vec(W[o])ᵀ vec(window)
    if b is not None:
        z = z + b
    return z.transpose(0, 3, 1, 2)  # (n, C_out, H_out, W_out)
