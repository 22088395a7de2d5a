"""What a cell as written stands for: a number, True/False, a date, or a gap. The
Preprocessor gives columns their roles with these; the reader finds decimal commas."""

from __future__ import annotations

import math
import re
import warnings

import numpy as np

__all__ = ["DECIMAL_COMMA", "EPOCH", "FALSE_WORDS", "TRUE_WORDS", "as_booleans", "as_numbers",
           "cell_strings", "cell_text", "day_first", "days_since_epoch", "is_boolean_column",
           "is_decimal_comma", "is_missing", "is_number", "looks_like_date", "parse_dates"]

# NOTE: [ \t], not \s (which also matches U+0085, U+2028 and other breaks), \Z, not $
# (which also matches before a final "\n"), and re.ASCII (\d would match other scripts'
# digits, which pandas does not read): a cell with those in it is text.

#: 1,5 or 1.234,5: a number written with a decimal comma (and dots grouping thousands).
DECIMAL_COMMA = re.compile(r"^[ \t]*[+-]?(\d{1,3}(\.\d{3})+|\d*),\d+[ \t]*\Z", re.ASCII)
TRUE_WORDS = ("true", "yes", "y", "t")
FALSE_WORDS = ("false", "no", "n", "f")
EPOCH = "1970-01-01"
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\Z", re.ASCII)
_DATE = re.compile(r"^[ \t]*(\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?"
                   r"|\d{1,2}[/.]\d{1,2}[/.]\d{2,4})[ \t]*\Z", re.ASCII)


def is_missing(series) -> np.ndarray:
    """Which cells are gaps: None, NaN, NaT or pandas' NA."""
    return series.isna().to_numpy()


def as_numbers(series) -> np.ndarray:
    """The column as float64 with NaN for missing cells; non-numbers raise ValueError.
    Text cells are stripped first, as ``is_number`` and ``cell_text`` see them."""
    import pandas as pd

    if series.dtype.kind in "biuf":
        return series.astype("float64").to_numpy()
    stripped = series.map(lambda v: v.strip() if isinstance(v, str) else v)
    return pd.to_numeric(stripped, errors="raise").astype("float64").to_numpy()


def cell_strings(series) -> list:
    """Each cell as a stripped string (None where missing)."""
    missing = is_missing(series)
    return [None if m else cell_text(v) for v, m in zip(series.tolist(), missing, strict=True)]


def cell_text(value) -> str:
    """One cell as a stripped string; 3.0 as "3" (a category read back as a number)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def is_number(cell: str) -> bool:
    """Whether the text is a finite number as pandas reads it: ASCII digits, a point and an
    exponent (12, -1.5, .5, 2e-3). Not 1_000 or other scripts' digits, which ``float``
    takes but pandas does not, and not 1e400 (inf)."""
    text = cell.strip()
    return bool(_NUMBER.match(text)) and math.isfinite(float(text))


def is_decimal_comma(cell: str) -> bool:
    """Whether the text is a number with a decimal comma: 1,5 or 1.234,5."""
    return bool(DECIMAL_COMMA.match(cell))


def looks_like_date(cell: str) -> bool:
    """Whether the text is written as a date: 2024-01-31 (with a time or not), 31/01/2024."""
    return bool(_DATE.match(cell))


def is_boolean_column(observed) -> bool:
    """Only True/False (as booleans, or one pair of words such as yes/no) in the cells."""
    values = observed.tolist()
    if values and all(isinstance(v, (bool, np.bool_)) for v in values):
        return True
    if not values or not all(isinstance(v, str) for v in values):
        return False
    words = {v.strip().lower() for v in values}
    # one letter alone ("N" for north, "F" for female) is a category, not a boolean
    return any(words <= {t, f} and (len(words) == 2 or len(t) > 1)
               for t, f in zip(TRUE_WORDS, FALSE_WORDS, strict=True))


def as_booleans(series, name: str) -> np.ndarray:
    """True/yes/y/t/1 → 1, False/no/n/f/0 → 0, NaN where missing; else a ValueError."""
    out = np.full(len(series), np.nan)
    missing = is_missing(series)  # None, NaN and pandas' NA (nullable "boolean" columns)
    for i, value in enumerate(series.tolist()):
        if missing[i]:
            continue
        if isinstance(value, (bool, np.bool_)):
            out[i] = float(value)
            continue
        word = cell_text(value).lower()
        if word in TRUE_WORDS or word == "1":
            out[i] = 1.0
        elif word in FALSE_WORDS or word == "0":
            out[i] = 0.0
        else:
            raise ValueError(f"column {name!r} holds {value!r} in row {i}, which is not "
                             "True/False, yes/no or 1/0")
    return out


def days_since_epoch(series) -> np.ndarray:
    """Datetimes → days since 1970-01-01 (fractional for times), NaN where missing."""
    import pandas as pd

    values = pd.to_datetime(series)
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    delta = values - pd.Timestamp(EPOCH)
    return (delta.dt.total_seconds() / 86400.0).to_numpy(dtype=np.float64, na_value=np.nan)


def day_first(cells: list[str]) -> bool:
    """Whether some d/m/y cell starts with a number that can only be a day (13 to 31)."""
    return any(re.match(r"^\s*(1[3-9]|2\d|3[01])[/.]", c) for c in cells)


def parse_dates(series, dayfirst: bool) -> np.ndarray | None:
    """Date strings → days since 1970-01-01, or None when some cell is not a date."""
    import pandas as pd

    missing = is_missing(series)
    text = pd.Series(cell_strings(series), dtype=object)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas' "could not infer format" chatter
        parsed = pd.to_datetime(text, errors="coerce", format="mixed", dayfirst=dayfirst)
    if (parsed.isna().to_numpy() & ~missing).any():
        return None
    return days_since_epoch(parsed)
