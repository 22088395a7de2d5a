"""The primer's elementary math on plain arrays (Sections 3, 5, 6 and 7).

Each function is one equation of the primer, on lists or numpy arrays, computed in
float64 and returning a float or a numpy array. The doctests use the primer's own
numbers.

Summation notation, eqs. (11) and (12), with h = (2, 4, 0, 10):

>>> h = np.array([2, 4, 0, 10])
>>> int(h.sum())                                    # eq. (11)
16
>>> int(sum((h[i] + h[3 - i] - 11) ** 2 for i in range(4)))   # eq. (12): h^(5-i) is h[3-i]
100
"""

from __future__ import annotations

import numpy as np

from dlprimer.engine.checks import as_float_array, require_finite_rows, same_shape

__all__ = [
    "inner",
    "norm",
    "cosine",
    "distance",
    "squared_error",
    "mean_squared_error",
    "sample_mean",
    "sample_variance",
    "standardize",
    "one_hot",
    "vectorize",
    "hadamard",
]


def _vector_pair(u, v) -> tuple[np.ndarray, np.ndarray]:
    u = as_float_array(u, "u", ndim=1)
    v = as_float_array(v, "v", ndim=1)
    if u.shape != v.shape:
        raise ValueError(
            f"u and v must be vectors of the same length, got lengths {u.size} and {v.size}"
        )
    return u, v


def _scaled(*arrays: np.ndarray, axis=None) -> tuple[list[np.ndarray], np.ndarray]:
    """The arrays divided by one power of two 2^k, with k such that the largest |entry|
    (over ``axis``: per column for axis=0) lies in [1/2, 1); returns (arrays, k).

    NOTE: the primer's formulas square their entries, and squares of 1e200 overflow to inf
    while those of 1e-200 underflow to 0, though ‖u‖ is representable (hypot and BLAS's
    nrm2 scale for the same reason). Dividing by a power of two is exact, so the scaled
    entries keep every digit, their squares and sums stay in range, and a result is
    scaled back by 2^k (or 2^2k for a square). A zero, infinite or NaN maximum gets k = 0:
    such input passes through unscaled.
    """
    top = np.max([np.max(np.abs(a), axis=axis, initial=0.0) for a in arrays], axis=0)
    k = np.frexp(np.where(np.isfinite(top), top, 0.0))[1]
    return [np.ldexp(a, -k) for a in arrays], k


def _unscale(value, k):
    """value · 2^k (a float, or an array for per-column k); inf, without a warning, only
    where the true result is beyond float64's range (about 1.8e308)."""
    with np.errstate(over="ignore"):
        out = np.ldexp(value, k)
    return float(out) if np.ndim(out) == 0 else out


def _difference(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """u - v as (d, k) with u - v = d · 2^k: no overflow in the difference or its square."""
    (u, v), k = _scaled(u, v)  # |u - v| ≤ 2 now, where 1e308 - (-1e308) would overflow
    (d,), k_d = _scaled(u - v)  # a small difference of large vectors, scaled up again
    return d, k + k_d


def inner(u, v) -> float:
    """Inner product uᵀv = Σ_i u_i v_i, eq. (15).

    >>> inner([2, 0, -3], [1, -12.5, 2])
    -4.0
    """
    u, v = _vector_pair(u, v)
    return float(u @ v)


def norm(u) -> float:
    """Euclidean (L2) norm ‖u‖ = √(uᵀu), eq. (16).

    >>> round(norm([2, 0, -3]), 4)   # √13; the primer prints ≈ 3.6
    3.6056
    >>> round(norm([3e200, 4e200]) / 1e200, 12)   # uᵀu = 2.5e401 would overflow to inf
    5.0
    """
    (u,), k = _scaled(as_float_array(u, "u", ndim=1))
    return _unscale(np.sqrt(u @ u), k)


def cosine(u, v) -> float:
    """Cosine of the angle between u and v, eq. (17): uᵀv / (‖u‖ ‖v‖).

    >>> round(cosine([2, 0, -3], [1, -12.5, 2]), 3)
    -0.087

    The word vectors of Sec. 10:

    >>> king, queen, mean = [0.41, 1.2, 3.4, -1.3], [0.39, 1.1, 3.5, 1.6], [-0.2, -3.2, 1.3, 0.8]
    >>> round(cosine(king, queen), 3), round(cosine(mean, king), 2), round(cosine(mean, queen), 3)
    (0.729, -0.04, 0.156)
    """
    u, v = _vector_pair(u, v)
    (u,), _ = _scaled(u)  # the cosine does not change when u or v is scaled
    (v,), _ = _scaled(v)
    nu, nv = np.sqrt(u @ u), np.sqrt(v @ v)
    if nu == 0 or nv == 0:
        which = "u" if nu == 0 else "v"
        raise ValueError(
            f"cosine is undefined for a zero vector ({which} is all zeros): eq. (17) divides "
            "by its norm"
        )
    # NOTE: rounding can carry |uᵀv| / (‖u‖ ‖v‖) past 1 by an ulp; a cosine cannot be.
    return float(np.clip((u @ v) / (nu * nv), -1.0, 1.0))


def distance(u, v) -> float:
    """Euclidean distance ‖u - v‖, eq. (18).

    >>> distance([2, 0, -3], [1, -12.5, 2])
    13.5
    """
    d, k = _difference(*_vector_pair(u, v))
    return _unscale(np.sqrt(d @ d), k)


def squared_error(u, v) -> float:
    """Squared error ‖u - v‖² = (u - v)ᵀ(u - v), eq. (19).

    >>> squared_error([2, 0, -3], [1, -12.5, 2])    # 1 + 156.25 + 25
    182.25

    inf only when the true value is beyond float64's range (about 1.8e308).
    """
    d, k = _difference(*_vector_pair(u, v))
    return _unscale(d @ d, 2 * k)


def mean_squared_error(Y, Y_hat) -> float:
    """Mean squared error (1/n) Σ_i ‖y⁽ⁱ⁾ - ŷ⁽ⁱ⁾‖², eq. (20); rows are samples.

    For 1-D inputs each entry is one sample. With the one-hot label of class 3 and the
    prediction (14):

    >>> round(mean_squared_error([[0, 0, 1, 0]], [[0.14, 0.02, 0.65, 0.19]]), 4)
    0.1786
    """
    Y = as_float_array(Y, "Y", ndim=(1, 2))
    Y_hat = as_float_array(Y_hat, "Y_hat", ndim=(1, 2))
    same_shape(Y, Y_hat, ("Y", "Y_hat"))
    if Y.shape[0] == 0:
        raise ValueError("mean_squared_error needs at least one sample, got 0 rows")
    d, k = _difference(Y, Y_hat)
    return _unscale((d * d).sum() / Y.shape[0], 2 * k)


def _data_matrix(X, name: str = "X") -> np.ndarray:
    X = as_float_array(X, name, ndim=(1, 2))
    if X.shape[0] == 0:
        raise ValueError(f"{name} has no rows; the sample mean of eq. (10) needs n ≥ 1")
    return X


def sample_mean(X):
    """Sample mean of each column, x̄_j = (1/n) Σ_i x_j⁽ⁱ⁾, eq. (10).

    A 2-D X (n samples as rows, p features as columns) gives p means; a 1-D X gives
    one float. With h of eq. (11):

    >>> sample_mean([2, 4, 0, 10])                 # 16 / 4
    4.0
    >>> sample_mean([[50, 120, 200], [35, 130, 220], [45, 125, 190]])   # table (9)
    array([ 43.33333333, 125.        , 203.33333333])
    """
    (X,), k = _scaled(_data_matrix(X), axis=0)  # a sum of 1e308s would overflow
    return _unscale(X.mean(axis=0), k)


def _centred(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(D, k): the columns of X minus their means, x_j - x̄_j = D_j · 2^{k_j}."""
    (X,), k = _scaled(X, axis=0)
    # NOTE: shifting by the first row before taking the mean makes a constant column
    # exactly 0: its mean computed directly can be off by an ulp (0.1 + 0.1 + 0.1 ≠ 0.3),
    # and dividing that rounding noise by its own tiny s_j would give ±1, not 0.
    shifted = X - X[:1]
    return shifted - shifted.mean(axis=0), k


def sample_variance(X, ddof: int = 0):
    """Sample variance of each column, s_j² = (1/n) Σ_i (x_j⁽ⁱ⁾ - x̄_j)², eq. (10).

    ``ddof=1`` divides by n - 1 instead (the unbiased estimate the primer mentions).

    >>> sample_variance([2, 4, 0, 10])             # (4 + 0 + 16 + 36) / 4
    14.0
    >>> round(sample_variance([2, 4, 0, 10], ddof=1), 4)
    18.6667
    """
    X = _data_matrix(X)
    _check_ddof(ddof, X.shape[0])
    d, k = _centred(X)
    return _unscale((d * d).sum(axis=0) / (X.shape[0] - ddof), 2 * k)


def _check_ddof(ddof: int, n: int) -> None:
    if ddof not in (0, 1):
        raise ValueError(f"ddof must be 0 (divide by n) or 1 (divide by n - 1), got {ddof}")
    if n - ddof <= 0:
        raise ValueError(f"sample_variance with ddof={ddof} needs at least {ddof + 1} rows")


def standardize(X, ddof: int = 0) -> np.ndarray:
    """Standardized data x̃_j⁽ⁱ⁾ = (x_j⁽ⁱ⁾ - x̄_j) / s_j, eq. (13), column by column.

    Each column of the result has mean 0 and standard deviation 1. A constant column
    (s_j = 0) is only centred, to zeros, instead of being divided by zero. NaN or
    infinite entries raise a ValueError naming their rows (as ``data.Standardizer``).

    >>> standardize([[50, 120], [35, 130], [45, 125]]).round(4)
    array([[ 1.069 , -1.2247],
           [-1.3363,  1.2247],
           [ 0.2673,  0.    ]])
    """
    X = _data_matrix(X)
    _check_ddof(ddof, X.shape[0])
    require_finite_rows(X, "X")
    d, _ = _centred(X)  # (x - x̄) / s is the same for X scaled by any 2^k
    s = np.sqrt((d * d).sum(axis=0) / (X.shape[0] - ddof))
    # NOTE: a constant feature carries no information; dividing it by s_j = 0 would give NaN.
    s = np.where(s > 0, s, 1.0)
    return d / s


def one_hot(labels, K: int | None = None, dtype=np.float64) -> np.ndarray:
    """One-hot encoded vectors (canonical unit vectors, Sec. 5): label k ↦ e_k ∈ R^K.

    Labels are integers 0..K-1 (K defaults to max(labels) + 1); the result is (n, K).

    >>> one_hot([0, 2, 1], K=4)
    array([[1., 0., 0., 0.],
           [0., 0., 1., 0.],
           [0., 1., 0., 0.]])
    """
    raw = np.asarray(getattr(labels, "data", labels))
    if raw.ndim != 1:
        raise ValueError(f"labels must be a 1-D sequence of class indices, got shape {raw.shape}")
    if raw.size and (raw.dtype.kind not in "iuf" or np.any(raw != np.round(raw))):
        raise ValueError(
            f"labels must be whole numbers 0..K-1, got {raw[:5].tolist()}...; map class names "
            "to indices first (np.unique(y, return_inverse=True))"
        )
    labels = raw.astype(np.int64)
    if K is None:
        K = int(labels.max()) + 1 if labels.size else 0
    if K <= 0 and labels.size:
        raise ValueError(f"K must be a positive number of classes, got {K}")
    outside = (labels < 0) | (labels >= K)
    if np.any(outside):
        first = int(np.argmax(outside))
        raise ValueError(
            f"labels must lie in 0..{K - 1} for K={K}, got {labels[first]} at position {first} "
            f"({int(outside.sum())} label(s) outside)"
        )
    out = np.zeros((labels.size, K), dtype=dtype)
    out[np.arange(labels.size), labels] = 1
    return out


def vectorize(X, order: str = "column") -> np.ndarray:
    """Spread a matrix into a vector, column after column or row after row (Sec. 7).

    With X of eq. (21):

    >>> X = [[0.4, -1, 4], [1.2, 0, -0.5], [0, 2.1, 3], [5, 2.1, -10]]
    >>> vectorize(X, order="column").tolist()
    [0.4, 1.2, 0.0, 5.0, -1.0, 0.0, 2.1, 2.1, 4.0, -0.5, 3.0, -10.0]
    >>> vectorize(X, order="row").tolist()
    [0.4, -1.0, 4.0, 1.2, 0.0, -0.5, 0.0, 2.1, 3.0, 5.0, 2.1, -10.0]
    """
    X = as_float_array(X, "X", ndim=2)
    if order not in ("column", "row"):
        raise ValueError(f'order must be "column" or "row", got {order!r}')
    return X.flatten(order="F" if order == "column" else "C")


def hadamard(u, v) -> np.ndarray:
    """Element-wise (Hadamard) product u ⊙ v, Sec. 7: entry i is u_i v_i.

    >>> hadamard([2, 0, -3], [1, -12.5, 2])
    array([ 2., -0., -6.])
    """
    u = as_float_array(u, "u")
    v = as_float_array(v, "v")
    same_shape(u, v)
    return u * v
