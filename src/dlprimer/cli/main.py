"""The ``dlprimer`` command: train, evaluate, predict and explain from a terminal.

    dlprimer datasets                          the bundled data sets
    dlprimer fit                               Model III on breast_cancer (the main job)
    dlprimer fit --data my.csv --target y      your own CSV
    dlprimer evaluate model.safetensors --data my.csv
    dlprimer predict model.safetensors --data new.csv --out predictions.csv
    dlprimer explain model.safetensors [--data my.csv --row 0]

A thin front end: it parses, calls the library, and prints. Errors print one line and exit
with status 2; ``--debug`` shows the traceback instead.

This module holds the parser, ``main`` and ``fit`` (the main job); the other commands are in
``cli.commands``, the rows in ``cli.data``, the scores in ``cli.scores`` and the option types
in ``cli.arguments``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import dlprimer.optim as optim
from dlprimer.cli.arguments import finite, fraction, hidden_widths, non_negative, positive
from dlprimer.cli.commands import (
    build_model,
    cmd_datasets,
    cmd_evaluate,
    cmd_explain,
    cmd_predict,
    describe,
    diagnostics,
)
from dlprimer.cli.data import UsageError, check_folder, labels, load_data
from dlprimer.cli.scores import format_scores, scores
from dlprimer.data import train_test_split
from dlprimer.io import save
from dlprimer.training import fit

__all__ = ["main", "make_parser"]


def _optimizer(name: str, lr: float | None):
    if name == "lbfgs" and lr is not None:  # by_name would refuse too; this names the flags
        raise UsageError("--lr does not apply to --optimizer lbfgs (it chooses its steps)")
    return optim.by_name(name, lr)


def cmd_fit(args) -> int:
    check_folder(args.out, "--out")  # before training, not after
    if args.report and Path(args.report).exists() and not Path(args.report).is_dir():
        raise UsageError(f"--report {args.report} is a file; the report needs a folder "
                         "(it is created if missing)")
    ds = load_data(args.data, args.target, args.task)
    y = labels(ds)
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
        "model": describe(model),
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
        scores(model, X_test, y_test)))
    for sentence in diagnostics(history):
        print(f"  - {sentence}")
    path = save(model, args.out)
    print(f"saved the model to {path}")
    if args.report:
        from dlprimer.report import write_report

        report = write_report(args.report, model, history, X_test, y_test,
                              title=f"dlprimer fit on {ds.name}")
        print(f"wrote the report to {report}")
    return 0


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
    p.add_argument("--hidden", type=hidden_widths, default=[16, 8],
                   help="Model III's hidden layer widths, comma-separated (default: 16,8)")
    p.add_argument("--activation", choices=["relu", "sigmoid", "tanh"], default="relu",
                   help="Model III's hidden activation (default: relu)")
    p.add_argument("--optimizer", choices=list(optim.NAMES), default="adam",
                   help="gd = gradient descent eq. (31), sgd = with momentum 0, adam, lbfgs "
                        "(full batch; Models I and II) (default: adam)")
    p.add_argument("--lr", type=finite, default=None,
                   help="learning rate α, a positive number (default: 0.001 for adam, 0.1 "
                        "for gd, 0.05 for sgd)")
    p.add_argument("--epochs", type=positive, default=200,
                   help="most passes over the training rows (default: 200)")
    p.add_argument("--batch-size", type=positive, default=32,
                   help="rows per gradient step; a number at least n gives full-batch "
                        "gradient descent (default: 32)")
    p.add_argument("--validation-split", type=fraction, default=0.2,
                   help="fraction of the training rows held out to watch overfitting, in "
                        "(0, 1) (default: 0.2)")
    p.add_argument("--test-size", type=fraction, default=0.25,
                   help="fraction of all rows kept aside for the final score (default: 0.25)")
    p.add_argument("--early-stopping", type=non_negative, default=10, metavar="PATIENCE",
                   help="stop after this many epochs without validation improvement and "
                        "keep the best weights; 0 turns it off (default: 10)")
    p.add_argument("--l2", type=finite, default=0.0,
                   help="L2 penalty (l2/2)·Σ‖W‖² on the weights, ≥ 0; helps when classes are "
                        "separable, e.g. with --optimizer lbfgs (default: 0)")
    p.add_argument("--seed", type=non_negative, default=0,
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
