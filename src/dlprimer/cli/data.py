"""Where the command's rows come from: bundled data sets and CSV files, in a saved model's
feature order, and the one error type for the command line's arguments and files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from dlprimer.data import datasets
from dlprimer.io import load

__all__ = ["UsageError", "check_folder", "data_for", "features_for", "is_csv", "labels",
           "load_data", "load_model"]


class UsageError(ValueError):
    """A problem with the command line's arguments or files."""


def is_csv(spec: str) -> bool:
    """Whether ``spec`` names a file (by its extension or a folder in it), not a bundled set."""
    return spec.lower().endswith((".csv", ".tsv", ".txt")) or os.path.sep in spec


def load_data(spec: str, target: str | None = None, task: str | None = None
              ) -> datasets.Dataset:
    """A bundled data set by name, or a CSV file (target column: ``target`` or the last;
    task inferred unless ``task`` says it)."""
    if is_csv(spec) or Path(spec).is_file():
        return datasets.read_csv(spec, target=target, task=task)
    for option, value in (("--target", target), ("--task", task)):
        if value is not None:
            raise UsageError(f"{option} applies to CSV files; {spec!r} is a bundled data set")
    return datasets.load(spec)


def labels(ds: datasets.Dataset) -> np.ndarray:
    """Targets as the user knows them: class names for classification, numbers otherwise."""
    if ds.class_names is None:
        return ds.y
    return np.asarray(ds.class_names)[ds.y]


def features_for(model, path: str, need_target: bool = True
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
    y = None if not need_target or ds.y is None else labels(ds)
    return ds.X[:, order], y, names


def load_model(path: str):
    """The model saved at ``path``, or a UsageError saying how to make one."""
    if not Path(path).is_file():
        raise UsageError(f"no model file at {path}; train one with `dlprimer fit --out {path}`")
    return load(path)


def data_for(model, spec: str, need_target: bool = True):
    """Rows (model feature order) and targets from a CSV or a bundled data set."""
    if is_csv(spec) or Path(spec).is_file():
        X, y, _ = features_for(model, spec, need_target)
        return X, y
    ds = datasets.load(spec)
    if model.feature_names and list(ds.feature_names) != list(model.feature_names):
        raise UsageError(f"the model was trained on other features than {spec!r} has")
    return ds.X, labels(ds)


def check_folder(path, option: str) -> None:
    """Fail before any work where a file cannot be written at ``path``."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{option} {path} is a folder; give a file name, like "
                         f"{path / 'model.safetensors'}")
    if not path.parent.is_dir():
        raise UsageError(f"{option} {path}: folder {path.parent} does not exist; create it "
                         "first or pick another path")
