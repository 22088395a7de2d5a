"""explain(): the models in the primer's notation, and one row's forward pass in numbers.

Every number the explanation shows is recomputed here independently with numpy and compared
with ``model.predict_proba`` (which runs in the model's float32).
"""

import re

import numpy as np
import pytest
from helpers.explain import balanced

import dlprimer as dp
from dlprimer import explain as ex
from dlprimer.explain import E, Explanation, explain, register

RTOL, ATOL = 1e-5, 1e-6  # float64 explanation vs the float32 model


def sigmoid(z):
    return 1 / (1 + np.exp(-z))




# ---------------------------------------------------------------------------- Model I


def test_model_one_worked_example():
    m = dp.SigmoidModel(3, dtype=np.float64)
    m.b0.data[...] = 0.5
    m.w.data[:] = [1.0, -2.0, 0.25]
    e = explain(m, [2.0, 1.0, 4.0])
    # z = b0 + wᵀx = 0.5 + (1)(2) + (-2)(1) + (0.25)(4) = 1.5, eq. (2)
    # ŷ = σ(1.5) = 1/(1 + e^{-1.5}) = 0.8176, eq. (1); 0.8176 > 0.5 → class 1, eq. (3)
    assert e.values["z"] == pytest.approx(1.5)
    assert e.values["y_hat"] == pytest.approx(1 / (1 + np.exp(-1.5)))
    assert e.values["class"] == 1 and e.values["d"] == 4
    text = e.text()
    assert "z = b₀ + wᵀx = 0.5 + (1)(2) + (−2)(1) + (0.25)(4) = 1.5" in text
    assert "ŷ = σ_Sig(1.5) = 1/(1 + e^{−1.5}) = 0.8176" in text
    assert "ŷ = 0.8176 > τ = 0.5 → class 1" in text
    assert "x ∈ ℝ^3,  w ∈ ℝ^3,  b₀ ∈ ℝ" in text and "d = p + 1 = 3 + 1 = 4" in text


def test_model_one_values_match_numpy_and_predict_proba():
    m = dp.SigmoidModel(10, seed=3)
    m.b0.data[...] = -0.3
    x = np.random.default_rng(0).normal(size=10)
    e = m.explain(x)
    w, b0 = m.w.data.astype(np.float64), float(m.b0.data)
    assert e.values["z"] == pytest.approx(b0 + w @ x, rel=RTOL)
    assert e.values["y_hat"] == pytest.approx(sigmoid(b0 + w @ x), rel=RTOL)
    assert e.values["y_hat"] == pytest.approx(m.predict_proba(x)[0], rel=RTOL, abs=ATOL)
    assert e.values["class"] == m.predict(x)[0]
    # a long sum shows its first 3 terms then …; a long vector its first 3 entries, …, last
    line = next(text for _, text, _ in e.steps if text.startswith("z = "))
    assert line.count(")(") == 3 and "+ … =" in line
    x_line = next(text for label, text, _ in e.steps if label == "input")
    assert x_line.count(",") == 4 and "…" in x_line


def test_model_one_class_labels_and_tau_side():
    m = dp.SigmoidModel(2, dtype=np.float64)
    m.w.data[:] = [1.0, 1.0]
    m.classes_ = np.array(["benign", "malignant"])
    e = explain(m, [-1.0, -2.0])   # z = -3, ŷ = 0.04743 ≤ τ
    assert e.values["class"] == "benign" and e.values["class_index"] == 0
    assert "ŷ = 0.04743 ≤ τ = 0.5 → class “benign”" in e.text()
    assert "ŷ > τ = 0.5 → class “malignant”;  ŷ ≤ τ → class “benign”" in explain(m).text()


def test_extreme_inputs_do_not_overflow():
    m = dp.SigmoidModel(1, dtype=np.float64)
    m.w.data[:] = [1.0]
    assert explain(m, [-1000.0]).values["y_hat"] == 0.0
    assert explain(m, [1000.0]).values["y_hat"] == 1.0
    s = dp.SoftmaxModel(1, 3, dtype=np.float64)
    s.W.data[:] = [[1.0], [2.0], [0.0]]
    e = explain(s, [1000.0])          # e^{2000} overflows: shown shifted by max z
    np.testing.assert_allclose(e.values["y_hat"], s.predict_proba([[1000.0]])[0])
    assert "e^{z_k − max z}" in e.text()


# --------------------------------------------------------------------------- Model II


def test_model_two_values_match_numpy_and_predict_proba():
    m = dp.SoftmaxModel(p=6, K=5, seed=1)
    m.b.data[:] = [0.1, -0.2, 0.3, 0.0, 0.5]
    x = np.linspace(-1, 2, 6)
    e = m.explain(x)
    W, b = m.W.data.astype(np.float64), m.b.data.astype(np.float64)
    z = b + W @ x                        # eq. (5), each z_k = b_k + Σ_j w_kj x_j
    np.testing.assert_allclose(e.values["z"], z, rtol=RTOL)
    np.testing.assert_allclose(e.values["exp_z"], np.exp(z), rtol=RTOL)
    assert e.values["sum_exp"] == pytest.approx(np.exp(z).sum(), rel=RTOL)
    np.testing.assert_allclose(e.values["y_hat"], np.exp(z) / np.exp(z).sum(), rtol=RTOL)
    np.testing.assert_allclose(e.values["y_hat"], m.predict_proba(x)[0], rtol=RTOL, atol=ATOL)
    assert e.values["class"] == m.predict(x)[0] and e.values["d"] == 5 + 5 * 6
    text = e.text()
    assert "W ∈ ℝ^{5×6},  b ∈ ℝ^5" in text and "d = K + Kp = 5 + 5×6 = 35" in text
    assert "z₅ = b₅ + Σⱼ w₅ⱼ xⱼ" in text and "⋮" in text and "z₄ =" not in text


def test_model_two_primer_softmax_example():
    # the primer's example below eq. (14): z = (0.03, -1.91, 1.56, 0.34), ŷ ≈ (0.14, 0.02,
    # 0.65, 0.19), argmax → the third class. (The primer prints e^{1.56} as 4.807 and so
    # 1/Σ as 0.1353; e^{1.56} = 4.759, so 1/Σ = 1/7.342 = 0.1362.)
    m = dp.SoftmaxModel(p=1, K=4, dtype=np.float64)
    m.W.data[:] = 0.0
    m.b.data[:] = [0.03, -1.91, 1.56, 0.34]
    m.classes_ = np.array(["a", "b", "c", "d"])
    e = explain(m, [7.0], digits=3)
    np.testing.assert_allclose(e.values["exp_z"], [1.03, 0.148, 4.759, 1.405], atol=1e-3)
    assert 1 / e.values["sum_exp"] == pytest.approx(0.1362, abs=1e-4)
    np.testing.assert_allclose(e.values["y_hat"], [0.14, 0.02, 0.65, 0.19], atol=0.005)
    assert "e^{z_k} = (1.03, 0.148, 4.76, 1.4)" in e.text()
    assert "argmax_k ŷ_k = 3 (ŷ₃ = 0.648) → class “c”" in e.text()
    assert e.values["class"] == "c" and e.values["class_index"] == 2


# -------------------------------------------------------------------------- Model III


def test_figure_3_network_dimensions_and_d():
    net = dp.FeedForward([4, 4, 3, 5, 1])
    e = net.explain()
    text = e.text()
    assert "d = 4×4 + 4 + 3×4 + 3 + 5×3 + 5 + 1×5 + 1 = 61" in text
    assert e.values["d"] == net.num_parameters() == 61
    assert "a[3] = σ_Sig(b[3] + W[3] a[2]),  W[3] ∈ ℝ^{5×3},  b[3] ∈ ℝ^5" in text
    assert "W[4] ∈ ℝ^{1×5},  b[4] ∈ ℝ" in text
    latex = e._repr_latex_()
    assert r"d = 4 \times 4 + 4 + 3 \times 4 + 3 + 5 \times 3 + 5 + 1 \times 5 + 1 = 61" in latex
    assert r"W^{[3]} \in \mathbb{R}^{5\times 3}" in latex


def _forward(net, x):
    """Every a[ℓ] of eq. (33) with numpy, in float64."""
    fns = {"sigmoid": sigmoid, "relu": lambda z: np.maximum(z, 0), "tanh": np.tanh,
           "identity": lambda z: z, "softmax": lambda z: np.exp(z) / np.exp(z).sum()}
    a = [np.asarray(x, dtype=np.float64)]
    for ell, dense in enumerate(net.layers, 1):
        z = dense.b.data.astype(np.float64) + dense.W.data.astype(np.float64) @ a[-1]
        a.append(fns[net.activation if ell < len(net.layers) else net.output](z))
    return a


@pytest.mark.parametrize("sizes, activation, output", [
    ([4, 4, 3, 5, 1], "sigmoid", "sigmoid"),
    ([5, 8, 3], "relu", "softmax"),
    ([3, 6, 2], "tanh", "identity"),
    ([3, 4, 3], "relu", "sigmoid"),          # several sigmoid outputs: rule (3) on each
])
def test_model_three_every_layer_matches_numpy(sizes, activation, output):
    net = dp.FeedForward(sizes, activation=activation, output=output, seed=2)
    x = np.random.default_rng(1).normal(size=sizes[0])
    e = net.explain(x)
    a = _forward(net, x)
    for ell in range(len(sizes)):
        np.testing.assert_allclose(e.values[f"a[{ell}]"], a[ell], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(e.values["y_hat"], net.predict_proba(x)[0], rtol=RTOL,
                               atol=ATOL)
    assert np.ndim(e.values["y_hat"]) == np.ndim(net.predict_proba(x)[0])
    if output != "identity":
        np.testing.assert_array_equal(e.values["class"], net.predict(x)[0])
    else:
        assert "class" not in e.values
    assert f"layer {len(sizes) - 1}" in e.text()


def test_model_three_text_names_activations():
    net = dp.FeedForward([2, 3, 2], activation="relu", output="softmax")
    text = explain(net, [1.0, -1.0]).text()
    assert "a[1] = ReLU(b[1] + W[1] a[0])" in text and "a[1] = ReLU(z[1]) = (" in text
    assert "a[2] = S_Softmax(b[2] + W[2] a[1])" in text and "Σₖ e^{z_k} = " in text
    reg = dp.FeedForward([2, 3, 1], activation="tanh", output="identity")
    text = explain(reg, [1.0, -1.0]).text()
    assert "a[1] = tanh(z[1])" in text and "a[2] = b[2] + W[2] a[1]" in text
    assert "regression" in text


# ------------------------------------------------------------ trained, standardized model


@pytest.fixture(scope="module")
def breast_cancer():
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    return data.data, data.target, list(data.feature_names)


@pytest.mark.parametrize("make", [lambda: dp.SigmoidModel(30),
                                  lambda: dp.FeedForward([30, 8, 1], activation="relu")])
def test_trained_model_on_breast_cancer_explains_a_raw_row(breast_cancer, make):
    X, y, _ = breast_cancer
    model = make()
    dp.fit(model, X, y, standardize=True, progress=False, epochs=30,
           optimizer=dp.optim.Adam(lr=0.01))
    row = X[7]
    e = model.explain(row)
    assert e.values["y_hat"] == pytest.approx(model.predict_proba(row)[0], rel=RTOL, abs=ATOL)
    assert e.values["class"] == model.predict(row)[0]
    np.testing.assert_allclose(e.values["x_tilde"], model.standardizer.transform(row[None])[0])
    np.testing.assert_array_equal(e.values["x"], row)
    # x̃₁ = (x₁ − x̄₁)/s₁ with the stored statistics, eq. (13)
    mean, scale = model.standardizer.mean_[0], model.standardizer.scale_[0]
    shown = f"x̃₁ = ({row[0]:.4g} − {mean:.4g})/{scale:.4g} = {(row[0] - mean) / scale:.4g}"
    assert shown.replace("-", "−") in e.text()
    assert "standardize, eq. (13)" in e.text()


def test_feature_names_are_shown_and_escaped(breast_cancer):
    import pandas as pd

    X, y, names = breast_cancer
    names = [n.replace(" ", "_") for n in names]
    names[1] = "a<b>&c_{x}"
    model = dp.SigmoidModel(30)
    dp.fit(model, pd.DataFrame(X, columns=names), y, standardize=True, progress=False,
           epochs=2)
    e = model.explain(pd.DataFrame(X[:1], columns=names))
    assert "x₁ = “mean_radius”" in e.text()
    page = e._repr_html_()
    assert "“mean_radius”" in page and "a&lt;b&gt;&amp;c_{x}" in page and "<b>&c" not in page
    latex = e._repr_latex_()
    assert r"\text{``mean\_radius''}" in latex and r"a<b>\&c\_\{x\}" in latex
    assert balanced(latex)


# ---------------------------------------------------------------- renderings and objects


@pytest.mark.parametrize("model", [dp.SigmoidModel(5), dp.SoftmaxModel(6, 3),
                                   dp.FeedForward([4, 4, 3, 5, 1])])
def test_latex_and_html_renderings(model):
    e = model.explain(np.arange(model.n_features, dtype=float))
    latex = e._repr_latex_()
    assert latex.startswith("$$\\begin{aligned}") and latex.endswith("\\end{aligned}$$")
    assert balanced(latex) and latex.isascii()   # every symbol written as a LaTeX command
    assert latex.count("\\\\") == len(e.steps)
    page = e._repr_html_()
    assert "<table>" in page and page.count("<tr>") == len(e.steps)
    assert "<sup>" in page and "<sub>" in page and "$" not in page and "\\" not in page
    assert "d = " in page and ("ŷ = " in page and "&gt; τ = 0.5" in page or "argmax" in page)
    assert str(e) == repr(e) == e.text() and e.text().startswith("Model ")


def test_html_turns_exponents_and_layers_into_sup():
    page = explain(dp.FeedForward([2, 2, 1]), [1.0, 2.0])._repr_html_()
    assert "W<sup>[1]</sup> ∈ ℝ<sup>2×2</sup>" in page and "σ<sub>Sig</sub>" in page
    assert "e<sup>−z</sup>" not in page   # only Models I and II show σ's formula
    assert "1/(1 + e<sup>−z</sup>)" in explain(dp.SigmoidModel(1))._repr_html_()


def test_digits_and_row_shapes():
    m = dp.SigmoidModel(2, dtype=np.float64)
    m.b0.data[...] = 0.5
    m.w.data[:] = [1.0, -2.0]
    assert "= 0.62" in explain(m, [2.0, 1.0], digits=2).text()
    e1, e2 = explain(m, [[2.0, 1.0]]), explain(m, np.array([2.0, 1.0]))
    assert e1.text() == e2.text()
    assert ex.num(12345.6).text == "1.235×10^{4}" and ex.num(-2.5).text == "−2.5"
    assert ex.vec(np.arange(10)).text == "(0, 1, 2, …, 9)"


def test_description_without_x_has_no_numbers_of_a_row():
    e = dp.SigmoidModel(3).explain()
    assert set(e.values) == {"d", "p"} and "input" not in [label for label, _, _ in e.steps]


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("x, match", [
    ([1.0, 2.0, 3.0], r"p=4 features .* got 3"),
    (np.ones((1, 5)), r"p=4 features .* got 5"),
    ([1.0, np.nan, 2.0, 3.0], r"NaN or infinite values at positions \[1\]"),
    ([1.0, np.inf, 2.0, 3.0], "NaN or infinite"),
    (np.ones((2, 4)), "one row"),
    ([["a", "b", "c", "d"]], "numeric"),
])
def test_bad_rows_raise_clear_errors(x, match):
    with pytest.raises(ValueError, match=match):
        explain(dp.FeedForward([4, 3, 1]), x)


def test_bad_digits_and_unknown_model():
    with pytest.raises(ValueError, match="digits"):
        explain(dp.SigmoidModel(2), digits=0)
    with pytest.raises(TypeError, match="no explanation is registered for object"):
        explain(object())


# ------------------------------------------------------------------------------ registry


def test_register_adds_a_model_type_and_subclasses_inherit(monkeypatch):
    monkeypatch.setattr(ex.core, "_EXPLAINERS", dict(ex.core._EXPLAINERS))

    class Toy:
        pass

    @register(Toy)
    def explain_toy(model, x, digits):
        out = Explanation("A toy")
        out.add("rule", E("y = 2x", r"y = 2 x"))
        out.values["y_hat"] = None if x is None else 2 * x
        return out

    assert explain(Toy(), 3).values["y_hat"] == 6
    assert explain(Toy())._repr_latex_().count("y = 2 x") == 1

    class Wider(dp.SigmoidModel):
        pass

    assert explain(Wider(2)).title.startswith("Model I")   # inherited from SigmoidModel
    register(Wider, lambda model, x, digits: Explanation("wider"))
    assert explain(Wider(2)).title == "wider"
    assert re.search(r"known: .*Toy", str(pytest.raises(TypeError, explain, 1.5).value))
