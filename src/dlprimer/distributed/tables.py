"""Raw Dask DataFrames (text, dates, gaps) into numbers, part by part where they live: the
Preprocessor's roles, medians and categories come from the first part (a sample; a category
first seen in a later part is encoded as all zeros there), and eq. (13) from every row in
one distributed pass after the encoding (``rows.DaskRows.standardizer``)."""

from __future__ import annotations

from dlprimer.data.preprocess import Preprocessor

__all__ = ["encoded_parts", "needs_encoding"]


def needs_encoding(X) -> bool:
    """Whether a Dask DataFrame holds columns that are not numbers (text, dates, booleans
    with gaps); a Dask array or a numeric DataFrame needs nothing."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(X, "partitions"):
        return False
    return any(getattr(d, "kind", "O") not in "biuf" for d in dtypes)


def encoded_parts(X, preprocessor: Preprocessor | None, drop_first: bool):
    """(X's parts encoded as a numeric Dask DataFrame, the Preprocessor, fitted on the first
    part without standardization unless it came fitted)."""
    import pandas as pd

    pre = preprocessor if isinstance(preprocessor, Preprocessor) else \
        Preprocessor(standardize=False, drop_first=drop_first)
    if pre.columns_ is None:
        pre.standardize = False  # eq. (13) comes from all rows, not the first part
        first = X.partitions[0].compute()
        if len(first) == 0:
            raise ValueError("the first part of X has no rows to learn the columns from")
        pre.fit(first)
    names = pre.feature_names_

    def encode(part):
        return pd.DataFrame(pre.transform(part), columns=names, index=part.index)

    return X.map_partitions(encode, meta={name: "f8" for name in names}), pre
