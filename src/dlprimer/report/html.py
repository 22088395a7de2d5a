"""A training report: ``write_report`` puts the data's provenance, the hyperparameters, the
convergence diagnostics of ``dlprimer.training.diagnose``, the test scores beside a constant
baseline's, the coefficient table of Models I/II, the architecture and the figures of
``dlprimer.report.plots`` into one self-contained ``report.html``.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

import numpy as np

from dlprimer.data.files import atomic_write
from dlprimer.data.tables import index_labels
from dlprimer.training.diagnose import diagnose
from dlprimer.training.metrics import (
    accuracy,
    confusion_counts,
    log_loss,
    mean_squared_error,
    r2_score,
    roc_auc,
)

__all__ = ["architecture_rows", "rich_html", "write_report"]


def _metrics(model, X_test, y_test, y_train) -> tuple[list, list, list, dict]:
    """The test set's scores: (header, model, baseline) columns of the scores table with
    the baseline's description, the per-class rows, and what the figures need."""
    y_test = np.asarray(getattr(y_test, "values", y_test))
    reference = y_test if y_train is None else np.asarray(getattr(y_train, "values", y_train))
    source = "test rows' own" if y_train is None else "training"
    extra: dict = {}
    if model.output == "identity":
        y_hat = model.predict(X_test)
        y = y_test.astype(float).reshape(y_hat.shape)
        y_bar = np.mean(reference.astype(float).reshape(-1, *y_hat.shape[1:]), axis=0)
        constant = np.broadcast_to(y_bar, y.shape)
        columns = [("mean squared error, eq. (20)", f"{mean_squared_error(y, y_hat):.4g}",
                    f"{mean_squared_error(y, constant):.4g}"),
                   ("R²", f"{r2_score(y, y_hat):.4f}", f"{r2_score(y, constant):.4f}")]
        mean = ", ".join(f"{v:.4g}" for v in np.ravel(y_bar))
        baseline = f"baseline: always the {source} mean ȳ = {mean}"
        extra.update(y_hat=y_hat)
        return columns, [baseline], [], extra
    y_pred = model.predict(X_test)
    labels = (list(model.classes_) if model.classes_ is not None
              else np.unique(np.concatenate([y_test, y_pred])).tolist())
    counts, labels = confusion_counts(y_test, y_pred, labels)
    # the constant predictor: the majority class, and the class frequencies as probabilities
    frequencies = np.bincount(index_labels(reference, labels, "y_train"),
                              minlength=len(labels)) / len(reference)
    majority = labels[int(np.argmax(frequencies))]
    indices = index_labels(y_test, labels, "y_test")
    proba = model.predict_proba(X_test)
    always = np.asarray(labels)[np.full(len(y_test), int(np.argmax(frequencies)))]
    columns = [("accuracy", f"{accuracy(y_test, y_pred):.4f}",
                f"{accuracy(y_test, always):.4f}"),
               ("log-loss (cross-entropy)", f"{log_loss(indices, proba):.4f}",
                f"{log_loss(indices, np.tile(frequencies, (len(y_test), 1))):.4f}")]
    shares = ", ".join(f"{label}: {share:.3f}" for label, share in
                       zip(labels, frequencies, strict=True))
    baseline = [f"baseline: always class {majority} (the {source} majority), with the "
                f"{source} class frequencies as probabilities ({shares})"]
    rows = []
    for k, label in enumerate(labels):
        predicted, actual = counts[:, k].sum(), counts[k].sum()
        precision = counts[k, k] / predicted if predicted else float("nan")
        recall = counts[k, k] / actual if actual else float("nan")
        rows.append((f"class {label}: precision / recall", f"{precision:.3f} / {recall:.3f}"))
    extra.update(y_pred=y_pred, labels=labels)
    if len(labels) == 2 and len(np.unique(y_test)) == 2:
        scores = proba if proba.ndim == 1 else proba[:, 1]
        extra.update(scores=scores, pos_label=labels[1])
        columns.append((f"ROC AUC (positive class {labels[1]})",
                        f"{roc_auc(y_test, scores, pos_label=labels[1]):.4f}", "0.5000"))
    return columns, baseline, rows, extra


def rich_html(obj) -> str:
    """``obj`` as HTML by IPython's rich-display protocol: its ``_repr_html_`` (a public
    protocol despite the underscore, the one Jupyter calls), else its escaped text."""
    render = getattr(obj, "_repr_html_", None)
    return render() if callable(render) else f"<pre>{html.escape(str(obj))}</pre>"


def _table(table_id: str, mapping: dict) -> str:
    esc = html.escape
    rows = "".join(f"<tr><th>{esc(str(k))}</th><td>{esc(str(v))}</td></tr>"
                   for k, v in mapping.items())
    return f'<table id="{table_id}">{rows}</table>'


def architecture_rows(model, input_shape=None) -> list[tuple[str, str, str, str, str]]:
    """(ℓ, kind, parameters, output, activation) per layer, from ``plots.architecture``: a
    Dense layer's W[ℓ] (N_ℓ × N_{ℓ-1}) and b[ℓ]; any other layer's parameter shapes and its
    output shape where known ("?" where not)."""
    from dlprimer.report.network import architecture, dims

    rows = []
    for ell, entry in enumerate(architecture(model, input_shape), 1):
        if entry["n_out"] is not None:
            n_in, n_out = entry["n_in"], entry["n_out"]
            parameters = f"W {n_out} × {n_in}, b {n_out}"
        else:
            parameters = ", ".join(f"{name} {dims(shape)}" for name, shape in entry["params"])
        rows.append((str(ell), entry["kind"], parameters or "none", dims(entry["shape"]),
                     entry["activation"] or ""))
    return rows


def write_report(directory, model, history, X_test, y_test, title: str = "dlprimer report",
                 *, settings: dict | None = None, provenance: dict | None = None,
                 summary=None, audience: str = "cli", y_train=None) -> Path:
    """Write ``report.html`` and its figures (PNG) into ``directory``; return the HTML path.

    The page is self-contained (figures embedded as base64 data URIs) and holds the data's
    provenance and the hyperparameters (when given), the architecture, the convergence
    diagnostics of ``diagnose``, the test scores beside those of a constant baseline, the
    coefficient table of Models I/II (when ``summary`` is given), and the figures: loss
    curves (log-scale loss axis), network diagram, and for classifiers the confusion
    matrix, for binary ones the ROC curve, for two features the decision boundary, for
    regressions predicted-vs-actual and the residuals. Every file is written atomically (a
    temporary file, then os.replace); all text is HTML-escaped.

    The baseline predicts without looking at X: for classifiers always the majority class
    (accuracy) and the class frequencies as probabilities (log-loss); for regressions the
    mean ȳ (MSE, R²). Frequencies and mean come from ``y_train`` when given, else from the
    test rows themselves (a baseline that has seen the test targets, so a slightly
    flattering one).

    Parameters
    ----------
    directory : str or Path; created if missing
    model : a fitted model (any Module: Models I-III, a Sequential, your own)
    history : dp.History of the fit
    X_test, y_test : held-out rows (raw, as for ``predict``) and their targets
    title : str
    settings : dict, optional; the hyperparameters, shown as a table
    provenance : dict, optional; where the data came from (source, file hash, rows, split,
        seed), shown as a table
    summary : dp.inference.Summary, optional; its coefficient table is shown
    audience : "cli" or "python"; whose words the diagnostics' advice uses
    y_train : the training targets, optional; for the baseline
    """
    import dlprimer.report.plots as plots
    from dlprimer.report.figures import save_png

    diagnostics = diagnose(history, audience=audience)  # a bad audience fails before any file
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    columns, baseline, class_rows, extra = _metrics(model, X_test, y_test, y_train)
    input_shape = np.shape(model.prepare(X_test))[1:]  # one sample as the model sees it
    y_test = np.asarray(getattr(y_test, "values", y_test))
    figures = [("loss_curves.png", "Loss (log scale) and metric per epoch",
                lambda: plots.loss_curves(history, log_scale=True))]
    if "y_hat" in extra:
        figures += [("predicted_vs_actual.png", "Predicted against actual values, test set",
                     lambda: plots.predicted_vs_actual(extra["y_hat"], y_test)),
                    ("residuals.png", "Residuals against predictions, test set",
                     lambda: plots.residuals(extra["y_hat"], y_test))]
    if "labels" in extra:
        figures.append(("confusion_matrix.png", "Confusion matrix on the test set",
                        lambda: plots.confusion_matrix(y_test, extra["y_pred"],
                                                       extra["labels"])))
    if "scores" in extra:
        figures.append(("roc_curve.png", "ROC curve on the test set",
                        lambda: plots.roc_curve(y_test, extra["scores"],
                                                pos_label=extra["pos_label"])))
    if model.n_features == 2 and model.output != "identity":
        figures.append(("decision_boundary.png", "Decision regions, test rows",
                        lambda: plots.decision_boundary(model, X_test, y_test)))
    figures.append(("network_diagram.png", "The model as a network (Figures 1-3)",
                    lambda: plots.network_diagram(model, input_shape=input_shape)))

    images = []
    for name, caption, draw in figures:
        path = save_png(draw(), directory / name)
        images.append((name, caption, base64.b64encode(path.read_bytes()).decode("ascii")))

    esc = html.escape
    diagnostics_html = "".join(f"<li>{esc(s)}</li>" for s in diagnostics)
    head = "".join(f"<th>{esc(name)}</th>" for name, _, _ in columns)
    scores = (f'<table id="scores"><tr><th></th>{head}</tr>'
              + "".join(f"<tr><th>{esc(label)}</th>"
                        + "".join(f"<td>{esc(col[i])}</td>" for col in columns) + "</tr>"
                        for i, label in ((1, "model"), (2, baseline[0]))) + "</table>")
    per_class = (_table("classes", dict(class_rows)) if class_rows else "")
    layers = "".join("<tr>" + "".join(f"<td>{esc(cell)}</td>" for cell in row) + "</tr>"
                     for row in architecture_rows(model, input_shape))
    names = getattr(model, "feature_names", None)
    features = (f"<p>Features: {esc(', '.join(names))}</p>" if names else "")
    standardized = ("<p>Inputs are standardized with the training rows' mean and standard "
                    "deviation, eq. (13).</p>" if model.standardizer is not None else "")
    source = (f"<h2>Data</h2>\n{_table('provenance', provenance)}" if provenance else "")
    hyper = (f"<h2>Settings</h2>\n{_table('settings', settings)}" if settings else "")
    coefficients = ("<h2>Coefficients</h2>\n"
                    f'<section id="coefficients">{rich_html(summary)}</section>'
                    if summary is not None else "")
    figures_html = "".join(
        f'<figure><img src="data:image/png;base64,{data}" alt="{esc(caption)}">'
        f"<figcaption>{esc(caption)} ({esc(name)})</figcaption></figure>"
        for name, caption, data in images)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em;
       color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0; }}
th, td {{ border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }}
figure {{ margin: 1.5em 0; }} img {{ max-width: 100%; }}
figcaption {{ color: #555; font-size: 0.9em; }}
</style></head><body>
<h1>{esc(title)}</h1>
{source}
{hyper}
<h2>Model</h2>
<p>{esc(plots.model_name(model))}: d = {model.num_parameters()} parameters,
trained for {history.epochs} epochs.</p>
<table><tr><th>layer ℓ</th><th>kind</th>
<th>parameters (W<sup>[ℓ]</sup>: N<sub>ℓ</sub> × N<sub>ℓ-1</sub>)</th><th>output</th>
<th>activation</th></tr>{layers}</table>
{features}{standardized}
<h2>Convergence diagnostics</h2>
<ul>{diagnostics_html}</ul>
<h2>Test scores</h2>
<p>{len(y_test)} test rows; the baseline predicts without looking at the features.</p>
{scores}
{per_class}
{coefficients}
<h2>Figures</h2>
{figures_html}
</body></html>
"""
    out = directory / "report.html"
    atomic_write(out, page, make_parents=True)
    return out
