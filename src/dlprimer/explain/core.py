"""A model in the primer's notation, with its dimensions, and one input's pass with numbers.

``explain(model)`` writes Model I, II or III as in eqs. (1)-(8) and (33)-(36) of the primer,
with the model's real p, K, N_ℓ and d; ``explain(model, x)`` adds every step of the forward
pass for one raw input row x. The numbers are recomputed from the parameters in float64, so
they equal ``model.predict_proba(x)`` up to the model's float precision.

The result is an :class:`Explanation`: ``str()`` is Unicode text for a terminal; Jupyter
shows its LaTeX (``_repr_latex_``) or self-contained HTML (``_repr_html_``). The numbers
themselves are in ``Explanation.values`` (``"x"``, ``"x_tilde"``, ``"z"``, ``"y_hat"``, …).

New model types (convolutional, attention) plug in with one function
``fn(model, x, digits) -> Explanation``, registered for the type and its subclasses::

    @register(ConvNet)
    def _explain_conv(model, x, digits):
        out = Explanation("A convolutional network, eq. (38)")
        out.add("convolution", E("z = W ∗ x + b", r"z = W \\ast x + b"))
        return out

An ``E`` is a piece of an equation as (text, LaTeX); pieces concatenate with ``+``. ``num``,
``vec``, ``sub``, ``layer`` and ``input_row`` are the helpers the built-in explainers use.

>>> import dlprimer as dp
>>> m = dp.SigmoidModel(2, dtype=np.float64)
>>> m.b0.data[...] = 0.5; m.w.data[:] = [1.0, -2.0]
>>> e = explain(m, [2.0, 1.0])
>>> print(e)
Model I, the sigmoid model, eqs. (1)-(3), p = 2
  model, eq. (1)        ŷ = σ_Sig(b₀ + wᵀx),  σ_Sig(z) = 1/(1 + e^{−z})
  dimensions            x ∈ ℝ^2,  w ∈ ℝ^2,  b₀ ∈ ℝ
  parameters            d = p + 1 = 2 + 1 = 3
  decision, eq. (3)     ŷ > τ = 0.5 → class 1;  ŷ ≤ τ → class 0
  input                 x = (2, 1)
  linear part, eq. (2)  z = b₀ + wᵀx = 0.5 + (1)(2) + (−2)(1) = 0.5
  sigmoid, eq. (1)      ŷ = σ_Sig(0.5) = 1/(1 + e^{−0.5}) = 0.6225
  decision, eq. (3)     ŷ = 0.6225 > τ = 0.5 → class 1
>>> round(e.values["y_hat"], 6), e.values["class"]
(0.622459, 1)
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from dlprimer.engine.checks import as_float_array
from dlprimer.engine.numerics import stable_sigmoid
from dlprimer.models import FeedForward, SigmoidModel, SoftmaxModel

__all__ = ["E", "Explanation", "explain", "input_row",
           "layer", "num", "register", "sub", "vec"]

TAU = 0.5  # the threshold of decision rule (3), as ``Model.predict`` uses by default


@dataclass(frozen=True)
class E:
    """A piece of an equation as Unicode text and LaTeX (the text itself if omitted)."""

    text: str
    latex: str | None = None

    def __post_init__(self):
        if self.latex is None:
            object.__setattr__(self, "latex", self.text)

    def __add__(self, other: E | str) -> E:
        other = other if isinstance(other, E) else E(other)
        return E(self.text + other.text, self.latex + other.latex)

    def __radd__(self, other: str) -> E:
        return E(other) + self


DOTS, IN, MINUS = E("…", r"\ldots"), E(" ∈ ", r" \in "), E(" − ", " - ")
Y_HAT, SIGMA = E("ŷ", r"\hat{y}"), E("σ_Sig", r"\sigma_{\text{Sig}}")
_SUBSCRIPTS = str.maketrans("0123456789ijk", "₀₁₂₃₄₅₆₇₈₉ᵢⱼₖ")


def join(pieces, sep: E | str = ", ") -> E:
    """The pieces with ``sep`` between them."""
    out = E("")
    for i, piece in enumerate(pieces):
        out = out + (sep if i else "") + piece
    return out


def sub(symbol: E | str, i) -> E:
    """symbol with subscript i: x₁ in text, x_{1} in LaTeX."""
    return symbol + E(str(i).translate(_SUBSCRIPTS), f"_{{{i}}}")


def layer(symbol: str, ell) -> E:
    """Layer ℓ's symbol: W[1] in text, W^{[1]} in LaTeX."""
    return E(f"{symbol}[{ell}]", f"{symbol}^{{[{ell}]}}")


def num(value, digits: int = 4) -> E:
    """A number to ``digits`` significant digits, with a true minus sign in text.

    >>> num(-0.000012345).text, num(-0.000012345).latex
    ('−1.234×10^{−5}', '-1.234\\\\times 10^{-5}')
    """
    s = format(float(value), f".{digits}g")
    if s in ("inf", "-inf", "nan"):
        return E(s.replace("inf", "∞").replace("-", "−"), s.replace("inf", r"\infty"))
    mantissa, _, exponent = s.partition("e")
    if exponent:
        e = int(exponent)
        return E(f"{mantissa}×10^{{{e}}}".replace("-", "−"), f"{mantissa}\\times 10^{{{e}}}")
    return E(s.replace("-", "−"), s)


def shown_indices(n: int) -> list[int | None]:
    """Indices shown of n entries: all up to 4, else the first 3, None (for …), the last."""
    return list(range(n)) if n <= 4 else [0, 1, 2, None, n - 1]


def vec(values, digits: int = 4) -> E:
    """A vector, abbreviated past 4 entries: (v₁, v₂, v₃, …, v_n)."""
    values = np.ravel(values)
    return "(" + join(DOTS if i is None else num(values[i], digits)
                      for i in shown_indices(values.size)) + ")"


def _sum_of_products(b: float, w, x, digits: int) -> E:
    """b + (w₁)(x₁) + (w₂)(x₂) + …: all terms up to 4, else the first 3 then …."""
    terms = [num(b, digits)] + ["(" + num(w[j], digits) + ")(" + num(x[j], digits) + ")"
                                for j in range(len(w) if len(w) <= 4 else 3)]
    return join(terms + ([DOTS] if len(w) > 4 else []), " + ")


def latex_text(s: str) -> str:
    """Plain text made safe inside \\text{…}."""
    special = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "_": r"\_", "^": r"\^{}",
               "%": r"\%", "&": r"\&", "#": r"\#", "$": r"\$", "~": r"\~{}"}
    return "".join(special.get(c, c) for c in s)


def name(s) -> E:
    """A user-given name (a feature, a class label): quoted in text, \\text{} in LaTeX."""
    return E(f"“{s}”", r"\text{``" + latex_text(str(s)) + "''}")


# Text → HTML: escape, then turn ^{…}, ^c, _{…}, _word and W[ℓ] into <sup>/<sub>. Quoted
# names “…” are only escaped, so an underscore in a feature name stays an underscore.
_HTML_RULES = [
    (re.compile(r"\^\{([^{}]*)\}"), r"<sup>\1</sup>"),
    (re.compile(r"\^(\w)"), r"<sup>\1</sup>"),
    (re.compile(r"_\{([^{}]*)\}"), r"<sub>\1</sub>"),
    (re.compile(r"_([A-Za-z]+)"), r"<sub>\1</sub>"),
    (re.compile(r"(?<=[A-Za-z\u0302\u0303])\[(\d+|ℓ|ℓ-1|L)\]"), r"<sup>[\1]</sup>"),
]


def _html(text: str) -> str:
    parts = [html.escape(part, quote=False) for part in re.split(r"(“[^”]*”)", text)]
    for i in range(0, len(parts), 2):  # even parts are outside the quotes
        for pattern, repl in _HTML_RULES:
            parts[i] = pattern.sub(repl, parts[i])
    return "".join(parts)


@dataclass
class Explanation:
    """A title, steps (label, text equation, LaTeX equation) and the numbers behind them.

    ``values`` maps names (``"z"``, ``"y_hat"``, ``"a[2]"``, …) to floats, float64 arrays
    or class labels. ``str()``, ``repr()`` and ``text()`` give Unicode text.
    """

    title: str
    steps: list[tuple[str, str, str]] = field(default_factory=list)
    values: dict = field(default_factory=dict)

    def add(self, label: str, equation: E | str) -> None:
        """Append one step: a plain-text ``label`` and an ``equation`` (an E, or text)."""
        equation = equation if isinstance(equation, E) else E(equation)
        self.steps.append((label, equation.text, equation.latex))

    def text(self) -> str:
        """The title, then one aligned row per step: label, equation."""
        # a label longer than 22 characters pushes only its own equation right
        width = min(max((len(label) for label, _, _ in self.steps), default=0), 22)
        rows = [f"  {label:<{width}}  {text}".rstrip() for label, text, _ in self.steps]
        return "\n".join([self.title, *rows])

    __str__ = __repr__ = text

    def _repr_latex_(self) -> str:
        rows = [r"&\textbf{" + latex_text(self.title) + "}"]
        rows += [r"\text{" + latex_text(label) + r"} \quad & " + latex
                 for label, _, latex in self.steps]
        return "$$\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}$$"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td style='text-align:right;padding-right:1em'>{html.escape(label)}</td>"
            f"<td style='text-align:left;font-family:serif'>{_html(text)}</td></tr>"
            for label, text, _ in self.steps)
        return (f"<div class='dlprimer-explain'><p><b>{html.escape(self.title)}</b></p>"
                f"<table>{rows}</table></div>")


# ----------------------------------------------------------------------------- registry

Explainer = Callable[[object, object, int], Explanation]
_EXPLAINERS: dict[type, Explainer] = {}


def register(model_type: type, fn: Explainer | None = None):
    """Use ``fn(model, x, digits) -> Explanation`` for ``model_type`` and its subclasses;
    ``register(T, fn)`` or, as a decorator, ``@register(T)``."""
    def decorate(fn: Explainer) -> Explainer:
        _EXPLAINERS[model_type] = fn
        return fn
    return decorate if fn is None else decorate(fn)


def explain(model, x=None, digits: int = 4, **options) -> Explanation:
    """The model in the primer's notation; with one raw input row x, every step with numbers.

    Parameters
    ----------
    model : SigmoidModel, SoftmaxModel, FeedForward, or any registered type
    x : array (p,) or (1, p), optional
        One raw row, as for ``predict``; standardized first (eq. (13)) when the model
        carries a standardizer.
    digits : int
        Significant digits shown (``values`` keep full precision).
    **options
        Passed on to the registered explainer (e.g. ``i``, ``j`` for a Conv2d, ``t``,
        ``head`` for attention).
    """
    if isinstance(digits, bool) or not isinstance(digits, (int, np.integer)) or digits < 1:
        raise ValueError(f"digits must be a positive integer, got {digits!r}")
    for cls in type(model).__mro__:
        if cls in _EXPLAINERS:
            return _EXPLAINERS[cls](model, x, int(digits), **options)
    raise TypeError(f"no explanation is registered for {type(model).__name__} (known: "
                    f"{sorted(t.__name__ for t in _EXPLAINERS)}); add one with register()")


# --------------------------------------------------------------------------- shared steps


def f64(parameter) -> np.ndarray:
    return np.asarray(parameter.data, dtype=np.float64)


def _times(n: int, m: int) -> E:
    return E(f"{n}×{m}", rf"{n} \times {m}")


def R(*dims: int) -> E:
    """ℝ, ℝ^4, ℝ^{30} or ℝ^{3×4}; a vector of length 1 is a scalar, in ℝ."""
    dims = [d for d in dims if d != 1] if len(dims) == 1 else list(dims)
    if not dims:
        return E("ℝ", r"\mathbb{R}")
    power = "×".join(str(d) for d in dims)
    return E(f"ℝ^{power}" if len(power) == 1 else f"ℝ^{{{power}}}",
             r"\mathbb{R}^{" + power.replace("×", r"\times ") + "}")


def input_row(model, x) -> tuple[np.ndarray, np.ndarray]:
    """One raw row checked against the model's p: (x, x̃) in float64, x̃ standardized by
    eq. (13) when the model has a standardizer, else x itself."""
    x = as_float_array(getattr(x, "values", x), "x", ndim=(1, 2))
    if x.ndim == 2 and x.shape[0] != 1:
        raise ValueError(f"explain takes one row x, got shape {x.shape}; pass X[i] for row i")
    x, p = x.reshape(-1), model.n_features
    if x.size != p:
        raise ValueError(f"x must have p={p} features (the columns the model was fit on), "
                         f"got {x.size}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"x contains NaN or infinite values at positions "
                         f"{np.flatnonzero(~np.isfinite(x)).tolist()}; impute them first")
    s = model.standardizer
    if s is None:
        return x, x
    return x, (x - np.asarray(s.mean_, np.float64)) / np.asarray(s.scale_, np.float64)


def _describe_inputs(model, out: Explanation) -> None:
    """Feature names and standardization, eq. (13), where the model has them."""
    names = model.feature_names
    if names:
        out.add("features", join(DOTS if j is None else sub("x", j + 1) + " = " + name(names[j])
                                 for j in shown_indices(len(names))))
    if model.standardizer is not None:
        out.add("standardize, eq. (13)",
                E("x̃ⱼ = (xⱼ − x̄ⱼ)/sⱼ with the training mean x̄ⱼ and s.d. sⱼ; the model sees x̃",
                  r"\tilde{x}_j = (x_j - \bar{x}_j)/s_j \text{ with the training mean }"
                  r" \bar{x}_j \text{ and s.d. } s_j \text{; the model sees } \tilde{x}"))


def _show_input(model, x, digits: int, out: Explanation) -> tuple[np.ndarray, E]:
    """The input steps for row x; returns x̃ (float64) and the symbol the model sees."""
    x, x_tilde = input_row(model, x)
    out.values.update(x=x, x_tilde=x_tilde)
    out.add("input", "x = " + vec(x, digits))
    if model.standardizer is None:
        return x_tilde, E("x")
    mean, scale = model.standardizer.mean_, model.standardizer.scale_
    x_sym = E("x̃", r"\tilde{x}")
    for j in range(min(3, x.size)):
        out.add("" if j else "standardize",
                sub(x_sym, j + 1) + " = (" + num(x[j], digits) + MINUS + num(mean[j], digits)
                + ")/" + num(scale[j], digits) + " = " + num(x_tilde[j], digits))
    out.add("", x_sym + " = " + vec(x_tilde, digits))
    return x_tilde, x_sym


def _label(model, index) -> tuple[object, E]:
    """Class ``index`` as ``predict`` returns it (the original label when known), and shown."""
    label = index if model.classes_ is None else model.classes_[index]
    return label, name(label) if isinstance(label, str) else E(str(label))


def _softmax_steps(z: np.ndarray, digits: int, out: Explanation, lhs: E,
                   z_sym: E = E("z")) -> np.ndarray:
    """e^{z_k}, their sum and ŷ = S_Softmax(z), eq. (4)."""
    # NOTE: e^{z_k} overflows float64 past z ≈ 709 and underflows to 0 below −745; there
    # show e^{z_k − max z} instead, which leaves the softmax unchanged.
    shift = float(z.max()) if abs(z.max()) > 700 else 0.0
    exp_z = np.exp(z - shift)
    total = float(exp_z.sum())
    power = E("z_k") if shift == 0 else E("z_k − max z", r"z_k - \max z")
    out.values.update(exp_z=exp_z, sum_exp=total)
    out.add("exponentials", "e^{" + power + "} = " + vec(exp_z, digits))
    out.add("", E("Σₖ e^{", r"\textstyle\sum_k e^{") + power + "} = " + num(total, digits))
    out.add("softmax, eq. (4)", lhs + E(" = S_Softmax(", r" = S_{\text{Softmax}}(") + z_sym
            + ") = e^{" + z_sym + "}/" + num(total, digits) + " = "
            + vec(exp_z / total, digits))
    return exp_z / total


def _decision_rule(model, out: Explanation) -> None:
    """Rule (3) or (6) in general, with the class labels the model knows."""
    to_class = E(" → class ", r" \to \text{class } ")
    if model.output == "sigmoid":
        out.add("decision, eq. (3)", Y_HAT + E(f" > τ = {TAU}", rf" > \tau = {TAU}") + to_class
                + _label(model, 1)[1] + E(";  ŷ ≤ τ", r";\ \hat{y} \le \tau") + to_class
                + _label(model, 0)[1])
    elif model.output == "softmax":
        K = model.n_outputs
        out.add("decision, eq. (6)",
                E("Ŷ = argmax_k ŷ_k;  k = ", r"\hat{\mathcal{Y}} = \operatorname{argmax}_k "
                  r"\hat{y}_k;\ k = ")
                + join(DOTS if k is None else str(k + 1) for k in shown_indices(K))
                + E(" → classes ", r" \to \text{classes } ")
                + join(DOTS if k is None else _label(model, k)[1] for k in shown_indices(K)))
    else:
        out.add("output", Y_HAT + E(" is the prediction (identity output: regression)",
                                    r" \text{ is the prediction (identity output: regression)}"))


def _decide(model, y_hat, digits: int, out: Explanation) -> None:
    """Apply rule (3) or (6) to ŷ; puts y_hat, class_index and class in ``values``."""
    out.values["y_hat"] = y_hat
    to_class = E(" → class ", r" \to \text{class } ")
    if model.output == "softmax":
        k = int(np.argmax(y_hat))
        label, shown = _label(model, k)
        out.add("decision, eq. (6)", E("argmax_k ŷ_k = ", r"\operatorname{argmax}_k \hat{y}_k = ")
                + f"{k + 1} (" + sub(Y_HAT, k + 1) + " = " + num(y_hat[k], digits) + ")"
                + to_class + shown)
    elif model.output == "sigmoid" and np.ndim(y_hat) == 0:
        k = int(y_hat > TAU)  # eq. (3): ŷ ≤ τ → 0, ŷ > τ → 1, as Model.predict does
        label, shown = _label(model, k)
        out.add("decision, eq. (3)", Y_HAT + " = " + num(y_hat, digits)
                + (E(" > ") if k else E(" ≤ ", r" \le ")) + E(f"τ = {TAU}", rf"\tau = {TAU}")
                + to_class + shown)
    elif model.output == "sigmoid":  # several sigmoid outputs: rule (3) on each
        k = (np.asarray(y_hat) > TAU).astype(np.int64)
        label = _label(model, k)[0]
        out.add("decision, eq. (3)", E(f"each ŷᵢ > τ = {TAU} → ", rf"\hat{{y}}_i > \tau = {TAU}"
                                       r" \to ") + vec(k, digits))
    else:
        return
    out.values.update(class_index=k, **{"class": label})


# --------------------------------------------------------------------- Models I, II, III


@register(SigmoidModel)
def _explain_sigmoid(model: SigmoidModel, x, digits: int) -> Explanation:
    p = model.n_features
    out = Explanation(f"Model I, the sigmoid model, eqs. (1)-(3), p = {p}")
    out.values.update(d=p + 1, p=p)
    out.add("model, eq. (1)", E("ŷ = σ_Sig(b₀ + wᵀx),  σ_Sig(z) = 1/(1 + e^{−z})",
                                r"\hat{y} = \sigma_{\text{Sig}}(b_0 + w^\top x),\quad "
                                r"\sigma_{\text{Sig}}(z) = \frac{1}{1 + e^{-z}}"))
    out.add("dimensions", "x" + IN + R(p) + ",  w" + IN + R(p) + E(",  b₀", r",\ b_0") + IN
            + R())
    out.add("parameters", f"d = p + 1 = {p} + 1 = {p + 1}")
    _describe_inputs(model, out)
    _decision_rule(model, out)
    if x is None:
        return out
    x, x_sym = _show_input(model, x, digits, out)
    b0, w = float(f64(model.b0)), f64(model.w)
    z = b0 + float(w @ x)
    y_hat = float(stable_sigmoid(np.float64(z)))
    out.values["z"] = z
    out.add("linear part, eq. (2)", E("z = b₀ + wᵀ", r"z = b_0 + w^\top ") + x_sym + " = "
            + _sum_of_products(b0, w, x, digits) + " = " + num(z, digits))
    out.add("sigmoid, eq. (1)", Y_HAT + " = " + SIGMA + "(" + num(z, digits)
            + E(") = 1/(1 + e^{", r") = \frac{1}{1 + e^{") + num(-z, digits)
            + E("}) = ", "}} = ") + num(y_hat, digits))
    _decide(model, y_hat, digits, out)
    return out


@register(SoftmaxModel)
def _explain_softmax(model: SoftmaxModel, x, digits: int) -> Explanation:
    p, K = model.n_features, model.n_outputs
    out = Explanation(f"Model II, the softmax model, eqs. (4)-(6), p = {p}, K = {K}")
    out.values.update(d=K + K * p, p=p, K=K)
    out.add("model, eq. (4)", E("ŷ = S_Softmax(b + W x),  S_Softmax(z) = (e^{z₁}, …, e^{z_K})"
                                " / Σₖ e^{z_k}",
                                r"\hat{y} = S_{\text{Softmax}}(b + W x),\quad S_{\text{Softmax}}"
                                r"(z) = \frac{(e^{z_1}, \ldots, e^{z_K})}{\sum_{k} e^{z_k}}"))
    out.add("dimensions", "x" + IN + R(p) + ",  W" + IN + R(K, p) + ",  b" + IN + R(K))
    out.add("parameters", f"d = K + Kp = {K} + " + _times(K, p) + f" = {K + K * p}")
    _describe_inputs(model, out)
    _decision_rule(model, out)
    if x is None:
        return out
    x, x_sym = _show_input(model, x, digits, out)
    b, W = f64(model.b), f64(model.W)
    z = b + W @ x
    out.values["z"] = z
    for k in shown_indices(K):
        if k is None:
            out.add("", E("⋮", r"\vdots"))
            continue
        w_k = E(f"w{str(k + 1).translate(_SUBSCRIPTS)}ⱼ ", f"w_{{{k + 1},j}}\\,")
        out.add("" if k else "z_k, eq. (5)",
                sub("z", k + 1) + " = " + sub("b", k + 1) + E(" + Σⱼ ", r" + \sum_j ") + w_k
                + sub(x_sym, "j") + " = " + _sum_of_products(b[k], W[k], x, digits) + " = "
                + num(z[k], digits))
    out.add("", "z = b + W " + x_sym + " = " + vec(z, digits))
    _decide(model, _softmax_steps(z, digits, out, Y_HAT), digits, out)
    return out


ACTIVATION_SYMBOLS = {  # name: (symbol, function on float64 arrays); softmax has its own steps
    "sigmoid": (SIGMA, lambda z: stable_sigmoid(np.asarray(z, dtype=np.float64))),
    "relu": (E("ReLU", r"\mathrm{ReLU}"), lambda z: np.maximum(z, 0.0)),
    "tanh": (E("tanh", r"\tanh"), np.tanh),
    "softmax": (E("S_Softmax", r"S_{\text{Softmax}}"), None),
    "identity": (E("identity", r"\mathrm{id}"), lambda z: z),
}


@register(FeedForward)
def _explain_feedforward(model: FeedForward, x, digits: int) -> Explanation:
    sizes, L = model.sizes, len(model.sizes) - 1
    shapes = list(zip(sizes[1:], sizes[:-1], strict=True))  # (N_ℓ, N_{ℓ-1}), W[ℓ]'s shape
    d = sum(n * m + n for n, m in shapes)
    out = Explanation(f"Model III, a fully connected feedforward network, eqs. (7), (8), "
                      f"(33)-(36), L = {L}, widths {sizes}")
    out.values.update(d=d, p=sizes[0])
    out.add("model, eq. (33)", E("a[ℓ] = S[ℓ](b[ℓ] + W[ℓ] a[ℓ-1]),  ℓ = 1, …, L,  a[0] = x,  "
                                 "ŷ = a[L]",
                                 r"a^{[\ell]} = S^{[\ell]}(b^{[\ell]} + W^{[\ell]} a^{[\ell-1]}),"
                                 r"\ \ell = 1, \ldots, L,\ a^{[0]} = x,\ \hat{y} = a^{[L]}"))
    out.add("layer 0 (input)", layer("a", 0) + " = x" + IN + R(sizes[0]))
    for ell, (n, m) in enumerate(shapes, 1):
        act = model.activation if ell < L else model.output
        affine = layer("b", ell) + " + " + layer("W", ell) + " " + layer("a", ell - 1)
        out.add(f"layer {ell}" + (" (output)" if ell == L else ""), layer("a", ell) + " = "
                + (affine if act == "identity" else ACTIVATION_SYMBOLS[act][0] + "(" + affine + ")")
                + ",  " + layer("W", ell) + IN + R(n, m) + ",  " + layer("b", ell) + IN + R(n))
    out.add("parameters, eq. (36)", "d = " + join((_times(n, m) + f" + {n}" for n, m in shapes),
                                                  " + ") + f" = {d}")
    _describe_inputs(model, out)
    _decision_rule(model, out)
    if x is None:
        return out
    a, _ = _show_input(model, x, digits, out)
    out.values["a[0]"] = a
    for ell, dense in enumerate(model.layers, 1):
        act = model.activation if ell < L else model.output
        z = f64(dense.b) + f64(dense.W) @ a
        out.add(f"layer {ell}", layer("z", ell) + " = " + layer("b", ell) + " + "
                + layer("W", ell) + " " + layer("a", ell - 1) + " = " + vec(z, digits))
        if act == "softmax":
            a = _softmax_steps(z, digits, out, layer("a", ell), layer("z", ell))
        else:
            symbol, fn = ACTIVATION_SYMBOLS[act]
            a = fn(z)
            rhs = layer("z", ell) if act == "identity" else symbol + "(" + layer("z", ell) + ")"
            out.add("", layer("a", ell) + " = " + rhs + " = " + vec(a, digits))
        out.values[f"z[{ell}]"], out.values[f"a[{ell}]"] = z, a
    out.values["z"] = z
    # ŷ as predict_proba gives it: a number for one non-softmax output, else a vector
    _decide(model, float(a[0]) if a.size == 1 and act != "softmax" else a, digits, out)
    return out


