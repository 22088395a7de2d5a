"""The commands besides ``fit``: ``datasets``, ``evaluate``, ``predict``, ``explain``, and
the model a command line asks for."""

from __future__ import annotations

import csv
import io
import sys

import numpy as np

from dlprimer.cli.data import (
    UsageError,
    check_folder,
    check_outputs,
    load_model,
    same_data,
    split_rows,
    table_for,
)
from dlprimer.cli.scores import format_scores, scores
from dlprimer.data import datasets
from dlprimer.data.files import atomic_write
from dlprimer.models import FeedForward, SigmoidModel, SoftmaxModel

__all__ = ["MEMORY_CAP", "build_model", "check_memory", "cmd_datasets", "cmd_evaluate",
           "cmd_explain", "cmd_predict", "describe", "diagnostics", "layer_widths"]

#: The most memory (bytes) a model trained from the command line may need; less where the
#: machine has less available.
MEMORY_CAP = 4 * 2**30


def layer_widths(kind: str, task: str, p: int, K: int, hidden: list[int]) -> list[int]:
    """N_0 = p, the hidden widths, N_L: the layer widths of the model a command line asks
    for, checked against the task."""
    if kind == "sigmoid":
        if task != "binary":
            raise UsageError(f"--model sigmoid (Model I) is for two classes; this is a {task} "
                             "task: use --model softmax or feedforward")
        return [p, 1]
    if kind == "softmax":
        if task == "regression":
            raise UsageError("--model softmax (Model II) is for classes; this is a regression "
                             "task: use --model feedforward")
        return [p, K]
    return [p, *hidden, K if task == "multiclass" else 1]


def build_model(kind: str, task: str, p: int, K: int, hidden: list[int], activation: str,
                seed: int, dtype=np.float32):
    """The model a command line asks for, checked against the task."""
    sizes = layer_widths(kind, task, p, K, hidden)
    if kind == "sigmoid":
        return SigmoidModel(p, seed=seed, dtype=dtype)
    if kind == "softmax":
        return SoftmaxModel(p, K, seed=seed, dtype=dtype)
    output = {"regression": "identity", "binary": "sigmoid"}.get(task, "softmax")
    return FeedForward(sizes, activation=activation, output=output, seed=seed, dtype=dtype)


def _available_memory() -> int | None:
    """MemAvailable of /proc/meminfo in bytes (Linux), else None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def check_memory(widths: list[int], n_rows: int, batch_rows: int, itemsize: int) -> int:
    """Refuse, before anything is allocated, a model and data too large to train here; return
    the estimate in bytes.

    The estimate is a lower bound: θ with d = Σ (N_{ℓ-1} + 1) N_ℓ parameters, its gradient
    and two optimizer moments (4 d floats), the float64 draw of the largest layer's initial
    weights, the activations and their gradients for ``batch_rows`` rows (2 · rows · Σ N_ℓ
    floats), and the n × p data matrix X̃ in float64.
    """
    pairs = list(zip(widths[:-1], widths[1:], strict=True))
    d = sum((fan_in + 1) * fan_out for fan_in, fan_out in pairs)
    largest = max(((fan_in + 1) * fan_out for fan_in, fan_out in pairs), default=0)
    needed = (4 * d * itemsize + 8 * largest + 2 * batch_rows * sum(widths) * itemsize
              + 8 * n_rows * widths[0])
    available = _available_memory()
    limit = MEMORY_CAP if available is None else min(MEMORY_CAP, available)
    if needed > limit:
        raise UsageError(
            f"training would need about {needed / 2**30:.1f} GiB of memory (d = {d:,} "
            f"parameters for layer widths {widths}, with gradients and optimizer state, a "
            f"batch of {batch_rows} rows and the {n_rows} x {widths[0]} data), more than the "
            f"{limit / 2**30:.1f} GiB allowed here: use smaller --hidden widths or "
            "--batch-size, or fewer feature columns")
    return needed


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
    return diagnose(history, audience="cli")


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
    if args.summary and not getattr(model, "identifiable", False):
        raise UsageError(f"--summary (standard errors, p-values) covers Model I "
                         f"(SigmoidModel) and Model II (SoftmaxModel); this is a "
                         f"{type(model).__name__}, whose parameters are not identifiable")
    table = table_for(model, args.data, args.target)
    X, y, note = table.X, table.y, f"{args.data} ({len(table.y)} rows)"
    parts = None
    if same_data(model, table):  # the file it was fit on: score the held-out rows only
        origin = model.provenance
        parts = split_rows(y, origin["test_size"], origin["validation_split"],
                           origin["stratified"], origin["seed"])
        if len(parts["test"]):
            X, y = X.iloc[parts["test"]], y[parts["test"]]
            note = (f"the {len(y)} held-out test rows of {args.data}, the file the model was "
                    f"fit on (its other {len(table.y) - len(y)} rows were used in training)")
        else:
            note = (f"{args.data}, the file the model was fit on with --test-size 0: these "
                    "are its training rows, so the scores are optimistic")
    print(f"{args.model} on {note}:")
    print(format_scores(scores(model, X, y)))
    if args.summary:
        if parts is None:
            source = (model.provenance or {}).get("source", "the file it was fit on")
            raise UsageError(f"--summary computes standard errors on the rows the model was "
                             f"fit on; {args.data} is not that data: pass {source}")
        fit_rows = parts["fit"]
        print(model.summary(table.X.iloc[fit_rows], table.y[fit_rows]))
    return 0


def cmd_predict(args) -> int:
    check_outputs({"--out": args.out}, {"the model": args.model, "--data": args.data})
    if args.out:
        check_folder(args.out, "--out")
    model = load_model(args.model)
    table = table_for(model, args.data, need_target=False)
    X = table.X
    proba = model.predict_proba(X)  # one pass: an unseen category warns once
    predictions = model.decide(proba)
    id_column = None if model.preprocessor is None else model.preprocessor.id
    ids = X[id_column].tolist() if id_column in table.feature_names else None
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    first = [id_column] if ids is not None else []
    if model.output == "identity":
        writer.writerow([*first, "prediction"])
        rows = [[f"{v:.6g}"] for v in predictions]
    else:
        P = np.column_stack([1 - proba, proba]) if proba.ndim == 1 else proba
        classes = model.classes_ if model.classes_ is not None else range(P.shape[1])
        writer.writerow([*first, "prediction", *[f"p({c})" for c in classes]])
        rows = [[label, *[f"{v:.6f}" for v in row]]
                for label, row in zip(predictions, P, strict=True)]
    if ids is not None:
        rows = [[i, *row] for i, row in zip(ids, rows, strict=True)]
    writer.writerows(rows)
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
    X = table_for(model, args.data, need_target=False).X
    if not 0 <= args.row < len(X):
        raise UsageError(f"--row must lie in 0..{len(X) - 1} for {args.data}, got {args.row}")
    row = X.iloc[[args.row]]
    print(model.explain(row if model.preprocessor is not None else row.to_numpy(float)[0]))
    return 0
