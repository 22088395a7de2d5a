"""2×2 max pooling with stride 2 compiled with numba: the optional accelerator of
``conv.max_pool2d`` (``pip install dlprimer[fast]``; loaded through accelerator.py) for
the one pooling shape nearly every CNN uses. Other windows and strides run the numpy code
in conv.py, which is the reference; tests/nn/test_pool_compiled.py checks that both give
the same values and gradients, ties and NaN included.

NOTE: fused for speed. numpy makes one pass over a strided (n, C, H_out, W_out) view per
window offset, 4 in the forward and about 16 in the backward (which finds each window's
first maximum again); here the forward is one pass that also keeps the offset of each
window's maximum, and the backward one pass that sends each gradient there. The window
is written out (four entries, no loops over offsets): with the window size a run-time
loop bound the forward was 20x slower.
"""

from __future__ import annotations

from numba import njit, types

__all__ = ["max_pool_2x2_forward", "max_pool_2x2_backward"]

_JIT = {"error_model": "numpy", "cache": True, "nogil": True}
# float32 and float64, compiled when this module is imported (so a compiler failure is
# caught there, by accelerator.py, and not in the middle of a training step); the arrays
# only read are typed read-only, which also takes writable ones (a gradient can be a
# read-only broadcast)


def _signatures(read: tuple, written: tuple) -> list:
    """void(read..., written...) for float32 and for float64: each entry is (dtype or None
    for the float, ndim)."""
    out = []
    for real in (types.float32, types.float64):
        arrays = [types.Array(dtype or real, ndim, "C", readonly=True) for dtype, ndim in read]
        arrays += [types.Array(dtype or real, ndim, "C") for dtype, ndim in written]
        out.append(types.void(*arrays))
    return out


_FORWARD = _signatures(read=((None, 4),), written=((None, 4), (types.uint8, 4)))
_BACKWARD = _signatures(read=((None, 4), (types.uint8, 4)), written=((None, 4),))


@njit(inline="always", **_JIT)
def _takes(v, best):
    """Does v replace the running maximum? When larger, or the first NaN (a NaN is the
    maximum, as np.maximum makes it); never at a tie, so the first maximum wins. Written
    with & and | (no branch: on ReLU outputs the comparison is a coin flip)."""
    return (v > best) | ((v != v) & (best == best))


@njit(_FORWARD, **_JIT)
def max_pool_2x2_forward(x, out, where):
    """out[s, c, i, j] = max of x[s, c, 2i:2i+2, 2j:2j+2] for x (n, C, H, W), and
    where[s, c, i, j] the offset 2·di + dj of its first maximum in row-major order."""
    # NOTE: plain 4-D indexing; row views made inside these loops (x[s, c, 2 * i]) cost a
    # reference count each and made the backward 3x slower
    n, C, H_out, W_out = out.shape
    for s in range(n):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    best, at = x[s, c, 2 * i, 2 * j], 0
                    v = x[s, c, 2 * i, 2 * j + 1]
                    best, at = (v, 1) if _takes(v, best) else (best, at)
                    v = x[s, c, 2 * i + 1, 2 * j]
                    best, at = (v, 2) if _takes(v, best) else (best, at)
                    v = x[s, c, 2 * i + 1, 2 * j + 1]
                    best, at = (v, 3) if _takes(v, best) else (best, at)
                    out[s, c, i, j], where[s, c, i, j] = best, at


@njit(_BACKWARD, **_JIT)
def max_pool_2x2_backward(g, where, gx):
    """gx (n, C, H, W) gets each window's gradient g[s, c, i, j] at the offset
    where[s, c, i, j] of its maximum and g - g (0, or NaN where g is NaN or infinite, as
    the numpy code's g ⊙ [is the maximum]) at the window's other three entries. The
    windows do not overlap; rows or columns beyond the last whole window are left as they
    are."""
    n, C, H_out, W_out = g.shape
    for s in range(n):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    at, g_ij = where[s, c, i, j], g[s, c, i, j]
                    zero = g_ij - g_ij
                    gx[s, c, 2 * i, 2 * j] = g_ij if at == 0 else zero
                    gx[s, c, 2 * i, 2 * j + 1] = g_ij if at == 1 else zero
                    gx[s, c, 2 * i + 1, 2 * j] = g_ij if at == 2 else zero
                    gx[s, c, 2 * i + 1, 2 * j + 1] = g_ij if at == 3 else zero
