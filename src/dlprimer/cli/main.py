"""The ``dlprimer`` command: train, evaluate, predict and explain from a terminal.

    dlprimer datasets                          the bundled data sets
    dlprimer fit                               Model III on breast_cancer (the main job)
    dlprimer fit --data my.csv --target y      your own CSV
    dlprimer evaluate model.safetensors --data my.csv
    dlprimer predict model.safetensors --data new.csv --out predictions.csv
    dlprimer explain model.safetensors [--data my.csv --row 0]

A thin front end: it parses, calls the library, and prints. Errors print one line and exit
with status 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from dlprimer import optim
from dlprimer.data import datasets, train_test_split
from dlprimer.data.files import atomic_write
from dlprimer.io import load, save
from dlprimer.models import FeedForward, SigmoidModel, SoftmaxModel
from dlprimer.training import fit

OPTIMIZERS = {"gd": "GradientDescent", "sgd": "SGD", "adam": "Adam", "lbfgs": "LBFGS"}
DEFAULT_LR = {"gd": 0.1, "sgd": 0.05, "adam": 0.001, "lbfgs": None}


class UsageError(ValueError):
    """A problem with the command line's arguments or files."""


# ------------------------------------------------------------------------------ data
def _is_csv(spec: str) -> bool:
    return spec.lower().endswith((".csv", ".tsv", ".txt")) or os.path.sep in spec


def load_data(spec: str, target: str | None = None, task: str | None = None
              ) -> datasets.Dataset:
    """A bundled data set by name, or a CSV file (target column: ``target`` or the last;
    task inferred unless ``task`` says it)."""
    if _is_csv(spec) or Path(spec).is_file():
        return datasets.read_csv(spec, target=target, task=task)
    for option, value in (("--target", target), ("--task", task)):
        if value is not None:
            raise UsageError(f"{option} applies to CSV files; {spec!r} is a bundled data set")
    return datasets.load(spec)


def _labels(ds: datasets.Dataset) -> np.ndarray:
    """Targets as the user knows them: class names for classification, numbers otherwise."""
    if ds.class_names is None:
        return ds.y
    return np.asarray(ds.class_names)[ds.y]


def _features_for(model, path: str, need_target: bool = True
                  ) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """Rows of a CSV in the model's feature order; the target column too when present and
    ``need_target`` (without it, the columns the model does not use are not read)."""
    names = model.feature_names
    if not names:  # the model was fit on an unnamed matrix: columns by position
        ds = datasets.read_csv(path, require_target=False)
        return ds.X, None, ds.feature_names
    header = datasets.read_header(path)
    missing = [n for n in names if n not in header]
    if missing:
        raise UsageError(f"{Path(path).name} lacks the model's feature column(s) {missing}; "
                         f"it has {header}")
    extra = [h for h in header if h not in names]
    if not need_target:
        ds = datasets.read_csv(path, require_target=False, ignore=extra)
    else:
        if len(extra) > 1:
            raise UsageError(f"{Path(path).name} has columns the model does not use: {extra}; "
                             "keep the features and at most one target column")
        target = extra[0] if extra else None
        ds = datasets.read_csv(path, target=target, require_target=target is not None,
                               task="regression" if model.output == "identity" else None)
    order = [ds.feature_names.index(n) for n in names]
    y = None if not need_target or ds.y is None else _labels(ds)
    return ds.X[:, order], y, names


# ------------------------------------------------------------------------------ model
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


def _hidden(text: str) -> list[int]:
    if text.strip() in ("", "none", "0"):
        return []
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--hidden takes widths separated by commas, like 16,8; got {text!r}") from None
    if any(n < 1 for n in sizes):
        raise argparse.ArgumentTypeError(f"hidden widths must be positive, got {text!r}")
    return sizes


# NOTE: the argument types raise ArgumentTypeError with their own message: on a plain
# ValueError argparse would print "invalid _positive value", naming the function.
def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must lie strictly between 0 and 1, got {text!r}")
    return value


def _integer(text: str, low: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < low:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
    return value


def _positive(text: str) -> int:
    return _integer(text, 1, "a positive integer")


def _non_negative(text: str) -> int:
    return _integer(text, 0, "an integer >= 0")


def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


# ------------------------------------------------------------------------------ scores
def classification_scores(model, X, y) -> dict:
    """Accuracy, log-loss and the confusion matrix (rows: true class, columns: predicted)."""
    proba = model.predict_proba(X)
    classes = list(model.classes_) if model.classes_ is not None else sorted(set(y))
    index = {c: i for i, c in enumerate(classes)}
    unknown = sorted({str(v) for v in y if v not in index})
    if unknown:
        raise UsageError(f"labels {unknown[:5]} were not seen in training; the model knows "
                         f"{[str(c) for c in classes]} (the target is the one column besides "
                         "the model's features: is it the right one?)")
    truth = np.array([index[v] for v in y])
    P = np.column_stack([1 - proba, proba]) if proba.ndim == 1 else proba
    predicted = model.predict(X)
    pred_index = np.array([index[v] for v in predicted])
    eps = 1e-15  # log-loss convention: clip so that log(0) never happens
    log_loss = float(-np.mean(np.log(np.clip(P[np.arange(len(truth)), truth], eps, 1))))
    K = len(classes)
    confusion = np.zeros((K, K), dtype=int)
    np.add.at(confusion, (truth, pred_index), 1)
    return {"accuracy": float(np.mean(truth == pred_index)), "log_loss": log_loss,
            "confusion": confusion, "classes": [str(c) for c in classes]}


def regression_scores(model, X, y) -> dict:
    y_hat = model.predict(X)
    y = np.asarray(y, dtype=float)
    mse = float(np.mean((y - y_hat) ** 2))
    total = float(np.sum((y - y.mean()) ** 2))
    return {"mse": mse, "r2": 1 - float(np.sum((y - y_hat) ** 2)) / total if total else np.nan}


def format_scores(scores: dict) -> str:
    if "mse" in scores:
        return f"MSE {scores['mse']:.4g}   R² {scores['r2']:.4f}"
    lines = [f"accuracy {scores['accuracy']:.4f}   log-loss {scores['log_loss']:.4f}",
             "confusion matrix (rows: true class, columns: predicted):"]
    names = scores["classes"]
    width = max(6, *(len(n) for n in names))
    lines.append(" " * (width + 2) + " ".join(f"{n:>{width}}" for n in names))
    for name, row in zip(names, scores["confusion"], strict=True):
        lines.append(f"{name:>{width}}  " + " ".join(f"{v:>{width}d}" for v in row))
    return "\n".join(lines)


def _scores(model, X, y) -> dict:
    if model.output == "identity":
        return regression_scores(model, X, y)
    return classification_scores(model, X, y)


# ------------------------------------------------------------------------------ commands
def cmd_datasets(args) -> int:
    print(f"{'name':15s} {'n':>6s} {'p':>4s}  {'task':11s} classes")
    for row in datasets.info():
        classes = "-" if row.n_classes is None else str(row.n_classes)
        print(f"{row.name:15s} {row.n:6d} {row.p:4d}  {row.task:11s} {classes}")
    print("\nUse one with: dlprimer fit --data NAME (or a CSV file: --data file.csv)")
    return 0


def _optimizer(name: str, lr: float | None):
    cls = getattr(optim, OPTIMIZERS[name])
    if name == "lbfgs":
        if lr is not None:
            raise UsageError("--lr does not apply to --optimizer lbfgs (it chooses its steps)")
        return cls()
    return cls(lr=lr if lr is not None else DEFAULT_LR[name])


def cmd_fit(args) -> int:
    _check_folder(args.out, "--out")  # before training, not after
    if args.report and Path(args.report).exists() and not Path(args.report).is_dir():
        raise UsageError(f"--report {args.report} is a file; the report needs a folder "
                         "(it is created if missing)")
    ds = load_data(args.data, args.target, args.task)
    y = _labels(ds)
    K = ds.n_classes or 1
    model = build_model(args.model, ds.task, ds.X.shape[1], K, args.hidden, args.activation,
                        args.seed)
    optimizer = _optimizer(args.optimizer, args.lr)
    stratify = ds.task != "regression"
    X_train, X_test, y_train, y_test = train_test_split(ds.X, y, args.test_size, stratify,
                                                        args.seed)
    settings = {
        "data": f"{ds.name} ({ds.X.shape[0]} rows, {ds.X.shape[1]} features, {ds.task}"
                + (f", classes {ds.class_names}" if ds.class_names else "") + ")",
        "model": _describe(model),
        "optimizer": repr(optimizer),
        "epochs": f"at most {args.epochs}" + (
            f", early stopping after {args.early_stopping} epochs without validation "
            "improvement" if args.early_stopping else ""),
        "batch size": args.batch_size or "full batch (eq. (31))",
        "split": f"{len(y_train)} train (of which {args.validation_split:g} validation), "
                 f"{len(y_test)} test",
        "standardize": "yes, eq. (13), fit on the training rows",
        "L2 penalty": args.l2,
        "seed": args.seed,
        "output": args.out,
    }
    print("dlprimer fit")
    for key, value in settings.items():
        print(f"  {key:12s} {value}")
    start = time.perf_counter()
    history = fit(model, X_train, y_train, optimizer=optimizer, epochs=args.epochs,
                     batch_size=args.batch_size, validation_split=args.validation_split,
                     seed=args.seed, progress=not args.quiet, standardize=True,
                     early_stopping=args.early_stopping or None, l2=args.l2)
    elapsed = time.perf_counter() - start
    model.feature_names = list(ds.feature_names)
    print(f"trained in {elapsed:.1f} s, {history.epochs} epochs; stopped: {history.stop_reason}")
    print(f"final loss {history.loss[-1]:.4g}"
          + (f", validation loss {history.val_loss[-1]:.4g}" if history.val_loss else ""))
    print(f"held-out test set ({len(y_test)} rows): " + format_scores(
        _scores(model, X_test, y_test)))
    for sentence in _diagnostics(history):
        print(f"  - {sentence}")
    path = save(model, args.out)
    print(f"saved the model to {path}")
    if args.report:
        from dlprimer.report import write_report

        report = write_report(args.report, model, history, X_test, y_test,
                              title=f"dlprimer fit on {ds.name}")
        print(f"wrote the report to {report}")
    return 0


def _diagnostics(history) -> list[str]:
    try:
        from dlprimer.training.diagnose import diagnose
    except ImportError:  # the report front end is optional
        return []
    return diagnose(history)


def _describe(model) -> str:
    if isinstance(model, SigmoidModel):
        return f"Model I, sigmoid: ŷ = σ(b₀ + wᵀx), p = {model.n_features}"
    if isinstance(model, SoftmaxModel):
        return f"Model II, softmax: ŷ = S(b + Wx), K = {model.n_outputs}"
    return (f"Model III, feedforward {model.sizes}, hidden {model.activation}, output "
            f"{model.output}, d = {model.num_parameters()}")


def _load_model(path: str):
    if not Path(path).is_file():
        raise UsageError(f"no model file at {path}; train one with `dlprimer fit --out {path}`")
    return load(path)


def _data_for(model, spec: str, need_target: bool = True):
    """Rows (model feature order) and targets from a CSV or a bundled data set."""
    if _is_csv(spec) or Path(spec).is_file():
        X, y, _ = _features_for(model, spec, need_target)
        return X, y
    ds = datasets.load(spec)
    if model.feature_names and list(ds.feature_names) != list(model.feature_names):
        raise UsageError(f"the model was trained on other features than {spec!r} has")
    return ds.X, _labels(ds)


def cmd_evaluate(args) -> int:
    model = _load_model(args.model)
    X, y = _data_for(model, args.data)
    if y is None:
        raise UsageError(f"{args.data} has no target column to evaluate against")
    print(f"{args.model} on {args.data} ({len(X)} rows):")
    print(format_scores(_scores(model, X, y)))
    if args.summary:
        if not isinstance(model, (SigmoidModel, SoftmaxModel)):
            raise UsageError("--summary (standard errors, p-values) is for Models I and II")
        print(model.summary(X, y))
    return 0


def _check_folder(path, option: str) -> None:
    """Fail before any work where a file cannot be written at ``path``."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{option} {path} is a folder; give a file name, like "
                         f"{path / 'model.safetensors'}")
    if not path.parent.is_dir():
        raise UsageError(f"{option} {path}: folder {path.parent} does not exist; create it "
                         "first or pick another path")


def cmd_predict(args) -> int:
    if args.out:
        _check_folder(args.out, "--out")
    model = _load_model(args.model)
    X, _ = _data_for(model, args.data, need_target=False)
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
    model = _load_model(args.model)
    if args.row is None:
        print(model.explain())
        return 0
    if not args.data:
        raise UsageError("--row needs --data, the file (or bundled set) the row comes from")
    X, _ = _data_for(model, args.data, need_target=False)
    if not 0 <= args.row < len(X):
        raise UsageError(f"--row must lie in 0..{len(X) - 1} for {args.data}, got {args.row}")
    print(model.explain(X[args.row]))
    return 0


# ------------------------------------------------------------------------------ parser
def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dlprimer",
        description="The primer 'Navigating Mathematical Basics: A Primer for Deep Learning in "
                    "Science' made executable: train, evaluate, predict and explain models.")
    parser.add_argument("--debug", action="store_true",
                        help="show Python tracebacks instead of one-line errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("datasets", help="list the bundled data sets")
    p.set_defaults(run=cmd_datasets)

    p = commands.add_parser(
        "fit", help="train a model (no arguments: Model III on breast_cancer)",
        description="Train a model, report its held-out score and save it. With no "
                    "arguments: Model III (16,8 ReLU) on the bundled breast_cancer data.")
    p.add_argument("--data", default="breast_cancer",
                   help="a bundled data set name (see `dlprimer datasets`) or a CSV file "
                        "with a header row (default: breast_cancer)")
    p.add_argument("--target", help="the CSV's target column (default: its last column)")
    p.add_argument("--task", choices=["binary", "multiclass", "regression"], default=None,
                   help="what the CSV's target is (default: inferred; strings or at most 20 "
                        "distinct integers are classes, other numbers regression)")
    p.add_argument("--model", choices=["sigmoid", "softmax", "feedforward"],
                   default="feedforward",
                   help="sigmoid = Model I (two classes), softmax = Model II, feedforward = "
                        "Model III (default: feedforward)")
    p.add_argument("--hidden", type=_hidden, default=[16, 8],
                   help="Model III's hidden layer widths, comma-separated (default: 16,8)")
    p.add_argument("--activation", choices=["relu", "sigmoid", "tanh"], default="relu",
                   help="Model III's hidden activation (default: relu)")
    p.add_argument("--optimizer", choices=list(OPTIMIZERS), default="adam",
                   help="gd = gradient descent eq. (31), sgd = with momentum 0, adam, lbfgs "
                        "(full batch; Models I and II) (default: adam)")
    p.add_argument("--lr", type=_finite, default=None,
                   help="learning rate α, a positive number (default: 0.001 for adam, 0.1 "
                        "for gd, 0.05 for sgd)")
    p.add_argument("--epochs", type=_positive, default=200,
                   help="most passes over the training rows (default: 200)")
    p.add_argument("--batch-size", type=_positive, default=32,
                   help="rows per gradient step; a number at least n gives full-batch "
                        "gradient descent (default: 32)")
    p.add_argument("--validation-split", type=_fraction, default=0.2,
                   help="fraction of the training rows held out to watch overfitting, in "
                        "(0, 1) (default: 0.2)")
    p.add_argument("--test-size", type=_fraction, default=0.25,
                   help="fraction of all rows kept aside for the final score (default: 0.25)")
    p.add_argument("--early-stopping", type=_non_negative, default=10, metavar="PATIENCE",
                   help="stop after this many epochs without validation improvement and "
                        "keep the best weights; 0 turns it off (default: 10)")
    p.add_argument("--l2", type=_finite, default=0.0,
                   help="L2 penalty (l2/2)·Σ‖W‖² on the weights, ≥ 0; helps when classes are "
                        "separable, e.g. with --optimizer lbfgs (default: 0)")
    p.add_argument("--seed", type=_non_negative, default=0,
                   help="seed for splits, shuffling and initial weights (default: 0)")
    p.add_argument("--out", default="model.safetensors",
                   help="where to save the model (default: model.safetensors)")
    p.add_argument("--report", metavar="DIR",
                   help="also write report.html and figures (PNG) into this folder")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=cmd_fit)

    p = commands.add_parser("evaluate", help="score a saved model on labelled data",
                            description="Accuracy, log-loss and confusion matrix "
                                        "(classifiers); MSE and R² (regressors).")
    p.add_argument("model", help="a model file written by `dlprimer fit`")
    p.add_argument("--data", required=True,
                   help="a CSV with the model's feature columns and the target column, or a "
                        "bundled data set name")
    p.add_argument("--summary", action="store_true",
                   help="Models I and II: estimates, standard errors, z, p-values, 95%% CIs")
    p.set_defaults(run=cmd_evaluate)

    p = commands.add_parser("predict", help="predict with a saved model",
                            description="Write the predicted label and, for classifiers, "
                                        "each class's probability, one row per input row.")
    p.add_argument("model", help="a model file written by `dlprimer fit`")
    p.add_argument("--data", required=True,
                   help="a CSV with the model's feature columns (a target column is ignored)")
    p.add_argument("--out", help="CSV file to write (default: print to the terminal)")
    p.set_defaults(run=cmd_predict)

    p = commands.add_parser("explain", help="show a model in the primer's notation",
                            description="The model's equations with their dimensions; with "
                                        "--row, every step of the computation for one row.")
    p.add_argument("model", help="a model file written by `dlprimer fit`")
    p.add_argument("--data", help="CSV or bundled data set holding the row to explain")
    p.add_argument("--row", type=int, help="0-based row number in --data")
    p.set_defaults(run=cmd_explain)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one plain line, without Python's file and line."""
    print(f"dlprimer: warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    if not args.debug:
        warnings.showwarning = _show_warning
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError, TypeError, FloatingPointError, OSError) as err:
        if args.debug:
            raise
        print(f"dlprimer {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
