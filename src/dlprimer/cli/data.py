"""Where the command's rows come from: bundled data sets and files read as raw tables, the
split into fit / validation / test rows and how it is found again, and the one error type
for the command line's arguments and files."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from dlprimer.data import datasets, reading
from dlprimer.data.tables import train_test_split
from dlprimer.io import load

__all__ = ["UsageError", "check_folder", "is_file_spec", "labels", "load_model", "load_table",
           "same_data", "split_rows", "table_for"]


class UsageError(ValueError):
    """A problem with the command line's arguments or files."""


def is_file_spec(spec: str) -> bool:
    """Whether ``spec`` names a file (by its extension or a folder in it), not a bundled set."""
    return (spec.lower().endswith((".csv", ".tsv", ".txt", ".parquet", ".pq"))
            or os.path.sep in spec or Path(spec).is_file())


def labels(ds: datasets.Dataset) -> np.ndarray:
    """Targets as the user knows them: class names for classification, numbers otherwise."""
    if ds.class_names is None:
        return ds.y
    return np.asarray(ds.class_names)[ds.y]


def _bundled(name: str) -> reading.Table:
    """A bundled data set as a Table of raw columns, like a file would give."""
    import pandas as pd

    ds = datasets.load(name)
    y = labels(ds)
    digest = hashlib.sha256(ds.X.tobytes() + np.asarray(y).astype(str).tobytes()).hexdigest()
    return reading.Table(
        X=pd.DataFrame(ds.X, columns=ds.feature_names), y=y, target="target", task=ds.task,
        class_names=ds.class_names, name=ds.name, path=Path(ds.name), sha256=digest,
        n_read=len(ds.X), dropped=0, rows=np.arange(len(ds.X)))


def load_table(spec: str, target: str | None = None, task: str | None = None,
               require_target: bool = True) -> reading.Table:
    """A bundled data set by name, or a CSV / Parquet file (target column: ``target`` or
    the last; task inferred unless ``task`` says it)."""
    if is_file_spec(spec):
        return reading.read_csv(spec, target=target, task=task, require_target=require_target)
    for option, value in (("--target", target), ("--task", task)):
        if value is not None:
            raise UsageError(f"{option} applies to files; {spec!r} is a bundled data set")
    return _bundled(spec)


def split_rows(y: np.ndarray, test_size: float, validation_split: float, stratify: bool,
               seed: int) -> dict[str, np.ndarray]:
    """Row positions of the fit, validation and test parts: test first from all rows, then
    validation from the rest; a fraction of 0 leaves that part empty. The same y, fractions
    and seed give the same parts, which is how ``evaluate`` finds the test rows again."""
    rows = np.arange(len(y))
    empty = np.array([], dtype=np.int64)
    train, test = rows, empty
    if test_size > 0:
        train, test, _, _ = train_test_split(rows, y, test_size, stratify, seed)
    fit, validation = train, empty
    if validation_split > 0:
        fit, validation, _, _ = train_test_split(train, y[train], validation_split, stratify,
                                                 seed)
    return {"fit": np.sort(fit), "validation": np.sort(validation), "test": np.sort(test)}


def same_data(model, table: reading.Table) -> bool:
    """Whether ``table`` is the data the model was fit on (same bytes, same target)."""
    origin = model.provenance or {}
    return origin.get("sha256") == table.sha256 and origin.get("target") == table.target


def table_for(model, spec: str, target: str | None = None,
              need_target: bool = True) -> reading.Table:
    """The rows of ``spec`` for a saved model: its target column is the one it was fit
    with unless ``target`` says otherwise; without ``need_target`` a file may lack it."""
    if not need_target:  # every column is read; the model takes the ones it was fit on
        table = load_table(spec, require_target=False) if is_file_spec(spec) else _bundled(spec)
    else:
        if target is None and is_file_spec(spec):
            target = (model.provenance or {}).get("target")
        table = load_table(spec, target=target if is_file_spec(spec) else None)
    needed = model.feature_names if model.preprocessor is None else \
        model.preprocessor.used_columns
    if needed:
        missing = [n for n in needed if n not in table.feature_names]
        if missing:
            raise UsageError(f"{spec} lacks the model's feature column(s) {missing[:10]}; it "
                             f"has {table.feature_names[:20]}")
    return table


def load_model(path: str):
    """The model saved at ``path``, or a UsageError saying how to make one."""
    if not Path(path).is_file():
        raise UsageError(f"no model file at {path}; train one with `dlprimer fit --out {path}`")
    return load(path)


def check_folder(path, option: str) -> None:
    """Fail before any work where a file cannot be written at ``path``."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{option} {path} is a folder; give a file name, like "
                         f"{path / 'model.safetensors'}")
    if not path.parent.is_dir():
        raise UsageError(f"{option} {path}: folder {path.parent} does not exist; create it "
                         "first or pick another path")
