"""What the page draws, computed here as JSON: the decision regions on a 2-D plane with the
data on top, one thumbnail per hidden neuron, and the network's weights.

The plane lies in X̃, the standardized features the model sees (eq. (13)):

* ``pca``: through the mean of the fit rows, along their first two principal components;
* two chosen columns: those two vary over their range, every other column is held at its
  median (or, for a column of categories, its most frequent value).

Each grid point is a full row x̃ ∈ ℝ^p, so the regions are the model's own ŷ there, its
``predict_proba``; the points are drawn where they project, and a point is marked
misclassified by the model's prediction from all of its features, not from the picture.
"""

from __future__ import annotations

import copy

import numpy as np

from dlprimer.data.tables import index_labels
from dlprimer.engine.tensor import Tensor, no_grad

__all__ = ["GRID", "MAX_POINTS", "Plane", "Scene", "WEIGHTS", "hidden_activations",
           "jsonable"]

GRID = 49  # grid points per side of the regions; every 2nd one (25) for the thumbnails
MAX_POINTS = 2000  # data points drawn at most (a seeded sample of larger tables)
MAX_NEURONS = 16  # neurons per layer drawn in the network (the rest are summarized)


def jsonable(value):
    """numpy values and containers as JSON values; NaN and ±∞ become None."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "fc":
            out = value.astype(np.float64)
            if np.isfinite(out).all():
                return out.tolist()
            return jsonable(out.astype(object).tolist())
        return jsonable(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value) if np.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    return str(value)


def _base_row(X, fit_rows: np.ndarray) -> dict:
    """Each column's typical value on the fit rows: the median of numbers, else the most
    frequent value."""
    base = {}
    for column in X.columns:
        values = X[column].iloc[fit_rows]
        if values.dtype.kind in "biuf" and values.dtype.kind != "b":
            median = values.median()
            base[column] = float(median) if np.isfinite(median) else 0.0
        else:
            mode = values.mode(dropna=True)
            base[column] = mode.iloc[0] if len(mode) else None
    return base


def _plain_numeric(pre) -> bool:
    """Whether every feature is a numeric column used as it is (then x̃ → x inverts)."""
    return all(plan["role"] == "numeric" and plan["outputs"] == [plan["column"]]
               for plan in pre.columns_ if plan["outputs"])


def _extent(values: np.ndarray) -> list[float]:
    """[low, high] of the finite values, padded by 5% (±1 around a single value)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return [-1.0, 1.0]
    low, high = float(finite.min()), float(finite.max())
    if high - low < 1e-12:
        return [low - 1.0, high + 1.0]
    pad = 0.05 * (high - low)
    return [low - pad, high + pad]


class Plane:
    """A plane in X̃: its grid (``tilde``, GRID² rows, row-major from the top left), the
    same rows as raw columns (``raw``, a DataFrame, or None where x̃ cannot be turned back
    into raw cells), the data rows' coordinates (``coords`` (n, 2)) and its axes.

    ``choice`` is "pca", "auto" (two numeric columns if the table has exactly two
    features, else "pca") or two column names.
    """

    def __init__(self, data, pre, X_tilde: np.ndarray, fit_rows: np.ndarray, choice):
        used = [plan["column"] for plan in pre.columns_ if plan["outputs"]]
        numeric = [c for c in data.describe()["numeric"] if c in used]
        if choice == "auto":
            choice = used if len(used) == 2 and len(numeric) == 2 and _plain_numeric(pre) \
                else "pca"
        self.base = _base_row(data.X, fit_rows)
        self.columns = data.columns
        self.pre = pre
        if choice == "pca":
            self._pca(X_tilde, fit_rows, pre)
        else:
            self._features(data, list(choice), numeric, pre)
        self.choice = choice

    def _features(self, data, pair: list[str], numeric: list[str], pre) -> None:
        wrong = [c for c in pair if c not in numeric]
        if wrong or pair[0] == pair[1]:
            raise ValueError(f"the plane's axes must be two different numeric columns of "
                             f"{numeric[:20]}; got {pair}")
        self.kind, self.axes = "features", pair
        self.coords = np.column_stack([data.X[c].to_numpy(dtype=np.float64) for c in pair])
        self.extent = _extent(self.coords[:, 0]) + _extent(self.coords[:, 1])
        self.loadings = None
        u, v = self.mesh()
        self.raw = self.rows({pair[0]: u, pair[1]: v})
        self.tilde = pre.transform(self.raw)

    def _pca(self, X_tilde: np.ndarray, fit_rows: np.ndarray, pre) -> None:
        mean = X_tilde[fit_rows].mean(axis=0)
        _, s, Vt = np.linalg.svd(X_tilde[fit_rows] - mean, full_matrices=False)
        V = np.zeros((X_tilde.shape[1], 2))
        k = min(2, Vt.shape[0])
        V[:, :k] = Vt[:k].T
        for j in range(k):  # a fixed sign: the largest loading is positive
            if V[np.argmax(np.abs(V[:, j])), j] < 0:
                V[:, j] = -V[:, j]
        share = s[:k] ** 2 / max(float((s**2).sum()), 1e-300)
        names = pre.feature_names_
        self.kind = "pca"
        self.axes = [f"PC{j + 1} ({100 * share[j]:.0f}% of variance)" if j < k else "PC2 (none)"
                     for j in range(2)]
        self.loadings = [[(names[i], float(V[i, j])) for i in np.argsort(-np.abs(V[:, j]))[:4]]
                         for j in range(k)]
        self.coords = (X_tilde - mean) @ V
        self.extent = _extent(self.coords[:, 0]) + _extent(self.coords[:, 1])
        self.mean, self.V = mean, V
        u, v = self.mesh()
        self.tilde = self.at(u, v)
        self.raw = self.untilde(self.tilde)

    def at(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """x̃ = x̄ + u v₁ + v v₂ on the principal plane, one row per (u, v)."""
        return self.mean + np.column_stack([u, v]) @ self.V.T

    def untilde(self, tilde: np.ndarray):
        """Rows x̃ back as raw cells (eq. (13) backwards, x = x̄ + s x̃), or None where the
        features are not all numeric columns used as they are."""
        if not _plain_numeric(self.pre) or self.pre.standardizer is None:
            return None
        scale = np.asarray(self.pre.standardizer.scale_, dtype=np.float64)
        centre = np.asarray(self.pre.standardizer.mean_, dtype=np.float64)
        encoded = tilde * scale + centre
        return self.rows(dict(zip(self.pre.feature_names_, encoded.T, strict=True)))

    def mesh(self) -> tuple[np.ndarray, np.ndarray]:
        """The grid's (u, v), GRID² each: u left to right, v top to bottom."""
        u0, u1, v0, v1 = self.extent
        U, V = np.meshgrid(np.linspace(u0, u1, GRID), np.linspace(v1, v0, GRID))
        return U.ravel(), V.ravel()

    def rows(self, varying: dict):
        """Raw rows: the base row, with the columns in ``varying`` set to its arrays."""
        import pandas as pd

        n = len(next(iter(varying.values())))
        frame = pd.DataFrame({c: [self.base[c]] * n for c in self.columns})
        for column, values in varying.items():
            frame[column] = values
        return frame

    def raw_at(self, u: float, v: float):
        """The raw row at plane coordinates (u, v), or None where there is none."""
        if self.kind == "features":
            return self.rows({self.axes[0]: [float(u)], self.axes[1]: [float(v)]})
        return self.untilde(self.at(np.array([u], float), np.array([v], float)))

    def describe(self, with_points: bool = False) -> dict:
        out = {"kind": self.kind, "axes": self.axes, "extent": self.extent, "size": GRID,
               "choice": self.choice, "invertible": self.raw is not None,
               "loadings": self.loadings}
        if with_points:
            out["tilde"] = self.tilde
            out["raw"] = None if self.raw is None else {
                "columns": self.columns, "rows": self.raw.to_numpy(dtype=object).tolist()}
        return out


def _weights_I(model):
    return [(model.w.data[None, :], model.b0.data.reshape(1))]


def _weights_II(model):
    return [(model.W.data, model.b.data)]


def _weights_III(model):
    return [(layer.W.data, layer.b.data) for layer in model.layers]


#: config()["kind"] → the (W, b) of each layer, W of shape (N_ℓ, N_{ℓ-1}) as in eq. (8)
WEIGHTS = {"SigmoidModel": _weights_I, "SoftmaxModel": _weights_II,
           "FeedForward": _weights_III}


def hidden_activations(model, X_tilde: np.ndarray) -> list[np.ndarray]:
    """a[ℓ] for ℓ = 1, ..., L−1 on rows x̃ (Model III; none for Models I and II)."""
    layers = getattr(model, "layers", None)
    if model.config()["kind"] != "FeedForward" or not layers or len(layers) < 2:
        return []
    out = []
    with no_grad():
        a = Tensor(np.ascontiguousarray(X_tilde, dtype=model.dtype))
        for layer in layers[:-1]:
            a = layer(a, activation=model.activation)  # a[ℓ] = S(b[ℓ] + W[ℓ] a[ℓ-1]), eq. (33)
            out.append(np.asarray(a.data, dtype=np.float64))
    return out


class Scene:
    """A run's data seen on one plane: draws a model's pictures (``draw``) as JSON."""

    def __init__(self, data, pre, fit_rows: np.ndarray, val_rows: np.ndarray, choice="auto",
                 seed: int = 0):
        self.data, self.pre = data, pre
        self.X_tilde = pre.transform(data.X)  # every row as the model sees it
        self.plane = Plane(data, pre, self.X_tilde, fit_rows, choice)
        split = np.zeros(data.n, dtype=np.int64)
        split[val_rows] = 1
        shown = np.flatnonzero(np.isfinite(self.plane.coords).all(axis=1))
        if len(shown) > MAX_POINTS:
            shown = np.sort(np.random.default_rng(seed).choice(shown, MAX_POINTS, replace=False))
        self.shown, self.split = shown, split
        G = GRID
        thumb = np.arange(G * G).reshape(G, G)[::2, ::2].ravel()
        self.thumb = thumb

    def sees(self, model):
        """The model as it is applied to rows of X̃ (already encoded and standardized)."""
        # NOTE: predict_proba prepares raw rows with the model's preprocessor; a shallow
        # copy without one applies the very same parameters and output rule to x̃ itself.
        view = copy.copy(model)
        view.preprocessor, view.standardizer = None, None
        return view

    def draw(self, model) -> dict:
        data, plane = self.data, self.plane
        view = self.sees(model)
        grid = view.predict_proba(plane.tilde)
        y_hat = view.predict_proba(self.X_tilde[self.shown])
        truth = data.y[self.shown]
        points = {"row": self.shown, "u": np.round(plane.coords[self.shown, 0], 4),
                  "v": np.round(plane.coords[self.shown, 1], 4), "split": self.split[self.shown]}
        if data.task == "regression":
            points["y"] = np.round(truth.astype(np.float64), 4)
            points["y_hat"] = np.round(np.asarray(y_hat, np.float64).reshape(len(truth)), 4)
            scale = _extent(np.concatenate([data.y.astype(np.float64), grid.ravel()]))
        else:
            classes = model.classes_
            points["label"] = index_labels(truth, classes, "y")
            points["correct"] = model.decide(y_hat) == truth
            scale = None
        neurons = [{"layer": ell, "values": np.round(a[:, :MAX_NEURONS].T, 3)}
                   for ell, a in enumerate(hidden_activations(model, plane.tilde[self.thumb]), 1)]
        return jsonable({
            "plane": plane.describe(),
            "grid": {"size": GRID, "values": np.round(grid, 5), "scale": scale},
            "thumbnails": {"size": len(range(0, GRID, 2)), "neurons": neurons},
            "points": points,
            "network": self.network(model),
        })

    def network(self, model) -> dict:
        """Sizes, names and (truncated) weights W[ℓ], b[ℓ] of each layer."""
        layers = WEIGHTS[model.config()["kind"]](model)
        sizes = [layers[0][0].shape[1]] + [W.shape[0] for W, _ in layers]
        m = MAX_NEURONS
        out_names = ["ŷ"] if model.classes_ is None or layers[-1][0].shape[0] == 1 \
            else [str(c) for c in model.classes_]
        return {"sizes": sizes, "inputs": self.pre.feature_names_[:m], "outputs": out_names[:m],
                "activation": getattr(model, "activation", None), "output": model.output,
                "layers": [{"W": np.round(W[:m, :m].astype(np.float64), 4),
                            "b": np.round(b[:m].astype(np.float64), 4)} for W, b in layers]}
