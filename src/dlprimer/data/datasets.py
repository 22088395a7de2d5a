"""Real data sets to train on: five bundled with scikit-learn (your own files:
``dlprimer.data.reading``).

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

__all__ = ["Dataset", "DatasetInfo", "info", "list", "load"]


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
            "(or read your own file with dp.data.read_csv(path))"
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

