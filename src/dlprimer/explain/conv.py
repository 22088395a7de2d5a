"""Explanations for Sec. 10 of the primer: one convolution entry (here) and one attention
query (``dlprimer.explain.attention``), and the helpers both use.

``explain_conv2d(W, x, b)`` writes the layer z = W ⋆ x + b with its sizes and one output
entry z_{i,j} as the sum of eq. (38)-(39) with the numbers. ``Conv2d`` layers are
registered with :func:`dlprimer.explain.explain` and have an ``explain`` method that takes
the same options.

Indices are 0-based in the API (as numpy's ``z[i, j]`` and ``X[t]``) and 1-based in the
text, as in the primer: ``i=0, j=0`` is z_{1,1}, ``t=0`` is x^{(1)}. Numbers are recomputed
in float64 from the parameters, so they equal the layer's forward pass up to its precision.
"""

from __future__ import annotations

import numbers

import numpy as np

from dlprimer.engine.checks import as_float_array
from dlprimer.explain.core import (
    ACTIVATION_SYMBOLS,
    DOTS,
    IN,
    E,
    Explanation,
    R,
    check_digits,
    f64,
    join,
    latex_text,
    num,
    register,
    vec,
)
from dlprimer.nn.conv import Conv2d
from dlprimer.nn.functional.conv import int_pair

__all__ = ["explain_conv2d"]


def check_index(value, name_: str, size: int, what: str) -> int:
    """A 0-based index into ``size`` entries, or a ValueError saying the valid range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name_} must be an integer (0-based), got {value!r}")
    if not 0 <= value < size:
        raise ValueError(f"{name_}={value} is out of range: {what}, so {name_} must be in "
                         f"0..{size - 1} (0-based; the text counts from 1)")
    return int(value)


def product_sum(u, v, digits: int) -> E:
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


def as_words(s: str) -> E:
    """Plain words: as they are in text, in \\text{} in LaTeX."""
    return E(s, r"\text{" + latex_text(s) + "}")


def _conv_layer_steps(out: Explanation, C_out: int, C_in: int, kh: int, kw: int,
                      stride, padding, has_bias: bool) -> None:
    bias = E(" + b") if has_bias else E("")
    single = C_out == C_in == 1  # the primer's case: one kernel, a matrix as in eq. (37)
    out.add("layer, eq. (38)", E("z = W ⋆ x", r"z = W \star x") + bias + ",  W" + IN
            + (R(kh, kw) if single else _dims(C_out, C_in, kh, kw))
            + (",  b" + IN + R(C_out) if has_bias else E(""))
            + as_words(f",  stride {stride}, padding {padding}"))
    if single:
        out.add("", as_words("one kernel, a matrix as in eq. (37), slid over the image"))
    else:
        out.add("", as_words(f"{C_out} kernel(s), one per output channel (feature map), each ")
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
    (sh, sw), (ph, pw) = int_pair(stride, "stride"), int_pair(padding, "padding")
    if sh < 1 or sw < 1 or ph < 0 or pw < 0:
        raise ValueError(f"stride must be ≥ 1 and padding ≥ 0, got stride={stride!r}, "
                         f"padding={padding!r}")
    H, Wd = x.shape[1:]
    if H + 2 * ph < kh or Wd + 2 * pw < kw:
        raise ValueError(f"the {kh}×{kw} kernel does not fit in the {H}×{Wd} image with "
                         f"padding {padding}; use a smaller kernel or more padding")
    H_out, h_eq = _out_size(H, kh, ph, sh, "H")
    W_out, w_eq = _out_size(Wd, kw, pw, sw, "W")
    o = check_index(channel_out, "channel_out", C_out, f"there are C_out = {C_out} output channels")
    i = check_index(i, "i", H_out, f"z has H_out = {H_out} rows")
    j = check_index(j, "j", W_out, f"z has W_out = {W_out} columns")

    single = C_out == C_in == 1  # the primer's grayscale image and one kernel
    if single:
        out.add("input", "x" + IN + R(H, Wd) + E(" (a grayscale image, H × W)",
                                                   r"\text{ (a grayscale image, }H \times W)"))
    else:
        out.add("input", "x" + IN + _dims(C_in, H, Wd)
                + E(" (C_in × H × W)", r"\ (C_{\text{in}} \times H \times W)"))
    out.add("output size", h_eq + ",  " + w_eq + E("  →  z", r"\ \to\ z") + IN
            + (R(H_out, W_out) if single else _dims(C_out, H_out, W_out)))
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
        out.add("output channel", as_words(f"channel {o + 1} of {C_out}, its own kernel ")
                + f"w = W_{{{o + 1}}}" + IN + _dims(C_in, kh, kw)
                + (E("") if b is None else ",  b = " + num(bias, digits)))
    if ph or pw:
        out.add("padding", as_words(f"x is padded with {ph} row(s) and {pw} column(s) of zeros on "
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
    out.add("", zij + " = " + product_sum(flat_x, flat_w, digits)
            + ("" if b is None else " + " + num(bias, digits)) + " = " + num(z, digits)
            + (as_words(f"  ({n_terms} products)") if n_terms > 4 else ""))
    rows, cols = f"{r0 + 1}:{r0 + kh}", f"{c0 + 1}:{c0 + kw}"
    P = E(f"x_{{{':,' if C_in > 1 else ''}{rows},{cols}}}")
    out.add("inner product", zij + E(" = vec(w)ᵀ vec(", r" = \mathrm{vec}(w)^\top \mathrm{vec}(")
            + P + ")" + plus_b + " = " + vec(flat_w, digits) + E("ᵀ", r"^\top") + " "
            + vec(flat_x, digits) + ("" if b is None else " + " + num(bias, digits)) + " = "
            + num(z, digits))
    out.add("", as_words("vec stacks rows (row wise, Sec. 7), in the same order for the kernel "
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
    digits = check_digits(digits)
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
    digits = check_digits(digits)
    W, b = f64(layer.W), f64(layer.b)
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
        sigma = ACTIVATION_SYMBOLS[activation][0]
        out.add("feature map", as_words("the layer returns ") + "a = " + sigma + "(z)"
                + as_words(" entry by entry (Sec. 10)"))
    if x is None:
        return out
    out = _conv_entry(out, W, _one_image(x, C_in), b, layer.stride, layer.padding,
                      channel_out, i, j, digits)
    if activation is not None:
        a = float(ACTIVATION_SYMBOLS[activation][1](np.float64(out.values["z"])))
        out.values["a"] = a
        out.add("feature map", E(f"a_{{{i + 1},{j + 1}}} = ") + sigma
                + E(f"(z_{{{i + 1},{j + 1}}}) = ") + num(a, digits))
    return out


register(Conv2d, explain_conv2d_layer)
