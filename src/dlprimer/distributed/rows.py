"""Rows that live on a Dask cluster: the chunks of X and y, aligned, and the one-pass
statistics fit needs from them (classes, eq. (13)'s means and standard deviations)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dlprimer.data.tables import MAX_CLASSES, Standardizer, constant_columns
from dlprimer.distributed.chunks import chunk_classes, chunk_moments, combine_moments
from dlprimer.engine.checks import is_dask

__all__ = ["DaskRows", "as_dask_array", "client_or_none", "is_dask"]


def client_or_none():
    """The ``distributed.Client`` that Dask computes on now, or None (then Dask's default
    scheduler, or the one ``dask.config.set(scheduler=...)`` chose)."""
    try:
        from distributed import default_client
    except ImportError:
        return None
    try:
        client = default_client()
    except ValueError:
        return None
    from dask.base import get_scheduler

    return client if get_scheduler() == client.get else None


def as_dask_array(obj, name: str):
    """A Dask array (n, ...) from a Dask array, DataFrame or Series, chunk sizes known."""
    import dask.array as da

    if hasattr(obj, "to_dask_array"):  # a Dask DataFrame or Series
        dtypes = [obj.dtype] if hasattr(obj, "dtype") else list(obj.dtypes)
        if any(getattr(d, "kind", "O") not in "biuf" for d in dtypes) and name == "X":
            raise TypeError("a Dask DataFrame X holds columns that are not numbers; let "
                            "dp.fit encode them (preprocessor=None, the default) or pass a "
                            "dp.data.Preprocessor")
        if hasattr(obj, "dtype") and getattr(obj.dtype, "kind", "O") not in "biuf":
            obj = obj.astype(object)  # labels as text: Dask converts objects, not "string"
        obj = obj.to_dask_array(lengths=True)
    if not isinstance(obj, da.Array):
        raise TypeError(f"{name} must be a Dask array, DataFrame or Series, got "
                        f"{type(obj).__name__}")
    if any(math.isnan(c) for c in obj.chunks[0]):
        obj = obj.compute_chunk_sizes()
    return obj


@dataclass
class DaskRows:
    """X (n, p) and y (n,) as Dask arrays, chunked alike by rows (X whole along its
    columns), and their chunks as lists of delayed blocks."""

    X: object
    y: object

    @classmethod
    def of(cls, X, y) -> DaskRows:
        X, y = as_dask_array(X, "X"), as_dask_array(y, "y")
        if X.ndim != 2:
            raise ValueError(f"a Dask X must be a 2-D table (n, p), got shape {X.shape}")
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            raise ValueError(f"y must be 1-D (one target per row), got shape {y.shape}")
        if X.shape[0] != y.shape[0]:
            raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]} entries; give "
                             "one target per row")
        if X.shape[0] == 0:
            raise ValueError("X has no rows")
        X = X.rechunk({1: -1})
        y = y.rechunk((X.chunks[0],))
        return cls(X, y)

    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    @property
    def p(self) -> int:
        return int(self.X.shape[1])

    @property
    def n_chunks(self) -> int:
        return len(self.X.chunks[0])

    def blocks(self) -> list[tuple[object, object]]:
        """(X chunk, y chunk) as delayed objects, in row order."""
        xs = self.X.to_delayed().ravel().tolist()
        ys = self.y.to_delayed().ravel().tolist()
        return list(zip(xs, ys, strict=True))

    def first_targets(self) -> np.ndarray:
        """The targets of the first non-empty chunk (to tell classes from numbers)."""
        for size, (_, y) in zip(self.X.chunks[0], self.blocks(), strict=True):
            if size:
                return np.asarray(y.compute())
        raise ValueError("X has no rows")  # pragma: no cover - checked in ``of``

    def classes(self) -> np.ndarray:
        """The distinct labels over all chunks, in one pass."""
        import dask

        parts = dask.compute(*[dask.delayed(chunk_classes)(y) for _, y in self.blocks()])
        classes = np.unique(np.concatenate(parts))
        if classes.dtype.kind == "f" and classes.size > MAX_CLASSES:  # pragma: no cover
            raise ValueError("y has too many distinct values for classes")
        return classes

    def standardizer(self) -> Standardizer:
        """Eq. (13)'s x̄_j and s_j (1/n variance) over all rows, in one pass: each chunk's
        (n, mean, M2), combined pairwise; a constant column gets scale 1, as in memory."""
        import dask

        parts = dask.compute(*[dask.delayed(chunk_moments)(x) for x, _ in self.blocks()])
        n, mean, m2 = combine_moments(parts)
        std = np.sqrt(m2 / n)
        constant = constant_columns(mean, std)
        return Standardizer.from_dict({"mean": mean.tolist(),
                                       "scale": np.where(constant, 1.0, std).tolist()})
