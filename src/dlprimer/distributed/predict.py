"""Predictions on a Dask array: lazy, computed blockwise where the chunks live."""

from __future__ import annotations

from dlprimer.distributed.chunks import predict_chunk
from dlprimer.distributed.rows import as_dask_array

__all__ = ["predict_dask"]


def predict_dask(model, X, kind: str = "predict_proba"):
    """``model.predict_proba(X)`` (or ``predict``) for a Dask X (n, p), as a lazy Dask
    array with X's row chunks: nothing is computed until ``.compute()``."""
    import numpy as np

    X = as_dask_array(X, "X")
    if X.ndim != 2:
        raise ValueError(f"a Dask X must be a 2-D table (n, p), got shape {X.shape}")
    X = X.rechunk({1: -1})  # rows chunked, columns whole
    K = len(model.classes_) if model.output == "softmax" and model.classes_ is not None else 0
    if kind == "predict" and model.classes_ is not None:
        dtype = np.asarray(model.classes_).dtype
    else:
        dtype = np.dtype(model.dtype) if model.output != "identity" else np.float64
    if kind == "predict_proba" and K:
        return X.map_blocks(predict_chunk, model, kind, dtype=dtype, chunks=(X.chunks[0], (K,)))
    return X.map_blocks(predict_chunk, model, kind, dtype=dtype, drop_axis=1,
                        chunks=(X.chunks[0],))
