"""Where the command's rows come from: bundled data sets and files read as raw tables, the
split into fit / validation / test rows and how it is found again, and the one error type
for the command line's arguments and files."""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import os
from pathlib import Path

import numpy as np

from dlprimer.data import datasets, reading
from dlprimer.data.files import check_writable
from dlprimer.data.tables import train_test_split
from dlprimer.io import load

__all__ = ["REPORT_FILES", "UsageError", "check_folder", "check_outputs", "check_report",
           "is_file_spec", "labels", "load_model", "load_table", "same_data", "same_file",
           "split_rows", "table_for"]

#: The names ``--report DIR`` writes in DIR (``dlprimer.report.write_report``).
REPORT_FILES = ("report.html", "*.png")


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
    try:
        if test_size > 0:
            train, test, _, _ = train_test_split(rows, y, test_size, stratify, seed)
        fit, validation = train, empty
        if validation_split > 0:
            fit, validation, _, _ = train_test_split(train, y[train], validation_split,
                                                     stratify, seed)
    except ValueError:  # "cannot split n sample(s)": too few rows for the fractions
        raise UsageError(
            f"{len(y)} row(s) are too few to split by --test-size {test_size} and "
            f"--validation-split {validation_split}: no row would be left to fit on; pass "
            "--test-size 0 --validation-split 0 to fit on every row (no held-out score), or "
            "give more rows") from None
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
    elif model.preprocessor is None and model.n_features is not None:
        table = _by_position(model, table, spec)
    return table


def _by_position(model, table: reading.Table, spec: str) -> reading.Table:
    """The columns for a model fit on an unnamed matrix, which takes them by position: exactly
    its p columns (the target it was fit with, where the provenance names it, set aside)."""
    p, names = model.n_features, table.feature_names
    target = (model.provenance or {}).get("target")
    if len(names) == p + 1 and target in names:
        return dataclasses.replace(table, X=table.X.drop(columns=[target]))
    if len(names) == p:
        return table
    hint = (" (is one of them the target? leave it out of the file)" if len(names) == p + 1
            else "")
    raise UsageError(f"the model was fit on an unnamed matrix of {p} column(s), so it takes "
                     f"columns by position; {spec} has {len(names)} ({', '.join(names[:10])}"
                     f"{' ...' if len(names) > 10 else ''}): give exactly its {p} feature "
                     f"columns, in the order of training{hint}")


def load_model(path: str):
    """The model saved at ``path``, or a UsageError saying how to make one."""
    if Path(path).is_dir():
        raise UsageError(f"{path} is a folder, not a model file; give the file written by "
                         "`dlprimer fit --out`")
    if not Path(path).is_file():
        raise UsageError(f"no model file at {path}; train one with `dlprimer fit --out {path}`")
    return load(path)


def same_file(a, b) -> bool:
    """Whether two paths name one file: the same path once symlinks, ``.`` and ``..`` are
    resolved, or the same inode (a hard link)."""
    a, b = Path(a), Path(b)
    try:
        if a.exists() and b.exists() and os.path.samefile(a, b):
            return True
        return a.resolve() == b.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop
        return False


def _report_names(folder: Path, path: Path) -> bool:
    """Whether ``path`` is a file that ``--report folder`` writes."""
    return (any(fnmatch.fnmatch(path.name.lower(), name) for name in REPORT_FILES)
            and same_file(path.parent, folder))


def check_outputs(outputs: dict[str, str | None], inputs: dict[str, str | None],
                  report: str | None = None) -> None:
    """Refuse, before any work, an output that would overwrite one of the command's inputs
    or another output: the same path in any spelling (``./m`` and ``m``), through a symlink,
    or a hard link to the same inode. ``report`` is the folder ``--report`` writes
    REPORT_FILES into; each option maps to its path (None where not given)."""
    sources = {option: Path(path) for option, path in inputs.items()
               if path and Path(path).exists()}
    for out_option, out in outputs.items():
        if not out:
            continue
        for option, source in sources.items():
            if same_file(out, source):
                raise UsageError(f"{out_option} {out} is {option} {source}, one of this "
                                 f"command's inputs; writing it would overwrite that file: "
                                 f"give {out_option} another path")
    if not report:
        return
    folder = Path(report)
    written = [path for path in folder.iterdir()
               if any(fnmatch.fnmatch(path.name.lower(), n) for n in REPORT_FILES)] \
        if folder.is_dir() else []
    named = {**sources, **{o: Path(p) for o, p in outputs.items() if p}}
    for option, path in named.items():
        if _report_names(folder, path) or any(same_file(path, w) for w in written):
            raise UsageError(f"--report {report} writes report.html and PNG figures there, "
                             f"which would overwrite {option} {path}: give --report another "
                             "folder")


def _writable(path: Path, option: str, make_parents: bool = False) -> None:
    """A UsageError naming the option where ``path`` cannot be written (a probe file is
    made and removed: permissions, ACLs and read-only disks all answer)."""
    try:
        check_writable(path, make_parents=make_parents)
    except OSError as err:
        raise UsageError(f"{option}: {err.strerror or err}") from None


def check_folder(path, option: str) -> None:
    """Fail before any work where a file cannot be written at ``path``."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{option} {path} is a folder; give a file name, like "
                         f"{path / 'model.safetensors'}")
    if not path.parent.is_dir():
        raise UsageError(f"{option} {path}: folder {path.parent} does not exist; create it "
                         "first or pick another path")
    _writable(path, option)


def check_report(folder) -> None:
    """Fail before any work where ``--report folder`` cannot be made and written."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--report {folder} is a file; the report needs a folder (it is "
                         "created if missing)")
    existing = next(p for p in (folder, *folder.absolute().parents) if p.exists())
    if not existing.is_dir():
        raise UsageError(f"--report {folder}: {existing} is a file, so the folder cannot be "
                         "created; pick another folder")
    _writable(folder / "report.html", "--report", make_parents=True)
