"""Explainers for the layers a ``Sequential`` is built from, and for ``Sequential`` itself.

A Dense layer writes eq. (8) with its W and b; the activation modules (ReLU, Sigmoid, Tanh,
registered by kind name) their element-wise function; Flatten and the pools their shape
in → shape out. ``explain(sequential)`` renders each layer in order through its own
registered explainer (a layer kind without one says so in one line); with one sample x it
passes the activations forward layer by layer, with the layers themselves in evaluation
mode under ``no_grad``, and shows each layer's shape in → shape out and its first numbers.

>>> import numpy as np
>>> from dlprimer import nn
>>> from dlprimer.explain import explain
>>> dense = nn.Dense(2, 1, dtype=np.float64)
>>> dense.W.data[...] = [[0.5, -1.0]]; dense.b.data[...] = 0.25
>>> print(explain(dense, [1.0, 2.0]))       # z = 0.25 + (0.5)(1) + (−1)(2) = −1.25
Dense layer, eq. (8), N_in = 2, N_out = 1
  layer, eq. (8)  z = b + W u,  W ∈ ℝ^{1×2},  b ∈ ℝ
  parameters      d = 1×2 + 1 = 3
  input           u = (1, 2)
  output          z = b + W u = (−1.25)
"""

from __future__ import annotations

import numpy as np

from dlprimer.engine.checks import as_float_array
from dlprimer.engine.numerics import stable_sigmoid, stable_softmax
from dlprimer.engine.tensor import no_grad
from dlprimer.explain.core import (
    ACTIVATION_SYMBOLS,
    Y_HAT,
    E,
    Explanation,
    R,
    decide,
    explainer_for,
    f64,
    kind_of,
    latex_text,
    layer,
    register,
    times,
    vec,
)
from dlprimer.nn.conv import AvgPool2d, Flatten, MaxPool2d
from dlprimer.nn.dense import Dense

__all__ = ["explain_sequential"]

#: The axes of one sample (without the batch axis) of the layer kinds that start a network,
#: so that a batch of one is accepted as well; other kinds take x as one sample.
SAMPLE_AXES = {"Dense": 1, "BatchNorm1d": 1, "Conv2d": 3, "MaxPool2d": 3, "AvgPool2d": 3,
               "BatchNorm2d": 3}

#: activation kind → (text, LaTeX) of its definition; the function itself is in
#: ACTIVATION_SYMBOLS under the lower-case name.
DEFINITIONS = {
    "ReLU": ("ReLU(z) = max(0, z)", r"\mathrm{ReLU}(z) = \max(0, z)"),
    "Sigmoid": ("σ_Sig(z) = 1/(1 + e^{−z}), eq. (1)",
                r"\sigma_{\text{Sig}}(z) = \frac{1}{1 + e^{-z}}\text{, eq. (1)}"),
    "Tanh": ("tanh(z) = (e^{z} − e^{−z})/(e^{z} + e^{−z})",
             r"\tanh(z) = \frac{e^{z} - e^{-z}}{e^{z} + e^{-z}}"),
}


def words(s: str) -> E:
    """Plain words: as they are in text, in \\text{} in LaTeX (a × between them, as in a
    title's "2×2", in math mode)."""
    return E(s, r" \times ".join(r"\text{" + latex_text(part) + "}" for part in s.split("×")))


def space(shape) -> E:
    """The space of one sample of this shape: ℝ^{10}, ℝ^{8×4×4}."""
    return R(*shape) if shape else R()


def one_vector(x, n: int, what: str) -> np.ndarray:
    """One input vector of n entries, float64, from (n,) or a batch of one (1, n)."""
    x = as_float_array(getattr(x, "values", x), "x", ndim=(1, 2), allow_nan=False)
    if x.ndim == 2 and x.shape[0] != 1:
        raise ValueError(f"explain takes one sample x, got shape {x.shape}; pass X[i]")
    if x.size != n:
        raise ValueError(f"x must have {n} entries ({what}), got shape {x.shape}")
    return x.reshape(-1)


def forward_one(lay, x) -> np.ndarray:
    """The layer's output for one sample x (no batch axis), float64, in evaluation mode."""
    was_training = lay.training
    lay.eval()
    try:
        with no_grad():
            out = lay(np.asarray(x, dtype=lay.dtype)[None]).data[0]
    finally:
        lay.train(was_training)
    return np.asarray(out, dtype=np.float64)


# ------------------------------------------------------------------------------ layers


@register(Dense)
def explain_dense(lay: Dense, x, digits: int) -> Explanation:
    n, m = lay.out_features, lay.in_features
    d = n * m + n
    out = Explanation(f"Dense layer, eq. (8), N_in = {m}, N_out = {n}")
    out.values["d"] = d
    out.add("layer, eq. (8)", "z = b + W u,  W" + E(" ∈ ", r" \in ") + R(n, m) + ",  b"
            + E(" ∈ ", r" \in ") + R(n))
    out.add("parameters", "d = " + times(n, m) + f" + {n} = {d}")
    if x is None:
        return out
    u = one_vector(x, m, "the layer's in_features")
    z = f64(lay.b) + f64(lay.W) @ u  # (n,), eq. (8)
    out.values.update(u=u, z=z)
    out.add("input", "u = " + vec(u, digits))
    out.add("output", "z = b + W u = " + vec(z, digits))
    return out


def explain_activation(lay, x, digits: int) -> Explanation:
    """An element-wise activation module, by its kind name (ReLU, Sigmoid, Tanh)."""
    kind = kind_of(lay)
    symbol, fn = ACTIVATION_SYMBOLS[kind.lower()]
    text, latex = DEFINITIONS[kind]
    out = Explanation(f"{kind} activation, element-wise (Sec. 9)")
    out.add("activation", "a = " + symbol + "(z)" + words(" entry by entry,  ") + E(text, latex))
    if x is None:
        return out
    z = as_float_array(getattr(x, "values", x), "x", allow_nan=False)
    a = fn(z)
    out.values.update(z=z, a=a)
    out.add("input", "z = " + vec(z, digits))
    out.add("output", "a = " + symbol + "(z) = " + vec(a, digits))
    return out


for activation_kind in DEFINITIONS:
    register(activation_kind, explain_activation)


def _shape_steps(lay, x, digits: int, out: Explanation) -> None:
    """With one sample x: shape in → shape out and the first numbers of the output."""
    x = as_float_array(getattr(x, "values", x), "x", allow_nan=False)
    a = forward_one(lay, x)
    out.values.update(input_shape=x.shape, output_shape=a.shape, a=a)
    out.add("shape", space(x.shape) + E("  →  ", r"\ \to\ ") + space(a.shape))
    out.add("output", "a = " + vec(a, digits))


@register(Flatten)
def explain_flatten(lay: Flatten, x, digits: int) -> Explanation:
    out = Explanation("Flatten: each sample as one vector (Sec. 7)")
    out.add("reshape", E("(C, H, W) → C·H·W entries, stacked row wise: vec (Sec. 7)",
                         r"(C, H, W) \to C \cdot H \cdot W \text{ entries, stacked row wise:"
                         r" vec (Sec. 7)}"))
    if x is not None:
        _shape_steps(lay, x, digits, out)
    return out


def pool_explainer(what: str):
    """The explainer of a pooling layer that takes the ``what`` ("max" or "mean") of each
    k×k window."""
    def explain_pool(lay, x, digits: int) -> Explanation:
        k = lay.k if isinstance(lay.k, (tuple, list)) else (lay.k, lay.k)
        stride = lay.stride if lay.stride is not None else lay.k
        title = "Max pooling" if what == "max" else "Average pooling"
        out = Explanation(f"{title}, {k[0]}×{k[1]} windows, stride {stride}")
        out.add("pool", words(f"a_(c,i,j) = the {what} of the {k[0]}×{k[1]} window of channel "
                              "c at (i, j); no parameters"))
        if x is not None:
            _shape_steps(lay, x, digits, out)
        return out
    return explain_pool


register(MaxPool2d, pool_explainer("max"))
register(AvgPool2d, pool_explainer("mean"))


# -------------------------------------------------------------------------- Sequential


def _layer_steps(out: Explanation, ell: int, lay, digits: int) -> None:
    """Layer ℓ through its own registered explainer, or a one-line note without one."""
    kind = kind_of(lay)
    fn = explainer_for(lay)
    if fn is None:
        out.add(f"layer {ell}", words(f"{kind}: no explanation registered for this layer kind"))
        return
    inner = fn(lay, None, digits)
    out.values[f"layer {ell}"] = inner.values
    title = inner.title if inner.title.startswith(kind) else f"{kind}: {inner.title}"
    out.add(f"layer {ell}", words(title))
    for label, text, latex in inner.steps:
        out.add(f"  {label}" if label else "", E(text, latex))


def _one_sample(model, first, x) -> np.ndarray:
    """x as a batch of one, in the model's dtype (integers, e.g. token ids, stay integers);
    standardized by eq. (13) when the model carries a standardizer."""
    x = np.asarray(getattr(x, "values", x))
    if x.dtype.kind not in "iub":
        x = as_float_array(x, "x", allow_nan=False)
    while getattr(first, "layers", None):  # a Sequential first: its first layer
        first = first.layers[0]
    axes = SAMPLE_AXES.get(kind_of(first))
    if axes is None or x.ndim == axes:
        x = x[None]  # one sample → a batch of one
    elif x.ndim != axes + 1 or x.shape[0] != 1:
        raise ValueError(f"explain takes one sample x, shaped as the first layer "
                         f"({kind_of(first)}) takes one ({axes} axes), or a batch of one; got "
                         f"shape {x.shape}; pass X[i] for sample i")
    if model.input_scaler is not None:
        x = model.input_scaler.transform(x)
    return x.astype(model.dtype) if x.dtype.kind == "f" else x


def _output_steps(model, z: np.ndarray, digits: int, out: Explanation) -> None:
    """ŷ from the last layer's output by the model's final activation, and the decision."""
    aL = layer("a", "L")
    if model.output == "softmax":
        y_hat = stable_softmax(z.ravel())
        out.add("softmax, eq. (4)", Y_HAT + E(" = S_Softmax(", r" = S_{\text{Softmax}}(") + aL
                + ") = " + vec(y_hat, digits))
    elif model.output == "sigmoid":
        y_hat = stable_sigmoid(z.ravel())
        out.add("sigmoid, eq. (1)", Y_HAT + E(" = σ_Sig(", r" = \sigma_{\text{Sig}}(") + aL
                + ") = " + vec(y_hat, digits))
        y_hat = float(y_hat[0]) if y_hat.size == 1 else y_hat
    elif model.output == "identity":
        y_hat = z.ravel()
        out.add("output", Y_HAT + " = " + aL + " = " + vec(y_hat, digits))
        y_hat = float(y_hat[0]) if y_hat.size == 1 else y_hat
    else:  # not fit yet: no final activation recorded
        out.values["output"] = z
        out.add("output", aL + words(" (before any final activation) = ") + vec(z, digits))
        return
    decide(model, y_hat, digits, out)


def explain_sequential(model, x, digits: int) -> Explanation:
    """A Sequential network layer by layer; with one sample x, its activations a[ℓ]."""
    layers = list(model.layers)
    d = model.num_parameters()
    out = Explanation(f"Sequential network of L = {len(layers)} layers, d = {d} parameters")
    out.values["d"] = d
    out.add("model", E("a[0] = x,  a[ℓ] = f[ℓ](a[ℓ-1]),  ℓ = 1, …, L,  output a[L]",
                       r"a^{[0]} = x,\ a^{[\ell]} = f^{[\ell]}(a^{[\ell-1]}),\ \ell = 1, \ldots,"
                       r" L,\ \text{output } a^{[L]}"))
    for ell, lay in enumerate(layers, 1):
        _layer_steps(out, ell, lay, digits)
    if x is None or not layers:
        return out
    h = _one_sample(model, layers[0], x)
    out.values["a[0]"] = np.asarray(h[0], dtype=np.float64)
    out.add("input", layer("a", 0) + " = x" + E(" ∈ ", r" \in ") + space(h.shape[1:]) + " = "
            + vec(h[0], digits))
    was_training = model.training
    model.eval()  # Dropout passes through, BatchNorm uses its running statistics
    try:
        with no_grad():
            for ell, lay in enumerate(layers, 1):
                before = h.shape[1:]
                h = lay(h)
                a = np.asarray(h.data[0], dtype=np.float64)
                out.values[f"a[{ell}]"] = a
                out.add(f"layer {ell}", words(f"{kind_of(lay)}: ") + space(before)
                        + E("  →  ", r"\ \to\ ") + space(a.shape))
                out.add("", layer("a", ell) + " = " + vec(a, digits))
    finally:
        model.train(was_training)
    _output_steps(model, a, digits, out)
    return out


register("Sequential", explain_sequential)
