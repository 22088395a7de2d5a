"""Input checks at the boundary: one place that turns user input into clean arrays.

Messages say what was expected, what was got, and how to fix it.
"""

from __future__ import annotations

import numbers
import sys

import numpy as np

from dlprimer.engine.tensor import Tensor
from dlprimer.engine.validate import float_array, range_text


def as_float_array(value, name: str, ndim: int | tuple[int, ...] | None = None,
                   dtype=np.float64, allow_nan: bool = True) -> np.ndarray:
    """``value`` as a float numpy array with ``ndim`` axes, or a ValueError naming ``name``.

    Text, complex numbers, dates and other objects are refused with a message saying how
    to convert them (``validate.float_array``, the conversion Tensor uses too), as are
    ragged lists and values beyond ``dtype`` (1e308 for float32).
    """
    reject_sparse(value, name)
    if isinstance(value, np.ma.MaskedArray) and np.ma.count_masked(value):
        raise ValueError(f"{name} is a masked array with {np.ma.count_masked(value)} masked "
                         "entries, which numbers cannot stand for; fill them (X.filled(...)) "
                         "or drop those rows first")
    array = float_array(values_of(value), dtype, name)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if array.ndim not in allowed:
            wanted = " or ".join(f"{n}-D" for n in allowed)
            raise ValueError(f"{name} must be {wanted}, got shape {array.shape}")
    if not allow_nan and not np.all(np.isfinite(array)):
        bad = ~np.isfinite(array)
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name} contains {non_finite_count(array[bad])}, first at index "
                         f"{first}; remove or impute them first")
    return array


def non_finite_count(values: np.ndarray) -> str:
    """How many of ``values`` (all NaN or ±inf) are which, in words: NaN is called NaN
    (whatever its sign bit: -nan too), and only ±inf infinite.

    >>> non_finite_count(np.array([np.nan])), non_finite_count(np.array([-np.inf, np.inf]))
    ('1 NaN value(s)', '2 infinite value(s) (±inf)')
    >>> non_finite_count(np.array([-np.nan, np.inf, np.nan]))
    '3 NaN or infinite value(s) (2 NaN, 1 infinite)'
    """
    nan = int(np.isnan(values).sum())
    inf = values.size - nan
    if not inf:
        return f"{nan} NaN value(s)"
    if not nan:
        return f"{inf} infinite value(s) (±inf)"
    return f"{nan + inf} NaN or infinite value(s) ({nan} NaN, {inf} infinite)"


def values_of(value):
    """A Tensor's array; anything else as it is (a numpy array's own ``.data`` is its raw
    buffer, not its values)."""
    return value.data if isinstance(value, Tensor) else value


def reject_sparse(value, name: str) -> None:
    """A ValueError for a scipy sparse matrix or array, whose ``.data`` holds only the
    nonzero entries (read as the values, it would give a silently wrong result)."""
    if type(value).__module__.startswith("scipy.sparse"):
        raise ValueError(f"{name} is a scipy sparse {type(value).__name__} of shape "
                         f"{getattr(value, 'shape', '?')}; dlprimer needs a dense array: pass "
                         f"{name}.toarray()")


def same_shape(u: np.ndarray, v: np.ndarray, names: tuple[str, str] = ("u", "v")) -> None:
    """Raise a ValueError unless u and v have the same shape."""
    if u.shape != v.shape:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same shape, got {u.shape} and {v.shape}"
        )


def require_finite_rows(X: np.ndarray, name: str = "X", max_shown: int = 5) -> None:
    """Raise a ValueError unless every entry of ``X`` is finite, naming the count and rows.

    Rows are counted from 0 along the first axis, as numpy indexes them.
    """
    # NOTE: the sum is finite when every entry is (NaN and inf propagate); it costs one
    # pass and no n×p temporary. Only an overflowing sum takes the slow path below.
    with np.errstate(over="ignore", invalid="ignore"):
        total = X.sum() if X.size else 0.0
    if np.isfinite(total):
        return
    bad = ~np.isfinite(X)
    if not bad.any():
        return
    rows = np.flatnonzero(bad.reshape(X.shape[0], -1).any(axis=1)) if X.ndim else np.array([0])
    shown = ", ".join(str(int(r)) for r in rows[:max_shown])
    more = f" and {len(rows) - max_shown} more" if len(rows) > max_shown else ""
    count = non_finite_count(X[bad])
    detail = ""
    if " or " in count:  # the breakdown after the rows, so that the rows come first
        count, detail = count.split(" (")
        detail = " (" + detail
    raise ValueError(
        f"{name} contains {count} in {len(rows)} row(s), first at row(s) {shown}{more}"
        f"{detail}; remove those rows or impute the values first"
    )


def positive_int(value, name: str, also: str = "") -> int:
    """``value`` as an int ≥ 1 (numpy integers too, not bools), or a ValueError naming
    ``name``; ``also`` names what else is allowed (e.g. "or None")."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) \
            or value < 1:
        allowed = f" {also}" if also else ""
        raise ValueError(f"{name} must be a positive integer{allowed}, got {value!r}")
    return int(value)


def real_number(value, name: str, what: str, low: float | None = None) -> float:
    """``value`` as a finite float (≥ ``low`` when given), or a ValueError that names
    ``name`` and says what it is (``what``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) \
            or not np.isfinite(value) or (low is not None and value < low):
        bound = f" >= {low:g}" if low is not None else ""
        raise ValueError(f"{name} ({what}) must be a finite number{bound}, got {value!r}")
    return float(value)


def in_dtype(X: np.ndarray, dtype, name: str = "X") -> np.ndarray:
    """Finite ``X`` cast to ``dtype``, or a ValueError where a value does not fit it (a
    float64 1e39 would become inf in float32, and the model's output NaN)."""
    if X.dtype == dtype:
        return X
    with np.errstate(over="ignore", invalid="ignore"):  # reported just below
        cast = X.astype(dtype)
        total = cast.sum(dtype=np.float64) if cast.size else 0.0  # inf + -inf is NaN
    if np.dtype(dtype).kind == "f" and not np.isfinite(total):
        largest = float(np.max(np.abs(X)))
        raise ValueError(
            f"{name} has values up to {largest:.3g} in magnitude, beyond what "
            f"{np.dtype(dtype).name} holds ({range_text(dtype)}); rescale or standardize them "
            "(standardize=True), or use a float64 model (dtype=np.float64)"
        )
    return cast


def is_dask(obj) -> bool:
    """Whether ``obj`` is a Dask collection (array, DataFrame, Series), told by its type's
    module: Dask is never imported to find out."""
    module = type(obj).__module__ or ""
    return module.startswith(("dask.", "dask_expr"))


def is_dataframe(X) -> bool:
    pd = sys.modules.get("pandas")  # only look if the caller already imported pandas
    return pd is not None and isinstance(X, pd.DataFrame)


def _dataframe_column(series, column, name: str) -> np.ndarray:
    """One DataFrame column as float64, or a ValueError naming the first non-numeric cell."""
    pd = sys.modules["pandas"]
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    values = np.empty(len(series))
    for i, value in enumerate(series.to_numpy()):
        try:
            values[i] = np.nan if pd.isna(value) else float(value)
        except (TypeError, ValueError):
            raise ValueError(
                f"{name} column {column!r} is not numeric: row {i} holds {value!r}; "
                "encode it as numbers (for example with pandas.get_dummies) or drop the column"
            ) from None
    return values


def as_matrix(X, name: str = "X") -> tuple[np.ndarray, list[str] | None]:
    """A data matrix X (n, p), eq. (9), checked, with its feature names if it has any.

    Accepts a numpy array, nested lists or a pandas DataFrame (its column names become the
    feature names). float32 input stays float32; everything else becomes float64.

    Returns
    -------
    X : ndarray (n, p)
        A copy only where a conversion was needed.
    feature_names : list of str, or None when the input has no column names.

    >>> X, names = as_matrix([[50, 120, 200], [35, 130, 220]])
    >>> X.shape, X.dtype, names
    ((2, 3), dtype('float64'), None)
    """
    names = None
    if is_dataframe(X):
        names = [str(c) for c in X.columns]
        columns = [_dataframe_column(X[c], c, name) for c in X.columns]
        X = np.column_stack(columns) if columns else np.empty((len(X), 0))
    dtype = np.float32 if getattr(X, "dtype", None) == np.float32 else np.float64
    X = as_float_array(X, name, dtype=dtype)
    if X.ndim != 2:
        hint = ("; for one feature use X.reshape(-1, 1), for one sample X.reshape(1, -1)"
                if X.ndim == 1 else "")
        raise ValueError(
            f"{name} must be a 2-D data matrix (n samples × p features), got shape "
            f"{X.shape}{hint}"
        )
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(
            f"{name} must have at least one row and one column, got shape {X.shape}"
        )
    require_finite_rows(X, name)
    return X, names
