"""im2col and col2im of conv2d compiled with numba: the optional accelerator of
``conv._ConvGrid`` (``pip install dlprimer[fast]``; loaded through accelerator.py). The
numpy code in conv.py is the reference; tests/nn/test_conv_compiled.py checks that both
give the same values and gradients.

NOTE: fused for speed. In numpy, gathering the patches of the valid H_out×W_out window
positions is kh·kw strided copies, and adding patch gradients back into strided views is
about 3x slower than into flat ones; so for stride 1 the numpy code places windows at
every pixel of the padded image, where each offset is one contiguous shift, and pays with
(Hp·Wp)/(H_out·W_out) - 1 more columns in all three products (17% for a 3×3 kernel on
26×26). Compiled, the gather and the scatter-add read and write the image directly (the
padding is never built), so the products run on the valid windows only.

Layouts as in conv.py: an image chunk x (m, C, H, W); X_col (kh, kw, C, m, H_out, W_out),
one vectorized patch a column of its (K, m·H_out·W_out) reshape, K ordered (kh, kw, C).
"""

from __future__ import annotations

from numba import njit, types, uint64

__all__ = ["im2col", "col2im"]

_JIT = {"error_model": "numpy", "cache": True, "nogil": True}
# float32 and float64, compiled when this module is imported (so a compiler failure is
# caught there, by accelerator.py, and not in the middle of a training step); the array
# only read is typed read-only, which also takes writable ones (user data can be read-only)
_IM2COL, _COL2IM = [], []
for _real in (types.float32, types.float64):
    _image, _patches = types.Array(_real, 4, "C"), types.Array(_real, 6, "C")
    _ints = (types.int64,) * 4
    _IM2COL.append(types.void(_image.copy(readonly=True), *_ints, _patches))
    _COL2IM.append(types.void(_patches.copy(readonly=True), *_ints, _image))
# NOTE: the inner loops index flat arrays with unsigned integers: numba wraps negative
# signed indices around (a check per access), which kept these copies from vectorizing
# (5x slower)


@njit(inline="always", **_JIT)
def _inside(j, sw, pw, W, W_out):
    """The output columns q whose input column q·sw + j - pw lies in 0..W-1: [lo, hi)."""
    lo = 0
    while lo < W_out and lo * sw + j - pw < 0:
        lo += 1
    hi = W_out
    while hi > lo and (hi - 1) * sw + j - pw >= W:
        hi -= 1
    return lo, hi


@njit(_IM2COL, **_JIT)
def im2col(x, sh, sw, ph, pw, X_col):
    """X_col[i, j, c, s, r, q] = x[s, c, r·sh + i - ph, q·sw + j - pw], 0 outside the
    image (the zero padding)."""
    kh, kw, C, m, H_out, W_out = X_col.shape
    H, W = x.shape[2], x.shape[3]
    xf, Xf = x.reshape(-1), X_col.reshape(-1)
    step = uint64(sw)
    out = 0  # where X_col[i, j, c, s, r, 0] is in Xf
    for i in range(kh):
        for j in range(kw):
            lo, hi = _inside(j, sw, pw, W, W_out)
            for c in range(C):
                for s in range(m):
                    image = (s * C + c) * H * W
                    for r in range(H_out):
                        y = r * sh + i - ph
                        row = uint64(out)
                        if y < 0 or y >= H:
                            for q in range(uint64(W_out)):
                                Xf[row + q] = 0
                        else:
                            for q in range(uint64(lo)):
                                Xf[row + q] = 0
                            src = uint64(image + y * W + lo * sw + j - pw)
                            dst = uint64(out + lo)
                            for q in range(uint64(hi - lo)):
                                Xf[dst + q] = xf[src + q * step]
                            for q in range(uint64(hi), uint64(W_out)):
                                Xf[row + q] = 0
                        out += W_out


@njit(_COL2IM, **_JIT)
def col2im(g_col, sh, sw, ph, pw, gx):
    """The adjoint of im2col: gx (m, C, H, W) = Σ over the windows covering each pixel of
    their patch gradients g_col (kh, kw, C, m, H_out, W_out), added in the order of the
    kernel offsets (i, j) as the numpy code adds them; the padding's share is dropped."""
    kh, kw, C, m, H_out, W_out = g_col.shape
    H, W = gx.shape[2], gx.shape[3]
    gf, xf = g_col.reshape(-1), gx.reshape(-1)
    step = uint64(sw)
    for s in range(m):
        for c in range(C):
            image = (s * C + c) * H * W
            for p in range(uint64(H * W)):
                xf[uint64(image) + p] = 0
            for i in range(kh):
                for j in range(kw):
                    lo, hi = _inside(j, sw, pw, W, W_out)
                    patch = (((i * kw + j) * C + c) * m + s) * H_out * W_out
                    for r in range(H_out):
                        y = r * sh + i - ph
                        if 0 <= y < H:
                            dst = uint64(image + y * W + lo * sw + j - pw)
                            src = uint64(patch + r * W_out + lo)
                            for q in range(uint64(hi - lo)):
                                xf[dst + q * step] += gf[src + q]
