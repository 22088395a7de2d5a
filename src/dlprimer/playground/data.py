"""The playground's data: TensorFlow Playground's 2-D toys, the bundled sets and CSV files,
each as raw columns and targets, exactly as ``dlprimer fit --data`` would read them.

The toys are drawn from a seeded numpy Generator, so the same name, size, noise and seed
give the same rows everywhere (the page, the exported code, the tests):

>>> X, y = toy("xor", n=10, noise=0.0, seed=0)
>>> list(X.columns), y.tolist()
(['x1', 'x2'], [0, 1, 1, 1, 1, 0, 0, 0, 1, 1])
>>> X.iloc[0].tolist()          # x1 · x2 < 0: class 0
[1.6696, -2.6021]
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dlprimer.data import datasets
from dlprimer.data.reading import read_csv
from dlprimer.data.tables import train_test_split

__all__ = ["BUNDLED", "Data", "TOYS", "bundled", "from_csv", "split", "toy", "toy_data"]

#: name → (task, one line); the classification toys are TensorFlow Playground's four
TOYS = {
    "circle": ("binary", "a disc of one class inside a ring of the other"),
    "xor": ("binary", "the exclusive or: the sign of x1·x2"),
    "gaussians": ("multiclass", "K Gaussian clouds on a circle"),
    "spiral": ("multiclass", "K interleaved spiral arms (K = 2: TF Playground's spiral)"),
    "plane": ("regression", "y = x1/2 − x2/4 + noise: a tilted plane"),
    "bumps": ("regression", "y = a positive and a negative Gaussian bump + noise"),
}
BUNDLED = tuple(datasets.list())
RADIUS = 5.0  # the toys live in [−6, 6]², as in TF Playground
MAX_POINTS = 5000


@dataclass
class Data:
    """A table to train on: raw feature columns ``X`` (a DataFrame), targets ``y`` (class
    labels or numbers), what the target means, and ``spec``, how to make it again."""

    name: str
    kind: str  # "toy" | "bundled" | "csv"
    X: object
    y: np.ndarray
    target: str
    task: str  # "binary" | "multiclass" | "regression"
    classes: list[str] | None
    description: str = ""
    spec: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.y)

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.X.columns]

    def describe(self) -> dict:
        """What the page shows about the data (JSON)."""
        return {"name": self.name, "kind": self.kind, "n": self.n, "columns": self.columns,
                "target": self.target, "task": self.task, "classes": self.classes,
                "description": self.description, "spec": self.spec,
                "numeric": [c for c, col in zip(self.columns, self.X.columns, strict=True)
                            if self.X[col].dtype.kind in "iuf"]}

    def csv_bytes(self) -> bytes:
        """The table as a CSV (features, then the target): ``dlprimer fit --data`` reads it
        back to the same numbers (floats are written in their shortest exact form)."""
        frame = self.X.copy()
        frame[self.target] = self.y
        out = io.StringIO()
        frame.to_csv(out, index=False)
        return out.getvalue().encode("utf-8")


def _check_toy(name: str, n, noise, classes, seed) -> tuple[int, float, int, int]:
    if name not in TOYS:
        raise ValueError(f"unknown toy data set {name!r}; choose one of {list(TOYS)}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 10 <= n <= MAX_POINTS:
        raise ValueError(f"n (the number of points) must be an integer in [10, {MAX_POINTS}], "
                         f"got {n!r}")
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not 0 <= noise <= 1:
        raise ValueError(f"noise must be a number in [0, 1], got {noise!r}")
    if isinstance(classes, bool) or not isinstance(classes, (int, np.integer)) \
            or not 2 <= classes <= 8:
        raise ValueError(f"classes must be an integer in [2, 8], got {classes!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(n), float(noise), int(classes), int(seed)


def toy(name: str, n: int = 300, noise: float = 0.1, classes: int = 3, seed: int = 0):
    """One of TF Playground's 2-D data sets as (X, y): X a DataFrame of columns x1, x2 in
    [−6, 6]², y integer classes 0, 1, ... (``circle``, ``xor``, ``gaussians``, ``spiral``)
    or numbers (``plane``, ``bumps``). ``noise`` in [0, 1] jitters the points (classes) or
    the targets (regression); ``classes`` is K for ``gaussians`` and ``spiral`` (the
    spiral's default is 2 arms, as in TF Playground, unless ``classes`` is given)."""
    import pandas as pd

    n, noise, K, seed = _check_toy(name, n, noise, classes, seed)
    rng = np.random.default_rng(seed)
    R = RADIUS
    if name == "circle":  # inside r < R/2: class 1; the ring 0.7R < r < R: class 0
        y = (np.arange(n) < n // 2).astype(np.int64)
        r = np.where(y == 1, rng.uniform(0, 0.5 * R, n), rng.uniform(0.7 * R, R, n))
        angle = rng.uniform(0, 2 * np.pi, n)
        x = np.column_stack([r * np.sin(angle), r * np.cos(angle)])
        x += rng.uniform(-R, R, (n, 2)) * noise
    elif name == "xor":  # away from the axes by a padding, labelled before the noise
        x = rng.uniform(-R, R, (n, 2))
        x += np.where(x > 0, 0.3, -0.3)
        y = (x[:, 0] * x[:, 1] >= 0).astype(np.int64)
        x += rng.uniform(-R, R, (n, 2)) * noise
    elif name == "gaussians":
        y = np.arange(n) % K
        angle = 2 * np.pi * y / K + np.pi / 4
        centre = 2.5 * np.column_stack([np.cos(angle), np.sin(angle)])
        x = centre + rng.normal(0, 0.6 + 2.5 * noise, (n, 2))
    elif name == "spiral":
        y = np.arange(n) % K
        t = np.repeat(np.arange(-(-n // K)), K)[:n] / max(n / K, 1)  # 0 → 1 along each arm
        r = t * R
        angle = 1.75 * t * 2 * np.pi + 2 * np.pi * y / K
        x = np.column_stack([r * np.sin(angle), r * np.cos(angle)])
        x += rng.uniform(-1, 1, (n, 2)) * noise * R / 5
    else:  # regression on the square
        x = rng.uniform(-R - 1, R + 1, (n, 2))
        if name == "plane":
            y = x[:, 0] / 2 - x[:, 1] / 4
        else:
            y = 3 * (np.exp(-((x[:, 0] - 2) ** 2 + (x[:, 1] - 2) ** 2) / 8)
                     - np.exp(-((x[:, 0] + 2) ** 2 + (x[:, 1] + 2) ** 2) / 8))
        y = y + rng.normal(0, 1, n) * noise
    # NOTE: rounded to 4 decimals so that a CSV of the toy reads back to the same floats
    # and stays readable; the rounding is part of the data, the same in every place.
    X = pd.DataFrame(np.round(x, 4), columns=["x1", "x2"])
    return X, (np.round(y, 4) if y.dtype.kind == "f" else y)


def toy_data(name: str, n: int = 300, noise: float = 0.1, classes: int | None = None,
             seed: int = 0) -> Data:
    """A toy as a ``Data``; ``classes`` defaults to 3 for gaussians and 2 for the spiral."""
    if classes is None:
        classes = 2 if name == "spiral" else 3
    X, y = toy(name, n, noise, classes, seed)
    task = TOYS[name][0]
    K = int(y.max()) + 1 if task != "regression" else 0
    spec = {"toy": name, "n": int(n), "noise": float(noise), "seed": int(seed)}
    if name in ("gaussians", "spiral"):
        spec["classes"] = int(classes)
    return Data(name=name, kind="toy", X=X, y=y, target="y" if task == "regression" else "label",
                task=task if K != 2 else "binary",
                classes=None if task == "regression" else [str(k) for k in range(K)],
                description=TOYS[name][1], spec=spec)


def bundled(name: str) -> Data:
    """A bundled data set (``dp.datasets.load``) as raw columns and its class names as
    labels, the rows ``dlprimer fit --data NAME`` trains on."""
    import pandas as pd

    ds = datasets.load(name)
    y = ds.y if ds.class_names is None else np.asarray(ds.class_names)[ds.y]
    return Data(name=ds.name, kind="bundled", X=pd.DataFrame(ds.X, columns=ds.feature_names),
                y=y, target="target", task=ds.task,
                classes=None if ds.class_names is None else sorted(ds.class_names),
                description=ds.description, spec={"dataset": ds.name})


def from_csv(path, target: str | None = None, shown_name: str | None = None) -> Data:
    """A CSV file read by ``dp.data.read_csv`` (target: ``target`` or the last column;
    rows whose target is missing are left out), as ``dlprimer fit --data`` reads it."""
    table = read_csv(path, target=target)
    name = Path(shown_name or path).name
    left_out = f"; {table.dropped} row(s) without a target left out" if table.dropped else ""
    return Data(name=name, kind="csv", X=table.X, y=table.y, target=table.target,
                task=table.task, classes=table.class_names,
                description=f"{table.n_read} rows read from {name}{left_out}",
                spec={"csv": shown_name or str(path), "target": table.target,
                      "path": str(path)})


def split(y: np.ndarray, validation: float, task: str, seed: int) -> tuple[np.ndarray,
                                                                             np.ndarray]:
    """(fit rows, validation rows), sorted: the split of ``dlprimer fit --test-size 0
    --validation-split V --seed S`` (stratified for classes), so the command reproduces it.

    >>> fit_rows, val_rows = split(np.array([0, 1] * 5), 0.2, "binary", 0)
    >>> len(fit_rows), len(val_rows)
    (8, 2)
    """
    rows = np.arange(len(y))
    if validation == 0:
        return rows, rows[:0]
    try:
        fit_rows, val_rows, _, _ = train_test_split(rows, y, validation, task != "regression",
                                                    seed)
    except ValueError as err:
        raise ValueError(f"{len(y)} rows are too few to hold out a share of {validation} for "
                         f"validation ({err}); set the validation share to 0") from None
    return np.sort(fit_rows), np.sort(val_rows)
