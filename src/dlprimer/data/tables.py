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

from dlprimer.data.labels import (  # noqa: F401 (re-exported: the labels live in labels.py)
    MAX_CLASSES,
    canonical_label,
    decode_labels,
    encode_labels,
    index_labels,
    infer_task,
    label_vector,
)
from dlprimer.engine.checks import (  # noqa: F401 (some re-exported: as_matrix, is_dataframe)
    as_float_array,
    as_matrix,
    is_dataframe,
    positive_int,
    require_finite_rows,
)

__all__ = [
    "Standardizer",
    "constant_columns",
    "as_matrix",
    "canonical_label",
    "column_moments",
    "batches",
    "decode_labels",
    "encode_labels",
    "index_labels",
    "infer_task",
    "train_test_split",
]

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
        mean, std, constant = column_moments(X)
        self.mean_ = mean
        self.scale_ = np.where(constant, 1.0, std)
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
        with np.errstate(over="ignore"):
            Z = (X - self.mean_) / self.scale_
        if not np.isfinite(Z).all():
            # NOTE: x - x̄ overflows for x = 1e308, x̄ = -1e308 though x̃ is finite: divide
            # first (one more rounding, so only where needed).
            with np.errstate(over="ignore"):
                Z = X / self.scale_ - self.mean_ / self.scale_
        return Z.astype(X.dtype, copy=False)

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


def column_moments(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x̄_j, s_j, constant_j) of each column of a finite X (n, p), eq. (10) with 1/n, in
    float64, finite wherever the true values are; ``constant`` marks the columns whose s_j
    is 0 up to rounding.

    >>> mean, std, constant = column_moments(np.array([[1e308, 1.0], [-1e308, 1.0]]))
    >>> mean.tolist(), std.tolist(), constant.tolist()
    ([0.0, 1.0], [1e+308, 0.0], [False, True])
    """
    X64 = X.astype(np.float64, copy=False)  # sums in float64 even for float32 data
    # NOTE: Σ x over a column of ±1e308 overflows, and so do the squares of anything
    # beyond 1e154, though x̄ and s fit float64. Each column is divided by a power of two
    # 2^k_j that brings max |x_j| into [1/2, 1) (as notation.sample_mean does): exact, so
    # for other data x̄ and s are bit for bit those of the plain formulas; they are
    # scaled back by 2^k_j at the end, where s ≤ max |x_j| always fits.
    peak = np.max(np.abs(X64), axis=0, initial=0.0)  # (p,)
    if np.all((peak < 1e140) & ((peak > 1e-140) | (peak == 0))):
        # squares and sums of n such values neither overflow nor underflow: the plain
        # formulas, without the two scaled copies of X (most of the time on a big X)
        mean = X64.mean(axis=0)
        std = np.sqrt(((X64 - mean) ** 2).mean(axis=0))
        return mean, std, constant_columns(mean, std)
    k = np.frexp(peak)[1]
    Y = np.ldexp(X64, -k)  # |Y| < 1
    mean_Y = Y.mean(axis=0)
    std_Y = np.sqrt(((Y - mean_Y) ** 2).mean(axis=0))  # (Y - ȳ)² ≤ 4: no overflow
    mean, std = np.ldexp(mean_Y, k), np.ldexp(std_Y, k)
    return mean, std, constant_columns(mean, std)


def constant_columns(mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """The columns to treat as constant (scale 1, only centred): s_j is 0 up to rounding
    (a few ulps of x̄_j), or so deep among the subnormal numbers (below 2^-1048, where fewer
    than 26 bits are left) that x̃ = (x - x̄)/s would divide rounding noise by noise."""
    # NOTE: dividing by a std that is rounding noise would blow that noise up to O(1).
    return ((std <= 10 * np.finfo(np.float64).eps * np.abs(mean)) | (std == 0)
            | (std < SUBNORMAL_NOISE))


#: Below this, a subnormal float64 keeps fewer than 26 significant bits (2^-1074 · 2^26).
SUBNORMAL_NOISE = float(np.ldexp(1.0, -1048))


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
