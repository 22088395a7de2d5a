"""Input checks at the boundary: one place that turns user input into clean arrays.

Messages say what was expected, what was got, and how to fix it.
"""

from __future__ import annotations

import numpy as np


def as_float_array(value, name: str, ndim: int | tuple[int, ...] | None = None,
                   dtype=np.float64, allow_nan: bool = True) -> np.ndarray:
    """``value`` as a float numpy array with ``ndim`` axes, or a ValueError naming ``name``."""
    data = getattr(value, "data", value)  # a Tensor's values
    try:
        array = np.asarray(data, dtype=dtype)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"{name} must be numeric (a list or array of numbers), got {type(value).__name__} "
            f"that numpy cannot turn into {np.dtype(dtype).name}: {err}"
        ) from None
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if array.ndim not in allowed:
            wanted = " or ".join(f"{n}-D" for n in allowed)
            raise ValueError(f"{name} must be {wanted}, got shape {array.shape}")
    if not allow_nan and not np.all(np.isfinite(array)):
        bad = np.argwhere(~np.isfinite(array))
        raise ValueError(
            f"{name} contains {len(bad)} NaN or infinite value(s), first at index "
            f"{tuple(int(i) for i in bad[0])}; remove or impute them first"
        )
    return array


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
    raise ValueError(
        f"{name} contains {int(bad.sum())} NaN or infinite value(s) in {len(rows)} row(s), "
        f"first at row(s) {shown}{more}; remove those rows or impute the values first"
    )
