"""Differentiable ops beyond Model III (primer Sec. 10): convolution, pooling, embedding,
attention, layer normalization.

Primitives (``conv2d``, the pools, ``embedding``) compute their output and, right beside
it, their vector-Jacobian product, as in ``dlprimer.tensor``. Composites
(``dot_product_attention``, ``layer_norm``) are written in Tensor ops and get their
gradients from the engine.

Image tensors are (n, C, H, W): samples, channels, rows, columns (PyTorch's layout).
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from dlprimer.tensor import Tensor, where

__all__ = [
    "conv2d",
    "max_pool2d",
    "avg_pool2d",
    "embedding",
    "dot_product_attention",
    "causal_mask",
    "padding_mask",
    "layer_norm",
]


def _as_tensor(x, dtype=None) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x, dtype=dtype)


def _pair(value, name: str) -> tuple[int, int]:
    """An int or a pair of ints as a pair of ints (kernel sizes, strides, paddings)."""
    if isinstance(value, numbers.Integral):
        value = (value, value)
    value = tuple(value)
    if len(value) != 2 or not all(isinstance(v, numbers.Integral) for v in value):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return int(value[0]), int(value[1])


def _check_images(x: Tensor, op: str) -> None:
    if x.ndim != 4:
        raise ValueError(
            f"{op} expects images of shape (n, C, H, W), got shape {x.shape}; "
            "add a channel axis for grayscale images: x[:, None]"
        )


# ------------------------------------------------------------------ convolution (37)-(39)
def conv2d(x, W, b=None, stride=1, padding=0) -> Tensor:
    """2-D convolution (cross-correlation) z = W ⋆ x, eqs. (37)-(39), batched over samples.

    For one channel and stride 1 this is eq. (38),
    z_{i,j} = Σ_{i'} Σ_{j'} x_{i+i', j+j'} w_{i'+1, j'+1}: each output entry is the inner
    product (15) of the vectorized kernel and the vectorized patch of x under it (eq. (39)).
    With several channels the sum also runs over the input channels, and each output
    channel has its own kernel:
    z[s, o, i, j] = b[o] + Σ_c Σ_{i'} Σ_{j'} x[s, c, i·stride + i', j·stride + j'] W[o, c, i', j'].

    All patches are gathered at once into the matrix X_col (one vectorized patch a column)
    and the kernels into W_col (one vectorized kernel a row), so the whole layer is ONE
    matrix product Z = W_col X_col + b: the z = b + W x of eq. (8) for every patch at once.

    Parameters
    ----------
    x : Tensor or array, shape (n, C_in, H, W)
    W : Tensor or array, shape (C_out, C_in, kh, kw) (PyTorch's layout)
    b : Tensor or array, shape (C_out,), optional
    stride, padding : int or (int, int)
        Step between windows; zeros added on each side of H and W.

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
    x = _as_tensor(x)
    W = _as_tensor(W, dtype=x.dtype)
    _check_images(x, "conv2d")
    if W.ndim != 4:
        raise ValueError(f"conv2d expects W of shape (C_out, C_in, kh, kw), got shape {W.shape}")
    n, C, H, Wd = x.shape
    C_out, C_w, kh, kw = W.shape
    if C != C_w:
        raise ValueError(
            f"conv2d: x has {C} channels (shape {x.shape}) but W expects {C_w} "
            f"(shape {W.shape}); W must be (C_out, C_in, kh, kw) with C_in = x.shape[1]"
        )
    sh, sw = _pair(stride, "stride")
    ph, pw = _pair(padding, "padding")
    if sh < 1 or sw < 1 or ph < 0 or pw < 0:
        raise ValueError(f"stride must be >= 1 and padding >= 0, got {stride!r} and {padding!r}")
    Hp, Wp = H + 2 * ph, Wd + 2 * pw
    if kh > Hp or kw > Wp:
        raise ValueError(
            f"conv2d: kernel {kh}x{kw} (W shape {W.shape}) is larger than the padded input "
            f"{Hp}x{Wp} (x shape {x.shape}, padding {padding!r})"
        )
    if b is not None:
        b = _as_tensor(b, dtype=x.dtype)
        if b.shape != (C_out,):
            raise ValueError(f"conv2d expects b of shape ({C_out},), got shape {b.shape}")
    H_out, W_out = (Hp - kh) // sh + 1, (Wp - kw) // sw + 1
    K = C * kh * kw  # length of one vectorized patch
    dtype = np.result_type(x.dtype, W.dtype)

    xp = x.data
    if ph or pw:
        xp = np.pad(xp, ((0, 0), (0, 0), (ph, ph), (pw, pw)))  # (n, C, Hp, Wp)
    # A view, no copy: windows[s, c, i, j] is the kh×kw patch under output pixel (i, j).
    windows = sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    P = n * H_out * W_out  # number of patches
    # (C, kh, kw, n, H_out, W_out) -> X_col (K, P): one vectorized patch a column. This is
    # the one copy (im2col); the order keeps numpy's gather reading along rows of x.
    X_col = windows.transpose(1, 4, 5, 0, 2, 3).reshape(K, P)  # (C·kh·kw, n·H_out·W_out)
    W_col = W.data.reshape(C_out, K)  # (C_out, K): one vectorized kernel a row
    Z = W_col @ X_col  # (C_out, P): z = W x of eq. (8), every patch at once (eq. (38))
    if b is not None:
        Z += b.data[:, None]
    out = Z.reshape(C_out, n, H_out, W_out).transpose(1, 0, 2, 3)  # (n, C_out, H_out, W_out)

    def backward(g):
        # G (C_out, P): the incoming gradient, one patch a column. NOTE: contiguous on
        # purpose; a broadcast g (from .sum()) would otherwise reach BLAS with 0 strides.
        G = np.ascontiguousarray(g.transpose(1, 0, 2, 3)).reshape(C_out, P)  # (C_out, P)
        gW = gb = gx = None
        if W.requires_grad:
            gW = (G @ X_col.T).reshape(W.shape)  # dL/dW_col = G X_colᵀ, one product
        if b is not None and b.requires_grad:
            gb = G.sum(axis=1)
        if x.requires_grad:
            g_col = W_col.T @ G  # (K, P): dL/dX_col = W_colᵀ G
            g_col = g_col.reshape(C, kh, kw, n, H_out, W_out)  # undo im2col's reshape
            gx = _col2im(g_col, (n, C, Hp, Wp), (sh, sw), dtype)  # (n, C, Hp, Wp)
            if ph or pw:
                gx = gx[:, :, ph:ph + H, pw:pw + Wd]
        return (gx, gW) if b is None else (gx, gW, gb)

    parents = (x, W) if b is None else (x, W, b)
    return Tensor._make(out, parents, backward, "conv2d")


def _col2im(g_col: np.ndarray, shape: tuple, stride: tuple[int, int], dtype) -> np.ndarray:
    """Add each patch gradient back onto the pixels it came from (the adjoint of im2col).

    ``g_col`` is (C, kh, kw, n, H_out, W_out); ``shape`` is (n, C, Hp, Wp). A pixel under
    several windows receives the sum of their gradients; the loop runs over the kh·kw
    kernel offsets only.
    """
    C, kh, kw, n, H_out, W_out = g_col.shape
    sh, sw = stride
    # Accumulate in (C, n, Hp, Wp), the order of g_col, so no term needs transposing.
    gx = np.zeros((C, n) + tuple(shape[2:]), dtype=dtype)
    for i in range(kh):
        for j in range(kw):
            # offset (i, j) of every window lands on rows i, i+sh, ... and cols j, j+sw, ...
            gx[:, :, i:i + sh * H_out:sh, j:j + sw * W_out:sw] += g_col[:, i, j]
    return gx.transpose(1, 0, 2, 3)  # (n, C, Hp, Wp), a view


# ------------------------------------------------------------------------------ pooling
def _pool_geometry(x: Tensor, k, stride, op: str):
    _check_images(x, op)
    kh, kw = _pair(k, "k")
    sh, sw = (kh, kw) if stride is None else _pair(stride, "stride")
    if min(kh, kw, sh, sw) < 1:
        raise ValueError(f"{op}: k and stride must be >= 1, got k={k!r}, stride={stride!r}")
    H, W = x.shape[2:]
    if kh > H or kw > W:
        raise ValueError(f"{op}: window {kh}x{kw} is larger than the input {H}x{W} "
                         f"(x shape {x.shape})")
    return kh, kw, sh, sw, (H - kh) // sh + 1, (W - kw) // sw + 1


def max_pool2d(x, k, stride=None) -> Tensor:
    """Max pooling: the largest entry of each k×k window (stride k unless given).

    The gradient goes to the entry that was the maximum (the first one at ties, as PyTorch).
    Windows that do not fit at the bottom or right edge are dropped (floor, as PyTorch).

    >>> x = np.array([[[[1., 2, 5, 0], [3, 4, 1, 1], [0, 0, 2, 2], [9, 0, 2, 3]]]])
    >>> max_pool2d(x, 2).numpy()[0, 0]
    array([[4., 5.],
           [9., 3.]])
    """
    x = _as_tensor(x)
    kh, kw, sh, sw, H_out, W_out = _pool_geometry(x, k, stride, "max_pool2d")
    a = x.data
    # Loop over the k·k window offsets only; each step is one array operation.
    out = None
    which = np.zeros((x.shape[0], x.shape[1], H_out, W_out), dtype=np.intp)  # argmax offset
    for i in range(kh):
        for j in range(kw):
            part = a[:, :, i:i + sh * H_out:sh, j:j + sw * W_out:sw]  # (n, C, H_out, W_out)
            if out is None:
                out = part.copy()
                continue
            bigger = part > out  # strict: ties keep the first offset
            np.copyto(out, part, where=bigger)
            which[bigger] = i * kw + j

    def backward(g):
        gx = np.zeros_like(a)
        for i in range(kh):
            for j in range(kw):
                gx[:, :, i:i + sh * H_out:sh, j:j + sw * W_out:sw] += np.where(
                    which == i * kw + j, g, 0)
        return (gx,)

    return Tensor._make(out, (x,), backward, "max_pool2d")


def avg_pool2d(x, k, stride=None) -> Tensor:
    """Average pooling: the sample mean (10) of each k×k window (stride k unless given).

    >>> x = np.array([[[[1., 2, 5, 0], [3, 4, 1, 1], [0, 0, 2, 2], [9, 0, 2, 3]]]])
    >>> avg_pool2d(x, 2).numpy()[0, 0]
    array([[2.5 , 1.75],
           [2.25, 2.25]])
    """
    x = _as_tensor(x)
    kh, kw, sh, sw, H_out, W_out = _pool_geometry(x, k, stride, "avg_pool2d")
    a = x.data
    windows = sliding_window_view(a, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    out = windows.mean(axis=(4, 5), dtype=a.dtype)  # (n, C, H_out, W_out)

    def backward(g):
        share = g / (kh * kw)  # each entry of a window contributes 1/(k·k) of its mean
        gx = np.zeros_like(a)
        for i in range(kh):
            for j in range(kw):
                gx[:, :, i:i + sh * H_out:sh, j:j + sw * W_out:sw] += share
        return (gx,)

    return Tensor._make(out, (x,), backward, "avg_pool2d")


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
    W = _as_tensor(W)
    if W.ndim != 2:
        raise ValueError(f"embedding expects a table W of shape (num, dim), got {W.shape}")
    idx = _token_indices(indices, W.shape[0])
    table = W.data

    def backward(g):
        gW = np.zeros_like(table)
        # one row of g per looked-up token: (number of tokens, dim); repeats add up
        np.add.at(gW, idx.ravel(), g.reshape(-1, table.shape[1]))
        return (gW,)

    return Tensor._make(table[idx], (W,), backward, "embedding")


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


# ---------------------------------------------------------------------- attention (40)-(41)
def dot_product_attention(q, k, v, mask=None, scale=None) -> tuple[Tensor, Tensor]:
    """Attention: scores (40), weights by softmax (41), output = weights · values.

    S = scale · Q Kᵀ, so S[t, j] = scale · (q^{(t)})ᵀ k^{(j)} is the alignment score of
    eq. (40); α = softmax of each row of S over the keys j, eq. (41); output = α V.
    With q = k = v = the embedded words and ``scale=1.0`` this is exactly the primer's
    eqs. (40)-(41); the default ``scale=None`` uses 1/√d (the Transformer's choice, which
    keeps the scores' spread independent of the dimension d).

    Parameters
    ----------
    q : (..., T_q, d);  k : (..., T_k, d);  v : (..., T_k, d_v)
    mask : boolean array broadcastable to (..., T_q, T_k), optional
        True where query t MAY attend to key j; False entries get weight 0. A query row
        with no allowed key gets all-zero weights and a zero output (not NaN).
        Note: PyTorch's boolean ``attn_mask`` of nn.MultiheadAttention means the opposite.
    scale : float, optional

    Returns
    -------
    (output (..., T_q, d_v), weights (..., T_q, T_k)), both Tensors.

    >>> x = Tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])    # three "words"
    >>> out, alpha = dot_product_attention(x, x, x, scale=1.0)
    >>> alpha.numpy().sum(axis=-1)                          # each row is a probability vector
    array([1., 1., 1.], dtype=float32)
    """
    q, k, v = _as_tensor(q), _as_tensor(k), _as_tensor(v)
    for name, t in (("q", q), ("k", k), ("v", v)):
        if t.ndim < 2:
            raise ValueError(f"dot_product_attention expects {name} of shape (..., T, d), "
                             f"got shape {t.shape}")
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"dot_product_attention: q {q.shape} and k {k.shape} must share d (last axis), "
            f"and k and v {v.shape} must share T_k (second to last axis)"
        )
    d = q.shape[-1]
    scale = 1.0 / np.sqrt(d) if scale is None else float(scale)
    if scale != 1.0:
        q = q * scale  # (..., T_q, d): the same S, on the smaller array when T > d
    S = q @ k.swapaxes(-1, -2)  # (..., T_q, T_k), eq. (40), times scale
    if mask is None:
        alpha = S.softmax(axis=-1)  # (..., T_q, T_k), eq. (41)
    else:
        mask = _check_mask(mask, S.shape)
        # NOTE: a large finite negative instead of -inf: e^{-huge - max} is exactly 0, and a
        # row with every key masked stays finite (uniform) instead of 0/0 = NaN ...
        very_negative = np.finfo(S.dtype).min / 2
        alpha = where(mask, S, very_negative).softmax(axis=-1)  # (..., T_q, T_k)
        # ... and is then zeroed, so a query with nothing to attend to returns 0.
        has_key = mask.any(axis=-1, keepdims=True)
        if not has_key.all():
            alpha = alpha * has_key.astype(S.dtype)
    return alpha @ v, alpha  # (..., T_q, d_v), (..., T_q, T_k)


def _check_mask(mask, scores_shape: tuple[int, ...]) -> np.ndarray:
    mask = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
    if mask.dtype != bool:
        raise ValueError(
            f"mask must be a boolean array (True = may attend), got dtype {mask.dtype}"
        )
    try:
        fits = np.broadcast_shapes(mask.shape, scores_shape) == tuple(scores_shape)
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(
            f"mask of shape {mask.shape} does not broadcast to the attention scores' shape "
            f"{tuple(scores_shape)} (..., T_q, T_k)"
        )
    return mask


def causal_mask(T: int) -> np.ndarray:
    """(T, T) boolean mask: position t may attend to positions j ≤ t only.

    >>> causal_mask(3)
    array([[ True, False, False],
           [ True,  True, False],
           [ True,  True,  True]])
    """
    return np.tril(np.ones((T, T), dtype=bool))


def padding_mask(lengths, T: int) -> np.ndarray:
    """(n, 1, T) boolean mask: sequence s may attend to its first ``lengths[s]`` positions.

    Broadcasts over the queries: (n, 1, T) against scores (n, T_q, T).

    >>> padding_mask([2, 3], 3)[:, 0]
    array([[ True,  True, False],
           [ True,  True,  True]])
    """
    lengths = np.asarray(lengths)
    if lengths.ndim != 1 or np.any(lengths < 0) or np.any(lengths > T):
        raise ValueError(f"lengths must be a 1-D array of ints in 0..{T}, got {lengths!r}")
    return (np.arange(T)[None, :] < lengths[:, None])[:, None, :]  # (n, 1, T)


# ------------------------------------------------------------------------ normalization
def layer_norm(x, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """Layer normalization: standardize (13) each sample over its last axis, then scale.

    y = (x - μ) / √(σ² + eps) ⊙ weight + bias, with μ and σ² the sample mean and the
    (1/d) sample variance (10) of the last axis.

    >>> layer_norm(np.array([[1.0, 2.0, 3.0]])).numpy().round(4)
    array([[-1.2247,  0.    ,  1.2247]])
    """
    x = _as_tensor(x)
    centred = x - x.mean(axis=-1, keepdims=True)  # (..., d)
    variance = (centred * centred).mean(axis=-1, keepdims=True)  # (..., 1), 1/d as (10)
    y = centred / (variance + eps).sqrt()
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y
