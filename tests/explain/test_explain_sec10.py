"""Sec. 10 explanations: one convolution entry (eqs. (37)-(39)) and one attention query
(eqs. (40)-(41)).

Every number is recomputed here independently (explicit loops and numpy) and compared with
the layers' forward passes, with dot_product_attention's weights, and with PyTorch.
"""

import re
import subprocess
import sys

import numpy as np
import pytest
from helpers.explain import balanced

import dlprimer as dp
from dlprimer.explain import Explanation, explain, explain_attention, explain_conv2d
from dlprimer.nn import functional as F
from dlprimer.nn.functional import conv as conv_ops

WORDS = np.array([[0.41, 1.2, 3.4, -1.3],   # king, Sec. 10
                  [0.39, 1.1, 3.5, 1.6],    # queen
                  [-0.2, -3.2, 1.3, 0.8]])  # mean
NAMES = ["king", "queen", "mean"]




def check_renderings(e: Explanation) -> None:
    """Text, LaTeX and HTML all render; LaTeX is balanced, ASCII, with words in \\text{}."""
    text = e.text()
    assert text.splitlines()[0] == e.title and len(text.splitlines()) == len(e.steps) + 1
    latex = e._repr_latex_()
    assert latex.startswith("$$\\begin{aligned}") and latex.endswith("\\end{aligned}$$")
    assert balanced(latex) and latex.isascii()
    assert latex.count("\\\\") == len(e.steps)
    # outside \text{}, \mathrm{} and \mathbb{} only symbols: no word set in math italics
    bare = re.sub(r"\\(text|textbf|mathrm|mathbb)\{(?:[^{}\\]|\\.)*\}", "", latex)
    bare = re.sub(r"\\[A-Za-z]+(\{aligned\})?", "", bare)
    assert re.findall(r"[A-Za-z]{3,}", bare) == []
    page = e._repr_html_()
    assert page.startswith("<div class='dlprimer-explain'>") and page.count("<tr>") == len(e.steps)
    assert "^{" not in page and "_{" not in page  # every exponent and subscript converted


def conv_by_loops(W, x, b, stride, padding):
    """z[o, i, j] = b[o] + Σ_c Σ_{i'} Σ_{j'} x_pad[c, i·s + i', j·s + j'] W[o, c, i', j']."""
    C_out, C_in, kh, kw = W.shape
    (sh, sw), (ph, pw) = stride, padding
    xp = np.zeros((C_in, x.shape[1] + 2 * ph, x.shape[2] + 2 * pw))
    xp[:, ph:ph + x.shape[1], pw:pw + x.shape[2]] = x
    H_out, W_out = (xp.shape[1] - kh) // sh + 1, (xp.shape[2] - kw) // sw + 1
    z = np.zeros((C_out, H_out, W_out))
    for o in range(C_out):
        for i in range(H_out):
            for j in range(W_out):
                total = b[o]
                for c in range(C_in):
                    for di in range(kh):
                        for dj in range(kw):
                            total += xp[c, i * sh + di, j * sw + dj] * W[o, c, di, dj]
                z[o, i, j] = total
    return z


# ---------------------------------------------------------------- convolution, (37)-(39)


def test_conv_primer_example():
    # the primer's 100×100 grayscale image and 3×3 kernel: (100 − 3 + 1) × (100 − 3 + 1)
    x = np.arange(100 * 100.0).reshape(100, 100)  # x_{r,c} = 100(r−1) + (c−1)
    W = np.array([[1.0, 0, -1], [1, 0, -1], [1, 0, -1]])
    e = explain_conv2d(W, x)
    # eq. (39): z_{1,1} = (0)(1) + (1)(0) + (2)(−1) + (100)(1) + (101)(0) + (102)(−1)
    #                   + (200)(1) + (201)(0) + (202)(−1) = −2 − 2 − 2 = −6
    assert e.values["z"] == -6.0
    assert e.values["output_shape"] == (1, 98, 98)
    np.testing.assert_array_equal(e.values["patch"], x[None, :3, :3])
    np.testing.assert_array_equal(e.values["kernel"], W[None])
    text = e.text()
    assert "H_out = (100 + 2·0 − 3)/1 + 1 = 98" in text and "z ∈ ℝ^{98×98}" in text
    assert "W ∈ ℝ^{3×3}" in text and "x ∈ ℝ^{100×100}" in text
    assert "entry, eq. (39)" in text
    assert "z_{1,1} = Σ_{i'=0}^{2} Σ_{j'=0}^{2} x_{1+i',1+j'} · w_{i'+1,j'+1}" in text
    assert "z_{1,1} = (0)(1) + (1)(0) + (2)(−1) + … = −6  (9 products)" in text
    assert "vec(w)ᵀ vec(x_{1:3,1:3}) = (1, 0, −1, …, −1)ᵀ (0, 1, 2, …, 202) = −6" in text
    check_renderings(e)


@pytest.mark.parametrize("C_in, C_out, kernel, stride, padding", [
    (1, 1, 3, 1, 0),
    (3, 4, 3, 2, 1),
    (2, 3, (2, 3), (2, 1), (0, 2)),
    (3, 2, 1, 1, 0),
])
def test_conv_layer_entries_match_forward_and_loops(C_in, C_out, kernel, stride, padding):
    rng = np.random.default_rng(7)
    layer = dp.nn.Conv2d(C_in, C_out, kernel, stride=stride, padding=padding, seed=1,
                         dtype=np.float64)
    layer.b.data[:] = rng.normal(size=C_out)
    x = rng.normal(size=(C_in, 7, 8))
    z_forward = layer(x[None]).numpy()[0]  # (C_out, H_out, W_out)
    z_loops = conv_by_loops(layer.W.data, x, layer.b.data, conv_ops.int_pair(stride, "s"),
                            conv_ops.int_pair(padding, "p"))
    np.testing.assert_allclose(z_forward, z_loops, rtol=1e-12, atol=1e-12)
    for o, i, j in [(0, 0, 0), (C_out - 1, z_loops.shape[1] - 1, z_loops.shape[2] - 1),
                    (C_out // 2, z_loops.shape[1] // 2, 1)]:
        e = layer.explain(x, channel_out=o, i=i, j=j)
        assert e.values["output_shape"] == z_loops.shape
        assert e.values["z"] == pytest.approx(z_loops[o, i, j], rel=1e-12, abs=1e-12)
        assert e.values["z"] == pytest.approx(
            np.sum(e.values["patch"] * e.values["kernel"]) + layer.b.data[o], rel=1e-12)
        np.testing.assert_array_equal(e.values["kernel"], layer.W.data[o])
        assert f"z_{{{i + 1},{j + 1}}} = " in e.text()  # 1-based in the text
        check_renderings(e)


def test_conv_float32_layer_matches_forward_and_torch():
    import torch
    layer = dp.nn.Conv2d(3, 5, 3, stride=2, padding=1, seed=4)
    layer.b.data[:] = np.linspace(-1, 1, 5)
    x = np.random.default_rng(2).normal(size=(2, 3, 9, 9)).astype(np.float32)
    z = layer(x).numpy()
    z_torch = torch.nn.functional.conv2d(torch.tensor(x, dtype=torch.float64),
                                         torch.tensor(layer.W.data, dtype=torch.float64),
                                         torch.tensor(layer.b.data, dtype=torch.float64),
                                         stride=2, padding=1).numpy()
    e = layer.explain(x, channel_out=3, i=2, j=4)  # a batch: sample 0
    assert e.values["z"] == pytest.approx(z_torch[0, 3, 2, 4], rel=1e-12)
    assert e.values["z"] == pytest.approx(float(z[0, 3, 2, 4]), rel=1e-5, abs=1e-6)
    assert "H_out = ⌊(9 + 2·1 − 3)/2⌋ + 1 = 5" in e.text()
    assert "padded with 1 row(s) and 1 column(s)" in e.text()
    assert "channel 4 of 5" in e.text()


def test_conv_function_form_and_registry_agree():
    rng = np.random.default_rng(3)
    W, b = rng.normal(size=(2, 3, 3, 3)), rng.normal(size=2)
    x = rng.normal(size=(3, 6, 6))
    z = F.conv2d(x[None], W, b).numpy()[0]
    e = explain_conv2d(W, x, b, channel_out=1, i=3, j=2)
    assert e.values["z"] == pytest.approx(z[1, 3, 2], rel=1e-12)
    layer = dp.nn.Conv2d(3, 2, 3, dtype=np.float64)
    layer.W.data[...], layer.b.data[...] = W, b
    assert explain(layer, x).text() == layer.explain(x).text()  # registered; defaults agree
    assert explain(layer, x).values["z"] == pytest.approx(z[0, 0, 0], rel=1e-12)
    described = explain(layer)  # no image: the layer alone
    assert "x" not in described.values and described.values["d"] == 2 * 27 + 2
    assert "d = C_out·C_in·kh·kw + C_out = 2·3·3·3 + 2 = 56" in described.text()
    check_renderings(described)
    # a single 3-D kernel (C_in, kh, kw) and a scalar bias
    e = explain_conv2d(W[0], x, 0.5)
    assert e.values["z"] == pytest.approx(np.sum(W[0] * x[:, :3, :3]) + 0.5)
    e = explain_conv2d(W, x, 0.5, channel_out=1)  # one number: the bias of every channel
    assert e.values["z"] == pytest.approx(np.sum(W[1] * x[:, :3, :3]) + 0.5)


def test_conv_grayscale_image_as_matrix_for_one_channel():
    layer = dp.nn.Conv2d(1, 2, 2, dtype=np.float64, seed=5)
    x = np.arange(16.0).reshape(4, 4)
    e = layer.explain(x, channel_out=1, i=2, j=0)
    assert e.values["z"] == pytest.approx(float(layer(x[None, None]).numpy()[0, 1, 2, 0]))


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_conv_layer_with_activation_shows_the_feature_map_entry(activation):
    layer = dp.nn.Conv2d(1, 2, 2, activation=activation, dtype=np.float64, seed=5)
    x = np.arange(16.0).reshape(4, 4) - 8
    e = layer.explain(x, channel_out=1, i=0, j=0)
    assert e.values["a"] == pytest.approx(float(layer(x[None, None]).numpy()[0, 1, 0, 0]))
    assert e.values["a"] == pytest.approx({"relu": max(e.values["z"], 0.0),
                                           "tanh": np.tanh(e.values["z"])}[activation])
    assert "feature map" in e.text() and "a_{1,1}" in e.text()
    assert "a = " not in dp.nn.Conv2d(1, 2, 2).explain().text()  # no activation: no a


@pytest.mark.parametrize("kwargs, match", [
    (dict(x=np.zeros((2, 5, 5))), r"x has 2 channel\(s\).*C_in = 3"),
    (dict(x=np.zeros((5, 5))), r"one grayscale channel.*C_in = 3"),
    (dict(x=np.zeros((1, 2, 5, 5))), r"x has 2 channel\(s\)"),
    (dict(i=3), r"i=3 is out of range: z has H_out = 3 rows, so i must be in 0\.\.2"),
    (dict(j=-1), r"j=-1 is out of range"),
    (dict(channel_out=4), r"channel_out=4 is out of range: there are C_out = 4"),
    (dict(i=1.0), r"i must be an integer"),
    (dict(x=np.full((3, 5, 5), np.nan)), r"NaN or infinite"),
    (dict(x=np.zeros((3, 2, 2))), r"does not fit"),
    (dict(x=np.zeros((0, 3, 5, 5))), r"empty batch"),
    (dict(x=np.zeros(5)), r"x must be 2-D or 3-D or 4-D"),
    (dict(digits=0), r"digits must be a positive integer"),
])
def test_conv_bad_input(kwargs, match):
    layer = dp.nn.Conv2d(3, 4, 3)
    kwargs = {"x": np.zeros((3, 5, 5)), **kwargs}
    with pytest.raises(ValueError, match=match):
        layer.explain(**kwargs)


def test_conv_function_form_bad_input():
    with pytest.raises(ValueError, match=r"b must have one entry per output channel"):
        explain_conv2d(np.ones((2, 1, 3, 3)), np.zeros((5, 5)), b=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"stride must be ≥ 1"):
        explain_conv2d(np.ones((3, 3)), np.zeros((5, 5)), stride=0)
    with pytest.raises(ValueError, match=r"W must be 2-D or 3-D or 4-D"):
        explain_conv2d(np.ones(3), np.zeros((5, 5)))


# ------------------------------------------------------------------ attention, (40)-(41)


def test_attention_primer_words():
    e = explain_attention(WORDS, 0, words=NAMES)
    # eq. (40) from king: s₁ = 0.41² + 1.2² + 3.4² + 1.3² = 14.8581,
    # s₂ = 0.41·0.39 + 1.2·1.1 + 3.4·3.5 − 1.3·1.6 = 11.2999,
    # s₃ = −0.082 − 3.84 + 4.42 − 1.04 = −0.542
    np.testing.assert_allclose(e.values["scores"], [14.8581, 11.2999, -0.542], rtol=1e-12)
    # eq. (41): α_j = e^{s_j} / Σ_k e^{s_k}; king attends mostly to itself, then to queen
    s = np.array([14.8581, 11.2999, -0.542])
    np.testing.assert_allclose(e.values["exp_scores"], np.exp(s), rtol=1e-12)
    np.testing.assert_allclose(e.values["weights"], np.exp(s) / np.exp(s).sum(), rtol=1e-12)
    np.testing.assert_allclose(e.values["output"], e.values["weights"] @ WORDS, rtol=1e-12)
    assert e.values["most_attended"] == 0
    text = e.text()
    assert "x^{(2)} = “queen” = (0.39, 1.1, 3.5, 1.6)" in text
    assert "s_j = s(x^{(1)}, x^{(j)}) = (x^{(1)})ᵀ x^{(j)}" in text
    assert "s₂ = (0.41)(0.39) + (1.2)(1.1) + (3.4)(3.5) + (−1.3)(1.6) = 11.3" in text
    assert "(α₁, …, α_T) = (0.9723, 0.0277, 1.994×10^{−7})" in text
    assert "j = 1 (“king”),  α₁ = 0.9723" in text
    check_renderings(e)


@pytest.mark.parametrize("t", [0, 1, 2])
@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_attention_matches_dot_product_attention(t, scale):
    out, alpha = F.dot_product_attention(WORDS, WORDS, WORDS, scale=scale)
    e = explain_attention(WORDS, t, scale=scale)
    np.testing.assert_allclose(e.values["scores"], scale * WORDS @ WORDS[t], rtol=1e-12)
    np.testing.assert_allclose(e.values["weights"], alpha.numpy()[t], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(e.values["output"], out.numpy()[t], rtol=1e-5, atol=1e-6)
    assert e.values["weights"].sum() == pytest.approx(1.0)
    assert f"x^{{({t + 1})}}" in e.title or f"t = {t + 1}" in e.title
    if scale != 1.0:
        assert "s_j = s(x^{(" in e.text() and "0.5 · (" in e.text()
    check_renderings(e)


def test_attention_long_sequence_and_extreme_scores():
    X = np.random.default_rng(0).normal(size=(9, 6)) * 100  # scores ~ 10⁴: e^{s} overflows
    e = explain_attention(X, 4)
    s = X @ X[4]
    expected = np.exp(s - s.max()) / np.exp(s - s.max()).sum()
    np.testing.assert_allclose(e.values["weights"], expected, rtol=1e-12, atol=1e-300)
    assert np.all(np.isfinite(e.values["exp_scores"]))
    assert "e^{s_j − max s}" in e.text() and "⋮" in e.text()
    check_renderings(e)


def mha_float64(d=8, h=2, seed=3):
    layer = dp.nn.MultiHeadAttention(d, h, seed=seed, dtype=np.float64)
    rng = np.random.default_rng(seed)
    for bias in (layer.b_q, layer.b_k, layer.b_v, layer.b_o):
        bias.data[:] = rng.normal(size=d) * 0.1
    return layer


@pytest.mark.parametrize("t, head", [(0, 0), (4, 1), (2, 3)])
def test_mha_explanation_matches_forward(t, head):
    layer = mha_float64(8, 4)
    X = np.random.default_rng(1).normal(size=(5, 8))
    y, alpha = layer(X[None], return_weights=True)
    e = layer.explain(X, t=t, head=head)
    # by hand: project, take the head's 2 columns, score with 1/√2, softmax, weigh the values
    cols = slice(2 * head, 2 * head + 2)
    q = (layer.W_q.data @ X[t] + layer.b_q.data)[cols]
    K = (X @ layer.W_k.data.T + layer.b_k.data)[:, cols]
    V = (X @ layer.W_v.data.T + layer.b_v.data)[:, cols]
    s = K @ q / np.sqrt(2)
    a = np.exp(s) / np.exp(s).sum()
    np.testing.assert_allclose(e.values["q"], q, rtol=1e-12)
    np.testing.assert_allclose(e.values["scores"], s, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(e.values["weights"], a, rtol=1e-12)
    np.testing.assert_allclose(e.values["weights"], alpha.numpy()[0, head, t], rtol=1e-10)
    np.testing.assert_allclose(e.values["output"], a @ V, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(e.values["layer_output"], y.numpy()[0, t], rtol=1e-10,
                               atol=1e-12)
    assert f"head {head + 1}, query t = {t + 1}" in e.title
    assert "s_j = (q^{(" in e.text() and ")ᵀ k^{(j)}/√2" in e.text()
    check_renderings(e)


def test_mha_float32_batch_and_registry():
    layer = dp.nn.MultiHeadAttention(6, 3, seed=0)
    X = np.random.default_rng(4).normal(size=(2, 4, 6)).astype(np.float32)
    y, alpha = layer(X, return_weights=True)
    e = layer.explain(X, t=3, head=2)  # a batch: sample 0
    np.testing.assert_allclose(e.values["weights"], alpha.numpy()[0, 2, 3], rtol=1e-5)
    np.testing.assert_allclose(e.values["layer_output"], y.numpy()[0, 3], rtol=1e-4,
                               atol=1e-5)
    assert explain(layer, X[0]).text() == layer.explain(X[0]).text()  # t = 0, head = 0
    described = explain(layer)
    assert "h = 3 heads of d/h = 2 entries each" in described.text()
    assert described.values["d"] == 4 * (36 + 6)
    check_renderings(described)


@pytest.mark.parametrize("call, match", [
    (lambda: explain_attention(WORDS, 3), r"t=3 is out of range: the sequence has T = 3 "
                                          r"positions, so t must be in 0\.\.2"),
    (lambda: explain_attention(WORDS, -1), r"t=-1 is out of range"),
    (lambda: explain_attention(WORDS, True), r"t must be an integer"),
    (lambda: explain_attention(WORDS, 0, words=["king"]), r"words must name the T = 3 rows"),
    (lambda: explain_attention(WORDS, 0, scale=np.nan), r"scale must be a finite number"),
    (lambda: explain_attention(WORDS[0], 0), r"X must be 2-D"),
    (lambda: explain_attention(np.zeros((0, 4)), 0), r"at least one word vector"),
    (lambda: explain_attention([[1.0, np.inf]], 0), r"1 infinite value"),
    (lambda: mha_float64().explain(np.zeros((3, 8)), t=3), r"t=3 is out of range"),
    (lambda: mha_float64().explain(np.zeros((3, 8)), head=2),
     r"head=2 is out of range: the layer has h = 2 heads"),
    (lambda: mha_float64().explain(np.zeros((3, 5))), r"shape \(T, 8\).*got shape \(3, 5\)"),
    (lambda: mha_float64().explain(np.zeros((0, 3, 8))), r"empty batch"),
])
def test_attention_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("first", ["dlprimer.explain.attention", "dlprimer.explain.conv",
                                   "dlprimer.explain.core", "dlprimer.explain.models",
                                   "dlprimer.explain.layers", "dlprimer.explain",
                                   "dlprimer.nn.attention"])
def test_each_explain_module_can_be_imported_first(first):
    # The explain modules import each other's helpers; whichever a user imports first,
    # every explainer ends up registered (a fresh interpreter per order).
    code = (f"import {first}\n"
            "import numpy as np\n"
            "import dlprimer as dp\n"
            "from dlprimer import nn\n"
            "from dlprimer.explain import explain\n"
            "print(type(explain(nn.MultiHeadAttention(4, 2), np.ones((3, 4)))).__name__,\n"
            "      type(explain(nn.Conv2d(1, 2, 3), np.ones((1, 4, 4)))).__name__,\n"
            "      explain(dp.SigmoidModel(2)).title.split(',')[0],\n"
            "      explain(nn.Sequential(nn.Dense(2, 2), nn.ReLU()), [1, 2]).title.split()[0])\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["Explanation", "Explanation", "Model", "I", "Sequential"]
