"""The explainers of Models I-III (eqs. (1)-(8), (33)-(36)): each writes its model in the
primer's notation with the real p, K, N_ℓ and d, and, given one raw row x, every step of the
forward pass with numbers recomputed from the parameters in float64.

They are registered with :func:`dlprimer.explain.explain` for ``SigmoidModel``,
``SoftmaxModel`` and ``FeedForward`` (and their subclasses).
"""

from __future__ import annotations

import numpy as np

from dlprimer.engine.numerics import stable_sigmoid
from dlprimer.explain.core import (
    ACTIVATION_SYMBOLS,
    DOTS,
    IN,
    MINUS,
    SIGMA,
    SUBSCRIPTS,
    TAU,
    Y_HAT,
    E,
    Explanation,
    R,
    class_label,
    decide,
    f64,
    input_row,
    join,
    layer,
    name,
    num,
    register,
    shown_indices,
    sub,
    times,
    vec,
)
from dlprimer.models import FeedForward, SigmoidModel, SoftmaxModel

__all__: list[str] = []  # the explainers are reached through explain()

Z = E("z")


def _sum_of_products(b: float, w, x, digits: int) -> E:
    """b + (w₁)(x₁) + (w₂)(x₂) + …: all terms up to 4, else the first 3 then …."""
    terms = [num(b, digits)] + ["(" + num(w[j], digits) + ")(" + num(x[j], digits) + ")"
                                for j in range(len(w) if len(w) <= 4 else 3)]
    return join(terms + ([DOTS] if len(w) > 4 else []), " + ")


def _describe_inputs(model, out: Explanation) -> None:
    """Feature names and standardization, eq. (13), where the model has them."""
    names = model.feature_names
    if names:
        out.add("features", join(DOTS if j is None else sub("x", j + 1) + " = " + name(names[j])
                                 for j in shown_indices(len(names))))
    if model.input_scaler is not None:
        out.add("standardize, eq. (13)",
                E("x̃ⱼ = (xⱼ − x̄ⱼ)/sⱼ with the training mean x̄ⱼ and s.d. sⱼ; the model sees x̃",
                  r"\tilde{x}_j = (x_j - \bar{x}_j)/s_j \text{ with the training mean }"
                  r" \bar{x}_j \text{ and s.d. } s_j \text{; the model sees } \tilde{x}"))


def _show_input(model, x, digits: int, out: Explanation) -> tuple[np.ndarray, E]:
    """The input steps for row x; returns x̃ (float64) and the symbol the model sees."""
    x, x_tilde = input_row(model, x)
    out.values.update(x=x, x_tilde=x_tilde)
    out.add("input", "x = " + vec(x, digits))
    if model.input_scaler is None:
        return x_tilde, E("x")
    mean, scale = model.input_scaler.mean_, model.input_scaler.scale_
    x_sym = E("x̃", r"\tilde{x}")
    for j in range(min(3, x.size)):
        out.add("" if j else "standardize",
                sub(x_sym, j + 1) + " = (" + num(x[j], digits) + MINUS + num(mean[j], digits)
                + ")/" + num(scale[j], digits) + " = " + num(x_tilde[j], digits))
    out.add("", x_sym + " = " + vec(x_tilde, digits))
    return x_tilde, x_sym


def _softmax_steps(z: np.ndarray, digits: int, out: Explanation, lhs: E,
                   z_sym: E = Z) -> np.ndarray:
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
                + class_label(model, 1)[1] + E(";  ŷ ≤ τ", r";\ \hat{y} \le \tau") + to_class
                + class_label(model, 0)[1])
    elif model.output == "softmax":
        K = model.n_outputs
        out.add("decision, eq. (6)",
                E("Ŷ = argmax_k ŷ_k;  k = ", r"\hat{\mathcal{Y}} = \operatorname{argmax}_k "
                  r"\hat{y}_k;\ k = ")
                + join(DOTS if k is None else str(k + 1) for k in shown_indices(K))
                + E(" → classes ", r" \to \text{classes } ")
                + join(DOTS if k is None else class_label(model, k)[1] for k in shown_indices(K)))
    else:
        out.add("output", Y_HAT + E(" is the prediction (identity output: regression)",
                                    r" \text{ is the prediction (identity output: regression)}"))


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
    decide(model, y_hat, digits, out)
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
    out.add("parameters", f"d = K + Kp = {K} + " + times(K, p) + f" = {K + K * p}")
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
        w_k = E(f"w{str(k + 1).translate(SUBSCRIPTS)}ⱼ ", f"w_{{{k + 1},j}}\\,")
        out.add("" if k else "z_k, eq. (5)",
                sub("z", k + 1) + " = " + sub("b", k + 1) + E(" + Σⱼ ", r" + \sum_j ") + w_k
                + sub(x_sym, "j") + " = " + _sum_of_products(b[k], W[k], x, digits) + " = "
                + num(z[k], digits))
    out.add("", "z = b + W " + x_sym + " = " + vec(z, digits))
    decide(model, _softmax_steps(z, digits, out, Y_HAT), digits, out)
    return out



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
    out.add("parameters, eq. (36)", "d = " + join((times(n, m) + f" + {n}" for n, m in shapes),
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
    decide(model, float(a[0]) if a.size == 1 and act != "softmax" else a, digits, out)
    return out


