"""Attention, eqs. (40)-(41) of the primer: the fused scaled dot-product primitive, the
multi-head split, and the causal and padding masks. Re-exported by
``dlprimer.nn.functional``.

The fused ops (``dot_product_attention``, ``multi_head_attention``) have their backward
written out, for speed; beside each stands its specification, the same equations in
Tensor primitives with gradients from the engine (``dot_product_attention_composite``,
``multi_head_attention_composite``), and a test checks that they agree.
"""

from __future__ import annotations

import functools

import numpy as np

from dlprimer.engine.ops import where
from dlprimer.engine.tensor import Tensor, as_tensor, unbroadcast
from dlprimer.engine.validate import broadcast_error

__all__ = ["dot_product_attention", "dot_product_attention_composite", "causal_mask",
           "padding_mask", "multi_head_attention", "multi_head_attention_composite"]


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
    q, k, v, mask, scale, batch = _check_attention("dot_product_attention", q, k, v, mask,
                                                   scale)
    out = np.empty(batch + (q.shape[-2], v.shape[-1]), np.result_type(q.data, k.data, v.data))
    core = _AttentionCore(q.data, k.data, v.data, mask, scale, out)

    def backward(g):
        gq, gk, gv = (np.empty(batch + t.shape[-2:], out.dtype) if t.requires_grad else None
                      for t in (q, k, v))
        core.backward(g, gq, gk, gv)
        return tuple(None if a is None else unbroadcast(a, t.shape)
                     for a, t in ((gq, q), (gk, k), (gv, v)))

    def weights_backward(g_alpha):
        gq, gk = (np.empty(batch + t.shape[-2:], out.dtype) if t.requires_grad else None
                  for t in (q, k))
        core.weights_backward(g_alpha, gq, gk)
        return tuple(None if a is None else unbroadcast(a, t.shape) for a, t in ((gq, q), (gk, k)))

    alpha = Tensor.from_op(core.weights, (q, k), weights_backward, "attention_weights")
    return Tensor.from_op(out, (q, k, v), backward, "attention"), alpha  # (..., T_q, d_v), α


def dot_product_attention_composite(q, k, v, mask=None, scale=None) -> tuple[Tensor, Tensor]:
    """Attention, eqs. (40)-(41), in Tensor primitives: the specification of the fused
    ``dot_product_attention``, with the same parameters, mask convention and returns.

    S = scale · Q Kᵀ, the alignment scores of eq. (40); α = softmax of each row of S over
    the keys, eq. (41); output = α V.

    >>> x = Tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])    # three "words"
    >>> out, alpha = dot_product_attention_composite(x, x, x, scale=1.0)
    >>> fused, _ = dot_product_attention(x, x, x, scale=1.0)
    >>> bool(np.allclose(out.numpy(), fused.numpy()))
    True
    """
    q, k, v, mask, scale, _ = _check_attention("dot_product_attention_composite", q, k, v,
                                               mask, scale)
    S = (q @ k.swapaxes(-1, -2)) * scale  # scores, eq. (40): (..., T_q, T_k)
    if mask is not None:
        # NOTE: a large finite negative instead of -inf, as in the fused op: its weight
        # e^{-huge - max} is exactly 0, and a row with every key masked stays finite.
        S = where(mask, S, np.finfo(S.dtype).min / 2)
    alpha = S.softmax(axis=-1)  # eq. (41), each query's row over the keys
    if mask is not None:  # ... and a query with no key to attend to gets weights 0
        alpha = alpha * mask.any(axis=-1, keepdims=True).astype(alpha.dtype)
    return alpha @ v, alpha  # (..., T_q, d_v), (..., T_q, T_k)


def multi_head_attention_composite(sources: tuple, num_heads: int,
                                   mask=None) -> tuple[Tensor, Tensor]:
    """The multi-head split, attention and join in Tensor primitives: the specification
    of the fused ``multi_head_attention``, with the same arguments and returns.

    >>> QKV = Tensor(np.random.default_rng(0).standard_normal((2, 5, 3 * 4)))
    >>> joined, alpha = multi_head_attention_composite((QKV,), num_heads=2)
    >>> joined.shape, alpha.shape
    ((2, 5, 4), (2, 2, 5, 5))
    """
    sources = tuple(as_tensor(s) for s in sources)
    if len(sources) == 1:  # the stacked [Q | K | V] of self-attention, (n, T, 3d)
        d = sources[0].shape[-1] // 3
        Q, K, V = (sources[0][..., i * d:(i + 1) * d] for i in range(3))  # (n, T, d) each
    else:
        Q, K, V = sources
    (n, T_q, d), h = Q.shape, num_heads

    def heads(a):  # (n, T, d) -> (n, h, T, d/h): head j holds columns j·d/h .. (j+1)·d/h
        return a.reshape(a.shape[0], a.shape[1], h, d // h).transpose(0, 2, 1, 3)

    # scale 1/√(d/h), the default for heads of d/h columns
    out, alpha = dot_product_attention_composite(heads(Q), heads(K), heads(V), mask)
    joined = out.transpose(0, 2, 1, 3).reshape(n, T_q, d)  # (n, T_q, h·d/h)
    return joined, alpha  # (n, T_q, d), (n, h, T_q, T_k)


def _check_attention(op: str, q, k, v, mask, scale) -> tuple:
    """(q, k, v, mask, scale, batch): the operands as Tensors, the mask checked against
    the scores (..., T_q, T_k), the scale as a float (1/√d by default) and the broadcast
    batch axes; or a ValueError saying which shapes do not fit."""
    q, k, v = as_tensor(q), as_tensor(k), as_tensor(v)
    for name, t in (("q", q), ("k", k), ("v", v)):
        if t.ndim < 2:
            raise ValueError(f"{op} expects {name} of shape (..., T, d), got shape {t.shape}")
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"{op}: q {q.shape} and k {k.shape} must share d (last axis), "
            f"and k and v {v.shape} must share T_k (second to last axis)"
        )
    if k.shape[-2] == 0 or q.shape[-1] == 0:
        raise ValueError(f"{op}: k has shape {k.shape} and q {q.shape}: attention needs at "
                         "least one key (T_k ≥ 1; the softmax (41) normalizes over the keys) "
                         "and vectors of length d ≥ 1")
    d = q.shape[-1]
    scale = 1.0 / float(np.sqrt(d)) if scale is None else float(scale)
    try:
        batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError:
        raise broadcast_error(f"{op}: the batch axes of q, k and v", q.shape[:-2],
                              k.shape[:-2], v.shape[:-2]) from None
    scores_shape = batch + (q.shape[-2], k.shape[-2])  # (..., T_q, T_k)
    mask = None if mask is None else _check_mask(mask, scores_shape)
    return q, k, v, mask, scale, batch


def multi_head_attention(sources: tuple, num_heads: int, mask=None) -> tuple[Tensor, Tensor]:
    """The core of multi-head attention as one primitive: split Q, K, V into h heads of
    d/h columns, attention (40)-(41) on each head (scale 1/√(d/h)), join the heads.

    ``sources`` is (QKV,), the stacked projections [Q | K | V] of self-attention,
    shape (n, T, 3d), or (Q, K, V) of shapes (n, T_q, d), (n, T_k, d), (n, T_k, d).
    ``mask`` broadcasts to (n, h, T_q, T_k). Returns the joined heads (n, T_q, d) and the
    weights (n, h, T_q, T_k).

    NOTE: fused for speed: the heads are strided views of the projections and the output
    is written straight into the joined layout, so the split and join cost no copies and
    no graph nodes, and the stacked QKV gets its gradient in one array.
    """
    h = num_heads
    arrays = (np.split(sources[0].data, 3, axis=-1) if len(sources) == 1
              else [s.data for s in sources])  # (n, T, d) each, views of QKV when stacked
    (n, T_q, d), T_k = arrays[0].shape, arrays[1].shape[1]

    def heads(a):  # (n, T, d) -> (n, h, T, d/h), a view
        return a.reshape(a.shape[0], a.shape[1], h, d // h).transpose(0, 2, 1, 3)

    scores_shape = (n, h, T_q, T_k)
    mask = None if mask is None else _check_mask(mask, scores_shape)
    joined = np.empty((n, T_q, d), np.result_type(*arrays))  # (n, T_q, h·d/h)
    core = _AttentionCore(*(heads(a) for a in arrays), mask, 1.0 / float(np.sqrt(d // h)),
                          heads(joined))

    def gradient_arrays(count):
        """Empty gradients for the sources, and their (n, h, T, d/h) head views (count of
        them: 3 for the output, 2 (q, k) for the weights)."""
        if len(sources) == 1:
            g_stacked = np.empty(sources[0].shape, joined.dtype)
            views = [heads(a) for a in np.split(g_stacked, 3, axis=-1)]
            if count == 2:
                views[2][...] = 0  # the weights do not depend on V
            return (g_stacked,), views[:count]
        grads = tuple(np.empty(s.shape, joined.dtype) if s.requires_grad and i < count
                      else None for i, s in enumerate(sources))
        return grads, [None if a is None else heads(a) for a in grads[:count]]

    def backward(g):
        grads, views = gradient_arrays(3)
        core.backward(heads(np.ascontiguousarray(g)), *views)  # g: (n, T_q, d) joined
        return grads

    def weights_backward(g_alpha):
        grads, views = gradient_arrays(2)
        core.weights_backward(g_alpha, *views)
        return grads

    alpha = Tensor.from_op(core.weights, sources, weights_backward, "attention_weights")
    return Tensor.from_op(joined, sources, backward, "multi_head_attention"), alpha


class _AttentionCore:
    """The arrays of one attention call, eqs. (40)-(41), and their gradients.

    NOTE: one fused primitive instead of the composite (matmul, softmax, matmul), for
    speed: it skips the intermediate nodes and their extra passes over the (T_q, T_k)
    scores. Inside, the scores are kept transposed, keys on axis -2, because numpy reduces
    (max, sum) over a non-last axis several times faster. And the work runs a few entries
    of the first batch axis at a time (a "piece") whose scores fit in a core's L2 cache,
    each piece writing its own slices of the outputs and gradients (measured: the softmax
    passes 1.5x faster than over the whole batch at n·h = 128, T = 128).

    q (..., T_q, d), k (..., T_k, d), v (..., T_k, d_v) may be strided views (the heads of
    a stacked projection); ``out`` (batch..., T_q, d_v) is written in place, and may be a
    view too. ``mask`` is a checked boolean array that broadcasts to the scores.
    """

    PIECE_BYTES = 1 << 20  # scores of one piece: about half of a core's L2 cache

    def __init__(self, q, k, v, mask, scale: float, out: np.ndarray):
        self.q, self.k, self.v, self.scale, self.out = q, k, v, scale, out
        batch = out.shape[:-2]
        T_q, T_k = q.shape[-2], k.shape[-2]
        A_T = np.empty(batch + (T_k, T_q), out.dtype)  # (..., T_k, T_q) = αᵀ
        self.A_T, self.mask_T, self.has_key = A_T, None, None
        if mask is not None:
            self.mask_T = np.swapaxes(np.broadcast_to(mask, batch + (T_q, T_k)), -1, -2)
            has_key = self.mask_T.any(axis=-2, keepdims=True)  # (..., 1, T_q)
            self.has_key = None if has_key.all() else has_key
        rows = batch[0] if batch else 1
        per_row = A_T.nbytes // max(rows, 1)
        step = max(1, self.PIECE_BYTES // max(per_row, 1))
        self.pieces = [slice(i, min(i + step, rows)) for i in range(0, rows, step)]
        self.batch_ndim = len(batch)
        for piece in self.pieces:
            self._forward(piece)

    @property
    def weights(self) -> np.ndarray:
        return np.swapaxes(self.A_T, -1, -2)  # (..., T_q, T_k) = α

    def _at(self, a, piece):
        """The part of a (batch..., ·, ·) array that piece ``piece`` of the first batch axis
        uses: all of it where that axis is missing or broadcast (size 1)."""
        if self.batch_ndim == 0 or a is None or a.ndim - 2 < self.batch_ndim or a.shape[0] == 1:
            return a
        return a[piece]

    def _forward(self, piece):
        at = functools.partial(self._at, piece=piece)
        A_T = at(self.A_T)
        q = at(self.q)
        qs = q * self.scale if self.scale != 1.0 else q  # the same S, smaller array
        np.matmul(at(self.k), np.swapaxes(qs, -1, -2), out=A_T)  # Sᵀ, eq. (40), times scale
        if self.mask_T is not None:
            # NOTE: a large finite negative instead of -inf: e^{-huge - max} is exactly 0, and
            # a row with every key masked stays finite (uniform) instead of 0/0 = NaN ...
            np.copyto(A_T, np.finfo(A_T.dtype).min / 2, where=~at(self.mask_T))
        # softmax over the keys, eq. (41), in place.
        # NOTE: softmax(s) = softmax(s - c) for any c; c = max(s) makes every exponent ≤ 0.
        A_T -= A_T.max(axis=-2, keepdims=True)
        np.exp(A_T, out=A_T)
        A_T *= 1.0 / A_T.sum(axis=-2, keepdims=True)
        if self.has_key is not None:
            A_T *= at(self.has_key)  # ... and is then zeroed: no key to attend to gives 0.
        np.matmul(np.swapaxes(A_T, -1, -2), at(self.v), out=at(self.out))  # α V

    def _scores_backward(self, piece, dS_T, gq, gk):
        """dL/dq and dL/dk of one piece from dL/dSᵀ, S = scale · q kᵀ."""
        if gq is not None:
            gq = gq[piece] if self.batch_ndim else gq
            np.matmul(np.swapaxes(dS_T, -1, -2), self._at(self.k, piece), out=gq)  # dS K
            gq *= self.scale
        if gk is not None:
            gk = gk[piece] if self.batch_ndim else gk
            np.matmul(dS_T, self._at(self.q, piece), out=gk)  # dSᵀ Q
            gk *= self.scale

    def backward(self, g, gq, gk, gv):
        """Fill gq, gk, gv (each None or (batch..., T, ·)) from g = dL/d(out)."""
        def work(piece):
            at = functools.partial(self._at, piece=piece)
            g_p, A_T = at(np.broadcast_to(g, self.out.shape)), at(self.A_T)
            if gv is not None:  # dV = αᵀ g
                np.matmul(A_T, g_p, out=gv[piece] if self.batch_ndim else gv)
            if gq is None and gk is None:
                return
            dA_T = at(self.v) @ np.swapaxes(g_p, -1, -2)  # (dα)ᵀ = V gᵀ, (..., T_k, T_q)
            # softmax backward dS = α ⊙ (dα - Σ_j dα_j α_j), and Σ_j dα_tj α_tj = g_t · out_t,
            # a sum over d_v instead of T_k (the FlashAttention identity).
            dA_T -= np.sum(g_p * at(self.out), axis=-1)[..., None, :]
            dA_T *= A_T  # dSᵀ
            self._scores_backward(piece, dA_T, gq, gk)

        for piece in self.pieces:
            work(piece)

    def weights_backward(self, g_alpha, gq, gk):
        """Fill gq, gk from g_alpha = dL/dα (..., T_q, T_k); softmax backward as in
        Tensor.softmax."""
        def work(piece):
            g_T = np.swapaxes(self._at(np.broadcast_to(g_alpha, self.weights.shape), piece),
                              -1, -2)  # (..., T_k, T_q)
            A_T = self._at(self.A_T, piece)
            dS_T = g_T - (g_T * A_T).sum(axis=-2, keepdims=True)
            dS_T *= A_T
            self._scores_backward(piece, dS_T, gq, gk)

        for piece in self.pieces:
            work(piece)


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
