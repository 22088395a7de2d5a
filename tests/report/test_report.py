"""dlprimer.report.write_report: the page's tables (settings, provenance, scores beside a
constant baseline, coefficients), checked against scikit-learn's DummyClassifier /
DummyRegressor and log_loss; its figures, the log-scale loss axis; everything escaped."""

import hashlib
from html.parser import HTMLParser

import numpy as np
import pytest
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.metrics import accuracy_score, log_loss, mean_squared_error, r2_score

import dlprimer as dp
import dlprimer.report.plots as report_plots
from dlprimer.inference import InferenceWarning, summary
from dlprimer.report import write_report
from dlprimer.training.diagnose import diagnose

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Page(HTMLParser):
    """The tables of a page by id (rows of cell texts), and its list items."""

    def __init__(self, text: str):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.items: list[str] = []
        self._table, self._row, self._cell, self._item = None, None, None, None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and "id" in attrs:
            self._table = self.tables.setdefault(attrs["id"], [])
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("th", "td") and self._row is not None:
            self._cell = []
        elif tag == "li":
            self._item = []

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag == "tr" and self._row is not None:
            self._table.append(self._row)
            self._row = None
        elif tag in ("th", "td") and self._cell is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "li" and self._item is not None:
            self.items.append("".join(self._item))
            self._item = None

    def handle_data(self, data):
        for part in (self._cell, self._item):
            if part is not None:
                part.append(data)


def as_dict(rows):
    return {row[0]: row[1] for row in rows}


def capture_figures(mp, names):
    """Record the figures the report draws with ``plots.<name>``."""
    drawn = {}
    for name in names:
        original = getattr(report_plots, name)

        def wrapper(*args, _original=original, _name=name, **kwargs):
            fig = _original(*args, **kwargs)
            drawn[_name] = fig
            return fig

        mp.setattr(report_plots, name, wrapper)
    return drawn


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    """Model II on unbalanced iris (50 / 40 / 25 rows), so the majority baseline means
    something; with its settings, provenance and coefficient table."""
    ds = dp.datasets.load("iris")
    keep = np.r_[0:50, 50:90, 100:125]
    X, y = ds.X[keep], np.array(ds.class_names)[ds.y[keep]]
    X_train, X_test, y_train, y_test = dp.data.train_test_split(X, y, 0.3, True, 0)
    model = dp.SoftmaxModel(4, 3)
    settings = {"optimizer": "Adam(lr=0.05)", "epochs": 60, "validation split": 0.2,
                "standardize": True, "batch size": None}
    history = dp.fit(model, X_train, y_train, optimizer=dp.optim.Adam(lr=0.05), epochs=60,
                     validation_split=0.2, standardize=True, progress=False)
    provenance = {"source": "bundled iris <subset>", "sha256": hashlib.sha256(
        X.tobytes()).hexdigest(), "rows": len(X), "split": "70% train / 30% test", "seed": 0}
    with pytest.warns(InferenceWarning):  # iris is separable: the table says so
        coefficients = summary(model, X_train, y_train)
    directory = tmp_path_factory.mktemp("classifier")
    with pytest.MonkeyPatch.context() as mp:
        drawn = capture_figures(mp, ["loss_curves"])
        out = write_report(directory, model, history, X_test, y_test, title="Iris <II>",
                           settings=settings, provenance=provenance, summary=coefficients,
                           audience="python", y_train=y_train)
    return dict(model=model, history=history, X_train=X_train, y_train=y_train,
                X_test=X_test, y_test=y_test, settings=settings, provenance=provenance,
                summary=coefficients, out=out, drawn=drawn)


@pytest.fixture(scope="module")
def regressor(tmp_path_factory):
    ds = dp.datasets.load("diabetes")
    X_train, X_test, y_train, y_test = dp.data.train_test_split(ds.X, ds.y, 0.25, False, 0)
    model = dp.FeedForward([10, 8, 1], activation="relu", output="identity")
    history = dp.fit(model, X_train, y_train, optimizer=dp.optim.Adam(lr=0.05), epochs=80,
                     validation_split=0.2, standardize=True, progress=False)
    directory = tmp_path_factory.mktemp("regressor")
    with pytest.MonkeyPatch.context() as mp:
        drawn = capture_figures(mp, ["loss_curves", "predicted_vs_actual", "residuals"])
        out = write_report(directory, model, history, X_test, y_test,
                           settings={"epochs": 80, "hidden": "8 relu"}, y_train=y_train)
    return dict(model=model, history=history, X_train=X_train, y_train=y_train,
                X_test=X_test, y_test=y_test, out=out, drawn=drawn)


def test_classifier_report_tables(classifier):
    c = classifier
    text = c["out"].read_text(encoding="utf-8")
    page = Page(text)
    assert as_dict(page.tables["settings"]) == {k: str(v) for k, v in c["settings"].items()}
    assert as_dict(page.tables["provenance"]) == {k: str(v) for k, v in
                                                  c["provenance"].items()}
    assert "&lt;subset&gt;" in text and "<subset>" not in text      # escaped
    assert "Iris &lt;II&gt;" in text
    # the coefficient table of Model II, as Summary renders it
    assert c["summary"]._repr_html_() in text and "std err" in text


def test_classifier_scores_and_baseline_match_sklearn(classifier):
    c = classifier
    model, X_test, y_test = c["model"], c["X_test"], c["y_test"]
    header, model_row, baseline_row = Page(c["out"].read_text(encoding="utf-8")).tables["scores"]
    assert header == ["", "accuracy", "log-loss (cross-entropy)"]   # 3 classes: no ROC AUC
    assert model_row[0] == "model"
    proba = model.predict_proba(X_test)
    assert float(model_row[1]) == pytest.approx(accuracy_score(y_test, model.predict(X_test)),
                                                abs=5e-5)
    assert float(model_row[2]) == pytest.approx(
        log_loss(y_test, proba, labels=model.classes_), abs=5e-5)
    # the baseline: scikit-learn's "prior" dummy predicts the training majority and the
    # training class frequencies, whatever the features
    dummy = DummyClassifier(strategy="prior").fit(c["X_train"], c["y_train"])
    assert list(dummy.classes_) == list(model.classes_)
    majority = dummy.predict(X_test[:1])[0]
    assert majority == "setosa"  # 35 of the 80 training rows
    assert "always class setosa" in baseline_row[0] and "training" in baseline_row[0]
    assert float(baseline_row[1]) == pytest.approx(accuracy_score(y_test, dummy.predict(X_test)),
                                                   abs=5e-5)
    assert float(baseline_row[2]) == pytest.approx(
        log_loss(y_test, dummy.predict_proba(X_test), labels=dummy.classes_), abs=5e-5)
    assert float(model_row[2]) < float(baseline_row[2])     # the model beats the baseline
    per_class = as_dict(Page(c["out"].read_text(encoding="utf-8")).tables["classes"])
    assert set(per_class) == {f"class {k}: precision / recall" for k in model.classes_}


def test_classifier_report_diagnostics_figures_and_log_axis(classifier):
    c = classifier
    page = Page(c["out"].read_text(encoding="utf-8"))
    assert page.items == diagnose(c["history"], audience="python")
    assert not any("--" in item for item in page.items)
    names = sorted(p.name for p in c["out"].parent.glob("*.png"))
    assert names == ["confusion_matrix.png", "loss_curves.png", "network_diagram.png"]
    for name in names:
        assert (c["out"].parent / name).read_bytes()[:8] == PNG_SIGNATURE
    assert c["drawn"]["loss_curves"].axes[0].get_yscale() == "log"


def test_regressor_report(regressor):
    r = regressor
    model, X_test, y_test = r["model"], r["X_test"], r["y_test"]
    text = r["out"].read_text(encoding="utf-8")
    page = Page(text)
    header, model_row, baseline_row = page.tables["scores"]
    assert header == ["", "mean squared error, eq. (20)", "R²"]
    y_hat = model.predict(X_test).ravel()
    assert float(model_row[1]) == pytest.approx(mean_squared_error(y_test, y_hat), rel=1e-3)
    assert float(model_row[2]) == pytest.approx(r2_score(y_test, y_hat), abs=5e-5)
    dummy = DummyRegressor(strategy="mean").fit(r["X_train"], r["y_train"])
    constant = dummy.predict(X_test)
    assert f"ȳ = {np.mean(r['y_train']):.4g}" in baseline_row[0]
    assert float(baseline_row[1]) == pytest.approx(mean_squared_error(y_test, constant),
                                                   rel=1e-3)
    assert float(baseline_row[2]) == pytest.approx(r2_score(y_test, constant), abs=5e-5)
    assert float(model_row[1]) < float(baseline_row[1])
    assert "classes" not in page.tables and "provenance" not in page.tables
    assert as_dict(page.tables["settings"]) == {"epochs": "80", "hidden": "8 relu"}
    # the CLI's words by default, and never "standardize" (the CLI always does)
    assert page.items == diagnose(r["history"], audience="cli")
    assert not any("standardiz" in item.lower() for item in page.items)
    names = sorted(p.name for p in r["out"].parent.glob("*.png"))
    assert names == ["loss_curves.png", "network_diagram.png", "predicted_vs_actual.png",
                     "residuals.png"]
    for name in names:
        assert (r["out"].parent / name).read_bytes()[:8] == PNG_SIGNATURE
    assert r["drawn"]["loss_curves"].axes[0].get_yscale() == "log"
    points = r["drawn"]["predicted_vs_actual"].axes[0].collections[0].get_offsets()
    np.testing.assert_allclose(points, np.column_stack([y_test, y_hat]), rtol=1e-6)
    residuals = r["drawn"]["residuals"].axes[0].collections[0].get_offsets()[:, 1]
    np.testing.assert_allclose(residuals, y_test - y_hat, rtol=1e-5, atol=1e-6)


def test_baseline_without_training_targets_uses_the_test_rows(tmp_path, regressor):
    r = regressor
    out = write_report(tmp_path, r["model"], r["history"], r["X_test"], r["y_test"])
    baseline_row = Page(out.read_text(encoding="utf-8")).tables["scores"][2]
    assert "test rows' own mean" in baseline_row[0]
    assert float(baseline_row[2]) == pytest.approx(0.0, abs=5e-5)  # R² of ȳ_test is 0


def test_bad_audience_writes_nothing(tmp_path, regressor):
    r = regressor
    with pytest.raises(ValueError, match='"python" or "cli"'):
        write_report(tmp_path / "r", r["model"], r["history"], r["X_test"], r["y_test"],
                     audience="jupyter")
    assert not (tmp_path / "r").exists()
