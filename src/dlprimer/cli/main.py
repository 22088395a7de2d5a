"""The ``dlprimer`` command: train, evaluate, predict and explain from a terminal.

    dlprimer datasets                          the bundled data sets
    dlprimer fit                               Model III on breast_cancer (the main job)
    dlprimer fit --data my.csv --target y      your own CSV
    dlprimer evaluate model.safetensors --data my.csv
    dlprimer predict model.safetensors --data new.csv --out predictions.csv
    dlprimer explain model.safetensors [--data my.csv --row 0]
    dlprimer playground [--data my.csv --target y]   train in the browser

A thin front end: it parses, calls the library, and prints. Errors print one line and exit
with status 2; ``--debug`` shows the traceback instead.

This module holds the parser, ``main`` and ``fit`` (the main job); the other commands are in
``cli.commands``, the rows in ``cli.data``, the scores in ``cli.scores`` and the option types
in ``cli.arguments``.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
import warnings

import numpy as np

import dlprimer.optim as optim
from dlprimer.cli.arguments import (
    hidden_widths,
    learning_rate,
    non_negative,
    penalty,
    positive,
    share,
)
from dlprimer.cli.cluster import cmd_fit_cluster, wants_cluster
from dlprimer.cli.commands import (
    build_model,
    check_memory,
    cmd_datasets,
    cmd_evaluate,
    cmd_explain,
    cmd_predict,
    describe,
    diagnostics,
    layer_widths,
)
from dlprimer.cli.data import (
    UsageError,
    check_folder,
    check_outputs,
    check_report,
    is_file_spec,
    load_table,
    split_rows,
)
from dlprimer.cli.playground import add_parser as add_playground
from dlprimer.cli.scores import format_scores, scores
from dlprimer.data.preprocess import Preprocessor
from dlprimer.io import save
from dlprimer.training import fit

__all__ = ["main", "make_parser"]


def _optimizer(name: str, lr: float | None):
    if name == "lbfgs" and lr is not None:  # by_name would refuse too; this names the flags
        raise UsageError("--lr does not apply to --optimizer lbfgs (it chooses its steps)")
    return optim.by_name(name, lr)


def _columns(text: str | None) -> list[str]:
    return [] if not text else [c.strip() for c in text.split(",") if c.strip()]


def _resolve(args) -> None:
    """Defaults that depend on the optimizer: L-BFGS (full batch, to convergence) holds no
    rows out for validation and never stops early unless asked."""
    lbfgs = args.optimizer == "lbfgs"
    if args.validation_split is None:
        args.validation_split = 0.0 if lbfgs else 0.2
    if args.early_stopping is None:
        args.early_stopping = 0 if lbfgs else 10
    if args.summary and args.model == "feedforward":
        raise UsageError("--summary (standard errors, p-values) covers --model sigmoid and "
                         "softmax; a network's parameters have no standard errors of this kind")


def cmd_fit(args) -> int:
    # every output checked before training, not after
    check_outputs({"--out": args.out},
                  {"--data": args.data if is_file_spec(args.data) else None}, args.report)
    check_folder(args.out, "--out")
    if args.report:
        check_report(args.report)
    _resolve(args)
    if wants_cluster(args):
        return cmd_fit_cluster(args)
    table = load_table(args.data, args.target, args.task)
    pre = Preprocessor(drop=_columns(args.drop), id=args.id, features=_columns(args.features)
                       or None, standardize=True,
                       drop_first=args.model in ("sigmoid", "softmax"))
    try:
        pre.check_columns(table.feature_names)  # every bad name at once, before any work
    except ValueError as err:
        raise UsageError(str(err)) from None
    y = table.y
    stratify = table.task != "regression"
    parts = split_rows(y, args.test_size, args.validation_split, stratify, args.seed)
    X_fit, y_fit = table.X.iloc[parts["fit"]], y[parts["fit"]]
    X_val, y_val = table.X.iloc[parts["validation"]], y[parts["validation"]]
    X_test, y_test = table.X.iloc[parts["test"]], y[parts["test"]]
    try:
        pre.fit(X_fit)
    except ValueError as err:
        raise UsageError(f"{table.name}: {err}") from None
    K = len(table.class_names or ()) or 1
    full = args.optimizer == "lbfgs" or not args.batch_size
    batch = len(y_fit) if full else min(args.batch_size, len(y_fit))
    widths = layer_widths(args.model, table.task, pre.n_features_out_, K, args.hidden)
    # before anything is allocated; validation and test rows go through in one pass
    check_memory(widths, len(y), max(batch, len(y_val), len(y_test)), 8 if args.summary else 4)
    model = build_model(args.model, table.task, pre.n_features_out_, K, args.hidden,
                        args.activation, args.seed, dtype=np.float64 if args.summary
                        else np.float32)  # inference wants θ̂ to more digits
    optimizer = _optimizer(args.optimizer, args.lr)
    origin = provenance(table, args, parts)
    settings = {
        "data": f"{table.name} ({table.n_read} rows, {len(table.feature_names)} columns, "
                f"{table.task}" + (f", classes {table.class_names}" if table.class_names
                                   else "") + ")",
        "model": describe(model),
        "optimizer": repr(optimizer),
        "epochs": f"at most {args.epochs}" + (
            f", early stopping after {args.early_stopping} epochs without "
            f"{'validation ' if args.validation_split else ''}improvement"
            if args.early_stopping else ""),
        "batch size": ("full batch" if args.optimizer == "lbfgs"
                       else args.batch_size or "full batch (eq. (31))"),
        "split": f"{len(parts['fit'])} fit, {len(parts['validation'])} validation, "
                 f"{len(parts['test'])} test (seed {args.seed})",
        "standardize": "yes, eq. (13), fit on the fit rows",
        "L2 penalty": args.l2,
        "output": args.out,
    }
    print("dlprimer fit")
    for key, value in settings.items():
        print(f"  {key:12s} {value}")
    if table.dropped:
        print(f"left out {table.dropped} row(s) whose target {table.target!r} is missing")
    print("columns:")
    print("  " + pre.describe().replace("\n", "\n  "))
    start = time.perf_counter()
    history = fit(model, X_fit, y_fit, optimizer=optimizer, epochs=args.epochs,
                  batch_size=args.batch_size,
                  validation_data=(X_val, y_val) if len(y_val) else None,
                  seed=args.seed, progress=not args.quiet, preprocessor=pre,
                  early_stopping=args.early_stopping or None, l2=args.l2)
    elapsed = time.perf_counter() - start
    model.provenance = origin
    path = save(model, args.out)  # saved before the printouts: a failing one loses nothing
    print(f"trained in {elapsed:.1f} s, {history.epochs} epochs; stopped: {history.stop_reason}")
    print(f"final loss {history.loss[-1]:.4g}"
          + (f", validation loss {history.val_loss[-1]:.4g}" if history.val_loss else ""))
    if len(y_test):
        print(f"held-out test set ({len(y_test)} rows): " + format_scores(
            scores(model, X_test, y_test)))
    elif args.test_size == 0:
        print("no test rows were held out (--test-size 0): no held-out score")
    else:
        print(f"no test rows were held out: {len(y)} rows are too few for --test-size "
              f"{args.test_size} to hold out a row of a class (stratified): no held-out score")
    for sentence in diagnostics(history):
        print(f"  - {sentence}")
    summary = None
    if args.summary:
        summary = model.summary(X_fit, y_fit)  # exactly the rows the model was fit on
        print(summary)
    elif args.report and getattr(model, "identifiable", False):
        with warnings.catch_warnings():  # the report's table carries them as its notes
            warnings.simplefilter("ignore")
            summary = model.summary(X_fit, y_fit)
    print(f"saved the model to {path}")
    if args.report:
        from dlprimer.report import write_report

        report = write_report(args.report, model, history, X_test if len(y_test) else X_fit,
                              y_test if len(y_test) else y_fit,
                              title=f"dlprimer fit on {table.name}",
                              settings={k: str(v) for k, v in settings.items()},
                              provenance={k: str(v) for k, v in origin.items()},
                              summary=summary, y_train=y_fit)
        print(f"wrote the report to {report}")
    return 0


def provenance(table, args, parts: dict) -> dict:
    """What identifies the training rows again: the data's hash and rows, the split."""
    return {"source": str(table.path), "sha256": table.sha256, "rows_read": table.n_read,
            "rows_dropped": table.dropped, "target": table.target, "task": table.task,
            "test_size": args.test_size, "validation_split": args.validation_split,
            "seed": args.seed, "stratified": table.task != "regression",
            "rows": {name: int(len(idx)) for name, idx in parts.items()}}


def usage_error(prog: str, message: str) -> str:
    """An argument error as the command's other errors: one line, then a hint."""
    return f"{prog}: error: {message}\n  (see {prog} --help)\n"


class _Parser(argparse.ArgumentParser):
    """argparse, but an error prints one line and a hint, not the whole usage block.
    (Sub-commands' parsers are of this class too: add_subparsers uses the parent's.)"""

    def error(self, message: str):
        self.exit(2, usage_error(self.prog, message))


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="dlprimer",
        description="The primer 'Navigating Mathematical Basics: A Primer for Deep Learning in "
                    "Science' made executable: train, evaluate, predict and explain models.")
    parser.add_argument("--debug", action="store_true",
                        help="show Python tracebacks instead of one-line errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("datasets", help="list the bundled data sets")
    p.set_defaults(run=cmd_datasets, prog=p.prog)

    p = commands.add_parser(
        "fit", help="train a model (no arguments: Model III on breast_cancer)",
        description="Train a model, report its held-out score and save it. With no "
                    "arguments: Model III (16,8 ReLU) on the bundled breast_cancer data.")
    p.add_argument("--data", default="breast_cancer",
                   help="a bundled data set name (see `dlprimer datasets`), a CSV or "
                        "Parquet file with a header row, or a glob of CSV parts like "
                        "'parts/*.csv' (trained on Dask) (default: breast_cancer)")
    p.add_argument("--target", help="the file's target column (default: its last column); "
                                    "rows where it is missing are left out")
    p.add_argument("--drop", metavar="COLS",
                   help="columns never to use, comma-separated")
    p.add_argument("--id", metavar="COL",
                   help="the row identifier column: never a feature, written first by "
                        "`dlprimer predict`")
    p.add_argument("--features", metavar="COLS",
                   help="use only these columns as features, comma-separated (default: "
                        "every usable column)")
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
    p.add_argument("--lr", type=learning_rate, default=None,
                   help="learning rate α, a positive number (default: 0.001 for adam, 0.1 "
                        "for gd, 0.05 for sgd)")
    p.add_argument("--epochs", type=positive, default=200,
                   help="most passes over the training rows (default: 200)")
    p.add_argument("--batch-size", type=positive, default=32,
                   help="rows per gradient step; a number at least n gives full-batch "
                        "gradient descent (default: 32)")
    p.add_argument("--validation-split", type=share, default=None,
                   help="fraction of the training rows held out to watch overfitting, in "
                        "[0, 1); 0 holds none (default: 0.2; 0 with --optimizer lbfgs)")
    p.add_argument("--test-size", type=share, default=0.25,
                   help="fraction of all rows kept aside for the final score, in [0, 1); "
                        "0 fits on every row (default: 0.25)")
    p.add_argument("--early-stopping", type=non_negative, default=None, metavar="PATIENCE",
                   help="stop after this many epochs without validation improvement and "
                        "keep the best weights; 0 turns it off (default: 10; off with "
                        "--optimizer lbfgs)")
    p.add_argument("--l2", type=penalty, default=0.0,
                   help="L2 penalty (l2/2)·Σ‖W‖² on the weights, ≥ 0; helps when classes are "
                        "separable, e.g. with --optimizer lbfgs (default: 0)")
    p.add_argument("--seed", type=non_negative, default=0,
                   help="seed for splits, shuffling and initial weights (default: 0)")
    p.add_argument("--out", default="model.safetensors",
                   help="where to save the model (default: model.safetensors)")
    p.add_argument("--report", metavar="DIR",
                   help="also write report.html and figures (PNG) into this folder")
    p.add_argument("--summary", action="store_true",
                   help="Models I and II: estimates, standard errors, z, p-values and 95%% "
                        "CIs per unit of each feature, on exactly the rows the model was fit "
                        "on (use with --optimizer lbfgs)")
    p.add_argument("--workers", type=positive, metavar="N",
                   help="train on a local Dask cluster of N worker processes (the rows stay "
                        "with the workers; full batch is exact); needs dlprimer[dask]")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="train on a running Dask cluster, e.g. tcp://host:8786")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=cmd_fit, prog=p.prog)

    p = commands.add_parser("evaluate", help="score a saved model on labelled data",
                            description="Accuracy, log-loss and confusion matrix "
                                        "(classifiers); MSE and R² (regressors).")
    p.add_argument("model", help="a model file written by `dlprimer fit`")
    p.add_argument("--data", required=True,
                   help="a CSV or Parquet file with the model's columns and the target, or "
                        "a bundled data set name; on the file the model was fit on, only its "
                        "held-out test rows are scored")
    p.add_argument("--target", help="the target column (default: the one the model was fit "
                                    "with, else the last column)")
    p.add_argument("--summary", action="store_true",
                   help="Models I and II: estimates, standard errors, z, p-values, 95%% CIs, "
                        "on the rows the model was fit on (needs the file it was fit on)")
    p.set_defaults(run=cmd_evaluate, prog=p.prog)

    p = commands.add_parser("predict", help="predict with a saved model",
                            description="Write the predicted label and, for classifiers, "
                                        "each class's probability, one row per input row.")
    p.add_argument("model", help="a model file written by `dlprimer fit`")
    p.add_argument("--data", required=True,
                   help="a CSV or Parquet file with the model's columns (others are "
                        "ignored; missing cells are imputed as in training)")
    p.add_argument("--out", help="CSV file to write (default: print to the terminal)")
    p.set_defaults(run=cmd_predict, prog=p.prog)

    p = commands.add_parser("explain", help="show a model in the primer's notation",
                            description="The model's equations with their dimensions; with "
                                        "--row, every step of the computation for one row.")
    p.add_argument("model", help="a model file written by `dlprimer fit`")
    p.add_argument("--data", help="CSV or bundled data set holding the row to explain")
    p.add_argument("--row", type=int, help="0-based row number in --data")
    p.set_defaults(run=cmd_explain, prog=p.prog)

    add_playground(commands)  # dlprimer playground: cli/playground.py
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one plain line, without Python's file and line."""
    print(f"dlprimer: warning: {message}", file=sys.stderr)


def _plain_streams() -> None:
    """Where the terminal's encoding cannot show the output (PYTHONIOENCODING=ascii, LANG=C
    on an old system), write what it cannot encode as escapes (α → \\u03b1) instead of
    failing: a print must never lose a trained model."""
    for stream in (sys.stdout, sys.stderr):
        encoding = getattr(stream, "encoding", None) or "ascii"
        try:
            "θ̂ α ∇ ≥ ² ‖ — █".encode(encoding)
        except (UnicodeError, LookupError):
            try:
                stream.reconfigure(errors="backslashreplace")
            except (AttributeError, ValueError, OSError):  # not a TextIOWrapper
                pass


def _message(err: BaseException) -> str:
    """One error as the text after "error:"; later lines indented under the first."""
    if isinstance(err, MemoryError):
        text = (f"out of memory: the data or the model is too large for this machine "
                f"({err or 'no details'}); use fewer rows or columns, smaller --hidden "
                "widths or --batch-size")
    elif isinstance(err, RecursionError):
        text = f"a structure nested too deeply to handle ({err})"
    elif isinstance(err, OSError) and err.strerror and str(err).startswith("[Errno"):
        text = f"{err.filename}: {err.strerror}" if err.filename else err.strerror
    elif isinstance(err, UnicodeError):
        text = f"a file's text cannot be read or written in its encoding ({err})"
    else:
        text = str(err) or type(err).__name__
    return text.strip().replace("\n", "\n  ")


# What a bad file, option or machine can raise: each becomes one line, never a traceback.
_EXPECTED = (ValueError, OSError, TypeError, ArithmeticError, csv.Error, MemoryError,
             RecursionError, ImportError)


def main(argv: list[str] | None = None) -> int:
    _plain_streams()
    parser = make_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # named by the sub-command, as argparse's other errors are
        sys.stderr.write(usage_error(args.prog, f"unrecognized arguments: {' '.join(extra)}"))
        return 2
    if not args.debug:
        warnings.showwarning = _show_warning
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `dlprimer predict ... | head`: the reader has gone
        try:  # so that the final flush at exit does not fail too
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 1
    except Exception as err:
        if args.debug:
            raise
        text = _message(err)
        if not isinstance(err, _EXPECTED):  # a bug, most likely: say what it was
            text = (f"unexpected {type(err).__name__}: {text} (run with --debug for the "
                    "traceback, and please report it)")
        print(f"dlprimer {args.command}: error: {text}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
