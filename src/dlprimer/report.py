"""A training report: convergence diagnostics in plain language, test metrics, figures.

``diagnose(history)`` reads the loss curves of a ``dp.fit`` run the way a practitioner
would (is the loss still falling? did validation loss turn up? does the loss oscillate?)
and says what it sees, with the numbers behind it. ``write_report`` puts that, the test
metrics, the architecture and the figures of ``dlprimer.plots`` into one self-contained
``report.html``.

>>> from dlprimer.train import History
>>> h = History(loss=[1.0 / (t + 1) for t in range(50)])
>>> print(diagnose(h)[0])    # doctest: +NORMALIZE_WHITESPACE
The training loss is still falling: it dropped by 10% over the last 5 epochs (epoch 45:
0.02222 → epoch 50: 0.02), so more epochs would likely lower it further.
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path

import numpy as np

from dlprimer._files import atomic_write

__all__ = ["diagnose", "write_report"]

#: A relative drop of the training loss over the last 10% of epochs above this is "still
#: falling".
STILL_FALLING = 0.01
#: Validation loss this far (relative) above its minimum at the end is "overfitting".
OVERFIT_RISE = 0.05
#: Share of sign changes among successive loss differences above this is "oscillating".
OSCILLATION_SHARE = 0.3


def diagnose(history) -> list[str]:
    """Convergence diagnostics of a training run, one plain sentence each, with numbers.

    Looks at three things:

    - whether the training loss is still falling: its relative change over the last 10% of
      the epochs (at least 2);
    - whether validation loss rose from its minimum (overfitting): the epoch of the
      minimum and how far the last value lies above it;
    - whether the loss oscillates (a learning rate α too high): how often successive
      differences C_{t+1} - C_t change sign.

    Parameters
    ----------
    history : dp.History

    Returns
    -------
    list of str
    """
    loss = np.asarray(history.loss, dtype=float)
    n = len(loss)
    if n == 0:
        return ["No epochs were recorded: train the model with dp.fit first."]
    notes = []
    finite = np.isfinite(loss)
    if not finite.all():
        first = int(np.flatnonzero(~finite)[0]) + 1
        notes.append(f"The training loss became {loss[first - 1]} at epoch {first}: training "
                     "diverged; lower the learning rate α (for example by 10×) or "
                     "standardize the inputs.")
        loss = loss[:first - 1]
        n = len(loss)
    if n < 3:
        notes.append(f"Only {n} epoch(s) with a finite loss: too few to judge convergence.")
        return notes
    notes.append(_trend(loss))
    if history.val_loss:
        notes.append(_overfitting(np.asarray(history.val_loss, dtype=float), loss))
    notes.append(_oscillation(loss))
    if history.stop_reason:
        notes.append(f"Training stopped after {len(history.loss)} epochs: "
                     f"{history.stop_reason}.")
    return notes


def _trend(loss: np.ndarray) -> str:
    n = len(loss)
    window = max(2, math.ceil(0.1 * n))
    start = n - 1 - window  # compare epoch n - window with epoch n
    before, after = loss[start], loss[-1]
    change = (before - after) / abs(before) if before != 0 else 0.0
    where = (f"over the last {window} epochs (epoch {start + 1}: {before:.4g} → epoch {n}: "
             f"{after:.4g})")
    if change > STILL_FALLING:
        return (f"The training loss is still falling: it dropped by {100 * change:.2g}% "
                f"{where}, so more epochs would likely lower it further.")
    if change < -STILL_FALLING:
        return (f"The training loss rose by {100 * -change:.2g}% {where}: the last steps made "
                "it worse; the learning rate α may be too high.")
    return (f"The training loss has levelled off: it changed by {100 * abs(change):.2g}% "
            f"{where}, below the {100 * STILL_FALLING:g}% taken as still falling.")


def _overfitting(val: np.ndarray, loss: np.ndarray) -> str:
    finite = np.isfinite(val)
    if not finite.any():
        return "The validation loss is not finite at any epoch."
    best = int(np.nanargmin(np.where(finite, val, np.nan)))
    low, last = val[best], val[finite][-1]
    rise = (last - low) / abs(low) if low != 0 else math.inf * (last > low)
    epochs = len(val)
    if rise > OVERFIT_RISE and best < epochs - 1:
        return (f"Overfitting: the validation loss reached its minimum {low:.4g} at epoch "
                f"{best + 1} and then rose by {100 * rise:.3g}% to {last:.4g} at epoch {epochs}, "
                f"while the training loss went on from {loss[min(best, len(loss) - 1)]:.4g} to "
                f"{loss[-1]:.4g}. Stop near epoch {best + 1} (early_stopping=...), or "
                "regularize (l2=...) or simplify the model.")
    if best == epochs - 1:
        return (f"No sign of overfitting: the validation loss is lowest at the last epoch "
                f"({low:.4g} at epoch {epochs}).")
    return (f"No sign of overfitting: the last validation loss {last:.4g} is within "
            f"{100 * max(rise, 0):.2g}% of its minimum {low:.4g} (epoch {best + 1} of "
            f"{epochs}); {100 * OVERFIT_RISE:g}% above it would count as overfitting.")


def _oscillation(loss: np.ndarray) -> str:
    steps = np.diff(loss)
    signs = np.sign(steps[steps != 0])
    flips = int(np.sum(signs[1:] != signs[:-1]))
    possible = max(len(signs) - 1, 1)
    share = flips / possible
    rises = steps[steps > 0]
    worst = float(np.max(rises / np.abs(loss[:-1][steps > 0]))) if rises.size else 0.0
    if share > OSCILLATION_SHARE and flips >= 3:
        return (f"The training loss oscillates: successive differences change sign {flips} "
                f"times in {len(steps)} steps ({100 * share:.0f}%), and it rose in "
                f"{rises.size} epochs, by up to {100 * worst:.3g}%. The learning rate α is "
                "likely too high (the steps overshoot the minimum, as in Figure 4 with a "
                "large α); try α / 10, or mini-batch noise may be the cause.")
    return (f"The training loss does not oscillate: successive differences change sign "
            f"{flips} times in {len(steps)} steps ({100 * share:.0f}%; above "
            f"{100 * OSCILLATION_SHARE:.0f}% would suggest too high a learning rate).")


# --- the report -------------------------------------------------------------------------

def _metrics(model, X_test, y_test) -> tuple[list[tuple[str, str]], dict]:
    """(name, value) rows for the test set, and what the figures need."""
    from dlprimer.plots import confusion_counts, roc_auc

    y_test = np.asarray(getattr(y_test, "values", y_test))
    rows = [("test rows", str(len(y_test)))]
    extra: dict = {}
    if model.output == "identity":
        y_hat = model.predict(X_test)
        y = y_test.astype(float).reshape(y_hat.shape)
        mse = float(np.mean((y - y_hat) ** 2))
        total = float(np.sum((y - y.mean(axis=0)) ** 2))
        r2 = 1 - float(np.sum((y - y_hat) ** 2)) / total if total > 0 else float("nan")
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


def _architecture_rows(model) -> list[tuple[str, str, str, str]]:
    from dlprimer.plots import _architecture

    rows = []
    for ell, layer in enumerate(_architecture(model), 1):
        n_in, n_out = layer["n_in"], layer["n_out"]
        rows.append((str(ell), f"{n_out} × {n_in}", str(n_out), layer["activation"]))
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
    model : a fitted SigmoidModel, SoftmaxModel or FeedForward
    history : dp.History of the fit
    X_test, y_test : held-out rows (raw, as for ``predict``) and their targets
    title : str
    """
    from dlprimer import plots
    from dlprimer._figures import save_png

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    metric_rows, extra = _metrics(model, X_test, y_test)
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
                    lambda: plots.network_diagram(model)))

    images = []
    for name, caption, draw in figures:
        path = save_png(draw(), directory / name)
        images.append((name, caption, base64.b64encode(path.read_bytes()).decode("ascii")))

    esc = html.escape
    diagnostics = "".join(f"<li>{esc(s)}</li>" for s in diagnose(history))
    metrics = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in metric_rows)
    layers = "".join(f"<tr><td>{ell}</td><td>{esc(W)}</td><td>{esc(b)}</td><td>{esc(a)}</td>"
                     "</tr>" for ell, W, b, a in _architecture_rows(model))
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
<p>{esc(plots._model_name(model))}: d = {model.num_parameters()} parameters,
trained for {history.epochs} epochs.</p>
<table><tr><th>layer ℓ</th><th>W<sup>[ℓ]</sup> (N<sub>ℓ</sub> × N<sub>ℓ-1</sub>)</th>
<th>b<sup>[ℓ]</sup></th><th>activation</th></tr>{layers}</table>
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
