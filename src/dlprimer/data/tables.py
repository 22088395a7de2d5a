"""Preparing data for training: the data matrix, standardization, labels, splits, batches.

Everything here is plain numpy. A data matrix ``X`` is (n, p), one sample a row, as in
eq. (9) of the primer; labels ``y`` have one entry per row. pandas DataFrames are accepted
where pandas is installed (column names become feature names) but pandas is never required.

>>> X = [[50, 120, 200], [35, 130, 220], [45, 125, 190]]      # table (9)
>>> Z = Standardizer().fit_transform(X)                        # eq. (13)
>>> bool(np.allclose(Z.mean(axis=0), 0)), Z.std(axis=0)
(True, array([1., 1., 1.]))
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from dlprimer.engine.checks import (  # noqa: F401 (as_matrix, is_dataframe: re-exported)
    as_float_array,
    as_matrix,
    is_dataframe,
    positive_int,
    reject_sparse,
    require_finite_rows,
    values_of,
)

__all__ = [
    "Standardizer",
    "as_matrix",
    "batches",
    "decode_labels",
    "encode_labels",
    "index_labels",
    "infer_task",
    "train_test_split",
]

#: Integer targets with at most this many distinct values are read as class labels.
MAX_CLASSES = 20


class Standardizer:
    """Standardize each feature to mean 0 and standard deviation 1, eqs. (10) and (13).

    ``fit`` stores the sample mean x̄_j and the standard deviation s_j (1/n variance,
    eq. (10)) of each column; ``transform`` returns x̃_j = (x_j - x̄_j) / s_j, eq. (13).
    A constant column (s_j = 0, up to rounding) gets scale 1, so it is only centred.

    Attributes
    ----------
    mean_ : ndarray (p,), float64
    scale_ : ndarray (p,), float64, all > 0
    feature_names_ : list of str, or None
        Column names when fitted on a DataFrame.

    >>> s = Standardizer().fit([[50, 120], [35, 130], [45, 125]])
    >>> s.mean_.round(4), s.scale_.round(4)
    (array([ 43.3333, 125.    ]), array([6.2361, 4.0825]))
    >>> s.transform([[50, 120]]).round(4)
    array([[ 1.069 , -1.2247]])
    >>> s.inverse_transform([[0.0, 0.0]]).round(4)
    array([[ 43.3333, 125.    ]])
    """

    def __init__(self) -> None:
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None
        self.feature_names_: list[str] | None = None

    @property
    def n_features_in_(self) -> int | None:
        return None if self.mean_ is None else int(self.mean_.size)

    def fit(self, X) -> Standardizer:
        """Learn x̄_j and s_j of eq. (10) from X (n, p); returns self."""
        X, names = as_matrix(X)
        X64 = X.astype(np.float64, copy=False)  # sums in float64 even for float32 data
        mean = X64.mean(axis=0)
        std = np.sqrt(((X64 - mean) ** 2).mean(axis=0))
        # NOTE: a constant column's std is 0 only up to rounding (a few ulps of its mean);
        # dividing by that would blow rounding noise up to O(1), so treat it as constant.
        constant = std <= 10 * np.finfo(np.float64).eps * np.abs(mean)
        self.mean_ = mean
        self.scale_ = np.where(constant | (std == 0), 1.0, std)
        self.feature_names_ = names
        return self

    def _check(self, X, name: str) -> np.ndarray:
        if self.mean_ is None:
            raise ValueError(
                "this Standardizer is not fitted yet; call fit(X_train) first, or build one "
                "with Standardizer.from_dict(d)"
            )
        X, names = as_matrix(X, name)
        if X.shape[1] != self.mean_.size:
            raise ValueError(
                f"{name} has {X.shape[1]} column(s) but the Standardizer was fitted on "
                f"{self.mean_.size}; pass the same features, in the same order, as in fit"
            )
        if names is not None and self.feature_names_ is not None and names != self.feature_names_:
            raise ValueError(
                f"{name} has columns {names} but the Standardizer was fitted on "
                f"{self.feature_names_}; select and order the columns as in fit"
            )
        return X

    def transform(self, X) -> np.ndarray:
        """x̃ = (x - x̄) / s, eq. (13), for each row of X (n, p); float32 stays float32."""
        X = self._check(X, "X")
        return ((X - self.mean_) / self.scale_).astype(X.dtype, copy=False)

    def fit_transform(self, X) -> np.ndarray:
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X)

    def inverse_transform(self, Z) -> np.ndarray:
        """Undo eq. (13): x = x̄ + s · x̃, for each row of Z (n, p)."""
        Z = self._check(Z, "Z")
        return (Z * self.scale_ + self.mean_).astype(Z.dtype, copy=False)

    def to_dict(self) -> dict:
        """The fitted statistics as JSON-serializable lists of floats (for a model file)."""
        if self.mean_ is None:
            raise ValueError("this Standardizer is not fitted yet; call fit(X_train) first")
        return {
            "mean": [float(v) for v in self.mean_],
            "scale": [float(v) for v in self.scale_],
            "feature_names": None if self.feature_names_ is None else list(self.feature_names_),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Standardizer:
        """A fitted Standardizer from the output of ``to_dict``.

        >>> s = Standardizer.from_dict({"mean": [1.0, 2.0], "scale": [2.0, 1.0]})
        >>> s.transform([[3.0, 2.0]])
        array([[1., 0.]])
        """
        missing = [key for key in ("mean", "scale") if key not in d]
        if missing:
            raise ValueError(
                f"Standardizer.from_dict needs keys 'mean' and 'scale', missing {missing}; "
                "pass the dict that to_dict() returned"
            )
        mean = as_float_array(d["mean"], "mean", ndim=1, allow_nan=False)
        scale = as_float_array(d["scale"], "scale", ndim=1, allow_nan=False)
        if mean.shape != scale.shape or mean.size == 0:
            raise ValueError(
                f"mean and scale must be non-empty lists of the same length, got lengths "
                f"{mean.size} and {scale.size}"
            )
        if np.any(scale <= 0):
            raise ValueError(f"every scale must be > 0, got {scale.tolist()}")
        names = d.get("feature_names")
        if names is not None and len(names) != mean.size:
            raise ValueError(
                f"feature_names has {len(names)} names but mean has {mean.size} entries"
            )
        s = cls()
        s.mean_, s.scale_ = mean, scale
        s.feature_names_ = None if names is None else [str(n) for n in names]
        return s

    def __repr__(self) -> str:
        fitted = "not fitted" if self.mean_ is None else f"p={self.mean_.size}"
        return f"Standardizer({fitted})"


def label_vector(y, name: str = "y") -> np.ndarray:
    reject_sparse(y, name)
    y = np.asarray(values_of(y))
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one label per sample), got shape {y.shape}")
    if y.dtype.kind in "mMV":
        raise ValueError(f"{name} holds {y.dtype} values; targets must be numbers or class "
                         f"labels (strings): convert them first, e.g. {name}.astype(str)")
    return y


def encode_labels(y) -> tuple[np.ndarray, np.ndarray]:
    """Class labels of any kind mapped to 0, ..., K-1 in sorted order (as np.unique sorts).

    Returns
    -------
    indices : ndarray (n,), int64
        ``classes[indices]`` gives back ``y``.
    classes : ndarray (K,)
        The distinct labels, sorted.

    >>> indices, classes = encode_labels(["cat", "dog", "cat", "bird"])
    >>> indices, classes
    (array([1, 2, 1, 0]), array(['bird', 'cat', 'dog'], dtype='<U4'))
    >>> decode_labels(indices, classes).tolist()
    ['cat', 'dog', 'cat', 'bird']
    """
    y = label_vector(y)
    if y.dtype.kind == "f" and np.isnan(y).any():
        raise ValueError(
            f"y contains {int(np.isnan(y).sum())} NaN label(s), first at row "
            f"{int(np.flatnonzero(np.isnan(y))[0])}; drop the unlabelled rows first"
        )
    if y.dtype.kind in "iub" and y.size:
        # NOTE: integer labels in a modest range are counted in O(n) instead of sorted.
        low = int(y.min())
        span = int(y.max()) - low + 1
        if span <= max(1024, 4 * y.size):
            shifted = y.astype(np.int64) - low
            present = np.bincount(shifted, minlength=span) > 0
            classes = (np.flatnonzero(present) + low).astype(y.dtype)
            lookup = np.cumsum(present) - 1  # shifted label -> its rank among classes
            return lookup[shifted].astype(np.int64), classes
    try:
        classes, indices = np.unique(y, return_inverse=True)
    except TypeError as err:  # e.g. None mixed with strings cannot be sorted
        raise ValueError(
            f"the labels in y cannot be sorted ({err}); give labels of one kind "
            "(all numbers or all strings) and no missing values"
        ) from None
    return indices.reshape(-1).astype(np.int64), classes


def index_labels(y, classes, name: str = "y") -> np.ndarray:
    """The index of each label of ``y`` in ``classes`` (the order of a model's outputs):
    the one label → index lookup, refusing labels that ``classes`` lacks.

    >>> index_labels(["dog", "cat"], np.array(["bird", "cat", "dog"])).tolist()
    [2, 1]
    """
    y = label_vector(y, name)
    known = np.asarray(classes).tolist()
    lookup = {c: i for i, c in enumerate(known)}
    unknown = [v for v in np.unique(y).tolist() if v not in lookup]
    if unknown:
        raise ValueError(f"{name} holds labels {unknown[:5]} that are not among the classes "
                         f"{known[:10]} the model was trained on")
    return np.array([lookup[v] for v in y.tolist()], dtype=np.int64)


def decode_labels(indices, classes) -> np.ndarray:
    """The labels ``classes[indices]``: the inverse of ``encode_labels``.

    >>> decode_labels([0, 2], ["setosa", "versicolor", "virginica"]).tolist()
    ['setosa', 'virginica']
    """
    classes = np.asarray(classes)
    indices = np.asarray(values_of(indices))
    if indices.dtype.kind == "f" and np.all(indices == np.round(indices)):
        indices = indices.astype(np.int64)
    if indices.dtype.kind not in "iu":
        raise ValueError(
            f"indices must be integers 0..K-1, got dtype {indices.dtype}; "
            "pass class indices, e.g. the output of model.predict"
        )
    if indices.size and (indices.min() < 0 or indices.max() >= len(classes)):
        raise ValueError(
            f"indices must lie in 0..{len(classes) - 1} for {len(classes)} classes, got "
            f"values from {int(indices.min())} to {int(indices.max())}"
        )
    return classes[indices]


def infer_task(y) -> str:
    """"binary", "multiclass" or "regression", read off the targets y.

    Labels that are strings, booleans or integers (integer-valued floats included) with at
    most ``MAX_CLASSES`` = 20 distinct values are classes; any other numbers are a regression
    target. Two classes or fewer make the task binary.

    >>> infer_task(["a", "b", "a"]), infer_task([0, 1, 2, 1]), infer_task([0.5, 1.7])
    ('binary', 'multiclass', 'regression')
    """
    y = label_vector(y)
    if y.dtype.kind == "c":
        return "regression"
    if y.dtype.kind in "fiu":
        values = y.astype(np.float64)
        finite = values[np.isfinite(values)]
        integral = finite.size == values.size and np.all(finite == np.round(finite))
        if not integral or np.unique(finite).size > MAX_CLASSES:
            return "regression"
    return "binary" if encode_labels(y)[1].size <= 2 else "multiclass"


def _stratified_test_counts(counts: np.ndarray, n_test: int) -> np.ndarray:
    """How many samples of each class go to the test part.

    Each class gets its share counts_c · n_test / n, rounded by largest remainder so that
    the shares add to n_test; then every class with at least 2 samples is kept in both
    parts (1 ≤ share ≤ count - 1), and the total is nudged back towards n_test.
    """
    exact = counts * n_test / counts.sum()
    share = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - share), kind="stable")
    share[order[: n_test - share.sum()]] += 1
    low = np.where(counts >= 2, 1, 0)
    high = np.where(counts >= 2, counts - 1, 0)
    share = np.clip(share, low, high)
    while (gap := n_test - int(share.sum())) != 0:
        movable = share < high if gap > 0 else share > low
        if not movable.any():
            break  # the bounds win: too few samples per class to hit n_test exactly
        room = np.where(movable, exact - share, np.nan)
        share[np.nanargmax(room) if gap > 0 else np.nanargmin(room)] += np.sign(gap)
    return share


def _take(data, idx: np.ndarray):
    if hasattr(data, "iloc"):  # pandas keeps its own type
        return data.iloc[idx]
    return np.asarray(data)[idx]


def train_test_split(X, y, test_size: float = 0.25, stratify: bool = True, seed: int = 0):
    """Split X and y at random into a training part and a held-out test part.

    With ``stratify`` and class labels y (see ``infer_task``), each class keeps its
    proportion in both parts and every class with at least 2 samples appears in both;
    for a regression target the split is plain random. The test part holds
    ceil(test_size · n) samples (stratification may shift that by a few).

    Parameters
    ----------
    X : array-like or DataFrame (n, ...)
    y : array-like or Series (n,)
    test_size : float in (0, 1)
    stratify : bool
    seed : int or numpy Generator

    Returns
    -------
    X_train, X_test, y_train, y_test : numpy arrays (pandas objects stay pandas)

    >>> X, y = np.arange(16).reshape(8, 2), np.array([0, 0, 0, 0, 1, 1, 1, 1])
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5)
    >>> len(X_train), len(X_test), np.bincount(y_test).tolist()
    (4, 4, [2, 2])
    """
    if isinstance(test_size, bool) or not isinstance(test_size, (int, float, np.floating)) \
            or not 0 < test_size < 1:
        raise ValueError(
            f"test_size must be a fraction strictly between 0 and 1, got {test_size!r}; "
            "for example 0.25 keeps a quarter of the samples for testing"
        )
    n = len(X)
    y_vec = label_vector(y)
    if y_vec.shape[0] != n:
        raise ValueError(
            f"X and y must have the same number of samples, got {n} rows in X and "
            f"{y_vec.shape[0]} labels in y"
        )
    n_test = math.ceil(test_size * n)
    if n_test >= n:
        raise ValueError(
            f"cannot split {n} sample(s) with test_size={test_size}: that leaves nothing "
            "to train on; give more samples or a smaller test_size"
        )
    rng = np.random.default_rng(seed)
    if stratify and infer_task(y_vec) != "regression":
        codes, classes = encode_labels(y_vec)
        shares = _stratified_test_counts(np.bincount(codes, minlength=len(classes)), n_test)
        test_parts, train_parts = [], []
        for c, share in enumerate(shares):
            members = rng.permutation(np.flatnonzero(codes == c))
            test_parts.append(members[:share])
            train_parts.append(members[share:])
        test = rng.permutation(np.concatenate(test_parts))
        train = rng.permutation(np.concatenate(train_parts))
    else:
        order = rng.permutation(n)
        test, train = order[:n_test], order[n_test:]
    return _take(X, train), _take(X, test), _take(y, train), _take(y, test)


def batches(n: int, batch_size: int | None, rng=None, shuffle: bool = True
            ) -> Iterator[np.ndarray]:
    """Index arrays that cover 0, ..., n-1 once: the mini-batches of one epoch.

    Only indices are made, never copies of the data: use ``X[idx], y[idx]``. The last
    batch may be smaller. ``batch_size=None`` gives one full batch ``arange(n)``, the
    full-batch gradient descent of eq. (31) (no shuffling: the order does not change its
    gradient). ``rng`` is a seed or a numpy Generator; None draws a fresh unseeded one.

    >>> [idx.tolist() for idx in batches(5, 2, shuffle=False)]
    [[0, 1], [2, 3], [4]]
    >>> sorted(np.concatenate(list(batches(5, 2, rng=0))).tolist())
    [0, 1, 2, 3, 4]
    """
    n = positive_int(n, "n")
    if batch_size is None:
        return iter([np.arange(n)])
    batch_size = positive_int(batch_size, "batch_size")
    order = np.random.default_rng(rng).permutation(n) if shuffle else np.arange(n)
    return (order[start:start + batch_size] for start in range(0, n, batch_size))
