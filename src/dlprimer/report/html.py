"""A training report: ``write_report`` puts the convergence diagnostics of
``dlprimer.training.diagnose``, the test metrics, the architecture and the figures of
``dlprimer.report.plots`` into one self-contained ``report.html``.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

import numpy as np

from dlprimer.data.files import atomic_write
from dlprimer.training.diagnose import diagnose

__all__ = ["architecture_rows", "write_report"]

def _metrics(model, X_test, y_test) -> tuple[list[tuple[str, str]], dict]:
    """(name, value) rows for the test set, and what the figures need."""
    from dlprimer.training.metrics import confusion_counts, r2_score, roc_auc

    y_test = np.asarray(getattr(y_test, "values", y_test))
    rows = [("test rows", str(len(y_test)))]
    extra: dict = {}
    if model.output == "identity":
        y_hat = model.predict(X_test)
        y = y_test.astype(float).reshape(y_hat.shape)
        mse = float(np.mean((y - y_hat) ** 2))
        r2 = r2_score(y, y_hat)
        rows += [("mean squared error, eq. (20)", f"{mse:.4g}"), ("R²", f"{r2:.4f}")]
        return rows, extra
    y_pred = model.predict(X_test)
    labels = (list(model.classes_) if model.classes_ is not None
              else np.unique(np.concatenate([y_test, y_pred])).tolist())
    counts, labels = confusion_counts(y_test, y_pred, labels)
    rows.append(("accuracy", f"{np.trace(counts) / counts.sum():.4f}"))
    for k, label in enumerate(labels):
        predicted, actual = counts[:, k].sum(), counts[k].sum()
        precision = counts[k, k] / predicted if predicted else float("nan")
        recall = counts[k, k] / actual if actual else float("nan")
        rows.append((f"class {label}: precision / recall", f"{precision:.3f} / {recall:.3f}"))
    extra.update(y_pred=y_pred, labels=labels)
    if len(labels) == 2 and len(np.unique(y_test)) == 2:
        proba = model.predict_proba(X_test)
        scores = proba if proba.ndim == 1 else proba[:, 1]
        extra.update(scores=scores, pos_label=labels[1])
        rows.append((f"ROC AUC (positive class {labels[1]})",
                     f"{roc_auc(y_test, scores, pos_label=labels[1]):.4f}"))
    return rows, extra


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
                 ) -> Path:
    """Write ``report.html`` and its figures (PNG) into ``directory``; return the HTML path.

    The page is self-contained (figures embedded as base64 data URIs) and holds the
    convergence diagnostics of ``diagnose``, the test metrics, the architecture, and the
    figures: loss curves, network diagram, and for classifiers the confusion matrix, for
    binary ones the ROC curve, for two features the decision boundary. Every file is
    written atomically (a temporary file, then os.replace).

    Parameters
    ----------
    directory : str or Path; created if missing
    model : a fitted model (any Module: Models I-III, a Sequential, your own)
    history : dp.History of the fit
    X_test, y_test : held-out rows (raw, as for ``predict``) and their targets
    title : str
    """
    import dlprimer.report.plots as plots
    from dlprimer.report.figures import save_png

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    metric_rows, extra = _metrics(model, X_test, y_test)
    input_shape = np.shape(model.prepare(X_test))[1:]  # one sample as the model sees it
    y_test = np.asarray(getattr(y_test, "values", y_test))
    figures = [("loss_curves.png", "Loss and metric per epoch",
                lambda: plots.loss_curves(history))]
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
    diagnostics = "".join(f"<li>{esc(s)}</li>" for s in diagnose(history))
    metrics = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in metric_rows)
    layers = "".join("<tr>" + "".join(f"<td>{esc(cell)}</td>" for cell in row) + "</tr>"
                     for row in architecture_rows(model, input_shape))
    names = getattr(model, "feature_names", None)
    features = (f"<p>Features: {esc(', '.join(names))}</p>" if names else "")
    standardized = ("<p>Inputs are standardized with the training rows' mean and standard "
                    "deviation, eq. (13).</p>" if model.standardizer is not None else "")
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
<h2>Model</h2>
<p>{esc(plots.model_name(model))}: d = {model.num_parameters()} parameters,
trained for {history.epochs} epochs.</p>
<table><tr><th>layer ℓ</th><th>kind</th>
<th>parameters (W<sup>[ℓ]</sup>: N<sub>ℓ</sub> × N<sub>ℓ-1</sub>)</th><th>output</th>
<th>activation</th></tr>{layers}</table>
{features}{standardized}
<h2>Convergence diagnostics</h2>
<ul>{diagnostics}</ul>
<h2>Test metrics</h2>
<table>{metrics}</table>
<h2>Figures</h2>
{figures_html}
</body></html>
"""
    out = directory / "report.html"
    atomic_write(out, page, make_parents=True)
    return out
