"""dlprimer.report.plots and dlprimer.report: every figure is a real, non-blank PNG; descent_path
follows eq. (31) by hand; the report is whole. (diagnose: tests/training/test_diagnose.py.)"""

import base64
import re

import matplotlib.image
import numpy as np
import pytest

import dlprimer as dp
from dlprimer import plots
from dlprimer.report import write_report
from dlprimer.training import History
from dlprimer.training.diagnose import diagnose

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_real_png(path, min_std=0.02):
    """A valid PNG (signature, readable) with visible content (not one flat colour)."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    assert float(image[..., :3].std()) > min_std, f"{path.name} looks blank"


@pytest.fixture(scope="module")
def iris2():
    """Model II on two iris features, with a validation split: a 2-feature classifier."""
    ds = dp.datasets.load("iris")
    X, y = ds.X[:, 2:], np.array(ds.class_names)[ds.y]
    model = dp.SoftmaxModel(2, 3)
    history = dp.fit(model, X, y, optimizer=dp.optim.Adam(lr=0.05), epochs=40,
                     validation_split=0.2, standardize=True, progress=False)
    return model, history, X, y


@pytest.fixture(scope="module")
def cancer_binary():
    ds = dp.datasets.load("breast_cancer")
    X_train, X_test, y_train, y_test = dp.data.train_test_split(ds.X[:, :2], ds.y, 0.25,
                                                                True, 0)
    model = dp.FeedForward([2, 6, 1], activation="relu")
    history = dp.fit(model, X_train, y_train, optimizer=dp.optim.Adam(lr=0.02), epochs=30,
                     validation_split=0.2, standardize=True, progress=False)
    return model, history, X_test, y_test


# --- each figure ------------------------------------------------------------------------

def test_loss_curves(tmp_path, iris2):
    _, history, _, _ = iris2
    fig = plots.loss_curves(history, path=tmp_path / "loss.png")
    assert len(fig.axes) == 2  # loss, and the metric beside it
    assert [line.get_label() for line in fig.axes[0].lines][:2] == ["training", "validation"]
    assert_real_png(tmp_path / "loss.png")
    only_loss = plots.loss_curves(History(loss=[3.0, 2.0, 1.5]))
    assert len(only_loss.axes) == 1


def test_loss_curves_log_scale():
    short = History(loss=[3.0, 2.0, 1.5])  # spans less than 100×: linear unless asked
    assert plots.loss_curves(short).axes[0].get_yscale() == "linear"
    assert plots.loss_curves(short, log_scale=True).axes[0].get_yscale() == "log"
    wide = History(loss=[100.0, 1.0, 0.1])
    assert plots.loss_curves(wide).axes[0].get_yscale() == "log"
    assert plots.loss_curves(wide, log_scale=False).axes[0].get_yscale() == "linear"
    # a loss that reaches 0 or below (a user's own loss) cannot go on a log axis
    assert plots.loss_curves(History(loss=[1.0, 0.0, -1.0]),
                             log_scale=True).axes[0].get_yscale() == "linear"


def test_predicted_vs_actual_and_residuals(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.normal(size=50)
    y_hat = y + rng.normal(0, 0.3, size=50)
    r2 = 1 - np.sum((y - y_hat) ** 2) / np.sum((y - y.mean()) ** 2)
    fig = plots.predicted_vs_actual(y_hat, y, path=tmp_path / "pva.png")
    assert_real_png(tmp_path / "pva.png")
    points = fig.axes[0].collections[0].get_offsets()
    np.testing.assert_allclose(points, np.column_stack([y, y_hat]))  # x actual, y predicted
    assert f"{r2:.3f}" in fig.axes[0].get_title()
    fig = plots.residuals(y_hat, y, path=tmp_path / "res.png")
    assert_real_png(tmp_path / "res.png")
    np.testing.assert_allclose(fig.axes[0].collections[0].get_offsets(),
                               np.column_stack([y_hat, y - y_hat]))
    rmse = np.sqrt(np.mean((y - y_hat) ** 2))
    assert f"{rmse:.4g}" in fig.axes[0].get_title()


def test_regression_plots_of_a_model_and_bad_input():
    ds = dp.datasets.load("diabetes")
    model = dp.FeedForward([ds.X.shape[1], 1], output="identity")
    dp.fit(model, ds.X, ds.y, epochs=3, standardize=True, progress=False)
    fig = plots.predicted_vs_actual(model, ds.y, X=ds.X)
    np.testing.assert_allclose(fig.axes[0].collections[0].get_offsets()[:, 1],
                               model.predict(ds.X).ravel(), rtol=1e-6)
    plots.residuals(model, ds.y, X=ds.X)
    with pytest.raises(ValueError, match="give the rows X"):
        plots.residuals(model, ds.y)
    with pytest.raises(ValueError, match="one value per row"):
        plots.predicted_vs_actual([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="NaN"):
        plots.residuals([1.0, np.nan], [1.0, 2.0])
    iris = dp.datasets.load("iris")
    classifier = dp.SoftmaxModel(4, 3)
    dp.fit(classifier, iris.X, iris.y, epochs=2, progress=False)
    with pytest.raises(ValueError, match="classifier"):
        plots.predicted_vs_actual(classifier, iris.y, X=iris.X)


def test_confusion_matrix_counts_and_png(tmp_path):
    y_true = ["cat", "dog", "dog", "bird", "cat", "cat"]
    y_pred = ["cat", "dog", "cat", "bird", "cat", "dog"]
    counts, labels = plots.confusion_counts(y_true, y_pred, ["cat", "dog", "bird"])
    np.testing.assert_array_equal(counts, [[2, 1, 0], [1, 1, 0], [0, 0, 1]])
    fig = plots.confusion_matrix(y_true, y_pred, ["cat", "dog", "bird"],
                                 path=tmp_path / "cm.png")
    annotations = sorted(t.get_text() for t in fig.axes[0].texts)
    assert annotations == sorted(str(c) for c in counts.ravel())
    assert_real_png(tmp_path / "cm.png")
    with pytest.raises(ValueError, match="not in labels"):
        plots.confusion_matrix(y_true, y_pred, ["cat", "dog"])


def test_roc_curve_and_auc(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    scores = y + rng.normal(0, 1.0, 300)
    # AUC = P(score of a positive > score of a negative), by counting all pairs
    pos, neg = scores[y == 1], scores[y == 0]
    pairs = (pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()
    assert plots.roc_auc(y, scores) == pytest.approx(pairs, abs=1e-12)
    assert plots.roc_auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == 0.5  # ties: the diagonal
    assert plots.roc_auc(["no", "yes"], [0.1, 0.9]) == 1.0  # "yes" sorts last: positive
    fig = plots.roc_curve(y, scores, path=tmp_path / "roc.png")
    assert f"{pairs:.3f}" in fig.axes[0].get_title()
    assert_real_png(tmp_path / "roc.png")
    with pytest.raises(ValueError, match="two classes"):
        plots.roc_curve([0, 1, 2], [0.1, 0.2, 0.3])


def test_decision_boundary_softmax_and_sigmoid(tmp_path, iris2, cancer_binary):
    model, _, X, y = iris2
    plots.decision_boundary(model, X, y, path=tmp_path / "db2.png")
    assert_real_png(tmp_path / "db2.png")
    model, _, X_test, y_test = cancer_binary
    plots.decision_boundary(model, X_test, y_test, path=tmp_path / "db1.png")
    assert_real_png(tmp_path / "db1.png")


def test_decision_boundary_needs_two_features(iris2):
    model = dp.SigmoidModel(3)
    with pytest.raises(ValueError, match="two features"):
        plots.decision_boundary(model, np.zeros((5, 3)), np.zeros(5))
    model, _, X, y = iris2
    with pytest.raises(ValueError, match="two features"):
        plots.decision_boundary(model, np.hstack([X, X]), y)


@pytest.mark.parametrize("model", [dp.SigmoidModel(3), dp.SoftmaxModel(4, 3),
                                   dp.FeedForward([4, 4, 3, 5, 1])],
                         ids=["model-I", "model-II", "figure-3"])
def test_network_diagram(tmp_path, model):
    fig = plots.network_diagram(model, path=tmp_path / "net.png")
    assert_real_png(tmp_path / "net.png")
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    if isinstance(model, dp.FeedForward):  # the dimensions of Sec. 9
        for ell, shape in enumerate(["4 \\times 4", "3 \\times 4", "5 \\times 3", "1 \\times 5"],
                                    1):
            assert f"W^{{[{ell}]}} \\in \\mathbb{{R}}^{{{shape}}}" in texts
        assert "d = 61" in fig.axes[0].get_title()


def test_network_diagram_wide_layers_are_elided(tmp_path):
    from matplotlib.patches import Circle

    fig = plots.network_diagram(dp.FeedForward([64, 32, 10], output="softmax"),
                                path=tmp_path / "wide.png")
    circles = [p for p in fig.axes[0].patches if isinstance(p, Circle)]
    assert len(circles) == 9 + 9 + 10  # 9 drawn + ⋮ for 64 and 32; all 10 outputs
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "64 in all" in texts and "32 in all" in texts
    assert "$x_{64}$" in texts and "$x_{5}$" in texts and "$x_{6}$" not in texts
    assert_real_png(tmp_path / "wide.png")


# --- Figure 4 ---------------------------------------------------------------------------

def test_descent_path_1d_matches_eq_31_by_hand(tmp_path):
    # C(θ) = (θ - 3)², C'(θ) = 2(θ - 3); with α = 0.1: θ ← θ - 0.2(θ - 3) = 0.8θ + 0.6
    # θ⁽⁰⁾ = 0 → 0.6 → 1.08 → 1.464 → 1.7712 → 2.01696
    fig, thetas = plots.descent_path(lambda t: (t - 3) ** 2, 0.0, lr=0.1, steps=5,
                                     path=tmp_path / "d1.png")
    np.testing.assert_allclose(thetas, [0.0, 0.6, 1.08, 1.464, 1.7712, 2.01696], rtol=1e-12)
    assert thetas.shape == (6,)
    assert_real_png(tmp_path / "d1.png")


def test_descent_path_2d_matches_eq_31_by_hand(tmp_path):
    # C(θ) = θᵀAθ/2 - bᵀθ with A = diag(1, 4): ∇C = Aθ - b, θ ← θ - α(Aθ - b)
    A, b = np.diag([1.0, 4.0]), np.array([1.0, -2.0])
    alpha, theta = 0.2, np.array([-2.0, 1.5])
    expected = [theta]
    for _ in range(8):
        theta = theta - alpha * (A @ theta - b)
        expected.append(theta)

    def loss(t):
        return 0.5 * (t[0] ** 2 + 4 * t[1] ** 2) - (t[0] * 1.0 - 2.0 * t[1])

    fig, thetas = plots.descent_path(loss, [-2.0, 1.5], lr=alpha, steps=8, grid=30,
                                     path=tmp_path / "d2.png")
    np.testing.assert_allclose(thetas, np.array(expected), rtol=1e-12)
    assert thetas.shape == (9, 2)
    assert_real_png(tmp_path / "d2.png")


def test_descent_path_errors():
    with pytest.raises(ValueError, match="scalar"):
        plots.descent_path(lambda t: (t * t).sum(), [1.0, 2.0, 3.0], lr=0.1, steps=2)
    with pytest.raises(ValueError, match="learning rate"):
        plots.descent_path(lambda t: t * t, 1.0, lr=0.0, steps=2)
    with pytest.raises(TypeError, match="scalar Tensor"):
        plots.descent_path(lambda t: 1.0, 1.0, lr=0.1, steps=2)
    with pytest.raises(dp.DivergenceError, match="smaller learning rate"):
        plots.descent_path(lambda t: t * t, 1.0, lr=1e200, steps=5)


def figure_texts(fig) -> str:
    return " ".join(t.get_text() for t in fig.axes[0].texts)


def test_network_diagram_of_a_sequential_cnn(tmp_path):
    from matplotlib.patches import FancyBboxPatch

    model = dp.nn.Sequential(dp.nn.Conv2d(1, 8, 3, padding=1), dp.nn.ReLU(), dp.nn.MaxPool2d(2),
                             dp.nn.Flatten(), dp.nn.Dropout(0.2), dp.nn.Dense(8 * 4 * 4, 10))
    fig = plots.network_diagram(model, path=tmp_path / "cnn.png", input_shape=(1, 8, 8))
    assert_real_png(tmp_path / "cnn.png")
    texts = figure_texts(fig)
    # one box per layer before the Dense one (and the input), with kind and output shape
    boxes = [p for p in fig.axes[0].patches if isinstance(p, FancyBboxPatch)]
    assert len(boxes) == 6
    for label in ["Conv2d\nW 8×1×3×3, b 8\n→ 8×8×8", "ReLU\n→ 8×8×8", "MaxPool2d\n→ 8×4×4",
                  "Flatten\n→ 128", "Dropout\n→ 128", "input x\n1×8×8"]:
        assert label in texts
    assert "W^{[6]} \\in \\mathbb{R}^{10 \\times 128}" in texts   # the Dense layer's column
    assert "d = 1370" in fig.axes[0].get_title()
    kinds = [e["kind"] for e in plots.architecture(model)]
    assert kinds == ["Conv2d", "ReLU", "MaxPool2d", "Flatten", "Dropout", "Dense"]
    assert plots.architecture(model)[2]["shape"] is None   # unknown without input_shape


def test_network_diagram_of_a_sequential_mlp_folds_activations(tmp_path):
    from matplotlib.patches import Circle

    model = dp.nn.Sequential(dp.nn.Dense(4, 6), dp.nn.ReLU(), dp.nn.BatchNorm1d(6),
                             dp.nn.Dense(6, 3), dp.nn.Sigmoid())
    entries = plots.architecture(model)
    assert [(e["kind"], e["activation"], e["shape"]) for e in entries] == [
        ("Dense", "relu", (6,)), ("BatchNorm1d", None, (6,)), ("Dense", "sigmoid", (3,))]
    assert model.training   # the shapes were found in evaluation mode, and the mode restored
    fig = plots.network_diagram(model, path=tmp_path / "mlp.png")
    assert_real_png(tmp_path / "mlp.png")
    circles = [p for p in fig.axes[0].patches if isinstance(p, Circle)]
    assert len(circles) == 4 + 6 + 3
    assert "layer 1\nrelu" in figure_texts(fig) and "W^{[3]}" in figure_texts(fig)


class TwoLayers(dp.nn.Module):
    """A user-defined Module: no config()."""

    def __init__(self):
        self.hidden = dp.nn.Dense(3, 5)
        self.out = dp.nn.Dense(5, 2)
        self.scale = dp.nn.Parameter(np.ones(2))

    def forward(self, x):
        return self.out(self.hidden(x).relu()) * self.scale


def test_network_diagram_of_a_user_defined_module(tmp_path):
    model = TwoLayers()
    entries = plots.architecture(model)
    assert [(e["kind"], e["params"]) for e in entries] == [
        ("hidden", [("W", (5, 3)), ("b", (5,))]), ("out", [("W", (2, 5)), ("b", (2,))]),
        ("TwoLayers", [("scale", (2,))])]
    fig = plots.network_diagram(model, path=tmp_path / "user.png")
    assert_real_png(tmp_path / "user.png")
    assert "hidden\nW 5×3, b 5" in figure_texts(fig)
    assert fig.axes[0].get_title() == "TwoLayers (a user-defined Module): d = 34 parameters"
    # a Sequential holding a user-defined layer (its config() fails) is still drawn by layer
    seq = dp.nn.Sequential(dp.nn.Dense(3, 3), TwoLayers())
    assert [e["kind"] for e in plots.architecture(seq)] == ["Dense", "hidden", "out", "TwoLayers"]
    assert plots.architecture(seq)[-1]["shape"] == (2,)   # the module's output, found by a call
    assert plots.model_name(seq) == "A Sequential network of 2 layers"
    plots.network_diagram(seq, path=tmp_path / "mixed.png")
    assert_real_png(tmp_path / "mixed.png")


# --- the report -------------------------------------------------------------------------

def test_write_report_binary_two_features(tmp_path, cancer_binary):
    model, history, X_test, y_test = cancer_binary
    out = write_report(tmp_path / "report", model, history, X_test, y_test, title="Cancer <2>")
    assert out == tmp_path / "report" / "report.html"
    page = out.read_text(encoding="utf-8")
    names = ["loss_curves.png", "confusion_matrix.png", "roc_curve.png",
             "decision_boundary.png", "network_diagram.png"]
    for name in names:
        assert_real_png(out.parent / name)
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == len(names)
    assert base64.b64decode(images[0]) == (out.parent / "loss_curves.png").read_bytes()
    for sentence in diagnose(history, audience="cli"):
        assert sentence.split(":")[0] in page
    assert "Cancer &lt;2&gt;" in page  # escaped
    assert "ROC AUC" in page and "accuracy" in page and "d = 25 parameters" in page
    assert not list(out.parent.glob("*.tmp"))  # atomic writes left nothing behind


def test_write_report_multiclass_many_features(tmp_path):
    ds = dp.datasets.load("wine")
    X_train, X_test, y_train, y_test = dp.data.train_test_split(ds.X, ds.y, 0.25, True, 0)
    model = dp.SoftmaxModel(13, 3)
    history = dp.fit(model, X_train, y_train, optimizer=dp.optim.GradientDescent(lr=0.5),
                     epochs=20, standardize=True, progress=False)
    out = write_report(tmp_path, model, history, X_test, y_test)
    files = sorted(p.name for p in tmp_path.glob("*.png"))
    assert files == ["confusion_matrix.png", "loss_curves.png", "network_diagram.png"]
    page = out.read_text(encoding="utf-8")
    assert page.count("data:image/png;base64") == 3
    assert "ROC" not in page and "13 features" not in page


def test_write_report_of_a_sequential(tmp_path):
    ds = dp.datasets.load("iris")
    model = dp.nn.Sequential(dp.nn.Dense(4, 5), dp.nn.Tanh(), dp.nn.Dropout(0.1),
                             dp.nn.Dense(5, 3))
    history = dp.fit(model, ds.X, ds.y, optimizer=dp.optim.Adam(lr=0.05), epochs=5,
                     standardize=True, progress=False)
    out = write_report(tmp_path, model, history, ds.X[:30], ds.y[:30])
    assert_real_png(tmp_path / "network_diagram.png")
    page = out.read_text(encoding="utf-8")
    assert "A Sequential network of 4 layers: d = 43 parameters" in page
    rows = re.findall(r"<tr><td>(\d)</td><td>(\w+)</td><td>([^<]*)</td><td>([^<]*)</td>"
                      r"<td>([^<]*)</td></tr>", page)
    assert rows == [("1", "Dense", "W 5 × 4, b 5", "5", "tanh"), ("2", "Dropout", "none", "5", ""),
                    ("3", "Dense", "W 3 × 5, b 3", "3", "identity")]


def test_network_diagram_names_the_input_features():
    m = dp.FeedForward([3, 2, 1])
    m.feature_names = ["mass_g", "cost in $ per $", "a very long feature name indeed"]
    texts = [t.get_text() for t in dp.plots.network_diagram(m).axes[0].texts]
    assert "mass_g" in texts and r"cost in \$ per \$" in texts
    assert "a very long featu…" in texts
