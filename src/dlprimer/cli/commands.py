"""The commands besides ``fit``: ``datasets``, ``evaluate``, ``predict``, ``explain``, and
the model a command line asks for."""

from __future__ import annotations

import csv
import io
import sys

import numpy as np

from dlprimer.cli.data import UsageError, check_folder, data_for, load_model
from dlprimer.cli.scores import format_scores, scores
from dlprimer.data import datasets
from dlprimer.data.files import atomic_write
from dlprimer.models import FeedForward, SigmoidModel, SoftmaxModel

__all__ = ["build_model", "cmd_datasets", "cmd_evaluate", "cmd_explain", "cmd_predict",
           "describe", "diagnostics"]


def build_model(kind: str, task: str, p: int, K: int, hidden: list[int], activation: str,
                seed: int):
    """The model a command line asks for, checked against the task."""
    if kind == "sigmoid":
        if task != "binary":
            raise UsageError(f"--model sigmoid (Model I) is for two classes; this is a {task} "
                             "task: use --model softmax or feedforward")
        return SigmoidModel(p, seed=seed)
    if kind == "softmax":
        if task == "regression":
            raise UsageError("--model softmax (Model II) is for classes; this is a regression "
                             "task: use --model feedforward")
        return SoftmaxModel(p, K, seed=seed)
    if task == "regression":
        sizes, output = [p, *hidden, 1], "identity"
    elif task == "binary":
        sizes, output = [p, *hidden, 1], "sigmoid"
    else:
        sizes, output = [p, *hidden, K], "softmax"
    return FeedForward(sizes, activation=activation, output=output, seed=seed)


def cmd_datasets(args) -> int:
    print(f"{'name':15s} {'n':>6s} {'p':>4s}  {'task':11s} classes")
    for row in datasets.info():
        classes = "-" if row.n_classes is None else str(row.n_classes)
        print(f"{row.name:15s} {row.n:6d} {row.p:4d}  {row.task:11s} {classes}")
    print("\nUse one with: dlprimer fit --data NAME (or a CSV file: --data file.csv)")
    return 0


def diagnostics(history) -> list[str]:
    try:
        from dlprimer.training.diagnose import diagnose
    except ImportError:  # the report front end is optional
        return []
    return diagnose(history)


def describe(model) -> str:
    """One line for the settings: the model's own title (that of its registered
    explanation), the named settings of its ``config()`` (activations), and d."""
    try:
        config = model.config()
    except TypeError:  # a user-defined Module has no config()
        config = {}
    settings = [f"{key} {value}" for key, value in config.items()
                if key not in ("kind", "dtype") and isinstance(value, str)]
    return ", ".join([model.explain().title, *settings, f"d = {model.num_parameters()}"])


def cmd_evaluate(args) -> int:
    model = load_model(args.model)
    X, y = data_for(model, args.data)
    if y is None:
        raise UsageError(f"{args.data} has no target column to evaluate against")
    print(f"{args.model} on {args.data} ({len(X)} rows):")
    print(format_scores(scores(model, X, y)))
    if args.summary:
        try:
            summary = model.summary(X, y)
        except TypeError as err:  # summary itself says which models it covers
            raise UsageError(f"--summary (standard errors, p-values): {err}") from err
        print(summary)
    return 0


def cmd_predict(args) -> int:
    if args.out:
        check_folder(args.out, "--out")
    model = load_model(args.model)
    X, _ = data_for(model, args.data, need_target=False)
    predictions = model.predict(X)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if model.output == "identity":
        writer.writerow(["prediction"])
        writer.writerows([[f"{v:.6g}"] for v in predictions])
    else:
        proba = model.predict_proba(X)
        P = np.column_stack([1 - proba, proba]) if proba.ndim == 1 else proba
        classes = model.classes_ if model.classes_ is not None else range(P.shape[1])
        writer.writerow(["prediction", *[f"p({c})" for c in classes]])
        for label, row in zip(predictions, P, strict=True):
            writer.writerow([label, *[f"{v:.6f}" for v in row]])
    if args.out:
        atomic_write(args.out, buffer.getvalue())
        print(f"wrote {len(X)} predictions to {args.out}")
    else:
        sys.stdout.write(buffer.getvalue())
    return 0


def cmd_explain(args) -> int:
    model = load_model(args.model)
    if args.row is None:
        print(model.explain())
        return 0
    if not args.data:
        raise UsageError("--row needs --data, the file (or bundled set) the row comes from")
    X, _ = data_for(model, args.data, need_target=False)
    if not 0 <= args.row < len(X):
        raise UsageError(f"--row must lie in 0..{len(X) - 1} for {args.data}, got {args.row}")
    print(model.explain(X[args.row]))
    return 0
