"""explain() of any Sequential: each layer through its own registered explainer, and with
one sample x the activations a[ℓ] passed forward by the layers themselves."""

import numpy as np
import pytest
from helpers.explain import balanced

import dlprimer as dp
from dlprimer import nn
from dlprimer.engine.tensor import as_tensor
from dlprimer.explain import Explanation, explain, register
from dlprimer.explain.core import explainer_for, kind_of

NOTE = "no explanation registered for this layer kind"


class Doubler(nn.Module):
    """A user-defined layer: no config(), no explainer."""

    def forward(self, x):
        return as_tensor(x) * 2.0


def cnn():
    # the network of DESIGN.md, on 8×8 images
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Dense(8 * 4 * 4, 10))


def layer_outputs(model, x):
    """a[1], …, a[L] for one sample x, computed here layer by layer (batch of one)."""
    outputs, a = [], x[None].astype(np.float32)
    with dp.no_grad():
        for layer in model.layers:
            a = layer(a)
            outputs.append(a.numpy()[0])
    return outputs


def layer_rows(e):
    return [text for label, text, _ in e.steps if label.startswith("layer ")]


def test_cnn_without_x_renders_each_layer_in_order():
    model = cnn()
    e = explain(model)
    assert e.title == f"Sequential network of L = 5 layers, d = {model.num_parameters()} parameters"
    assert e.values["d"] == 8 * 9 + 8 + 128 * 10 + 10
    rows = layer_rows(e)
    assert [row.split(":")[0].split()[0] for row in rows] == [
        "Conv2d", "ReLU", "MaxPool2d", "Flatten", "Dense"]
    text = e.text()
    assert "W ∈ ℝ^{8×1×3×3}" in text and "W ∈ ℝ^{10×128},  b ∈ ℝ^{10}" in text   # their own
    assert "ReLU(z) = max(0, z)" in text and "2×2 window" in text
    assert "d = 10×128 + 10 = 1290" in text
    assert "a[1] =" not in text   # no numbers without x
    assert e.values["layer 5"]["d"] == 1290   # each layer's own values, by position


def test_cnn_with_x_numbers_equal_the_layer_outputs():
    model = cnn()
    x = np.random.default_rng(0).normal(size=(1, 8, 8))
    e = explain(model, x)
    expected = layer_outputs(model, x)
    for ell, a in enumerate(expected, 1):
        np.testing.assert_allclose(e.values[f"a[{ell}]"], a, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(e.values["a[0]"], x, rtol=1e-6)
    np.testing.assert_allclose(e.values["output"], model(x[None]).numpy()[0], rtol=1e-6)
    shapes = [text for label, text, _ in e.steps if label.startswith("layer ") and "→" in text]
    assert shapes == ["Conv2d: ℝ^{1×8×8}  →  ℝ^{8×8×8}", "ReLU: ℝ^{8×8×8}  →  ℝ^{8×8×8}",
                      "MaxPool2d: ℝ^{8×8×8}  →  ℝ^{8×4×4}", "Flatten: ℝ^{8×4×4}  →  ℝ^{128}",
                      "Dense: ℝ^{128}  →  ℝ^{10}"]
    # a few numbers per layer: the first three, …, the last
    shown = next(text for _, text, _ in e.steps if text.startswith("a[5] = "))
    assert shown.count(",") == 4 and "…" in shown
    # a batch of one is the same sample
    same = explain(model, x[None])
    np.testing.assert_array_equal(same.values["a[5]"], e.values["a[5]"])
    latex = e._repr_latex_()
    assert balanced(latex) and latex.isascii() and latex.count("\\\\") == len(e.steps)
    assert "<sup>[1]</sup>" in e._repr_html_()


def test_fitted_sequential_shows_y_hat_and_the_decision_of_predict():
    ds = dp.datasets.load("iris")
    model = nn.Sequential(nn.Dense(4, 8), nn.Tanh(), nn.Dense(8, 3))
    dp.fit(model, ds.X, ds.y, optimizer=dp.optim.Adam(lr=0.05), epochs=5, progress=False,
           standardize=True)
    x = ds.X[60]
    e = explain(model, x)
    np.testing.assert_allclose(e.values["y_hat"], model.predict_proba(x[None])[0], rtol=1e-5)
    assert e.values["class"] == model.predict(x[None])[0]
    text = e.text()
    assert "ŷ = S_Softmax(a[L])" in text and "decision, eq. (6)" in text
    # the model sees x̃ (eq. (13)), as predict does
    x_tilde = model.standardizer.transform(x[None])[0]
    np.testing.assert_allclose(e.values["a[0]"], x_tilde, rtol=1e-6)


def test_a_layer_without_explainer_says_so_in_one_line():
    model = nn.Sequential(nn.Dense(3, 4), Doubler(), nn.Dropout(0.5), nn.Sigmoid())
    assert explainer_for(model.layers[1]) is None and kind_of(model.layers[1]) == "Doubler"
    e = explain(model)
    notes = [text for _, text, _ in e.steps if NOTE in text]
    assert notes == [f"Doubler: {NOTE}", f"Dropout: {NOTE}"]
    # with x the activations still pass through, in evaluation mode: Dropout is the identity
    x = np.array([0.5, -1.0, 2.0])
    model.train()
    e = explain(model, x)
    assert model.training and all(m.training for m in model.modules())   # mode restored
    z = model.layers[0].b.numpy() + model.layers[0].W.numpy() @ x
    np.testing.assert_allclose(e.values["a[2]"], 2 * z, rtol=1e-6)
    np.testing.assert_allclose(e.values["a[3]"], 2 * z, rtol=1e-6)
    np.testing.assert_allclose(e.values["a[4]"], 1 / (1 + np.exp(-2 * z)), rtol=1e-6)


def test_layer_explainers_alone():
    dense = nn.Dense(3, 2, dtype=np.float64)
    dense.W.data[...] = [[1.0, 0.0, -1.0], [0.5, 0.5, 0.5]]
    dense.b.data[...] = [0.25, -1.0]
    e = explain(dense, [2.0, 1.0, 4.0])
    # z = b + W u = (0.25 + 2 − 4, −1 + 1 + 0.5 + 2) = (−1.75, 2.5), eq. (8)
    np.testing.assert_allclose(e.values["z"], [-1.75, 2.5])
    assert "z = b + W u = (−1.75, 2.5)" in e.text()
    with pytest.raises(ValueError, match="3 entries"):
        explain(dense, [1.0, 2.0])
    for layer, expected in ((nn.ReLU(), [0.0, 0.0, 3.0]), (nn.Tanh(), np.tanh([-2, 0, 3])),
                            (nn.Sigmoid(), 1 / (1 + np.exp([2.0, 0.0, -3.0])))):
        e = explain(layer, [-2.0, 0.0, 3.0])
        np.testing.assert_allclose(e.values["a"], expected, rtol=1e-12)
    pool = explain(nn.AvgPool2d(2), np.arange(16.0).reshape(1, 4, 4))
    assert pool.values["output_shape"] == (1, 2, 2)
    np.testing.assert_allclose(pool.values["a"][0], [[2.5, 4.5], [10.5, 12.5]])
    flat = explain(nn.Flatten(), np.ones((2, 3, 3)))
    assert flat.values["output_shape"] == (18,) and "ℝ^{2×3×3}  →  ℝ^{18}" in flat.text()


def test_nested_sequential_and_bad_samples():
    inner = nn.Sequential(nn.Dense(2, 3), nn.ReLU())
    model = nn.Sequential(inner, nn.Dense(3, 1))
    e = explain(model, [1.0, -1.0])
    assert layer_rows(e)[0].startswith("Sequential network of L = 2 layers")
    np.testing.assert_allclose(e.values["a[2]"], model(np.array([[1.0, -1.0]])).numpy()[0],
                               rtol=1e-6)
    with pytest.raises(ValueError, match="one sample"):
        explain(model, np.ones((3, 2)))
    with pytest.raises(ValueError, match="NaN"):
        explain(model, [np.nan, 1.0])
    assert explain(nn.Sequential()).values["d"] == 0


def test_register_by_kind_name(monkeypatch):
    from dlprimer.explain import core

    monkeypatch.setattr(core, "_EXPLAINERS", dict(core._EXPLAINERS))

    class Shift(nn.Module):
        def config(self):
            return {"kind": "Shift"}

        def forward(self, x):
            return as_tensor(x) + 1.0

    @register("Shift")
    def explain_shift(layer, x, digits):
        return Explanation("Shift by one")

    assert explain(Shift()).title == "Shift by one"
    e = explain(nn.Sequential(Shift(), Doubler()))
    assert [text for _, text, _ in e.steps if "Shift" in text] == ["Shift by one"]
