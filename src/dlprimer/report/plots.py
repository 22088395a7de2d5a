"""Figures: training curves, classifier and regression diagnostics, the network diagrams of
Figures 1-3, and gradient descent on a loss landscape as in Figure 4.

Every function returns a matplotlib ``Figure`` and, given ``path``, also writes it as a PNG.
Figures are drawn on matplotlib's Agg (raster) canvas without pyplot: nothing opens a
window, the global backend of a notebook or script is left alone, and no figure piles up
in pyplot's registry. The Figure is :class:`dlprimer.report.figures.Figure`: Jupyter shows
it inline as a PNG, with or without ``%matplotlib inline``.

Figure 4 (``descent_path``) lives in :mod:`dlprimer.report.descent` and the network diagrams
(``network_diagram``, ``architecture``, ``model_name``) in :mod:`dlprimer.report.network`;
both are re-exported here.
"""

from __future__ import annotations

import numpy as np

from dlprimer.report.descent import descent_path
from dlprimer.report.figures import BLUE, GREY, ORANGE, finish_figure, new_figure
from dlprimer.report.network import architecture, model_name, network_diagram
from dlprimer.training.metrics import (  # noqa: F401 (dp.plots)
    confusion_counts,
    r2_score,
    roc_auc,
    roc_points,
)

__all__ = [
    "architecture",
    "confusion_matrix",
    "decision_boundary",
    "descent_path",
    "loss_curves",
    "model_name",
    "network_diagram",
    "predicted_vs_actual",
    "residuals",
    "roc_auc",
    "roc_curve",
]

# --- training ---------------------------------------------------------------------------

def loss_curves(history, path=None, log_scale: bool | None = None):
    """Training and validation loss per epoch, and the metric (accuracy or R²) beside them.

    Parameters
    ----------
    history : dp.History, as returned by ``dp.fit``
    path : str or Path, optional; where to write the PNG
    log_scale : bool or None
        The loss axis: True for a log scale whenever every finite loss is positive (the
        report's choice: late, small improvements stay visible), False for linear, None
        (default) for log only when the losses span more than a factor of 100.
    """
    if not history.loss:
        raise ValueError("history holds no epochs; train with dp.fit first")
    has_metric = bool(history.metric)
    fig = new_figure(9.5 if has_metric else 5.5, 3.6)
    axes = fig.subplots(1, 2 if has_metric else 1, squeeze=False)[0]
    epochs = np.arange(1, len(history.loss) + 1)
    ax = axes[0]
    ax.plot(epochs, history.loss, color=BLUE, label="training")
    if history.val_loss:
        val = np.asarray(history.val_loss)
        ax.plot(np.arange(1, len(val) + 1), val, color=ORANGE, label="validation")
        best = int(np.nanargmin(val)) + 1
        ax.axvline(best, color=GREY, linestyle=":", linewidth=1,
                   label=f"lowest validation loss (epoch {best})")
    losses = np.asarray(history.loss + history.val_loss, dtype=float)
    losses = losses[np.isfinite(losses)]
    positive = bool(losses.size) and losses.min() > 0
    if log_scale is None:  # a loss spanning decades is unreadable on a linear axis
        log_scale = positive and losses.max() / losses.min() > 100
    if log_scale and positive:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(r"loss $C(\theta)$")
    ax.set_title("Loss")
    ax.legend(fontsize="small")
    if has_metric:
        ax = axes[1]
        ax.plot(np.arange(1, len(history.metric) + 1), history.metric, color=BLUE,
                label="training")
        if history.val_metric:
            ax.plot(np.arange(1, len(history.val_metric) + 1), history.val_metric,
                    color=ORANGE, label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(history.metric_name)
        ax.set_title(history.metric_name.capitalize() if history.metric_name != "r2"
                     else r"$R^2$")
        ax.legend(fontsize="small")
    return finish_figure(fig, path)


# --- classifiers ------------------------------------------------------------------------

def confusion_matrix(y_true, y_pred, labels=None, path=None):
    """The confusion matrix as a heat map: rows are true classes, columns predictions,
    each cell annotated with its count.

    Parameters
    ----------
    y_true, y_pred : array (n,) of labels
    labels : list, optional; the classes in display order (default: sorted)
    path : str or Path, optional
    """
    counts, labels = confusion_counts(y_true, y_pred, labels)
    K = len(labels)
    size = min(3.2 + 0.45 * K, 10)
    fig = new_figure(size + 0.8, size)
    ax = fig.subplots()
    image = ax.imshow(counts, cmap="Blues", vmin=0)
    fig.colorbar(image, ax=ax, shrink=0.8, label="rows")
    threshold = counts.max() / 2 if counts.size else 0
    for i in range(K):
        for j in range(K):
            ax.text(j, i, str(counts[i, j]), ha="center", va="center",
                    fontsize="medium" if K <= 10 else "x-small",
                    color="white" if counts[i, j] > threshold else "black")
    names = [str(v) for v in labels]
    ax.set_xticks(range(K), names, rotation=45 if K > 4 else 0, ha="right" if K > 4 else "center")
    ax.set_yticks(range(K), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    accuracy = np.trace(counts) / counts.sum() if counts.sum() else float("nan")
    ax.set_title(f"Confusion matrix (accuracy {accuracy:.3f}, n = {counts.sum()})")
    return finish_figure(fig, path)


def roc_curve(y_true, scores, pos_label=None, path=None):
    """The ROC curve of a binary classifier (TPR against FPR as the threshold τ of decision
    rule (3) sweeps the scores), with its AUC.

    Parameters
    ----------
    y_true : array (n,) of two labels
    scores : array (n,); larger means more likely positive, e.g. ŷ of Model I
    pos_label : the positive label (default: the larger of the two)
    path : str or Path, optional
    """
    fpr, tpr = roc_points(y_true, scores, pos_label)
    auc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
    fig = new_figure(4.8, 4.5)
    ax = fig.subplots()
    ax.plot(fpr, tpr, color=BLUE, linewidth=2, label=f"classifier (AUC = {auc:.3f})")
    ax.fill_between(fpr, tpr, alpha=0.15, color=BLUE)
    ax.plot([0, 1], [0, 1], color=GREY, linestyle="--", linewidth=1,
            label="chance (AUC = 0.5)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_aspect("equal")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(f"ROC curve, AUC = {auc:.3f}")
    ax.legend(loc="lower right", fontsize="small")
    return finish_figure(fig, path)


def _feature_labels(model, p: int) -> list[str]:
    names = getattr(model, "feature_names", None)
    return list(names) if names else [f"$x_{{{j + 1}}}$" for j in range(p)]


def decision_boundary(model, X, y, path=None, resolution: int = 200):
    """The regions a classifier assigns to each class over the plane of its two features,
    with the rows of X on top: decision rule (3) (ŷ > τ = 0.5) or (6) (argmax).

    Only for models of p = 2 features; X holds raw rows (the model's standardizer, if
    any, is applied as in ``predict``).
    """
    from matplotlib.colors import ListedColormap

    X = np.asarray(getattr(X, "values", X), dtype=float)
    if X.ndim != 2 or X.shape[1] != 2 or getattr(model, "n_features", None) != 2:
        raise ValueError(
            f"a decision boundary is drawn in the plane of two features; got X of shape "
            f"{X.shape} and a model of p={getattr(model, 'n_features', '?')} features. "
            "Fit a model on two columns to see it (e.g. X[:, [0, 1]])")
    if model.output == "identity":
        raise ValueError("decision_boundary needs a classifier (sigmoid or softmax output); "
                         "this model is a regression")
    y = np.asarray(y).ravel()
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels")
    classes = list(model.classes_) if model.classes_ is not None else sorted(np.unique(y))
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.08 * np.where(hi > lo, hi - lo, 1.0)
    g1 = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    g2 = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    G1, G2 = np.meshgrid(g1, g2)
    proba = model.predict_proba(np.column_stack([G1.ravel(), G2.ravel()]))
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
               "#7f7f7f", "#bcbd22", "#17becf"]
    colors = [palette[k % len(palette)] for k in range(len(classes))]
    fig = new_figure(5.8, 4.8)
    ax = fig.subplots()
    if proba.ndim == 1:  # Model I or a sigmoid network: ŷ = P(positive class)
        surface = ax.contourf(G1, G2, proba.reshape(G1.shape), levels=np.linspace(0, 1, 11),
                              cmap="RdBu_r", alpha=0.55)
        fig.colorbar(surface, ax=ax, label=rf"$\hat{{y}}$ = P(class {classes[-1]})")
        ax.contour(G1, G2, proba.reshape(G1.shape), levels=[0.5], colors="black",
                   linewidths=1.5)
        colors = ["#2166ac", "#b2182b"]
    else:  # softmax: the argmax region of each class, decision rule (6)
        region = proba.argmax(axis=1).reshape(G1.shape)
        ax.contourf(G1, G2, region, levels=np.arange(len(classes) + 1) - 0.5,
                    cmap=ListedColormap(colors), alpha=0.3)
        ax.contour(G1, G2, region, levels=np.arange(len(classes)) + 0.5, colors="black",
                   linewidths=1)
    index = {c: i for i, c in enumerate(np.asarray(classes).tolist())}
    for label in np.unique(y).tolist():
        rows = y == label
        k = index.get(label, 0)
        ax.scatter(X[rows, 0], X[rows, 1], s=18, color=colors[k % len(colors)],
                   edgecolor="white", linewidth=0.5, label=str(label))
    names = _feature_labels(model, 2)
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.set_xlim(g1[0], g1[-1])
    ax.set_ylim(g2[0], g2[-1])
    ax.set_title(f"Decision regions of {type(model).__name__}")
    ax.legend(fontsize="small", title="class", loc="best")
    return finish_figure(fig, path)


# --- regression -------------------------------------------------------------------------

def _regression_values(model_or_predictions, y, X) -> tuple[np.ndarray, np.ndarray]:
    """(y, ŷ) as flat float arrays: ŷ = model.predict(X) for a model, else the predictions."""
    predict = getattr(model_or_predictions, "predict", None)
    if callable(predict):
        if getattr(model_or_predictions, "output", "identity") != "identity":
            raise ValueError("this plot is for a regression (identity output); this model is "
                             "a classifier: see confusion_matrix or roc_curve")
        if X is None:
            raise ValueError("give the rows X to predict from: plot(model, y, X=X)")
        y_hat = predict(X)
    else:
        y_hat = model_or_predictions
    y = np.asarray(getattr(y, "values", y), dtype=float).ravel()  # q outputs: all points
    y_hat = np.asarray(y_hat, dtype=float).ravel()
    if y.shape != y_hat.shape or y.size == 0:
        raise ValueError(f"y and the predictions must have one value per row (at least one), "
                         f"got {y.size} and {y_hat.size}")
    if not (np.isfinite(y).all() and np.isfinite(y_hat).all()):
        raise ValueError("y or the predictions contain NaN or infinite values")
    return y, y_hat


def predicted_vs_actual(model_or_predictions, y, X=None, path=None):
    """Predicted ŷ against actual y, one point per row, with the line ŷ = y on which a
    perfect regression would put every point; R² = 1 - Σ(y - ŷ)² / Σ(y - ȳ)² in the title.

    Parameters
    ----------
    model_or_predictions : a fitted regression model (then give X), or ŷ (n,)
    y : array (n,) of actual values
    X : raw rows (n, p) for the model's ``predict``
    path : str or Path, optional
    """
    y, y_hat = _regression_values(model_or_predictions, y, X)
    fig = new_figure(4.8, 4.5)
    ax = fig.subplots()
    ax.scatter(y, y_hat, s=14, color=BLUE, alpha=0.7, edgecolor="white", linewidth=0.4,
               label="rows")
    lo, hi = min(y.min(), y_hat.min()), max(y.max(), y_hat.max())
    ax.plot([lo, hi], [lo, hi], color=GREY, linestyle="--", linewidth=1, label=r"$\hat{y} = y$")
    ax.set_xlabel("actual $y$")
    ax.set_ylabel(r"predicted $\hat{y}$")
    ax.set_title(f"Predicted vs actual, $R^2$ = {r2_score(y, y_hat):.3f} (n = {y.size})")
    ax.legend(fontsize="small", loc="upper left")
    return finish_figure(fig, path)


def residuals(model_or_predictions, y, X=None, path=None):
    """Residuals e = y - ŷ against the prediction ŷ, with the zero line: a pattern (a curve,
    a funnel) means the model misses structure that a better one could capture.

    Parameters
    ----------
    model_or_predictions : a fitted regression model (then give X), or ŷ (n,)
    y : array (n,) of actual values
    X : raw rows (n, p) for the model's ``predict``
    path : str or Path, optional
    """
    y, y_hat = _regression_values(model_or_predictions, y, X)
    e = y - y_hat
    fig = new_figure(5.5, 4.0)
    ax = fig.subplots()
    ax.scatter(y_hat, e, s=14, color=BLUE, alpha=0.7, edgecolor="white", linewidth=0.4)
    ax.axhline(0.0, color=ORANGE, linewidth=1.2)
    ax.set_xlabel(r"predicted $\hat{y}$")
    ax.set_ylabel(r"residual $y - \hat{y}$")
    rmse = float(np.sqrt(np.mean(e ** 2)))
    ax.set_title(f"Residuals (root mean squared error {rmse:.4g}, n = {y.size})")
    return finish_figure(fig, path)
