"""Explanations for Sec. 10 of the primer: one convolution entry and one attention query.

``explain_conv2d(W, x, b)`` writes the layer z = W ⋆ x + b with its sizes and one output
entry z_{i,j} as the sum of eq. (38)-(39) with the numbers; ``explain_attention(X, t)``
writes the alignment scores (40), the softmax weights (41) and the weighted sum for the
word at position t. ``Conv2d`` and ``MultiHeadAttention`` layers are registered with
:func:`dlprimer.explain.explain` and have ``explain`` methods that take the same options.

Indices are 0-based in the API (as numpy's ``z[i, j]`` and ``X[t]``) and 1-based in the
text, as in the primer: ``i=0, j=0`` is z_{1,1}, ``t=0`` is x^{(1)}. Numbers are recomputed
in float64 from the parameters, so they equal the layer's forward pass up to its precision.
"""

from __future__ import annotations

import numbers

import numpy as np

from dlprimer._checks import as_float_array
from dlprimer.nn.attention import MultiHeadAttention
from dlprimer.nn.conv import Conv2d
from dlprimer.nn.functional import _pair

__all__ = ["explain_attention", "explain_conv2d"]


def _index(value, name_: str, size: int, what: str) -> int:
    """A 0-based index into ``size`` entries, or a ValueError saying the valid range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name_} must be an integer (0-based), got {value!r}")
    if not 0 <= value < size:
        raise ValueError(f"{name_}={value} is out of range: {what}, so {name_} must be in "
                         f"0..{size - 1} (0-based; the text counts from 1)")
    return int(value)


def _digits(digits) -> int:
    """The digits option checked as :func:`dlprimer.explain.explain` checks it."""
    if isinstance(digits, bool) or not isinstance(digits, numbers.Integral) or digits < 1:
        raise ValueError(f"digits must be a positive integer, got {digits!r}")
    return int(digits)


def _products(u, v, digits: int) -> E:
    """(u₁)(v₁) + (u₂)(v₂) + …: every term up to 4, else the first 3 then …."""
    terms = ["(" + num(u[k], digits) + ")(" + num(v[k], digits) + ")"
             for k in range(len(u) if len(u) <= 4 else 3)]
    return join(terms + ([DOTS] if len(u) > 4 else []), " + ")


def _dims(*dims: int) -> E:
    """ℝ^{a×b×…} with every axis kept (a 1×100×100 image stays three-way)."""
    return E("ℝ^{" + "×".join(map(str, dims)) + "}",
             r"\mathbb{R}^{" + r" \times ".join(map(str, dims)) + "}")


# ------------------------------------------------------------------ convolution, (37)-(39)


def _out_size(n: int, k: int, pad: int, stride: int, symbol: str) -> tuple[int, E]:
    """⌊(n + 2·pad − k)/stride⌋ + 1 with the numbers (no ⌊⌋ for stride 1: it divides)."""
    size = (n + 2 * pad - k) // stride + 1
    frac = f"({n} + 2·{pad} − {k})/{stride}"
    text = f"{symbol}_out = " + (f"{frac} + 1" if stride == 1 else f"⌊{frac}⌋ + 1") + f" = {size}"
    frac_tex = rf"({n} + 2 \cdot {pad} - {k})/{stride}"
    latex = (f"{symbol}" + r"_{\text{out}} = "
             + (frac_tex if stride == 1 else r"\lfloor " + frac_tex + r" \rfloor")
             + f" + 1 = {size}")
    return size, E(text, latex)


def _words(s: str) -> E:
    """Plain words: as they are in text, in \\text{} in LaTeX."""
    return E(s, r"\text{" + _latex_text(s) + "}")


def _conv_layer_steps(out: Explanation, C_out: int, C_in: int, kh: int, kw: int,
                      stride, padding, has_bias: bool) -> None:
    bias = E(" + b") if has_bias else E("")
    single = C_out == C_in == 1  # the primer's case: one kernel, a matrix as in eq. (37)
    out.add("layer, eq. (38)", E("z = W ⋆ x", r"z = W \star x") + bias + ",  W" + IN
            + (_R(kh, kw) if single else _dims(C_out, C_in, kh, kw))
            + (",  b" + IN + _R(C_out) if has_bias else E(""))
            + _words(f",  stride {stride}, padding {padding}"))
    if single:
        out.add("", _words("one kernel, a matrix as in eq. (37), slid over the image"))
    else:
        out.add("", _words(f"{C_out} kernel(s), one per output channel (feature map), each ")
                + E(f"C_in×kh×kw = {C_in}×{kh}×{kw}",
                    rf"C_{{\text{{in}}}} \times k_h \times k_w = {C_in} \times {kh} \times {kw}"))


def _conv_entry(out: Explanation, W: np.ndarray, x: np.ndarray, b: np.ndarray | None,
                stride, padding, channel_out, i, j, digits: int) -> Explanation:
    """The input, output size and entry steps; W (C_out, C_in, kh, kw), x (C_in, H, W)."""
    C_out, C_in, kh, kw = W.shape
    if x.shape[0] != C_in:
        raise ValueError(f"x has {x.shape[0]} channel(s) (shape {x.shape}, read as C×H×W) but "
                         f"W expects C_in = {C_in} (W shape {W.shape}); pass one image of "
                         f"shape ({C_in}, H, W) or a batch (n, {C_in}, H, W)")
    if not np.all(np.isfinite(x)):
        raise ValueError("x contains NaN or infinite values; impute them first")
    (sh, sw), (ph, pw) = _pair(stride, "stride"), _pair(padding, "padding")
    if sh < 1 or sw < 1 or ph < 0 or pw < 0:
        raise ValueError(f"stride must be ≥ 1 and padding ≥ 0, got stride={stride!r}, "
                         f"padding={padding!r}")
    H, Wd = x.shape[1:]
    if H + 2 * ph < kh or Wd + 2 * pw < kw:
        raise ValueError(f"the {kh}×{kw} kernel does not fit in the {H}×{Wd} image with "
                         f"padding {padding}; use a smaller kernel or more padding")
    H_out, h_eq = _out_size(H, kh, ph, sh, "H")
    W_out, w_eq = _out_size(Wd, kw, pw, sw, "W")
    o = _index(channel_out, "channel_out", C_out, f"there are C_out = {C_out} output channels")
    i = _index(i, "i", H_out, f"z has H_out = {H_out} rows")
    j = _index(j, "j", W_out, f"z has W_out = {W_out} columns")

    single = C_out == C_in == 1  # the primer's grayscale image and one kernel
    if single:
        out.add("input", "x" + IN + _R(H, Wd) + E(" (a grayscale image, H × W)",
                                                   r"\text{ (a grayscale image, }H \times W)"))
    else:
        out.add("input", "x" + IN + _dims(C_in, H, Wd)
                + E(" (C_in × H × W)", r"\ (C_{\text{in}} \times H \times W)"))
    out.add("output size", h_eq + ",  " + w_eq + E("  →  z", r"\ \to\ z") + IN
            + (_R(H_out, W_out) if single else _dims(C_out, H_out, W_out)))
    out.values["output_shape"] = (C_out, H_out, W_out)

    x_pad = np.pad(x, ((0, 0), (ph, ph), (pw, pw)))  # zeros on each side of H and W
    r0, c0 = i * sh, j * sw  # top-left corner of the window, 0-based in the padded image
    patch = x_pad[:, r0:r0 + kh, c0:c0 + kw]  # (C_in, kh, kw)
    kernel = W[o]  # (C_in, kh, kw)
    bias = 0.0 if b is None else float(b[o])
    z = float(np.sum(patch * kernel)) + bias
    out.values.update(patch=patch, kernel=kernel, b=bias, z=z)

    zij = E(f"z_{{{i + 1},{j + 1}}}")
    if C_out > 1:
        out.add("output channel", _words(f"channel {o + 1} of {C_out}, its own kernel ")
                + f"w = W_{{{o + 1}}}" + IN + _dims(C_in, kh, kw)
                + (E("") if b is None else ",  b = " + num(bias, digits)))
    if ph or pw:
        out.add("padding", _words(f"x is padded with {ph} row(s) and {pw} column(s) of zeros on "
                                  "each side; the indices below count in the padded image"))
    # eq. (38) for this entry: x_{r+i', c+j'} w_{i'+1, j'+1}, 1-based r and c
    row, col = f"{r0 + 1}+i'", f"{c0 + 1}+j'"
    over_c = E("Σ_c ", r"\sum_{c=1}^{" + str(C_in) + "} ") if C_in > 1 else E("")
    c_ = "c," if C_in > 1 else ""
    plus_b = E("") if b is None else E(" + b")
    primer_case = (sh, sw, ph, pw, i, j) == (1, 1, 0, 0, 0, 0)  # z_{1,1} exactly as eq. (39)
    out.add("entry, eq. (39)" if primer_case else "entry, eq. (38)",
            zij + " = " + over_c
            + E(f"Σ_{{i'=0}}^{{{kh - 1}}} Σ_{{j'=0}}^{{{kw - 1}}} ",
                rf"\sum_{{i'=0}}^{{{kh - 1}}} \sum_{{j'=0}}^{{{kw - 1}}} ")
            + E(f"x_{{{c_}{row},{col}}} · w_{{{c_}i'+1,j'+1}}",
                rf"x_{{{c_}{row},{col}}} \cdot w_{{{c_}i'+1,j'+1}}") + plus_b)
    flat_x, flat_w = patch.ravel(), kernel.ravel()  # row wise vec (Sec. 7), same order for both
    n_terms = flat_x.size
    out.add("", zij + " = " + _products(flat_x, flat_w, digits)
            + ("" if b is None else " + " + num(bias, digits)) + " = " + num(z, digits)
            + (_words(f"  ({n_terms} products)") if n_terms > 4 else ""))
    rows, cols = f"{r0 + 1}:{r0 + kh}", f"{c0 + 1}:{c0 + kw}"
    P = E(f"x_{{{':,' if C_in > 1 else ''}{rows},{cols}}}")
    out.add("inner product", zij + E(" = vec(w)ᵀ vec(", r" = \mathrm{vec}(w)^\top \mathrm{vec}(")
            + P + ")" + plus_b + " = " + vec(flat_w, digits) + E("ᵀ", r"^\top") + " "
            + vec(flat_x, digits) + ("" if b is None else " + " + num(bias, digits)) + " = "
            + num(z, digits))
    out.add("", _words("vec stacks rows (row wise, Sec. 7), in the same order for the kernel "
                       "and for the patch of x under it"))
    return out


def _one_image(x, C_in: int) -> np.ndarray:
    """One image (C_in, H, W) from (C, H, W), a batch (n, C, H, W) (sample 0) or, for one
    input channel, a grayscale (H, W)."""
    x = as_float_array(x, "x", ndim=(2, 3, 4))
    if x.ndim == 4:
        if x.shape[0] == 0:
            raise ValueError(f"x is an empty batch, shape {x.shape}; pass at least one image")
        x = x[0]
    elif x.ndim == 2:
        if C_in != 1:
            raise ValueError(f"x of shape {x.shape} is one grayscale channel but the layer "
                             f"expects C_in = {C_in} channels; pass shape ({C_in}, H, W)")
        x = x[None]
    return x


def explain_conv2d(W, x, b=None, stride=1, padding=0, channel_out: int = 0, i: int = 0,
                   j: int = 0, digits: int = 4) -> Explanation:
    """One entry z_{i,j} of z = W ⋆ x + b, eqs. (37)-(39), as a sum of products with numbers.

    z_{i,j} = Σ_{i'} Σ_{j'} x_{i+i', j+j'} w_{i'+1, j'+1} (+ b) = vec(W)ᵀ vec(patch) (+ b),
    also summed over input channels when there are several.

    Parameters
    ----------
    W : array (kh, kw), (C_in, kh, kw) or (C_out, C_in, kh, kw)
        The kernel(s), PyTorch's layout; a 2-D W is the primer's single kernel (37).
    x : array (H, W) (one channel), (C_in, H, W), or a batch (n, C_in, H, W): sample 0
    b : float (the same for every output channel) or array (C_out,), optional
    stride, padding : int or pair
    channel_out, i, j : int
        Which entry, 0-based: output channel, row, column (shown 1-based as in the primer).
    digits : int
        Significant digits shown.

    Returns an Explanation with ``values`` "patch" (C_in, kh, kw), "kernel" (C_in, kh, kw),
    "b", "z" (the entry, float64) and "output_shape".

    The primer's 100×100 image and 3×3 kernel (a vertical-edge detector; long lines wrapped):

    >>> x = np.arange(100 * 100.0).reshape(100, 100)
    >>> W = [[1, 0, -1], [1, 0, -1], [1, 0, -1]]
    >>> e = explain_conv2d(W, x)
    >>> print(e)  # doctest: +NORMALIZE_WHITESPACE
    One entry of a convolution, eqs. (37)-(39)
      layer, eq. (38)  z = W ⋆ x,  W ∈ ℝ^{3×3},  stride 1, padding 0
                       one kernel, a matrix as in eq. (37), slid over the image
      input            x ∈ ℝ^{100×100} (a grayscale image, H × W)
      output size      H_out = (100 + 2·0 − 3)/1 + 1 = 98,  W_out = (100 + 2·0 − 3)/1 + 1 = 98
                           →  z ∈ ℝ^{98×98}
      entry, eq. (39)  z_{1,1} = Σ_{i'=0}^{2} Σ_{j'=0}^{2} x_{1+i',1+j'} · w_{i'+1,j'+1}
                       z_{1,1} = (0)(1) + (1)(0) + (2)(−1) + … = −6  (9 products)
      inner product    z_{1,1} = vec(w)ᵀ vec(x_{1:3,1:3}) = (1, 0, −1, …, −1)ᵀ (0, 1, 2, …, 202)
                           = −6
                       vec stacks rows (row wise, Sec. 7), in the same order for the kernel and
                           for the patch of x under it
    >>> e.values["z"], e.values["output_shape"]
    (-6.0, (1, 98, 98))
    """
    digits = _digits(digits)
    W = as_float_array(W, "W", ndim=(2, 3, 4), allow_nan=False)
    W = W.reshape((1,) * (4 - W.ndim) + W.shape)  # (C_out, C_in, kh, kw)
    C_out, C_in, kh, kw = W.shape
    if b is not None:
        b = as_float_array(b, "b", ndim=(0, 1), allow_nan=False)
        b = np.full(C_out, float(b)) if b.ndim == 0 else b  # one number: the same for all
        if b.size != C_out:
            raise ValueError(f"b must have one entry per output channel (C_out = {C_out}), "
                             f"got {b.size}")
    out = Explanation("One entry of a convolution, eqs. (37)-(39)")
    _conv_layer_steps(out, C_out, C_in, kh, kw, stride, padding, b is not None)
    return _conv_entry(out, W, _one_image(x, C_in), b, stride, padding, channel_out, i, j,
                       digits)


def explain_conv2d_layer(layer: Conv2d, x=None, digits: int = 4, channel_out: int = 0,
                         i: int = 0, j: int = 0) -> Explanation:
    """A Conv2d layer in the primer's notation; with an image x, one entry z_{i,j}."""
    digits = _digits(digits)
    W, b = _f64(layer.W), _f64(layer.b)
    C_out, C_in, kh, kw = W.shape
    out = Explanation(f"Convolutional layer, eqs. (37)-(39), C_in = {C_in}, C_out = {C_out}, "
                      f"kh = {kh}, kw = {kw}")
    _conv_layer_steps(out, C_out, C_in, kh, kw, layer.stride, layer.padding, True)
    out.values["d"] = W.size + b.size
    out.add("parameters", E(f"d = C_out·C_in·kh·kw + C_out = {C_out}·{C_in}·{kh}·{kw} + {C_out}",
                            r"d = C_{\text{out}} C_{\text{in}} k_h k_w + C_{\text{out}} = "
                            rf"{C_out} \cdot {C_in} \cdot {kh} \cdot {kw} + {C_out}")
            + f" = {W.size + b.size}")
    activation = getattr(layer, "activation", None)
    if activation is not None:
        sigma = _ACTIVATIONS[activation][0]
        out.add("feature map", _words("the layer returns ") + "a = " + sigma + "(z)"
                + _words(" entry by entry (Sec. 10)"))
    if x is None:
        return out
    out = _conv_entry(out, W, _one_image(x, C_in), b, layer.stride, layer.padding,
                      channel_out, i, j, digits)
    if activation is not None:
        a = float(_ACTIVATIONS[activation][1](np.float64(out.values["z"])))
        out.values["a"] = a
        out.add("feature map", E(f"a_{{{i + 1},{j + 1}}} = ") + sigma
                + E(f"(z_{{{i + 1},{j + 1}}}) = ") + num(a, digits))
    return out



# --------------------------------------------------------------------- attention, (40)-(41)


def _sup(symbol: str, t) -> E:
    """x^{(t)}: the t-th vector of a sequence, as in the primer."""
    return E(f"{symbol}^{{({t})}}")


def _rows(out: Explanation, label: str, symbol: str, M: np.ndarray, digits: int,
          names=None) -> None:
    """One step per shown row: symbol^{(j)} [= “name”] = (…)."""
    for j in _shown(M.shape[0]):
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
    for j in _shown(T):
        if j is None:
            out.add("", E("⋮", r"\vdots"))
            continue
        out.add("", sub("s", j + 1) + " = " + scaled(_products(q, K[j], digits)) + " = "
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
    return _index(t, "t", T, f"the sequence has T = {T} positions")


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
    digits = _digits(digits)
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
    digits = _digits(digits)
    d, h = layer.d_model, layer.num_heads
    d_h = d // h
    out = Explanation(f"Multi-head attention, eqs. (40)-(41), h = {h} heads, d = {d}"
                      + ("" if X is None else f", head {head + 1}, query t = {t + 1}"))
    out.add("layer", f"h = {h}" + _words(" heads of ") + f"d/h = {d_h}"
            + _words(" entries each;") + E("  ", r"\ ") + "W_q, W_k, W_v, W_o" + IN + _R(d, d)
            + E(",  ", r",\ ") + "b_q, b_k, b_v, b_o" + IN + _R(d))
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
    head = _index(head, "head", h, f"the layer has h = {h} heads")
    Q = X @ _f64(layer.W_q).T + _f64(layer.b_q)  # (T, d)
    K = X @ _f64(layer.W_k).T + _f64(layer.b_k)  # (T, d)
    V = X @ _f64(layer.W_v).T + _f64(layer.b_v)  # (T, d)
    cols = slice(head * d_h, (head + 1) * d_h)  # this head's d/h entries
    root = E(f"/√{d_h}", rf"/\sqrt{{{d_h}}}")
    out.add(f"head {head + 1}", _words(f"entries {cols.start + 1} to {cols.stop} of every q, k "
                                       "and v; scores scaled by 1") + root
            + _words(" (the Transformer's choice; the primer's eq. (40) has scale 1)"))
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
    y = _f64(layer.W_o) @ np.concatenate(heads) + _f64(layer.b_o)  # (d,)
    out.values.update(q=Q[t, cols], K=K[:, cols], V=V[:, cols], layer_output=y)
    stacked = join((DOTS if k is None else sub("o", k + 1) for k in _shown(h)), "; ")
    out.add("layer output", _sup("y", t + 1) + " = W_o (" + stacked + ") + b_o = "
            + vec(y, digits))
    return out


# NOTE: dlprimer.explain imports this module at its end (to register these explainers and
# re-export the two functions). Its helpers are imported here, after the definitions, so that
# either module can be imported first without a circular-import error.
from dlprimer.explain import (  # noqa: E402
    _ACTIVATIONS,
    _R,
    DOTS,
    IN,
    E,
    Explanation,
    _f64,
    _latex_text,
    _shown,
    join,
    name,
    num,
    register,
    sub,
    vec,
)

register(Conv2d, explain_conv2d_layer)
register(MultiHeadAttention, explain_attention_layer)
