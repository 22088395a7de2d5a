"""Explanation for Sec. 10 of the primer: one attention query, eqs. (40)-(41).

``explain_attention(X, t)`` writes the alignment scores (40), the softmax weights (41) and
the weighted sum for the word at position t. ``MultiHeadAttention`` layers are registered
with :func:`dlprimer.explain.explain` and have an ``explain`` method that takes the same
options.

Indices are 0-based in the API (as numpy's ``X[t]``) and 1-based in the text, as in the
primer: ``t=0`` is x^{(1)}. Numbers are recomputed in float64 from the parameters, so they
equal the layer's forward pass up to its precision.
"""

from __future__ import annotations

import numbers

import numpy as np

from dlprimer.engine.checks import as_float_array
from dlprimer.explain.conv import as_words, check_index, product_sum
from dlprimer.explain.core import (
    DOTS,
    IN,
    E,
    Explanation,
    R,
    check_digits,
    f64,
    join,
    name,
    num,
    register,
    shown_indices,
    sub,
    vec,
)
from dlprimer.nn.attention import MultiHeadAttention

__all__ = ["explain_attention"]


def _sup(symbol: str, t) -> E:
    """x^{(t)}: the t-th vector of a sequence, as in the primer."""
    return E(f"{symbol}^{{({t})}}")


def _rows(out: Explanation, label: str, symbol: str, M: np.ndarray, digits: int,
          names=None) -> None:
    """One step per shown row: symbol^{(j)} [= “name”] = (…)."""
    for j in shown_indices(M.shape[0]):
        if j is None:
            out.add("", E("⋮", r"\vdots"))
            continue
        named = " = " + name(names[j]) if names else E("")
        out.add("" if j else label, _sup(symbol, j + 1) + named + " = " + vec(M[j], digits))


def _attention_steps(out: Explanation, q: np.ndarray, K: np.ndarray, V: np.ndarray, t: int,
                     scale: float, scaled, general: E, v_sym: str, out_label: str,
                     digits: int, names=None) -> None:
    """Scores (40), exponentials, weights (41) and the output Σⱼ αⱼ v^{(j)} for one query.

    ``general`` is the score's formula in symbols; ``scaled(inner)`` writes the inner
    product's terms with the scale applied (as written in ``general``).
    """
    T = K.shape[0]
    scores = scale * (K @ q)  # (T,), eq. (40)
    out.add("scores, eq. (40)", general + E(",  j = 1, …, T", r",\ j = 1, \ldots, T"))
    for j in shown_indices(T):
        if j is None:
            out.add("", E("⋮", r"\vdots"))
            continue
        out.add("", sub("s", j + 1) + " = " + scaled(product_sum(q, K[j], digits)) + " = "
                + num(scores[j], digits))
    # NOTE: e^{s_j} overflows float64 past s ≈ 709 and underflows to 0 below −745; there show
    # e^{s_j − max s} instead, which leaves the weights unchanged (the softmax's max shift).
    shift = float(scores.max()) if np.abs(scores).max() > 700 else 0.0
    power = E("s_j") if shift == 0 else E("s_j − max s", r"s_j - \max s")
    power_k = E("s_k") if shift == 0 else E("s_k − max s", r"s_k - \max s")
    exp_s = np.exp(scores - shift)  # (T,)
    total = float(exp_s.sum())
    weights = exp_s / total  # (T,), eq. (41)
    output = weights @ V  # (d_v,)
    out.add("exponentials", "e^{" + power + "} = " + vec(exp_s, digits))
    # the primer sums over t' in eq. (41); k here keeps the text's e^{s_k} one level deep
    out.add("", E("Σ_{k=1}^{T} e^{", r"\textstyle\sum_{k=1}^{T} e^{") + power_k + "} = "
            + num(total, digits))
    out.add("weights, eq. (41)", E("α_j = e^{", r"\alpha_j = e^{") + power
            + E("} / Σ_k e^{", r"} / \textstyle\sum_k e^{") + power_k + "}" + E(",  ", r",\ ")
            + E("(α₁, …, α_T) = ", r"(\alpha_1, \ldots, \alpha_T) = ") + vec(weights, digits))
    terms = [num(weights[j], digits) + " " + _sup(v_sym, j + 1) for j in range(min(T, 3))]
    out.add(out_label, E(f"o^{{({t + 1})}} = Σ_j α_j ", rf"o^{{({t + 1})}} = \sum_j \alpha_j ")
            + _sup(v_sym, "j") + " = " + join(terms + ([DOTS] if T > 3 else []), " + ")
            + " = " + vec(output, digits))
    top = int(np.argmax(weights))
    out.values.update(scores=scores, exp_scores=exp_s, sum_exp=total, weights=weights,
                      output=output, most_attended=top)
    out.add("most attended", f"j = {top + 1}" + (" (" + name(names[top]) + ")" if names else "")
            + E(",  ", r",\ ")
            + sub(E("α", r"\alpha"), top + 1) + " = " + num(weights[top], digits))


def _query_index(t, T: int) -> int:
    return check_index(t, "t", T, f"the sequence has T = {T} positions")


def explain_attention(X, t: int, words=None, scale: float = 1.0,
                      digits: int = 4) -> Explanation:
    """Attention for the word at position t, eqs. (40)-(41), in the primer's parameter-free
    form: scores s_j = (x^{(t)})ᵀ x^{(j)} (times ``scale``), weights α = S_Softmax(s), and
    the output Σⱼ αⱼ x^{(j)}: queries, keys and values are the word vectors themselves.

    Parameters
    ----------
    X : array (T, d)
        The word vectors x^{(1)}, …, x^{(T)}, one a row.
    t : int
        The current word, 0-based (``X[t]``); shown 1-based, as x^{(t+1)}.
    words : sequence of T names, optional
        Shown beside the vectors.
    scale : float
        1 is the primer's eq. (40); 1/√d is the Transformer's choice. There is no masking.
    digits : int
        Significant digits shown.

    Returns an Explanation with ``values`` "scores" (T,), "exp_scores" (T,), "sum_exp",
    "weights" (T,) and "output" (d,), all float64, and "most_attended" (0-based).

    The primer's words king, queen and mean, attending from "king" (long lines wrapped):

    >>> X = [[0.41, 1.2, 3.4, -1.3], [0.39, 1.1, 3.5, 1.6], [-0.2, -3.2, 1.3, 0.8]]
    >>> e = explain_attention(X, 0, words=["king", "queen", "mean"])
    >>> print(e)  # doctest: +NORMALIZE_WHITESPACE
    Attention from word t = 1 (king), eqs. (40)-(41), T = 3, d = 4
      words              x^{(1)} = “king” = (0.41, 1.2, 3.4, −1.3)
                         x^{(2)} = “queen” = (0.39, 1.1, 3.5, 1.6)
                         x^{(3)} = “mean” = (−0.2, −3.2, 1.3, 0.8)
      scores, eq. (40)   s_j = s(x^{(1)}, x^{(j)}) = (x^{(1)})ᵀ x^{(j)},  j = 1, …, T
                         s₁ = (0.41)(0.41) + (1.2)(1.2) + (3.4)(3.4) + (−1.3)(−1.3) = 14.86
                         s₂ = (0.41)(0.39) + (1.2)(1.1) + (3.4)(3.5) + (−1.3)(1.6) = 11.3
                         s₃ = (0.41)(−0.2) + (1.2)(−3.2) + (3.4)(1.3) + (−1.3)(0.8) = −0.542
      exponentials       e^{s_j} = (2.837×10^{6}, 8.081×10^{4}, 0.5816)
                         Σ_{k=1}^{T} e^{s_k} = 2.917×10^{6}
      weights, eq. (41)  α_j = e^{s_j} / Σ_k e^{s_k},  (α₁, …, α_T) = (0.9723, 0.0277,
                           1.994×10^{−7})
      output             o^{(1)} = Σ_j α_j x^{(j)} = 0.9723 x^{(1)} + 0.0277 x^{(2)} +
                           1.994×10^{−7} x^{(3)} = (0.4094, 1.197, 3.403, −1.22)
      most attended      j = 1 (“king”),  α₁ = 0.9723
    >>> e.values["weights"].round(4)
    array([0.9723, 0.0277, 0.    ])
    """
    digits = check_digits(digits)
    X = as_float_array(X, "X", ndim=2, allow_nan=False)
    T, d = X.shape
    if T == 0 or d == 0:
        raise ValueError(f"X must hold at least one word vector of length ≥ 1, got shape "
                         f"{X.shape}")
    t = _query_index(t, T)
    if words is not None:
        words = [str(w) for w in words]
        if len(words) != T:
            raise ValueError(f"words must name the T = {T} rows of X, got {len(words)} names")
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real) or not np.isfinite(scale):
        raise ValueError(f"scale must be a finite number (1 for eq. (40)), got {scale!r}")
    scale = float(scale)
    who = f" ({words[t]})" if words else ""
    out = Explanation(f"Attention from word t = {t + 1}{who}, eqs. (40)-(41), T = {T}, d = {d}")
    _rows(out, "words", "x", X, digits, words)
    xt = _sup("x", t + 1)

    def scaled(inner: E) -> E:
        return inner if scale == 1.0 else num(scale, digits) + E(" · (", r" \cdot (") + inner + ")"

    general = E("s_j = s(") + xt + ", " + _sup("x", "j") + ") = " + scaled(
        "(" + xt + E(")ᵀ ", r")^\top ") + _sup("x", "j"))
    # parameter-free: the query, the keys and the values are the word vectors themselves
    _attention_steps(out, X[t], X, X, t, scale, scaled, general, "x", "output", digits, words)
    return out


def explain_attention_layer(layer: MultiHeadAttention, X=None, digits: int = 4, t: int = 0,
                            head: int = 0) -> Explanation:
    """A MultiHeadAttention layer in the primer's notation; with a sequence X (T, d) (or a
    batch (n, T, d): sample 0), one head's scores, weights and output for query position t.

    Self-attention only (queries, keys and values from the same X), without a mask.
    """
    digits = check_digits(digits)
    d, h = layer.d_model, layer.num_heads
    d_h = d // h
    out = Explanation(f"Multi-head attention, eqs. (40)-(41), h = {h} heads, d = {d}"
                      + ("" if X is None else f", head {head + 1}, query t = {t + 1}"))
    out.add("layer", f"h = {h}" + as_words(" heads of ") + f"d/h = {d_h}"
            + as_words(" entries each;") + E("  ", r"\ ") + "W_q, W_k, W_v, W_o" + IN
            + R(d, d)
            + E(",  ", r",\ ") + "b_q, b_k, b_v, b_o" + IN + R(d))
    out.add("projections", E("q^{(t)} = W_q x^{(t)} + b_q,  k^{(j)} = W_k x^{(j)} + b_k,  "
                             "v^{(j)} = W_v x^{(j)} + b_v",
                             r"q^{(t)} = W_q x^{(t)} + b_q,\ k^{(j)} = W_k x^{(j)} + b_k,\ "
                             r"v^{(j)} = W_v x^{(j)} + b_v"))
    out.add("each head", E(f"s_j = (q^{{(t)}})ᵀ k^{{(j)}}/√{d_h},  α = S_Softmax(s),  "
                           "o^{(t)} = Σ_j α_j v^{(j)}, on the head's entries",
                           rf"s_j = (q^{{(t)}})^\top k^{{(j)}}/\sqrt{{{d_h}}},\ \alpha = "
                           r"S_{\text{Softmax}}(s),\ o^{(t)} = \sum_j \alpha_j v^{(j)}"
                           r"\text{, on the head's entries}"))
    out.add("mixing", E("y^{(t)} = W_o (o₁^{(t)}; …; o_h^{(t)}) + b_o: the heads stacked, "
                        "then mixed",
                        r"y^{(t)} = W_o (o_1^{(t)}; \ldots; o_h^{(t)}) + b_o"
                        r"\text{: the heads stacked, then mixed}"))
    out.values["d"] = 4 * (d * d + d)
    if X is None:
        return out
    X = as_float_array(X, "X", ndim=(2, 3), allow_nan=False)
    if X.ndim == 3:
        if X.shape[0] == 0:
            raise ValueError(f"X is an empty batch, shape {X.shape}; pass at least one sequence")
        X = X[0]
    T = X.shape[0]
    if X.shape[1] != d or T == 0:
        raise ValueError(f"X must be a sequence of shape (T, {d}) (T ≥ 1 token vectors of "
                         f"length d_model = {d}), or a batch (n, T, {d}); got shape {X.shape}")
    t = _query_index(t, T)
    head = check_index(head, "head", h, f"the layer has h = {h} heads")
    Q = X @ f64(layer.W_q).T + f64(layer.b_q)  # (T, d)
    K = X @ f64(layer.W_k).T + f64(layer.b_k)  # (T, d)
    V = X @ f64(layer.W_v).T + f64(layer.b_v)  # (T, d)
    cols = slice(head * d_h, (head + 1) * d_h)  # this head's d/h entries
    root = E(f"/√{d_h}", rf"/\sqrt{{{d_h}}}")
    out.add(f"head {head + 1}", as_words(f"entries {cols.start + 1} to {cols.stop} of every q, k "
                                       "and v; scores scaled by 1") + root
            + as_words(" (the Transformer's choice; the primer's eq. (40) has scale 1)"))
    _rows(out, "input", "x", X, digits)
    out.add("query", _sup("q", t + 1) + " = " + vec(Q[t, cols], digits))
    _rows(out, "keys", "k", K[:, cols], digits)
    _rows(out, "values", "v", V[:, cols], digits)
    qt = _sup("q", t + 1)

    def scaled(inner: E) -> E:
        return "(" + inner + ")" + root

    general = "s_j = (" + qt + E(")ᵀ ", r")^\top ") + _sup("k", "j") + root
    _attention_steps(out, Q[t, cols], K[:, cols], V[:, cols], t, 1 / np.sqrt(d_h), scaled,
                     general, "v", "head output", digits)
    # every head the same way, then W_o mixes them: the layer's output at position t
    heads = []
    for k in range(h):
        c = slice(k * d_h, (k + 1) * d_h)
        s = K[:, c] @ Q[t, c] / np.sqrt(d_h)  # (T,)
        alpha = np.exp(s - s.max())  # max shift: the weights are unchanged
        heads.append(alpha / alpha.sum() @ V[:, c])  # (d/h,)
    y = f64(layer.W_o) @ np.concatenate(heads) + f64(layer.b_o)  # (d,)
    out.values.update(q=Q[t, cols], K=K[:, cols], V=V[:, cols], layer_output=y)
    stacked = join((DOTS if k is None else sub("o", k + 1) for k in shown_indices(h)), "; ")
    out.add("layer output", _sup("y", t + 1) + " = W_o (" + stacked + ") + b_o = "
            + vec(y, digits))
    return out


register(MultiHeadAttention, explain_attention_layer)
