"""A model in the primer's notation, with its dimensions, and one input's pass with numbers.

``explain(model)`` writes Model I, II or III as in eqs. (1)-(8) and (33)-(36) of the primer,
with the model's real p, K, N_ℓ and d; ``explain(model, x)`` adds every step of the forward
pass for one raw input row x. The numbers are recomputed from the parameters in float64, so
they equal ``model.predict_proba(x)`` up to the model's float precision.

This module holds the pieces every explainer uses (``E``, ``Explanation``, the number
helpers, the decision rules), the registry and ``explain``; the explainers themselves are in
``explain.models`` (Models I-III), ``explain.layers`` (Dense, activations, Flatten, pools
and Sequential), ``explain.conv`` and ``explain.attention``.

The result is an :class:`Explanation`: ``str()`` is Unicode text for a terminal; Jupyter
shows its LaTeX (``_repr_latex_``) or self-contained HTML (``_repr_html_``). The numbers
themselves are in ``Explanation.values`` (``"x"``, ``"x_tilde"``, ``"z"``, ``"y_hat"``, …).

New model types plug in with one function ``fn(model, x, digits) -> Explanation``,
registered for the type and its subclasses, or for a kind name (``config()["kind"]``)::

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
from dlprimer.nn.module import require_finite_outputs

__all__ = ["ACTIVATION_SYMBOLS", "E", "Explanation", "R", "check_digits", "class_label",
           "decide", "explain", "explainer_for", "f64", "input_row", "join", "kind_of",
           "latex_text", "layer", "name", "num", "register", "shown_indices", "sub", "times",
           "vec"]

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
SUBSCRIPTS = str.maketrans("0123456789ijk", "₀₁₂₃₄₅₆₇₈₉ᵢⱼₖ")


def join(pieces, sep: E | str = ", ") -> E:
    """The pieces with ``sep`` between them."""
    out = E("")
    for i, piece in enumerate(pieces):
        out = out + (sep if i else "") + piece
    return out


def sub(symbol: E | str, i) -> E:
    """symbol with subscript i: x₁ in text, x_{1} in LaTeX."""
    return symbol + E(str(i).translate(SUBSCRIPTS), f"_{{{i}}}")


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
#: type or kind name (``config()["kind"]``) → explainer
_EXPLAINERS: dict[type | str, Explainer] = {}


def register(model_type: type | str, fn: Explainer | None = None):
    """Use ``fn(model, x, digits) -> Explanation`` for ``model_type`` and its subclasses,
    or for every model whose ``config()["kind"]`` is the name ``model_type``; a type takes
    precedence over a kind name. ``register(T, fn)`` or, as a decorator, ``@register(T)``."""
    def decorate(fn: Explainer) -> Explainer:
        _EXPLAINERS[model_type] = fn
        return fn
    return decorate if fn is None else decorate(fn)


def kind_of(model) -> str:
    """The model's kind: ``config()["kind"]`` for built-in layers and models, else (a
    user-defined Module, any other object) its class name."""
    try:
        kind = model.config()["kind"]
    except (AttributeError, TypeError, KeyError):  # no config(), or one that refuses
        return type(model).__name__
    return kind if isinstance(kind, str) else type(model).__name__


def explainer_for(model) -> Explainer | None:
    """The registered explainer of the model's type (its own or a base class's, in method
    resolution order), else of its kind name, else of a base class's kind name (a subclass
    of a built-in layer); None when there is none."""
    mro = type(model).__mro__
    for cls in mro:
        if cls in _EXPLAINERS:
            return _EXPLAINERS[cls]
    for kind in (kind_of(model), *(cls.__name__ for cls in mro)):
        if kind in _EXPLAINERS:
            return _EXPLAINERS[kind]
    return None


def check_digits(digits) -> int:
    """The digits option, a positive integer, checked once where it enters."""
    if isinstance(digits, bool) or not isinstance(digits, (int, np.integer)) or digits < 1:
        raise ValueError(f"digits must be a positive integer, got {digits!r}")
    return int(digits)


def explain(model, x=None, digits: int = 4, **options) -> Explanation:
    """The model in the primer's notation; with one raw input row x, every step with numbers.

    Parameters
    ----------
    model : SigmoidModel, SoftmaxModel, FeedForward, Sequential, or any registered type
    x : array (p,) or (1, p), optional
        One raw row, as for ``predict``; standardized first (eq. (13)) when the model
        carries a standardizer. For a model fit on a table of raw columns (it has a
        ``preprocessor``): one row of that table (a one-row DataFrame, a Series or a dict),
        shown column by column from the raw value to x̃. For a Sequential: one sample as
        its first layer takes it.
    digits : int
        Significant digits shown (``values`` keep full precision).
    **options
        Passed on to the registered explainer (e.g. ``i``, ``j`` for a Conv2d, ``t``,
        ``head`` for attention).
    """
    digits = check_digits(digits)
    fn = explainer_for(model)
    if fn is None:
        known = sorted(t if isinstance(t, str) else t.__name__ for t in _EXPLAINERS)
        raise TypeError(f"no explanation is registered for {type(model).__name__} (known: "
                        f"{known}); add one with register()")
    pre = getattr(model, "preprocessor", None)
    if x is None or pre is None:
        return _checked(model, fn(model, x, digits, **options))
    steps = pre.steps(x)  # (feature, raw value, encoded x_j, x̃_j)
    result = _checked(model, fn(model, np.array([encoded for _, _, encoded, _ in steps]),
                                digits, **options))
    rows = [("from the table" if j == 0 else "",
             (name(feature) + ": " + _raw(raw) + " → " + sub("x", j + 1) + " = "
              + num(encoded, digits) + " → " + sub(E("x̃", r"\tilde{x}"), j + 1) + " = "
              + num(tilde, digits)))
            for j, (feature, raw, encoded, tilde) in enumerate(steps)]
    result.steps[:0] = [(label, eq.text, eq.latex) for label, eq in rows]
    result.values["raw"] = {feature: raw for feature, raw, _, _ in steps}
    return result


def _checked(model, result: Explanation) -> Explanation:
    """The explanation, unless its ŷ overflowed inside the model (then the rows named)."""
    y_hat = result.values.get("y_hat")
    if y_hat is not None and np.asarray(y_hat).dtype.kind == "f":
        require_finite_outputs(model, np.atleast_1d(np.asarray(y_hat)), "x")
    return result


def _raw(value) -> E:
    """A raw cell as the table holds it (a missing cell shown as such)."""
    text = "missing" if value is None or (isinstance(value, float) and np.isnan(value)) \
        else str(value)
    return E(text, r"\text{" + latex_text(text) + "}")


# --------------------------------------------------------------------------- shared steps


def f64(parameter) -> np.ndarray:
    """A parameter's (or a Tensor's) values as float64."""
    return np.asarray(parameter.data, dtype=np.float64)


def times(n: int, m: int) -> E:
    """n×m, as in a matrix's dimensions."""
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
    s = model.input_scaler
    if s is None:
        return x, x
    return x, (x - np.asarray(s.mean_, np.float64)) / np.asarray(s.scale_, np.float64)


def class_label(model, index) -> tuple[object, E]:
    """Class ``index`` as ``predict`` returns it (the original label when known), and shown."""
    label = index if model.classes_ is None else model.classes_[index]
    return label, name(label) if isinstance(label, str) else E(str(label))


def decide(model, y_hat, digits: int, out: Explanation) -> None:
    """Apply rule (3) or (6) to ŷ; puts y_hat, class_index and class in ``values``."""
    out.values["y_hat"] = y_hat
    to_class = E(" → class ", r" \to \text{class } ")
    if model.output == "softmax":
        k = int(np.argmax(y_hat))
        label, shown = class_label(model, k)
        out.add("decision, eq. (6)", E("argmax_k ŷ_k = ", r"\operatorname{argmax}_k \hat{y}_k = ")
                + f"{k + 1} (" + sub(Y_HAT, k + 1) + " = " + num(y_hat[k], digits) + ")"
                + to_class + shown)
    elif model.output == "sigmoid" and np.ndim(y_hat) == 0:
        k = int(y_hat > TAU)  # eq. (3): ŷ ≤ τ → 0, ŷ > τ → 1, as Model.predict does
        label, shown = class_label(model, k)
        out.add("decision, eq. (3)", Y_HAT + " = " + num(y_hat, digits)
                + (E(" > ") if k else E(" ≤ ", r" \le ")) + E(f"τ = {TAU}", rf"\tau = {TAU}")
                + to_class + shown)
    elif model.output == "sigmoid":  # several sigmoid outputs: rule (3) on each
        k = (np.asarray(y_hat) > TAU).astype(np.int64)
        label = class_label(model, k)[0]
        out.add("decision, eq. (3)", E(f"each ŷᵢ > τ = {TAU} → ", rf"\hat{{y}}_i > \tau = {TAU}"
                                       r" \to ") + vec(k, digits))
    else:
        return
    out.values.update(class_index=k, **{"class": label})


ACTIVATION_SYMBOLS = {  # name: (symbol, function on float64 arrays); softmax has its own steps
    "sigmoid": (SIGMA, lambda z: stable_sigmoid(np.asarray(z, dtype=np.float64))),
    "relu": (E("ReLU", r"\mathrm{ReLU}"), lambda z: np.maximum(z, 0.0)),
    "tanh": (E("tanh", r"\tanh"), np.tanh),
    "softmax": (E("S_Softmax", r"S_{\text{Softmax}}"), None),
    "identity": (E("identity", r"\mathrm{id}"), lambda z: z),
}

