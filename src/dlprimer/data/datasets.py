"""Real data sets to train on: five bundled with scikit-learn, and your own CSV files.

The bundled sets are read from the files scikit-learn ships; nothing is downloaded.
In every ``Dataset`` of a classification task, ``y`` holds class indices 0, ..., K-1 and
``class_names[k]`` names class k; for regression ``y`` is the float64 target.

>>> ds = load("iris")
>>> ds.X.shape, ds.task, ds.class_names
((150, 4), 'multiclass', ['setosa', 'versicolor', 'virginica'])
"""

from __future__ import annotations

import builtins
import csv
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from dlprimer.data.tables import encode_labels, infer_task

__all__ = ["Dataset", "DatasetInfo", "info", "list", "load", "read_csv"]


@dataclass(frozen=True, eq=False)
class Dataset:
    """A data matrix X (n, p), eq. (9), with its targets and what they mean.

    Attributes
    ----------
    X : ndarray (n, p), float64
    y : ndarray (n,) or None
        Class indices 0..K-1 (int64) for "binary" and "multiclass", float64 targets for
        "regression"; None for a prediction file read without a target.
    feature_names : list of str, length p
    class_names : list of str, length K, or None for regression
    task : "binary" | "multiclass" | "regression"
    name, description : str
    images : ndarray (n, 8, 8) for "digits", else None
    """

    X: np.ndarray
    y: np.ndarray | None
    feature_names: builtins.list[str]
    class_names: builtins.list[str] | None
    task: str
    name: str
    description: str
    images: np.ndarray | None = None

    @property
    def n_classes(self) -> int | None:
        return None if self.class_names is None else len(self.class_names)

    def __repr__(self) -> str:
        n, p = self.X.shape
        classes = "" if self.class_names is None else f", classes={self.class_names}"
        return f"Dataset({self.name!r}, n={n}, p={p}, task={self.task!r}{classes})"


class DatasetInfo(NamedTuple):
    """One row of ``info()``."""

    name: str
    n: int
    p: int
    task: str
    n_classes: int | None


# name -> (scikit-learn loader, task, one-line description)
_BUNDLED = {
    "breast_cancer": ("load_breast_cancer", "binary",
                      "Wisconsin breast cancer: 30 cell-nucleus measurements; "
                      "malignant (0) or benign (1)"),
    "iris": ("load_iris", "multiclass",
             "Fisher's iris flowers: 4 sepal and petal measurements (cm); 3 species"),
    "wine": ("load_wine", "multiclass",
             "Italian wines: 13 chemical measurements; 3 cultivars"),
    "digits": ("load_digits", "multiclass",
               "Handwritten digits: 8×8 images of gray levels 0-16 as 64 features; digits 0-9"),
    "diabetes": ("load_diabetes", "regression",
                 "Diabetes: age, sex, BMI, blood pressure and 6 blood serum measurements "
                 "(unscaled); disease progression one year later"),
}


_MEASURES = ["radius", "texture", "perimeter", "area", "smoothness", "compactness",
             "concavity", "concave points", "symmetry", "fractal dimension"]
# name -> the files scikit-learn ships it in (inside sklearn/datasets/data) and the
# column names its loader gives; read directly, so that loading does not import
# scikit-learn (about 0.8 s, most of a `dlprimer fit` run on a bundled set).
_FILES = {
    "breast_cancer": (("breast_cancer.csv",),
                      [f"mean {m}" for m in _MEASURES] + [f"{m} error" for m in _MEASURES]
                      + [f"worst {m}" for m in _MEASURES]),
    "iris": (("iris.csv",), ["sepal length (cm)", "sepal width (cm)", "petal length (cm)",
                             "petal width (cm)"]),
    "wine": (("wine_data.csv",),
             ["alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium",
              "total_phenols", "flavanoids", "nonflavanoid_phenols", "proanthocyanins",
              "color_intensity", "hue", "od280/od315_of_diluted_wines", "proline"]),
    "digits": (("digits.csv.gz",), [f"pixel_{i}_{j}" for i in range(8) for j in range(8)]),
    "diabetes": (("diabetes_data_raw.csv.gz", "diabetes_target.csv.gz"),
                 ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]),
}


def _data_dir() -> Path | None:
    """scikit-learn's bundled data folder, found without importing scikit-learn."""
    import importlib.util

    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(builtins.list(spec.submodule_search_locations)[0]) / "datasets" / "data"


def _read_files(key: str):
    """(X, y, feature names, class names) of a bundled set from scikit-learn's files, or
    None where they are not as expected (another scikit-learn version): then its loader."""
    files, feature_names = _FILES[key]
    folder = _data_dir()
    paths = [] if folder is None else [folder / f for f in files]
    if not paths or not all(path.is_file() for path in paths):
        return None
    try:
        if key == "diabetes":
            X, y = np.loadtxt(paths[0]), np.loadtxt(paths[1])
            class_names = None
        elif key == "digits":
            table = np.loadtxt(paths[0], delimiter=",")
            X, y = table[:, :-1], table[:, -1]
            class_names = [str(k) for k in range(10)]
        else:  # first line: n, p, then the class names
            with open(paths[0], encoding="utf-8") as f:
                header = next(csv.reader(f))
            table = np.loadtxt(paths[0], delimiter=",", skiprows=1, ndmin=2)
            n, p = int(header[0]), int(header[1])
            if table.shape != (n, p + 1):
                return None
            X, y, class_names = table[:, :p], table[:, p], header[2:]
    except (OSError, ValueError, StopIteration):
        return None
    if X.ndim != 2 or X.shape[1] != len(feature_names) or len(y) != len(X):
        return None
    return X, y, builtins.list(feature_names), class_names


def list() -> builtins.list[str]:
    """Names of the bundled data sets, for ``load``.

    >>> list()
    ['breast_cancer', 'iris', 'wine', 'digits', 'diabetes']
    """
    return builtins.list(_BUNDLED)


def load(name: str) -> Dataset:
    """One of the bundled data sets, by name (see ``list()``).

    >>> ds = load("digits")
    >>> ds.X.shape, ds.images.shape, ds.n_classes
    ((1797, 64), (1797, 8, 8), 10)
    """
    key = str(name).strip().lower().replace("-", "_").replace(" ", "_")
    if key not in _BUNDLED:
        raise ValueError(
            f"unknown data set {name!r}; available: {', '.join(_BUNDLED)} "
            "(or read your own file with datasets.read_csv(path))"
        )
    loader, task, description = _BUNDLED[key]
    found = _read_files(key)
    if found is None:
        import sklearn.datasets  # lazily: importing dlprimer must stay numpy-only

        kwargs = {"scaled": False} if key == "diabetes" else {}
        bunch = getattr(sklearn.datasets, loader)(**kwargs)
        found = (bunch.data, bunch.target, [str(f) for f in bunch.feature_names],
                 None if task == "regression" else [str(c) for c in bunch.target_names])
    data, target, feature_names, class_names = found
    X = np.asarray(data, dtype=np.float64)
    y = np.asarray(target, dtype=np.float64 if task == "regression" else np.int64)
    return Dataset(
        X=X, y=y, feature_names=feature_names, class_names=class_names, task=task,
        name=key, description=description,
        images=X.reshape(-1, 8, 8) if key == "digits" else None,
    )


def info() -> builtins.list[DatasetInfo]:
    """(name, n, p, task, n_classes) for each bundled data set, for a table.

    >>> info()[0]
    DatasetInfo(name='breast_cancer', n=569, p=30, task='binary', n_classes=2)
    """
    rows = []
    for name in _BUNDLED:
        ds = load(name)
        rows.append(DatasetInfo(name, *ds.X.shape, ds.task, ds.n_classes))
    return rows


# Cells read as missing values, compared after strip() and lower().
_MISSING = {"", "na", "n/a", "nan", "null", "none", "?"}
_SHOWN = 5  # how many line numbers an error message lists


def _lines(numbers: builtins.list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:_SHOWN])
    return shown + (f" and {len(numbers) - _SHOWN} more" if len(numbers) > _SHOWN else "")


class _MissingFileError(FileNotFoundError, ValueError):
    """A missing CSV file: caught as FileNotFoundError or as ValueError."""

    def __str__(self) -> str:  # the message alone, not "[Errno 2] message: 'path'"
        return self.strerror


def _detect_delimiter(path: Path, text: str) -> str:
    """A tab for .tsv files; else ';' or a tab where the header has one and no comma (as
    spreadsheets in many locales export CSV); else ','."""
    if path.suffix.lower() == ".tsv":
        return "\t"
    first = next((line for line in text.splitlines() if line.strip()), "")
    if "," not in first:
        counts = {d: first.count(d) for d in (";", "\t")}
        best = max(counts, key=counts.get)
        if counts[best]:
            return best
    return ","


def read_header(path, delimiter: str | None = None) -> builtins.list:
    """The column names of a CSV file, read as ``read_csv`` reads them."""
    return _read_rows(Path(path), delimiter)[0]


def _read_rows(path: Path, delimiter: str | None
               ) -> tuple[builtins.list, builtins.list, builtins.list]:
    """The header, the data rows and each row's 1-based line number in the file."""
    if not path.exists():
        raise _MissingFileError(2, f"no such file: {str(path)!r}", str(path))
    if not path.is_file():
        raise ValueError(f"{str(path)!r} is not a file (a directory?); give the path of a CSV file")
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig drops a byte-order mark
    except UnicodeDecodeError as err:
        raise ValueError(f"{path.name} is not UTF-8 text ({err}); save it as UTF-8 CSV") from None
    if delimiter is None:
        delimiter = _detect_delimiter(path, text)
    reader = csv.reader(text.splitlines(keepends=True), delimiter=delimiter,
                        skipinitialspace=True)  # so `a, "b, c"` reads as two fields
    header, rows, line_numbers = None, [], []
    for row in reader:
        if not row or all(not cell.strip() for cell in row):
            continue  # blank lines carry no sample
        if header is None:
            header = [cell.strip() for cell in row]
            continue
        if len(row) != len(header):
            raise ValueError(
                f"{path.name} line {reader.line_num} has {len(row)} field(s) but the header "
                f"has {len(header)}; every row needs one value per column"
            )
        rows.append(row)
        line_numbers.append(reader.line_num)
    if header is None:
        raise ValueError(f"{path.name} is empty; expected a header row and then data rows")
    for j, column in enumerate(header):
        if not column:
            raise ValueError(
                f"{path.name}: column {j + 1} has no name in the header row; name it, or if "
                "it is a row index written by pandas, save with to_csv(..., index=False)"
            )
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise ValueError(f"{path.name}: column name(s) {repeated} appear more than once")
    if not rows:
        raise ValueError(f"{path.name} has a header but no data rows")
    return header, rows, line_numbers


def read_csv(path, target: str | None = None, require_target: bool = True,
             task: str | None = None, delimiter: str | None = None,
             ignore=()) -> Dataset:
    """A ``Dataset`` from a CSV file with a header row; one sample a row.

    Every column but ``target`` is a numeric feature. The target (by default the last
    column) may hold numbers or class labels (strings). The task is inferred by
    ``dlprimer.data.infer_task`` (strings, or at most 20 distinct integers, are classes)
    unless ``task`` says it. Class labels are sorted and coded 0..K-1, their names kept
    in ``class_names``.

    With ``require_target=False`` (a file to predict on) a missing target column is no
    error: all columns are features and ``y`` is None; without a ``target`` name, every
    column is read as a feature. Columns named in ``ignore`` are not read at all.

    ``delimiter=None`` (the default) reads a tab-separated file for ``.tsv``, and a file
    whose header holds ';' or tabs but no comma with that separator; otherwise ','.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "flowers.csv"
    >>> _ = path.write_text("length,width,species\\n5.1,3.5,setosa\\n7.0,3.2,versicolor\\n")
    >>> ds = read_csv(path)
    >>> ds.X, ds.y, ds.class_names, ds.task
    (array([[5.1, 3.5],
           [7. , 3.2]]), array([0, 1]), ['setosa', 'versicolor'], 'binary')
    """
    path = Path(path)
    if task not in (None, "binary", "multiclass", "regression"):
        raise ValueError(
            f"task must be None (infer it), 'binary', 'multiclass' or 'regression', got {task!r}"
        )
    header, rows, line_numbers = _read_rows(path, delimiter)

    if target is None and require_target:
        target = header[-1]
    if target is not None and target not in header:
        if require_target:
            hint = ""
            separator = next((d for d in ";\t|" if d in header[0]), None)
            if len(header) == 1 and separator is not None:
                hint = (f"; the header is one column: is the file separated by "
                        f"{separator!r}? pass delimiter={separator!r}")
            raise ValueError(
                f"{path.name} has no column {target!r}; available columns: {header}{hint}"
            )
        target = None
    t = None if target is None else header.index(target)
    features = [j for j in range(len(header)) if j != t and header[j] not in ignore]
    if not features:
        raise ValueError(f"{path.name} has no feature columns besides the target {target!r}")

    used = set(features) | ({t} if t is not None else set())
    missing = [(line, header[j]) for row, line in zip(rows, line_numbers, strict=True)
               for j, cell in enumerate(row) if j in used and cell.strip().lower() in _MISSING]
    if missing:
        lines = sorted({line for line, _ in missing})
        columns = builtins.list(dict.fromkeys(c for _, c in missing))
        raise ValueError(
            f"{path.name} has {len(missing)} missing value(s) (empty, NA or nan cells) in "
            f"column(s) {columns}, on line(s) {_lines(lines)}; remove those rows or fill "
            "the values in first"
        )

    X = np.empty((len(rows), len(features)))
    for k, j in enumerate(features):
        for i, (row, line) in enumerate(zip(rows, line_numbers, strict=True)):
            try:
                X[i, k] = float(row[j])
            except ValueError:
                raise ValueError(
                    f"{path.name}: feature column {header[j]!r} is not numeric: line {line} "
                    f"holds {row[j].strip()!r}; encode it as numbers or drop the column"
                ) from None
            if not np.isfinite(X[i, k]):
                raise ValueError(
                    f"{path.name}: feature column {header[j]!r} holds the infinite value "
                    f"{row[j].strip()!r} on line {line}; only finite numbers are allowed"
                )

    y, class_names, inferred = None, None, "regression"
    if t is not None:
        y, class_names, inferred = _target(path, [row[t].strip() for row in rows], line_numbers,
                                          target, task)
    return Dataset(
        X=X, y=y, feature_names=[header[j] for j in features], class_names=class_names,
        task=inferred if task is None else task, name=path.stem,
        description=f"read from {path.name}: {len(rows)} rows, {len(features)} features"
                    + ("" if target is None else f", target {target!r}"),
    )


def _target(path: Path, cells: builtins.list[str], line_numbers: builtins.list[int],
            target: str, task: str | None):
    """The target column as (y, class_names, inferred task)."""
    labels = [c for c in cells if not _is_number(c)]
    if labels:
        if task == "regression":
            raise ValueError(
                f"{path.name}: task='regression' needs a numeric target, but column "
                f"{target!r} holds labels such as {labels[0]!r}"
            )
        values = np.array(cells)
        inferred = "binary" if len(set(cells)) <= 2 else "multiclass"
    else:
        values = np.array([float(c) for c in cells])
        if not np.all(np.isfinite(values)):
            i = int(np.flatnonzero(~np.isfinite(values))[0])
            raise ValueError(
                f"{path.name}: target column {target!r} holds the infinite value "
                f"{cells[i]!r} on line {line_numbers[i]}; only finite numbers are allowed"
            )
        inferred = infer_task(values)
    if (task or inferred) == "regression":
        return values, None, "regression"
    y, classes = encode_labels(values)
    if task == "binary" and len(classes) > 2:
        raise ValueError(
            f"{path.name}: task='binary' but column {target!r} has {len(classes)} classes; "
            "use task='multiclass'"
        )
    names = [str(int(c)) if not labels and float(c).is_integer() else str(c) for c in classes]
    return y, names, inferred


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True
