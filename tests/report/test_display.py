"""How dlprimer's objects display in Jupyter, checked without a kernel: figures offer
image/png to IPython's formatters, fit picks no progress bar outside a terminal or kernel,
and the HTML of models and History holds what it should, escaped."""

import sys
import types

import numpy as np
import pytest

import dlprimer as dp
from dlprimer.report.figures import Figure
from dlprimer.report.notebook import abbreviated, model_html
from dlprimer.training import History
from dlprimer.training.loops import bar_kind, in_kernel

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def history():
    return History(loss=[1.2, 0.8, 0.5, 0.45], val_loss=[1.3, 0.9, 0.7, 0.75],
                   metric=[0.5, 0.7, 0.8, 0.85], val_metric=[0.5, 0.6, 0.7, 0.7],
                   stop_reason="reached the maximum of 4 epochs")


def figures(history):
    yield dp.plots.loss_curves(history)
    yield dp.plots.network_diagram(dp.FeedForward([4, 4, 3, 5, 1]))
    fig, _ = dp.plots.descent_path(lambda t: (t - 3) ** 2, theta0=0.0, lr=0.25, steps=3)
    yield fig


# --- figures ----------------------------------------------------------------------------

def test_every_figure_renders_as_png(history, tmp_path):
    for fig in figures(history):
        assert isinstance(fig, Figure)
        assert fig._repr_png_()[:8] == PNG_SIGNATURE
        fig.savefig(tmp_path / "fig.png")  # still an ordinary matplotlib Figure
        assert (tmp_path / "fig.png").read_bytes()[:8] == PNG_SIGNATURE


def test_ipython_picks_image_png_for_a_figure(history):
    formatters = pytest.importorskip("IPython.core.formatters")
    fig = dp.plots.loss_curves(history)
    data, _ = formatters.DisplayFormatter().format(fig)
    assert set(data) == {"image/png", "text/plain"}
    assert data["image/png"][:8] == PNG_SIGNATURE


# --- progress bar -----------------------------------------------------------------------

class _Stream:
    def __init__(self, tty: bool):
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def _fake_ipython(monkeypatch, kernel):
    shell = types.SimpleNamespace(kernel=kernel)
    monkeypatch.setitem(sys.modules, "IPython",
                        types.SimpleNamespace(get_ipython=lambda: shell))


def test_no_bar_without_a_terminal_or_a_kernel(monkeypatch):
    monkeypatch.setattr(sys, "stderr", _Stream(tty=False))
    assert not in_kernel()  # pytest: IPython, if imported at all, runs no kernel
    assert bar_kind(True) is None
    assert bar_kind(False) is None


def test_a_terminal_gets_the_text_bar_unless_progress_is_false(monkeypatch):
    monkeypatch.setattr(sys, "stderr", _Stream(tty=True))
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    assert bar_kind(True) == "text"
    assert bar_kind(False) is None


@pytest.mark.parametrize("has_widgets, kind", [(True, "notebook"), (False, "text")])
def test_a_kernel_gets_a_bar_though_stderr_is_no_tty(monkeypatch, has_widgets, kind):
    monkeypatch.setattr(sys, "stderr", _Stream(tty=False))
    _fake_ipython(monkeypatch, kernel=object())
    monkeypatch.setattr("importlib.util.find_spec",
                        lambda name: object() if has_widgets and name == "ipywidgets" else None)
    assert in_kernel()
    assert bar_kind(True) == kind
    assert bar_kind(False) is None


def test_an_ipython_shell_without_a_kernel_is_no_notebook(monkeypatch):
    monkeypatch.setattr(sys, "stderr", _Stream(tty=False))
    _fake_ipython(monkeypatch, kernel=None)  # a terminal IPython whose output is piped
    assert bar_kind(True) is None


def test_fit_writes_nothing_under_pytest(capfd):
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    dp.fit(dp.SigmoidModel(1), X, [0, 0, 1, 1], epochs=3, progress=True)
    assert capfd.readouterr().err == ""


# --- HTML -------------------------------------------------------------------------------

def test_model_html_of_a_fitted_model():
    ds = dp.datasets.load("iris")
    model = dp.SoftmaxModel(4, 3)
    dp.fit(model, ds.X, np.array(ds.class_names)[ds.y], epochs=2, progress=False)
    page = model._repr_html_()
    assert page == model_html(model)
    assert "Model II, the softmax model" in page
    assert "d = 15" in page                       # K (p + 1) = 3 · 5
    assert "<code>W</code>" in page and "<code>b</code>" in page
    assert "3 × 4" in page and "float32" in page
    assert "multiclass" in page and "softmax" in page and "versicolor" in page


def test_model_html_escapes_and_abbreviates():
    model = dp.SigmoidModel(30)
    model.task_, model.output = "binary", "sigmoid"
    model.classes_ = np.array(["<b>no</b>", "yes & more"], dtype=object)
    model.feature_names = [f"<x{j}>" for j in range(30)]
    page = model_html(model)
    assert "<b>no</b>" not in page and "&lt;b&gt;no&lt;/b&gt;" in page
    assert "yes &amp; more" in page
    assert "&lt;x11&gt;" in page and "&lt;x12&gt;" not in page
    assert "p = 30" in page and "18 more (30 in all)" in page


def test_model_html_of_a_user_module_that_nothing_explains():
    class Net(dp.nn.Module):
        def __init__(self):
            self.layer = dp.nn.Dense(3, 2)

        def forward(self, X):
            return self.layer(X)

    page = model_html(Net())
    assert "Net (a dp.nn.Module)" in page
    assert "layer.W" in page and "d = 8" in page and "no (train it with dp.fit)" in page


def test_abbreviated():
    assert abbreviated(["a", "b"]) == "a, b"
    assert abbreviated(range(5), limit=3) == "0, 1, 2, … and 2 more (5 in all)"


def test_history_html(history):
    page = history._repr_html_()
    assert "<svg" in page and page.count("<polyline") == 2   # training and validation
    for text in ("epochs</th><td style='text-align:left'>4", "0.45", "0.75", "0.85",
                 "3 (lowest validation loss)", "reached the maximum of 4 epochs"):
        assert text in page


def test_history_html_escapes_and_handles_no_epochs():
    page = History(loss=[1.0, 0.5], stop_reason="<stopped> & done", best_epoch=1)._repr_html_()
    assert "&lt;stopped&gt; &amp; done" in page and "restored by early stopping" in page
    empty = History()._repr_html_()
    assert "<svg" not in empty and "not trained" in empty


def test_explanation_html():
    page = dp.SigmoidModel(2).explain([1.0, 2.0])._repr_html_()
    assert page.startswith("<div") and "Model I, the sigmoid model" in page
