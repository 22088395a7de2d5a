"""Convolution, pooling and embedding lookups (primer Sec. 10), eqs. (37)-(39).

Primitives (``conv2d``, the pools, ``embedding``, fused for speed) compute their output and,
right beside it, their vector-Jacobian product, as in ``dlprimer.engine.tensor``.

Image tensors are (n, C, H, W): samples, channels, rows, columns (PyTorch's layout).
"""

from __future__ import annotations

import ctypes
import functools
import numbers
import os

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

import dlprimer.nn.functional.accelerator as accelerator
from dlprimer.engine.tensor import Tensor, as_tensor
from dlprimer.nn.functional.activations import activation_function

__all__ = [
    "check_conv2d",
    "conv2d",
    "max_pool2d",
    "avg_pool2d",
    "embedding",
]


def int_pair(value, name: str, minimum: int | None = None) -> tuple[int, int]:
    """An int or a pair of ints as a pair of ints (kernel sizes, strides, paddings),
    each at least ``minimum`` when it is given."""
    if isinstance(value, numbers.Integral):
        pair = (value, value)
    elif np.iterable(value) and not isinstance(value, str):
        pair = tuple(value)
    else:
        pair = ()
    if (len(pair) != 2 or not all(isinstance(v, numbers.Integral) for v in pair)
            or (minimum is not None and min(pair) < minimum)):
        kind = {None: "an int", 0: "a non-negative int", 1: "a positive int"}.get(
            minimum, f"an int ≥ {minimum}")
        hint = ""
        if name == "padding" and isinstance(value, str):
            hint = ("; named paddings are not supported: 'valid' is padding=0, and 'same' "
                    "for an odd kernel size k and stride 1 is padding=k // 2 (a pair "
                    "(kh // 2, kw // 2) for a kh×kw kernel)")
        raise ValueError(f"{name} must be {kind} or a pair of them, got {value!r}{hint}")
    return int(pair[0]), int(pair[1])


def _check_images(x: Tensor, op: str) -> None:
    if x.ndim != 4:
        raise ValueError(
            f"{op} expects images of shape (n, C, H, W), got shape {x.shape}; "
            "add a channel axis for grayscale images: x[:, None]"
        )


def check_conv2d(op: str, x, W, b, stride, padding) -> tuple:
    """The operands of a convolution, checked once: (x, W, b, stride, padding, out_size),
    the arrays as Tensors of x's dtype (b may be None), stride and padding as pairs, and
    out_size = (H_out, W_out); or a ValueError saying what was expected."""
    x = as_tensor(x)
    W = as_tensor(W, dtype=x.dtype)
    _check_images(x, op)
    if W.ndim != 4:
        raise ValueError(f"{op} expects W of shape (C_out, C_in, kh, kw), got shape {W.shape}")
    _, C, H, Wd = x.shape
    C_out, C_w, kh, kw = W.shape
    if C != C_w:
        raise ValueError(
            f"{op}: x has {C} channels (shape {x.shape}) but W expects {C_w} "
            f"(shape {W.shape}); W must be (C_out, C_in, kh, kw) with C_in = x.shape[1]"
        )
    sh, sw = int_pair(stride, "stride", minimum=1)
    ph, pw = int_pair(padding, "padding", minimum=0)
    Hp, Wp = H + 2 * ph, Wd + 2 * pw
    if kh > Hp or kw > Wp:
        raise ValueError(
            f"{op}: kernel {kh}x{kw} (W shape {W.shape}) is larger than the padded input "
            f"{Hp}x{Wp} (x shape {x.shape}, padding {padding!r})"
        )
    if b is not None:
        b = as_tensor(b, dtype=x.dtype)
        if b.shape != (C_out,):
            raise ValueError(f"{op} expects b of shape ({C_out},), got shape {b.shape}")
    out_size = (Hp - kh) // sh + 1, (Wp - kw) // sw + 1
    return x, W, b, (sh, sw), (ph, pw), out_size


@functools.cache
def _blas_thread_count():
    """numpy's BLAS ``get_num_threads`` function, or None where it cannot be found.

    Only read, never set: the count follows ``OPENBLAS_NUM_THREADS`` and threadpoolctl's
    limits, so dlprimer uses no more cores than the user gave numpy.
    """
    try:
        from numpy._core import _multiarray_umath
    except ImportError:  # numpy < 2
        from numpy.core import _multiarray_umath
    try:  # dlsym on numpy's extension also searches the BLAS library it links
        library = ctypes.CDLL(_multiarray_umath.__file__)
    except OSError:
        return None
    for name in ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
                 "openblas_get_num_threads64_", "openblas_get_num_threads"):
        function = getattr(library, name, None)
        if function is not None:
            function.restype, function.argtypes = ctypes.c_int, []
            return function
    return None


def _threads() -> int:
    """How many cores an op may use: numpy's BLAS thread count, capped by the CPUs this
    process may run on; 1 where the BLAS cannot be asked (the safe choice)."""
    get = _blas_thread_count()
    if get is None:
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(int(get()), cpus or 1))


# ------------------------------------------------------------------ convolution (37)-(39)
def conv2d(x, W, b=None, stride=1, padding=0, activation: str | None = None) -> Tensor:
    """2-D convolution (cross-correlation) z = W ⋆ x, eqs. (37)-(39), batched over samples.

    For one channel and stride 1 this is eq. (38),
    z_{i,j} = Σ_{i'} Σ_{j'} x_{i+i', j+j'} w_{i'+1, j'+1}: each output entry is the inner
    product (15) of the vectorized kernel and the vectorized patch of x under it (eq. (39)).
    With several channels the sum also runs over the input channels, and each output
    channel has its own kernel:
    z[s, o, i, j] = b[o] + Σ_c Σ_{i'} Σ_{j'} x[s, c, i·stride + i', j·stride + j'] W[o, c, i', j'].

    The patches are gathered into the matrix X_col (one vectorized patch a column) and the
    kernels into W_col (one vectorized kernel a row), so the layer is ONE matrix product
    Z = W_col X_col + b: the z = b + W x of eq. (8) for every patch at once. (For speed it
    runs on a few samples at a time; see ``_ConvGrid``.)

    Parameters
    ----------
    x : Tensor or array, shape (n, C_in, H, W)
    W : Tensor or array, shape (C_out, C_in, kh, kw) (PyTorch's layout)
    b : Tensor or array, shape (C_out,), optional
    stride, padding : int or (int, int)
        Step between windows; zeros added on each side of H and W.
    activation : "relu", "sigmoid", "tanh" or None
        Return the feature map σ(z) instead of z, in the same graph node (same values
        and gradients as ``conv2d(...).relu()``, fewer passes over the map).

    Returns
    -------
    Tensor of shape (n, C_out, H_out, W_out), H_out = (H + 2·padding - kh) // stride + 1.

    The primer's example: a 100×100 image and a 3×3 kernel give a 98×98 feature map.

    >>> x = np.arange(100 * 100, dtype=np.float64).reshape(1, 1, 100, 100)
    >>> W = np.ones((1, 1, 3, 3))
    >>> z = conv2d(x, W)
    >>> z.shape
    (1, 1, 98, 98)
    >>> float(z.numpy()[0, 0, 0, 0]) == float(x[0, 0, :3, :3].sum())   # eq. (39)
    True
    """
    x, W, b, (sh, sw), (ph, pw), (H_out, W_out) = check_conv2d("conv2d", x, W, b, stride,
                                                               padding)
    n, C = x.shape[:2]
    C_out, _, kh, kw = W.shape
    sigma, derivative = activation_function(activation)
    grid = _ConvGrid(x.data, W.data, (sh, sw), (ph, pw), (H_out, W_out))
    W_col = W.data.transpose(0, 2, 3, 1).reshape(C_out, grid.K)  # (C_out, kh·kw·C)
    out = np.empty((n, C_out, H_out, W_out), dtype=grid.dtype)
    for s0, s1 in grid.chunks:
        X_col = grid.im2col(s0, s1)  # (K, m·Hg·Wg): one vectorized patch a column
        Z = W_col @ X_col  # (C_out, m·Hg·Wg): z = W x of eq. (8), every patch at once (38)
        if b is not None:
            Z += b.data[:, None]
        if sigma is not None:
            Z = sigma(Z)  # the feature map σ(z), while Z is hot in cache
        out[s0:s1] = grid.crop(Z, s1 - s0)  # (m, C_out, H_out, W_out)

    def backward(g):
        need_x, need_W = x.requires_grad, W.requires_grad
        gW_col = np.zeros((grid.K, C_out), dtype=grid.dtype) if need_W else None  # (K, C_out)
        gx = np.empty(x.shape, dtype=grid.dtype) if need_x else None  # (n, C, H, W)
        gb = np.zeros(C_out, dtype=grid.dtype) if b is not None else None
        for s0, s1 in grid.chunks:
            gz = g[s0:s1] if sigma is None else derivative(out[s0:s1], g[s0:s1])  # dL/dz
            G = grid.pad_like_grid(gz)  # (C_out, m·Hg·Wg), zero off the outputs
            if b is not None:  # Σ over samples and pixels
                gb += G.sum(axis=1)
            if need_W:
                gW_col += grid.im2col(s0, s1) @ G.T  # dL/dW_colᵀ = X_col Gᵀ
            if need_x:
                grid.col2im(W_col.T @ G, gx[s0:s1])  # dL/dX_col = W_colᵀ G, summed back
        if need_W:  # (K, C_out) -> (C_out, kh, kw, C) -> (C_out, C, kh, kw)
            gW_col = gW_col.T.reshape(C_out, kh, kw, C).transpose(0, 3, 1, 2).copy()
        return (gx, gW_col) if b is None else (gx, gW_col, gb)

    parents = (x, W) if b is None else (x, W, b)
    return Tensor.from_op(out, parents, backward, "conv2d" if sigma is None else activation)


class _ConvGrid:
    """The bookkeeping of im2col for one conv2d call: chunks of samples, the grid of
    window positions, and the gather (im2col) and scatter-add (col2im) of each chunk.

    The samples are processed a few at a time so that X_col (the im2col matrix) of one
    chunk fits in the CPU's L2 cache: it is then written, multiplied and dropped while
    hot, and the next chunk reuses the same memory. NOTE: one X_col for a whole batch
    (tens of MB) would be re-faulted from the OS on every call and read from RAM, and is
    slower than gathering each chunk twice (forward, then again for dL/dW).

    For stride 1 (and K ≥ C_out, see below) the windows are placed at EVERY pixel of the
    padded image (grid Hg×Wg = Hp×Wp), not only at the H_out×W_out valid ones. Then,
    with the image stored as one flat (C, m, Hp, Wp) buffer, the window offset (i, j) is
    a shift of the whole buffer by i·Wp + j, so im2col and col2im are kh·kw contiguous
    copies and additions.
    The windows that run off the image compute values that are cropped away (forward),
    and get a zero gradient (backward), so they add nothing. With other strides, with
    fewer patch entries K than output channels, or with non-finite x or W (where 0·inf
    would leak NaN out of those windows), the grid is the valid H_out×W_out positions.
    """

    CHUNK_BYTES = 1 << 20  # X_col and Z of one chunk; about half of a core's L2 cache
    THREAD_SCALE = 4  # chunks this many times larger with several BLAS threads, K ≥ C_out

    def __init__(self, x, W, stride, padding, out_size):
        self.x = x
        self.n, self.C, self.H, self.W = x.shape
        C_out, _, self.kh, self.kw = W.shape
        self.stride, self.padding, self.out_size = stride, padding, out_size
        self.dtype = np.result_type(x.dtype, W.dtype)
        ph, pw = padding
        self.Hp, self.Wp = self.H + 2 * ph, self.W + 2 * pw
        self.K = self.C * self.kh * self.kw  # length of one vectorized patch
        # NOTE: the extra windows cost output-sized work (∝ C_out), the contiguous copies
        # save input-sized work (∝ K): measured, the shift pays when K ≥ C_out.
        self.shifted = (stride == (1, 1) and self.K >= C_out
                        and bool(np.isfinite(x.sum()) and np.isfinite(W.sum())))
        self.Hg, self.Wg = (self.Hp, self.Wp) if self.shifted else out_size
        per_sample = (self.K + C_out) * self.Hg * self.Wg * self.dtype.itemsize  # X_col, Z
        # NOTE: with several BLAS threads each GEMM is split between them, and larger
        # chunks split better: measured for 64x32x26x26 -> 64 at 2 threads, 45 -> 40 ms.
        # Only where K ≥ C_out (the GEMM-bound case); at 1 thread the small chunk is faster.
        larger = self.K >= C_out and _threads() > 1
        m = max(1, self.CHUNK_BYTES * self.THREAD_SCALE ** larger // per_sample)
        self.chunks = [(s0, min(s0 + m, self.n)) for s0 in range(0, self.n, m)]

    def _padded(self, m: int) -> tuple[np.ndarray, np.ndarray]:
        """Zeros as a flat buffer and its (C, m, Hp, Wp) view; the flat buffer has
        (kh-1)·Wp + kw-1 spare zeros at the end, where the last shifted window ends."""
        size = self.C * m * self.Hp * self.Wp
        flat = np.zeros(size + (self.kh - 1) * self.Wp + self.kw - 1, dtype=self.dtype)
        return flat, flat[:size].reshape(self.C, m, self.Hp, self.Wp)

    def _window(self, flat: np.ndarray, m: int, i: int, j: int) -> np.ndarray:
        """View of the entries under kernel offset (i, j) for every grid position,
        shape (C, m, Hg, Wg)."""
        if self.shifted:  # a contiguous slice of the flat buffer, shifted by i·Wp + j
            start = i * self.Wp + j
            size = self.C * m * self.Hp * self.Wp
            return flat[start:start + size].reshape(self.C, m, self.Hp, self.Wp)
        (sh, sw), (H_out, W_out) = self.stride, self.out_size
        image = flat[:self.C * m * self.Hp * self.Wp].reshape(self.C, m, self.Hp, self.Wp)
        return image[:, :, i:i + sh * H_out:sh, j:j + sw * W_out:sw]

    def im2col(self, s0: int, s1: int) -> np.ndarray:
        """X_col of samples s0..s1, shape (K, m·Hg·Wg), K ordered (kh, kw, C)."""
        m = s1 - s0
        ph, pw = self.padding
        flat, image = self._padded(m)
        image[:, :, ph:ph + self.H, pw:pw + self.W] = self.x[s0:s1].transpose(1, 0, 2, 3)
        X_col = np.empty((self.kh, self.kw, self.C, m, self.Hg, self.Wg), dtype=self.dtype)
        if self.shifted:  # all kh·kw shifted copies of the flat buffer in one call
            size, step = image.size, flat.itemsize
            windows = as_strided(flat, (self.kh, self.kw, size), (self.Wp * step, step, step),
                                 writeable=False)  # windows[i, j] = flat[i·Wp + j:][:size]
            np.copyto(X_col.reshape(self.kh, self.kw, size), windows)
            return X_col.reshape(self.K, -1)
        for i in range(self.kh):
            for j in range(self.kw):
                X_col[i, j] = self._window(flat, m, i, j)
        return X_col.reshape(self.K, -1)  # (kh·kw·C, m·Hg·Wg)

    def crop(self, Z: np.ndarray, m: int) -> np.ndarray:
        """(C_out, m·Hg·Wg) on the grid -> (m, C_out, H_out, W_out) at the valid windows."""
        H_out, W_out = self.out_size
        Z = Z.reshape(-1, m, self.Hg, self.Wg)[:, :, :H_out, :W_out]  # (C_out, m, H_out, W_out)
        return Z.transpose(1, 0, 2, 3)

    def pad_like_grid(self, g: np.ndarray) -> np.ndarray:
        """Incoming gradient (m, C_out, H_out, W_out) -> (C_out, m·Hg·Wg), 0 off the outputs."""
        m, C_out, H_out, W_out = g.shape
        on_grid = (self.Hg, self.Wg) == (H_out, W_out)  # the valid windows: nothing off it
        G = (np.empty if on_grid else np.zeros)((C_out, m, self.Hg, self.Wg), self.dtype)
        G[:, :, :H_out, :W_out] = g.transpose(1, 0, 2, 3)
        return G.reshape(C_out, -1)

    def col2im(self, g_col: np.ndarray, gx: np.ndarray) -> None:
        """Add each patch gradient back onto the pixels it came from (the adjoint of
        im2col) and write the result for the chunk into ``gx`` (m, C, H, W).

        A pixel under several windows receives the sum of their gradients; the loop runs
        over the kh·kw kernel offsets only.
        """
        m = gx.shape[0]
        ph, pw = self.padding
        g_col = g_col.reshape(self.kh, self.kw, self.C, m, self.Hg, self.Wg)
        flat, image = self._padded(m)
        for i in range(self.kh):
            for j in range(self.kw):
                self._window(flat, m, i, j)[...] += g_col[i, j]
        gx[...] = image[:, :, ph:ph + self.H, pw:pw + self.W].transpose(1, 0, 2, 3)


# ------------------------------------------------------------------------------ pooling
def _pool_geometry(x: Tensor, k, stride, op: str):
    _check_images(x, op)
    kh, kw = int_pair(k, "k", minimum=1)
    sh, sw = (kh, kw) if stride is None else int_pair(stride, "stride", minimum=1)
    H, W = x.shape[2:]
    if kh > H or kw > W:
        raise ValueError(f"{op}: window {kh}x{kw} is larger than the input {H}x{W} "
                         f"(x shape {x.shape})")
    return kh, kw, sh, sw, (H - kh) // sh + 1, (W - kw) // sw + 1


def _window_offsets(kh, kw, sh, sw, H_out, W_out) -> list[tuple[int, tuple]]:
    """(i·kw + j, index) for each offset (i, j) inside a pooling window: ``a[index]`` is the
    (n, C, H_out, W_out) array of the entries at that offset in every window."""
    return [(i * kw + j, (slice(None), slice(None), slice(i, i + sh * H_out, sh),
                          slice(j, j + sw * W_out, sw)))
            for i in range(kh) for j in range(kw)]


def max_pool2d(x, k, stride=None) -> Tensor:
    """Max pooling: the largest entry of each k×k window (stride k unless given).

    The gradient goes to the entry that was the maximum (the first one at ties, as PyTorch).
    Windows that do not fit at the bottom or right edge are dropped (floor, as PyTorch).

    >>> x = np.array([[[[1., 2, 5, 0], [3, 4, 1, 1], [0, 0, 2, 2], [9, 0, 2, 3]]]])
    >>> max_pool2d(x, 2).numpy()[0, 0]
    array([[4., 5.],
           [9., 3.]])
    """
    x = as_tensor(x)
    kh, kw, sh, sw, H_out, W_out = _pool_geometry(x, k, stride, "max_pool2d")
    a = x.data
    if (kh, kw, sh, sw) == (2, 2, 2, 2) and a.dtype in (np.float32, np.float64):
        fast = accelerator.compiled("pool_compiled")
        if fast is not None:  # the same values and gradients, one pass each
            return _max_pool_2x2_compiled(fast, x, H_out, W_out)
    offsets = _window_offsets(kh, kw, sh, sw, H_out, W_out)
    # Loop over the k·k window offsets only; each step is one array operation.
    out = a[offsets[0][1]].copy()  # (n, C, H_out, W_out)
    for _, at in offsets[1:]:
        np.maximum(out, a[at], out=out)  # NaN propagates, as in PyTorch

    def backward(g):
        # Each window's gradient goes to its first maximum (in offsets order; a NaN counts
        # as the maximum): `found` marks the windows whose maximum is already taken.
        nan = bool(np.isnan(out).any())
        tiled = (sh, sw) == (kh, kw) and (H_out * kh, W_out * kw) == a.shape[2:]
        apart = sh >= kh and sw >= kw  # windows do not overlap: each entry written once
        gx = np.empty_like(a) if tiled else np.zeros_like(a)
        found = None
        for k, (_, at) in enumerate(offsets):
            part = a[at]  # (n, C, H_out, W_out)
            hit = part == out
            if nan:
                hit |= np.isnan(part)
            if found is None:
                found = hit.copy() if k < len(offsets) - 1 else None
            else:
                np.greater(hit, found, out=hit)  # a maximum here, none earlier
                if k < len(offsets) - 1:
                    found |= hit
            if apart:
                np.multiply(g, hit, out=gx[at])
            else:
                gx[at] += g * hit
        return (gx,)

    return Tensor.from_op(out, (x,), backward, "max_pool2d")


def _max_pool_2x2_compiled(fast, x: Tensor, H_out: int, W_out: int) -> Tensor:
    """max_pool2d(x, 2) by the compiled kernels (pool_compiled.py), which keep the offset
    of each window's first maximum for the backward."""
    a = np.ascontiguousarray(x.data)
    out = np.empty(a.shape[:2] + (H_out, W_out), a.dtype)
    where = np.empty(out.shape, np.uint8)  # 2·di + dj of each window's maximum
    fast.max_pool_2x2_forward(a, out, where)
    tiled = a.shape[2:] == (2 * H_out, 2 * W_out)  # every entry is in a window

    def backward(g):
        gx = np.empty_like(a) if tiled else np.zeros_like(a)
        fast.max_pool_2x2_backward(np.ascontiguousarray(g, dtype=a.dtype), where, gx)
        return (gx,)

    return Tensor.from_op(out, (x,), backward, "max_pool2d")


def avg_pool2d(x, k, stride=None) -> Tensor:
    """Average pooling: the sample mean (10) of each k×k window (stride k unless given).

    >>> x = np.array([[[[1., 2, 5, 0], [3, 4, 1, 1], [0, 0, 2, 2], [9, 0, 2, 3]]]])
    >>> avg_pool2d(x, 2).numpy()[0, 0]
    array([[2.5 , 1.75],
           [2.25, 2.25]])
    """
    x = as_tensor(x)
    kh, kw, sh, sw, H_out, W_out = _pool_geometry(x, k, stride, "avg_pool2d")
    a = x.data
    windows = sliding_window_view(a, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    out = windows.mean(axis=(4, 5), dtype=a.dtype)  # (n, C, H_out, W_out)

    def backward(g):
        share = g / (kh * kw)  # each entry of a window contributes 1/(k·k) of its mean
        gx = np.zeros_like(a)
        for _, at in _window_offsets(kh, kw, sh, sw, H_out, W_out):
            gx[at] += share
        return (gx,)

    return Tensor.from_op(out, (x,), backward, "avg_pool2d")


# ----------------------------------------------------------------------------- embedding
def embedding(indices, W) -> Tensor:
    """Word embedding (Sec. 10): row ``indices`` of the table W, one vector per token.

    Parameters
    ----------
    indices : integer array of any shape (...)
        Token numbers in 0..num-1.
    W : Tensor (num, dim)

    Returns a Tensor of shape (..., dim). Its gradient is added into the rows that were
    looked up (a token used twice gets both gradients).

    >>> W = Tensor([[0.41, 1.2, 3.4, -1.3], [0.39, 1.1, 3.5, 1.6]])   # king, queen
    >>> embedding([1, 0, 1], W).shape
    (3, 4)
    """
    W = as_tensor(W)
    if W.ndim != 2:
        raise ValueError(f"embedding expects a table W of shape (num, dim), got {W.shape}")
    idx = _token_indices(indices, W.shape[0])
    table = W.data

    def backward(g):
        gW = np.zeros_like(table)
        # one row of g per looked-up token: (number of tokens, dim); repeats add up
        np.add.at(gW, idx.ravel(), g.reshape(-1, table.shape[1]))
        return (gW,)

    return Tensor.from_op(table[idx], (W,), backward, "embedding")


def _token_indices(indices, num: int) -> np.ndarray:
    """Token numbers as an integer array, or a ValueError naming the first bad one."""
    idx = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
    if idx.dtype.kind == "f":
        if not np.all(idx == np.round(idx)):
            raise ValueError("embedding indices must be whole numbers (token ids)")
        idx = idx.astype(np.intp)
    elif idx.dtype.kind not in "iu":
        raise ValueError(f"embedding indices must be integers, got dtype {idx.dtype}")
    bad = (idx < 0) | (idx >= num)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"token index {int(idx[first])} at position {first} (indices shape {idx.shape}) "
            f"is out of range for an embedding table with {num} rows (valid: 0..{num - 1})"
        )
    return idx
