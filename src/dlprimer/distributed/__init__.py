"""Beyond one machine: ``dp.fit`` and prediction on Dask arrays and DataFrames, on the
active ``distributed.Client`` (or Dask's default scheduler). The data is never gathered:
each step's work happens where the chunks live (``fit``: the exact full-batch path and local
SGD; ``chunks``: what a worker computes; ``rows``: aligned chunks and one-pass statistics;
``predict``: lazy blockwise predictions). Needs the extra ``dlprimer[dask]``.
"""

from dlprimer.distributed.fit import fit_dask
from dlprimer.distributed.predict import predict_dask
from dlprimer.distributed.rows import DaskRows, client_or_none, is_dask

__all__ = ["DaskRows", "client_or_none", "fit_dask", "is_dask", "predict_dask"]
