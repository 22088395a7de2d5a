"""Attention layers (primer Sec. 10, eqs. (40)-(41)): multi-head attention, layer
normalization, and a Transformer encoder block.

Sequences are batch-first: X ∈ R^{n × T × d}, n sequences of T token vectors of length d.
"""

from __future__ import annotations

import numpy as np

import dlprimer.nn.functional as F
from dlprimer.engine.checks import positive_int
from dlprimer.engine.ops import concatenate
from dlprimer.engine.tensor import Tensor, as_tensor
from dlprimer.nn.dense import Dense
from dlprimer.nn.functional.attention import multi_head_attention
from dlprimer.nn.functional.norm import check_eps
from dlprimer.nn.init import glorot_uniform
from dlprimer.nn.module import FRONT_ENDS, Module, Parameter, as_rng, register

__all__ = ["MultiHeadAttention", "LayerNorm", "TransformerEncoderBlock"]


@register
class MultiHeadAttention(Module):
    """h attention heads side by side, each eqs. (40)-(41) on its own projections.

    Q = X_q W_qᵀ + b_q, K = X_k W_kᵀ + b_k, V = X_v W_vᵀ + b_v (each (n, T, d)), split into
    h heads of d/h columns; each head computes softmax(Q Kᵀ / √(d/h)) V; the heads are
    joined and mixed by W_o: output = concat(heads) W_oᵀ + b_o.

    Parameters
    ----------
    d_model : int
        d, the length of each token vector.
    num_heads : int
        h; must divide d.
    seed : int or numpy Generator
        W_* start Glorot uniform, biases at 0.
    dtype : float32 (default) or float64

    Parameters W_q, W_k, W_v, W_o (d, d) and b_q, b_k, b_v, b_o (d,). To copy from PyTorch's
    nn.MultiheadAttention: in_proj_weight = [W_q; W_k; W_v] stacked by rows, out_proj = W_o.

    ``layer(query, key=None, value=None, mask=None, return_weights=False)``: key and value
    default to query (self-attention). ``mask`` (True = may attend) broadcasts to
    (n, h, T_q, T_k); masks of shape (T_q, T_k) or (n, T_q, T_k) or a ``padding_mask``
    (n, 1, T_k) apply to every head. Returns the output (n, T_q, d), and with
    ``return_weights=True`` also the weights (n, h, T_q, T_k).

    >>> mha = MultiHeadAttention(8, 2)
    >>> mha(np.zeros((3, 5, 8))).shape
    (3, 5, 8)
    """

    def __init__(self, d_model: int, num_heads: int, seed=0, dtype=np.float32):
        d_model = positive_int(d_model, "d_model")
        num_heads = positive_int(num_heads, "num_heads")
        if d_model % num_heads:
            raise ValueError(
                f"d_model ({d_model}) must be divisible by num_heads ({num_heads}): each head "
                f"gets d_model / num_heads columns"
            )
        self.d_model, self.num_heads = d_model, num_heads
        rng = as_rng(seed)
        d = d_model
        self.W_q = Parameter(glorot_uniform((d, d), d, d, rng, dtype), dtype)
        self.W_k = Parameter(glorot_uniform((d, d), d, d, rng, dtype), dtype)
        self.W_v = Parameter(glorot_uniform((d, d), d, d, rng, dtype), dtype)
        self.W_o = Parameter(glorot_uniform((d, d), d, d, rng, dtype), dtype)
        self.b_q = Parameter(np.zeros(d), dtype)
        self.b_k = Parameter(np.zeros(d), dtype)
        self.b_v = Parameter(np.zeros(d), dtype)
        self.b_o = Parameter(np.zeros(d), dtype)

    def config(self) -> dict:
        return {"kind": "MultiHeadAttention", "d_model": self.d_model,
                "num_heads": self.num_heads, "dtype": str(self.dtype)}

    def _project(self, X: Tensor, W: Tensor, b: Tensor) -> Tensor:
        """X Wᵀ + b as one 2-D product: (n, T, d) -> (n·T, d) -> (n, T, d_out)."""
        n, T, d = X.shape
        Z = X.reshape(n * T, d) @ W.T + b  # (n·T, d_out): one GEMM, not n small ones
        return Z.reshape(n, T, W.shape[0])  # (n, T, d_out); an empty batch (n = 0) too

    def forward(self, query, key=None, value=None, mask=None, return_weights: bool = False):
        query = as_tensor(query, self.W_q.dtype)
        key = query if key is None else as_tensor(key, self.W_q.dtype)
        value = key if value is None else as_tensor(value, self.W_q.dtype)
        for name, t in (("query", query), ("key", key), ("value", value)):
            if t.ndim != 3 or t.shape[2] != self.d_model:
                raise ValueError(f"MultiHeadAttention expects {name} of shape "
                                 f"(n, T, {self.d_model}), got {t.shape}")
        if query.shape[1] == 0 or key.shape[1] == 0:
            raise ValueError(f"MultiHeadAttention needs sequences of at least one token "
                             f"(T ≥ 1), got query {query.shape} and key {key.shape}: with no "
                             "keys the softmax (41) has nothing to normalize; drop the empty "
                             "sequences, or pad them and mask the padding (padding_mask)")
        if key.shape[:2] != value.shape[:2] or key.shape[0] != query.shape[0]:
            raise ValueError(f"query {query.shape}, key {key.shape} and value {value.shape} "
                             "must share n, and key and value must share T")
        if mask is not None:
            mask = np.asarray(mask)
            if mask.ndim == 3:  # (n, T_q, T_k) or (n, 1, T_k): the same for every head
                mask = mask[:, None]  # (n, 1, ·, T_k)
        if key is query and value is query:  # self-attention: Q, K, V in one product
            W_qkv = concatenate([self.W_q, self.W_k, self.W_v])  # (3d, d), [W_q; W_k; W_v]
            b_qkv = concatenate([self.b_q, self.b_k, self.b_v])  # (3d,)
            sources = (self._project(query, W_qkv, b_qkv),)  # (n, T, 3d) = [Q | K | V]
        else:
            sources = (self._project(query, self.W_q, self.b_q),  # (n, T_q, d)
                       self._project(key, self.W_k, self.b_k),  # (n, T_k, d)
                       self._project(value, self.W_v, self.b_v))  # (n, T_k, d)
        # h heads of d/h columns, eqs. (40)-(41) on each, joined again: (n, T_q, h·d/h = d)
        joined, weights = multi_head_attention(sources, self.num_heads, mask)
        out = self._project(joined, self.W_o, self.b_o)  # (n, T_q, d)
        return (out, weights) if return_weights else out

    def explain(self, X=None, t: int = 0, head: int = 0, digits: int = 4):
        """The layer in the primer's notation; with a sequence X (T, d) (or a batch: sample
        0), one head's scores (40), softmax weights (41) and output for query position t,
        then the layer's output there. Indices are 0-based; the text counts from 1.
        Self-attention without a mask. See :func:`dlprimer.explain.explain_attention`.
        """
        return FRONT_ENDS["explain"](self, X, digits, t=t, head=head)


@register
class LayerNorm(Module):
    """Standardize each token vector over its d entries, then scale and shift (learned).

    y = (x - μ) / √(σ² + eps) ⊙ weight + bias; weight starts at 1, bias at 0 (as PyTorch).
    eps must be a finite number > 0 (PyTorch also takes 0 or less, which gives NaN).

    >>> LayerNorm(3)(np.array([[1.0, 2.0, 3.0]])).numpy().round(4)
    array([[-1.2247,  0.    ,  1.2247]], dtype=float32)
    """

    def __init__(self, d: int, eps: float = 1e-5, dtype=np.float32):
        self.d, self.eps = positive_int(d, "d"), check_eps(eps)
        self.weight = Parameter(np.ones(self.d), dtype)
        self.bias = Parameter(np.zeros(self.d), dtype)

    def config(self) -> dict:
        return {"kind": "LayerNorm", "d": self.d, "eps": self.eps, "dtype": str(self.dtype)}

    def forward(self, x) -> Tensor:
        x = as_tensor(x, self.weight.dtype)
        if x.shape[-1:] != (self.d,):
            raise ValueError(f"LayerNorm({self.d}) expects a last axis of {self.d}, "
                             f"got shape {x.shape}")
        return F.layer_norm(x, self.weight, self.bias, self.eps)


@register
class TransformerEncoderBlock(Module):
    """One Transformer encoder block: attention and a feedforward net, each with a
    residual connection and a layer norm (post-norm, as the 2017 paper and PyTorch's
    nn.TransformerEncoderLayer with dropout 0):

        A = LayerNorm(X + MultiHeadAttention(X))
        Y = LayerNorm(A + Dense_2(ReLU(Dense_1(A))))

    Parameters
    ----------
    d_model, num_heads : int
    d_ff : int
        Width of the hidden layer of the feedforward net.
    seed : int or numpy Generator
    dtype : float32 (default) or float64

    >>> block = TransformerEncoderBlock(8, 2, 16)
    >>> block(np.zeros((3, 5, 8))).shape
    (3, 5, 8)
    """

    def __init__(self, d_model: int, num_heads: int, d_ff: int, seed=0, dtype=np.float32):
        d_ff = positive_int(d_ff, "d_ff")  # the width of the feedforward net
        rng = as_rng(seed)
        self.attention = MultiHeadAttention(d_model, num_heads, seed=rng, dtype=dtype)
        self.norm1 = LayerNorm(d_model, dtype=dtype)
        self.ff1 = Dense(d_model, d_ff, init="he", seed=rng, dtype=dtype)
        self.ff2 = Dense(d_ff, d_model, seed=rng, dtype=dtype)
        self.norm2 = LayerNorm(d_model, dtype=dtype)

    def config(self) -> dict:
        return {"kind": "TransformerEncoderBlock", "d_model": self.attention.d_model,
                "num_heads": self.attention.num_heads, "d_ff": self.ff1.out_features,
                "dtype": str(self.dtype)}

    def forward(self, X, mask=None) -> Tensor:
        X = as_tensor(X, self.norm1.weight.dtype)
        A = self.norm1(X + self.attention(X, mask=mask))  # (n, T, d)
        return self.norm2(A + self.ff2(self.ff1(A, activation="relu")))  # (n, T, d)
