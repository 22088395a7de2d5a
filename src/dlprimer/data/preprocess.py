"""Tables as they come: from raw columns (numbers, strings, booleans, dates, IDs, gaps) to
the data matrix X̃ of eqs. (9) and (13).

A ``Preprocessor`` looks at each column of a pandas DataFrame once, at fit time, and gives
it a role:

=============  ==========================================================================
role           what is done
=============  ==========================================================================
numeric        used as it is; missing cells get the column's median, plus a 0/1
               feature "<column> missing" where any cell was missing at fit time
boolean        True/False, yes/no, y/n, t/f → 1/0 (missing: as for numeric)
date           days since 1970-01-01 (missing: as for numeric)
categorical    one-hot: a 0/1 feature "<column>=<value>" per category seen at fit time;
               a missing cell is the category "(missing)"; an unseen category at predict
               time is all zeros, with one warning naming it. With ``drop_first`` (Models
               I and II, whose coefficients get standard errors) the first category is the
               reference and has no feature of its own.
identifier     strings unique to each row, or a row counter 0, 1, 2, ... (a saved pandas
               index): set aside, never a feature (``--id`` / ``id=`` names one to keep)
text           more than 100 distinct strings (notes, free text): set aside
constant       one value in every row: dropped; empty: no value at all, dropped
dropped        named in ``drop``; not selected: outside ``features``
=============  ==========================================================================

Then, with ``standardize`` (the default), eq. (13) on the encoded columns, fit on the
same rows. ``encode`` gives the encoded matrix in the columns' own units, ``transform``
the standardized X̃ the model sees.

>>> import pandas as pd
>>> df = pd.DataFrame({"id": ["a1", "b2", "c3", "d4"], "site": ["N", "S", "N", None],
...                    "mass_g": [1200.0, None, 950.0, 1010.0], "ok": ["yes", "no", "yes", "no"]})
>>> pre = Preprocessor(id="id", standardize=False).fit(df)
>>> pre.feature_names_
['site=N', 'site=S', 'site=(missing)', 'mass_g', 'mass_g missing', 'ok']
>>> pre.encode(df)[1].tolist()            # row b2: site S, mass missing → median 1010
[0.0, 1.0, 0.0, 1010.0, 1.0, 0.0]
"""

from __future__ import annotations

import copy
import re
import warnings

import numpy as np

from dlprimer.data.cells import (
    EPOCH,
    FALSE_WORDS,
    TRUE_WORDS,
    as_booleans,
    as_numbers,
    cell_strings,
    day_first,
    days_since_epoch,
    is_boolean_column,
    is_decimal_comma,
    is_missing,
    is_number,
    looks_like_date,
    parse_dates,
)
from dlprimer.data.rules import checked_rule, strings_list
from dlprimer.data.tables import Standardizer
from dlprimer.engine.checks import is_dataframe

__all__ = ["FALSE_WORDS", "PreprocessingWarning", "Preprocessor", "TRUE_WORDS",
           "needs_preprocessor"]

MISSING_CATEGORY = "(missing)"
#: A string column with more distinct values than this is set aside, not one-hot encoded.
MAX_CATEGORIES = 100
#: Strings unique to every row are an identifier only from this many rows on.
MIN_ROWS_FOR_IDENTIFIER = 10
#: Share of number-like cells above which a string column is "numbers with typos".
MOSTLY_NUMBERS = 0.9
#: Largest magnitude of a numeric cell at fit time.
MAX_MAGNITUDE = 1e100

_SHOWN = 5  # cells shown in a message
#: The names pandas gives a saved row index read back: ``to_csv(index=True)`` writes it with
#: an empty header, read as "Unnamed: 0"; ``reset_index()`` calls it "index".
_INDEX_NAME = re.compile(r"^(Unnamed: \d+|index|level_\d+)$")


class PreprocessingWarning(UserWarning):
    """Raw rows at predict time differ from the fit rows (an unseen category, a gap)."""


def _pandas():
    import pandas as pd

    return pd


def _frame(X, name: str, columns: list[str] | None = None):
    """A DataFrame from a DataFrame, a dict of columns, one row (dict / Series), or rows of
    values in the order of ``columns`` (the columns fit saw)."""
    pd = _pandas()
    if is_dataframe(X):
        return X
    if columns is not None and isinstance(X, (np.ndarray, list, tuple)):
        rows = np.asarray(X, dtype=object)
        rows = rows[None, :] if rows.ndim == 1 else rows
        if rows.ndim == 2 and rows.shape[1] == len(columns):
            return pd.DataFrame(rows, columns=columns).infer_objects()
        raise ValueError(f"{name} has shape {np.shape(X)}; give rows of {len(columns)} values "
                         f"(the columns {columns[:10]}) or a DataFrame")
    if isinstance(X, pd.Series):
        return X.to_frame().T.infer_objects()
    if isinstance(X, dict):  # one row of scalars, or columns
        return pd.DataFrame([X] if all(np.ndim(v) == 0 for v in X.values()) else X)
    raise TypeError(f"{name} must be a pandas DataFrame (or a dict of columns, or one row as "
                    f"a dict or Series), got {type(X).__name__}")


def needs_preprocessor(X) -> bool:
    """Whether X is a DataFrame that is not a plain numeric matrix: text, dates or gaps."""
    if not is_dataframe(X):
        return False
    numeric = all(dtype.kind in "biuf" for dtype in X.dtypes)
    return not numeric or bool(X.isna().to_numpy().any())


class Preprocessor:
    """Raw table → X̃: column roles found from the data, missing cells imputed by a recorded
    rule, categories one-hot, then standardization (eq. (13)), all fit on the training rows.

    Parameters
    ----------
    drop : column names never to use
    id : the identifier column (set aside; ``dlprimer predict`` writes it first)
    features : None (all usable columns) or the only columns to use
    standardize : bool
        Fit eq. (13) on the encoded columns.
    drop_first : bool
        One-hot without the first category (the reference), so that a linear model with an
        intercept stays identifiable (Models I and II).

    Attributes (after fit)
    ----------
    columns_ : list of dict, one per input column: ``column``, ``role``, ``action`` and the
        rule's fitted values (``median``, ``categories``, ``indicator``, ...)
    feature_names_ : list of str, the p encoded features, in order
    standardizer : Standardizer or None
    """

    def __init__(self, drop=(), id: str | None = None, features=None,  # noqa: A002
                 standardize: bool = True, drop_first: bool = False) -> None:
        self.drop = [str(c) for c in drop]
        self.id = None if id is None else str(id)
        self.features = None if features is None else [str(c) for c in features]
        self.standardize = bool(standardize)
        self.drop_first = bool(drop_first)
        self.columns_: list[dict] | None = None
        self.standardizer: Standardizer | None = None

    # ------------------------------------------------------------------ fit
    def fit(self, X) -> Preprocessor:
        """Find each column's role and fit its rule (and eq. (13)) on the rows of X."""
        frame = _frame(X, "X")
        names = [str(c) for c in frame.columns]
        repeated = sorted({c for c in names if names.count(c) > 1})
        if repeated:
            raise ValueError(f"column name(s) {repeated} appear more than once; rename them")
        if len(frame) == 0:
            raise ValueError("X has no rows to learn the columns from")
        self.check_columns(names)
        plans, problems = [], []
        for name, column in zip(names, frame.columns, strict=True):
            try:
                plans.append(self._plan(name, frame[column]))
            except ValueError as err:
                problems.append(str(err))
        if problems:
            raise ValueError("some columns cannot be used as they are:\n  - "
                             + "\n  - ".join(problems))
        self.columns_, self.standardizer = plans, None
        if not self.feature_names_:
            description, self.columns_ = self.describe(), None  # not left half fitted
            raise ValueError("no column is usable as a feature:\n" + description)
        if self.standardize:
            self.standardizer = Standardizer().fit(self.encode(frame))
            self.standardizer.feature_names_ = self.feature_names_
        return self

    def check_columns(self, names) -> None:
        """Every name in ``drop``, ``id`` and ``features`` is a column: one message for all."""
        wanted = [("drop", c) for c in self.drop] + [("features", c) for c in self.features or ()]
        if self.id is not None:
            wanted.append(("id", self.id))
        unknown = [f"{option} {c!r}" for option, c in wanted if c not in names]
        if unknown:
            raise ValueError(f"no such column(s): {', '.join(unknown)}; the table has "
                             f"{names[:20]}{' ...' if len(names) > 20 else ''}")

    def _plan(self, name: str, series) -> dict:
        """The role of one column and its fitted rule."""
        plan = {"column": name, "outputs": []}
        if name in self.drop:
            return plan | {"role": "dropped", "action": "dropped, as asked"}
        if name == self.id:
            return plan | {"role": "identifier", "action": "set aside (the row's ID)"}
        if self.features is not None and name not in self.features:
            return plan | {"role": "not selected", "action": "not among the features asked for"}
        missing = is_missing(series)
        n, n_missing = len(series), int(missing.sum())
        if n_missing == n:
            return plan | {"role": "empty", "action": "dropped (no values)"}
        kind = series.dtype.kind
        if kind == "b" or (kind == "O" and is_boolean_column(series[~missing])):
            return self._numeric(plan, as_booleans(series, name), missing, "boolean",
                                 "True/yes → 1, False/no → 0")
        cells = [] if kind in "iufM" else [c for c in cell_strings(series) if c is not None]
        if kind in "iuf" or (kind == "O" and all(is_number(c) for c in cells)):
            values = as_numbers(series)  # object columns of numbers too (a row as a Series)
            # NOTE: eq. (13) squares x - x̄, which overflows float64 from about 1e154 on
            huge = ~missing & ~(np.abs(values) <= MAX_MAGNITUDE)
            if huge.any():
                bad = int(np.flatnonzero(huge)[0])
                raise ValueError(f"column {name!r} holds {values[bad]} in row {bad}; only "
                                 f"finite numbers up to ±{MAX_MAGNITUDE:g} are allowed: fix "
                                 "it, mark it as missing, or rescale the column")
            if n_missing == 0 and n >= MIN_ROWS_FOR_IDENTIFIER and _is_counter(values, name):
                return plan | {"role": "identifier", "action": "set aside (a row counter)"}
            return self._numeric(plan, values, missing, "numeric", "used as it is")
        if kind == "M":
            return self._numeric(plan, days_since_epoch(series), missing, "date",
                                 f"days since {EPOCH}")
        if all(looks_like_date(c) for c in cells):
            # NOTE: 05/01/2024 is 5 January only if some fit cell (13/01/...) shows that the
            # day comes first; the fit rows decide, as one row at predict time could not.
            dayfirst = day_first(cells)
            days = parse_dates(series, dayfirst)
            if days is not None:
                return self._numeric(plan, days, missing, "date", f"days since {EPOCH}"
                                     + (" (day first)" if dayfirst else ""), dayfirst=dayfirst)
        numbers = [c for c in cells if is_number(c) or is_decimal_comma(c)]
        if len(numbers) >= MOSTLY_NUMBERS * len(cells):
            others = sorted({c for c in cells if not is_number(c)})
            comma = " (a decimal comma? write 1.5, not 1,5)" if any(
                is_decimal_comma(c) for c in others) else ""
            raise ValueError(
                f"column {name!r} holds numbers but also {others[:_SHOWN]}{comma}: correct "
                f"those cells, leave them empty (missing), or drop the column")
        distinct = sorted(set(cells))
        if n_missing == 0 and len(distinct) == n and n >= MIN_ROWS_FOR_IDENTIFIER:
            return plan | {"role": "identifier", "action": "set aside (unique to each row)"}
        if len(distinct) + (n_missing > 0) <= 1:
            return plan | {"role": "constant", "action": f"dropped (always {distinct[0]!r})"}
        if len(distinct) > MAX_CATEGORIES:
            return plan | {"role": "text", "action": f"set aside ({len(distinct)} distinct "
                           f"values, more than {MAX_CATEGORIES} categories)"}
        categories = distinct + ([MISSING_CATEGORY] if n_missing else [])
        encoded = categories[1:] if self.drop_first else categories
        action = f"one-hot, {len(categories)} categories" + (
            f" (reference {categories[0]!r})" if self.drop_first else "")
        return plan | {"role": "categorical", "action": action, "categories": categories,
                       "outputs": [f"{name}={c}" for c in encoded]}

    def _numeric(self, plan: dict, values: np.ndarray, missing: np.ndarray, role: str,
                 action: str, **rule) -> dict:
        observed = values[~missing]
        if np.all(observed == observed[0]) and not missing.any():
            return plan | {"role": "constant", "action": f"dropped (always {observed[0]:g})"}
        median = float(np.median(observed))
        indicator = bool(missing.any())
        if indicator:
            action += f"; {int(missing.sum())} missing → median {median:g} + indicator"
        outputs = [plan["column"]] + ([f"{plan['column']} missing"] if indicator else [])
        return plan | {"role": role, "action": action, "median": median,
                       "indicator": indicator, "outputs": outputs} | rule

    # ------------------------------------------------------------------ transform
    @property
    def feature_names_(self) -> list[str]:
        self._fitted()
        return [name for plan in self.columns_ for name in plan["outputs"]]

    @property
    def n_features_out_(self) -> int:
        return len(self.feature_names_)

    @property
    def used_columns(self) -> list[str]:
        """The raw columns that feed a feature."""
        self._fitted()
        return [plan["column"] for plan in self.columns_ if plan["outputs"]]

    def _fitted(self) -> None:
        if self.columns_ is None:
            raise ValueError("this Preprocessor is not fitted yet; call fit(X_train) first")

    def encode(self, X) -> np.ndarray:
        """The encoded features (n, p) in their own units: one-hot, imputed, dates as days."""
        self._fitted()
        frame = _frame(X, "X", [plan["column"] for plan in self.columns_])
        by_name = {str(c): c for c in frame.columns}
        names = [str(c) for c in frame.columns]
        repeated = sorted({c for c in self.used_columns if names.count(c) > 1})
        if repeated:
            raise ValueError(f"X has the column(s) {repeated} more than once; keep one")
        absent = [c for c in self.used_columns if c not in by_name]
        if absent:
            raise ValueError(f"X lacks the column(s) {absent} the model was fit on; it has "
                             f"{list(by_name)[:20]}")
        blocks, unseen, problems = [], {}, []
        for plan in self.columns_:
            if not plan["outputs"]:
                continue
            series = frame[by_name[plan["column"]]]
            try:
                blocks.append(self._encode_column(plan, series, unseen))
            except ValueError as err:
                problems.append(str(err))
        if problems:
            raise ValueError("some cells cannot be read as the model was fit:\n  - "
                             + "\n  - ".join(problems))
        if unseen:
            listed = "; ".join(f"{c!r}: {sorted(v)[:_SHOWN]}" for c, v in unseen.items())
            warnings.warn(f"categories not seen at fit time, encoded as all zeros: {listed}",
                          PreprocessingWarning, stacklevel=3)
        return np.column_stack(blocks) if blocks else np.empty((len(frame), 0))

    def _encode_column(self, plan: dict, series, unseen: dict) -> np.ndarray:
        name, role = plan["column"], plan["role"]
        missing = is_missing(series)
        if role == "categorical":
            categories = plan["categories"]
            cells = [MISSING_CATEGORY if c is None else c for c in cell_strings(series)]
            new = {c for c in cells if c not in categories}
            if new:
                unseen[name] = new
            encoded = categories[1:] if self.drop_first else categories
            return np.array([[float(c == k) for k in encoded] for c in cells]).reshape(
                len(cells), len(encoded))
        if role == "boolean":
            values = as_booleans(series, name)
        elif role == "date":
            dayfirst, pd = plan.get("dayfirst", False), _pandas()
            values = (days_since_epoch(series) if series.dtype.kind == "M"
                      else parse_dates(series, dayfirst))
            if values is None:
                bad = {c for c in cell_strings(series.dropna())
                       if parse_dates(pd.Series([c], dtype=object), dayfirst) is None}
                raise ValueError(f"column {name!r} was a date at fit time but holds "
                                 f"{sorted(bad)[:_SHOWN]}")
        else:
            try:
                values = as_numbers(series)
            except (ValueError, TypeError):
                bad = [c for c in cell_strings(series) if c is not None and not is_number(c)]
                raise ValueError(f"column {name!r} was numeric at fit time but holds "
                                 f"{sorted(set(bad))[:_SHOWN]}") from None
            bad = ~np.isfinite(values) & ~missing
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                kind = "NaN (not a number)" if np.isnan(values[row]) else "an infinite value"
                raise ValueError(f"column {name!r} holds {kind} in row {row}; only finite "
                                 "numbers (or empty cells, imputed) are allowed")
        values = np.where(missing, plan["median"], values)
        if plan["indicator"]:
            return np.column_stack([values, missing.astype(np.float64)])
        return values[:, None]

    def transform(self, X) -> np.ndarray:
        """X̃: the encoded features, standardized by eq. (13) when fit so."""
        Z = self.encode(X)
        return Z if self.standardizer is None else self.standardizer.transform(Z)

    def fit_transform(self, X) -> np.ndarray:
        return self.fit(X).transform(X)

    # ------------------------------------------------------------------ reading it back
    def describe(self, max_rows: int = 12) -> str:
        """The roles as a short table: column, role, what was done. Beyond ``max_rows``
        rows, the numeric columns used as they are share one row."""
        self._fitted()
        rows = [(plan["column"], plan["role"], plan["action"]) for plan in self.columns_]
        plain = [r for r in rows if r[1:] == ("numeric", "used as it is")]
        if len(rows) > max_rows and len(plain) > 1:
            shown = ", ".join(c for c, _, _ in plain[:3]) + (", ..." if len(plain) > 3 else "")
            first = rows.index(plain[0])
            rows = [r for r in rows if r not in plain]
            rows.insert(first, (f"{len(plain)} columns", "numeric", f"used as they are ({shown})"))
        width = [max(len(r[j]) for r in [("column", "role", "")] + rows) for j in range(2)]
        lines = [f"{'column':{width[0]}s}  {'role':{width[1]}s}  what was done"]
        lines += [f"{c:{width[0]}s}  {r:{width[1]}s}  {a}" for c, r, a in rows]
        return "\n".join(lines)

    def steps(self, row) -> list[tuple[str, object, float, float]]:
        """For one raw row: (feature, raw value, encoded value, x̃) for each feature."""
        self._fitted()
        frame = _frame(row, "row", [plan["column"] for plan in self.columns_])
        if len(frame) != 1:
            raise ValueError(f"steps() takes one row, got {len(frame)}")
        encoded = self.encode(frame)[0]
        tilde = encoded if self.standardizer is None else self.standardizer.transform(
            encoded[None, :])[0]
        by_name = {str(c): c for c in frame.columns}
        out, j = [], 0
        for plan in self.columns_:
            raw = frame[by_name[plan["column"]]].iloc[0] if plan["outputs"] else None
            for feature in plan["outputs"]:
                out.append((feature, raw, float(encoded[j]), float(tilde[j])))
                j += 1
        return out

    def to_dict(self) -> dict:
        """The fitted rules as JSON-serializable values (for a model file)."""
        self._fitted()
        return {"drop": self.drop, "id": self.id, "features": self.features,
                "standardize": self.standardize, "drop_first": self.drop_first,
                "columns": copy.deepcopy(self.columns_),
                "standardizer": None if self.standardizer is None
                else self.standardizer.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> Preprocessor:
        """A fitted Preprocessor from the output of ``to_dict`` (checked, never executed)."""
        if not isinstance(d, dict) or not isinstance(d.get("columns"), list):
            raise ValueError("Preprocessor.from_dict needs the dict that to_dict() returned")
        for key in ("drop", "features", "id"):  # lists of column names; the id one name
            v = d.get(key)
            if not (v is None or (isinstance(v, str) if key == "id" else strings_list(v))):
                raise ValueError(f"Preprocessor.from_dict: {key!r} must be column name(s) or "
                                 f"None, got {v!r:.80}")
        flags = {k: d.get(k, False) for k in ("standardize", "drop_first")}
        if not all(isinstance(v, bool) for v in flags.values()):
            raise ValueError(f"Preprocessor.from_dict: 'standardize' and 'drop_first' must be "
                             f"True or False, got {flags}")
        pre = cls(drop=d.get("drop") or (), id=d.get("id"), features=d.get("features"), **flags)
        pre.columns_ = [checked_rule(plan, pre.drop_first) for plan in d["columns"]]
        names = [plan["column"] for plan in pre.columns_]
        if len(set(names)) != len(names):
            raise ValueError(f"Preprocessor.from_dict: a column has two rules in {names}")
        if (d.get("standardizer") is None) == pre.standardize:
            raise ValueError(f"Preprocessor.from_dict: standardize={pre.standardize} but "
                             f"the standardizer is {d.get('standardizer')!r:.40}")
        if pre.standardize:
            if not isinstance(d["standardizer"], dict):
                raise ValueError("Preprocessor.from_dict: the standardizer must be a dict")
            try:
                pre.standardizer = Standardizer.from_dict(d["standardizer"])
            except (TypeError, ValueError) as err:
                raise ValueError(f"Preprocessor.from_dict: the standardizer: {err}") from None
            given = pre.standardizer.feature_names_
            if pre.standardizer.n_features_in_ != len(pre.feature_names_) or (
                    given is not None and given != pre.feature_names_):
                raise ValueError(f"the standardizer has {pre.standardizer.n_features_in_} "
                                 f"features but the rules give {len(pre.feature_names_)} "
                                 f"({pre.feature_names_[:10]})")
        return pre

    def __repr__(self) -> str:
        if self.columns_ is None:
            return "Preprocessor(not fitted)"
        return (f"Preprocessor({len(self.columns_)} columns → p={len(self.feature_names_)} "
                f"features{', standardized' if self.standardizer else ''})")


def _is_counter(values: np.ndarray, name: str) -> bool:
    """A row number, not a measurement: distinct integers that are a saved pandas index (by
    its name) or that count up in row order, steps of 1 in the main (gaps where rows were
    left out: a target missing, a test part split off)."""
    steps = np.diff(values)
    if not np.all(values == np.round(values)) or np.unique(values).size != values.size:
        return False
    return bool(_INDEX_NAME.match(name)) or bool(np.all(steps > 0) and np.mean(steps == 1) >= 0.5)
