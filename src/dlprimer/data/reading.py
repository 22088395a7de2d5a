"""Your own tables in: CSV and Parquet files read by pandas, with dlprimer's messages around
it, and the target column split off.

pandas does the reading (quoting, encodings, dtypes); this module adds what a first try on
a spreadsheet export needs: the separator found from the header (``,``, ``;`` or a tab),
decimal commas (``3,5``) read as numbers, a file that is not UTF-8 read as Windows-1252
with a warning, and errors that name the file, the line and the fix. The raw columns go to
``dp.data.Preprocessor``; nothing here encodes them (``dlprimer.data.cells`` says what a
cell as written stands for).

>>> import tempfile
>>> path = Path(tempfile.mkdtemp()) / "plots.csv"
>>> _ = path.write_text("plot;mass;site;alive\\n1;1,5;N;yes\\n2;2,25;S;\\n3;;N;no\\n")
>>> table = read_csv(path, target="alive")
>>> table.X["mass"].tolist(), table.y.tolist(), table.dropped
([1.5, nan], ['yes', 'no'], 1)
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dlprimer.data.cells import DECIMAL_COMMA
from dlprimer.data.tables import encode_labels, infer_task

__all__ = ["ReadWarning", "Table", "file_hash", "read_csv", "read_table"]

# 12 or 1.500 (dots group thousands); 1,234 (1234 in English); as DECIMAL_COMMA, ASCII only
_PLAIN_NUMBER = re.compile(r"^[ \t]*[+-]?(\d+|\d{1,3}(\.\d{3})+)[ \t]*\Z", re.ASCII)
_THOUSANDS_COMMA = re.compile(r"^[ \t]*[+-]?\d{1,3}(,\d{3})+[ \t]*\Z", re.ASCII)
_QUOTED = re.compile(r'"[^"]*"')
# Spellings of NaN that pandas would keep as text (it already reads nan, NaN, -nan, -NaN, ...):
# missing cells, as those are, not a text column.
_MORE_NANS = ["NAN", "+nan", "+NaN", "+NAN", "-NAN", "+Nan", "-Nan"]  # not "Nan", a name


class ReadWarning(UserWarning):
    """The file was read, but not quite as written (an encoding guessed)."""


@dataclass(frozen=True, eq=False)
class Table:
    """A table read from a file: the raw feature columns and the target.

    Attributes
    ----------
    X : pandas DataFrame, the columns other than the target, as read (rows whose target
        is missing left out)
    y : ndarray (n,) of the target's values (strings or numbers), or None without a target
    target : the target column's name, or None
    task : "binary" | "multiclass" | "regression" (None without a target)
    class_names : sorted class labels as strings, or None
    name : the file's stem; path : the file
    sha256 : the file's hash (it identifies the file the model was fit on)
    n_read : data rows in the file; dropped : rows left out for a missing target
    rows : the 0-based positions in the file of the rows kept
    """

    X: object
    y: np.ndarray | None
    target: str | None
    task: str | None
    class_names: list[str] | None
    name: str
    path: Path
    sha256: str
    n_read: int
    dropped: int
    rows: np.ndarray

    @property
    def feature_names(self) -> list[str]:
        return [str(c) for c in self.X.columns]

    def __repr__(self) -> str:
        return (f"Table({self.name!r}, n={len(self.X)}, columns={len(self.X.columns)}, "
                f"target={self.target!r}, task={self.task!r})")


class _MissingFileError(FileNotFoundError, ValueError):
    """A missing file: caught as FileNotFoundError or as ValueError."""

    def __str__(self) -> str:  # the message alone, not "[Errno 2] message: 'path'"
        return self.strerror


def file_hash(path) -> str:
    """SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_path(path: Path) -> None:
    if not path.exists():
        raise _MissingFileError(2, f"no such file: {str(path)!r}", str(path))
    if not path.is_file():
        what = "a folder" if path.is_dir() else "a pipe or a device"
        raise ValueError(f"{str(path)!r} is not a file ({what}); give the path of a CSV or "
                         "Parquet file")


# Byte-order marks, longest first: UTF-32's little-endian mark begins with UTF-16's.
_BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
         (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def _text(path: Path) -> str:
    raw = path.read_bytes()
    for bom, encoding in _BOMS:  # Excel's "Unicode text" is UTF-16
        if raw.startswith(bom):
            try:
                return raw.decode(encoding)
            except UnicodeDecodeError as err:
                raise ValueError(f"{path.name} starts with a {encoding.upper()} byte-order "
                                 f"mark but byte {err.start} is not {encoding.upper()} (a "
                                 "truncated or mixed file?); save it again as UTF-8 CSV") from None
    if b"\x00" in raw[:4096]:
        raise ValueError(f"{path.name} is not a text file (a spreadsheet saved as .xlsx?); "
                         "save it as CSV (comma- or semicolon-separated)")
    try:
        return raw.decode("utf-8-sig")  # -sig drops a byte-order mark
    except UnicodeDecodeError:
        pass
    for encoding in ("cp1252", "latin-1"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        warnings.warn(f"{path.name} is not UTF-8; read it as {encoding} (save it as UTF-8 "
                      "to be sure of accented names)", ReadWarning, stacklevel=4)
        return text
    raise ValueError(f"{path.name} is not text in UTF-8 or Windows-1252")  # pragma: no cover


def _delimiter(path: Path, text: str) -> str:
    """A tab for .tsv; ';' or a tab where the header has more of it than commas (outside
    quotes: "mass, g" is one name); else ','."""
    if path.suffix.lower() == ".tsv":
        return "\t"
    # NOTE: split on "\n" only (the text's line ends are normalized): str.splitlines also
    # breaks at a form feed, U+0085, U+2028 and others, which may sit inside a name.
    first = _QUOTED.sub("", next((line for line in text.split("\n") if line.strip()), ""))
    counts = {d: first.count(d) for d in (";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] > first.count(",") else ","


def _check_widths(text: str, sep: str, path: Path) -> list[str]:
    """The header's names; a ValueError naming the first line whose number of fields differs
    (pandas would fill a short row with gaps, or take a long one's first field as an index)."""
    reader = csv.reader(io.StringIO(text, newline="\n"), delimiter=sep, skipinitialspace=True)
    header = None
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, len(text) + 1))  # csv's 131,072 would refuse a long cell
    try:
        start = 1
        for fields in reader:
            if len(fields) <= 1 and not "".join(fields).strip():
                start = reader.line_num + 1
                continue  # a blank line, skipped by pandas too
            if header is None:
                header = [h.strip() for h in fields]
            elif len(fields) != len(header):
                if reader.line_num > start and any("\n" in f for f in fields):
                    raise ValueError(
                        f"{path.name} line {reader.line_num} has {len(fields)} field(s) but "
                        f"the header has {len(header)}: a quoted cell opened on line {start} "
                        "runs on to it (a quote not closed?)")
                raise ValueError(
                    f"{path.name} line {reader.line_num} has {len(fields)} field(s) but the "
                    f"header has {len(header)}; every row needs one value per column (a text "
                    f"cell with {sep!r} unquoted? a quote not closed? {sep!r} at the line's end?)")
            start = reader.line_num + 1
    except csv.Error as err:  # a NUL byte, a quote in the wrong place
        raise ValueError(f"{path.name} line {reader.line_num}: {err}") from None
    finally:
        csv.field_size_limit(limit)
    return header or []


def read_table(path, delimiter: str | None = None):
    """A file as a pandas DataFrame, every column as pandas reads it, decimal commas read
    as numbers. ``.parquet`` files are read with ``pandas.read_parquet`` (needs pyarrow)."""
    import pandas as pd

    path = Path(path)
    _check_path(path)
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        try:
            frame = pd.read_parquet(path)
        except ImportError as err:
            raise ValueError(f"reading {path.name} needs pyarrow: pip install pyarrow "
                             f"({err})") from None
        header = [str(c) for c in frame.columns]
        _checked(frame, header, path)
        frame.columns = header
        return frame  # typed columns: no decimal commas to read
    if suffix in (".xlsx", ".xls", ".ods"):
        raise ValueError(f"{path.name} is a spreadsheet; save it as CSV, or read it with "
                         "pandas.read_excel and pass the DataFrame")
    text = _text(path).replace("\r\n", "\n").replace("\r", "\n")  # old Mac files end in \r
    if not text.strip():
        raise ValueError(f"{path.name} is empty; expected a header row and then data rows")
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1):
        raise ValueError(f"delimiter must be one character such as ',' ';' or '\\t', got "
                         f"{delimiter!r}")
    sep = _delimiter(path, text) if delimiter is None else delimiter
    header = _check_widths(text, sep, path)
    try:
        # low_memory=False: one dtype per column, not one per chunk (no DtypeWarning)
        frame = pd.read_csv(io.StringIO(text), sep=sep, skipinitialspace=True,
                            skip_blank_lines=True, low_memory=False, engine="c",
                            na_values=_MORE_NANS)
    except (pd.errors.ParserError, csv.Error) as err:
        opened = re.search(r"EOF inside string starting at row (\d+)", str(err))
        if opened:  # pandas counts rows from 0, the header included
            raise ValueError(f"{path.name} line {int(opened.group(1)) + 1}: a quoted cell "
                             "opens there and is never closed (a quote \" missing?)") from None
        line = re.search(r"line (\d+)", str(err))
        where = f" line {line.group(1)}" if line else ""
        raise ValueError(f"{path.name}{where}: {str(err).strip()}; every row needs one value "
                         "per column (is a text cell with the separator unquoted?)") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    _checked(frame, header, path)
    # a separator at the end of every line makes an unnamed column with nothing in it
    trailing = [c for c, h in zip(frame.columns, header, strict=True)
                if not h and frame[c].isna().all()]
    frame = frame.drop(columns=trailing)
    if not len(frame.columns):
        raise ValueError(f"{path.name} has no column with a name or a value (only separators?); "
                         "expected a header row of names and then data rows")
    for column in frame.columns:
        frame[column] = _decimal_commas(frame[column], sep)
    return frame


def _checked(frame, header: list[str], path: Path) -> None:
    repeated = sorted({c for c in header if header.count(c) > 1 and c})
    if repeated:
        raise ValueError(f"{path.name}: column name(s) {repeated} appear more than once; "
                         "rename them")
    if len(frame) == 0:
        raise ValueError(f"{path.name} has a header but no data rows")


def _decimal_commas(series, sep: str):
    """A text column of numbers written with decimal commas (1,5 or 1.234,5) as numbers.

    NOTE: "1,234" is 1.234 in a ';'-separated export but 1234 in an English one, where a
    comma in a cell needs quotes anyway; so in a ',' or tab file a column whose commas all
    look like thousands separators is left as text.
    """
    if series.dtype.kind != "O":
        return series
    cells = [str(v) for v in series.dropna().tolist()]
    if not cells or not all(DECIMAL_COMMA.match(c) or _PLAIN_NUMBER.match(c) for c in cells):
        return series
    commas = [c for c in cells if "," in c]
    if not commas or (sep != ";" and all(_THOUSANDS_COMMA.match(c) for c in commas)):
        return series
    import pandas as pd

    text = series.astype(object).where(series.notna(), None)
    return pd.to_numeric(text.map(lambda c: None if c is None
                                  else str(c).replace(".", "").replace(",", ".")))


def read_csv(path, target: str | None = None, require_target: bool = True,
             task: str | None = None, delimiter: str | None = None) -> Table:
    """A ``Table`` from a CSV (or Parquet) file with a header row; one sample a row.

    The target is ``target`` or, by default, the last column. Rows whose target is missing
    are left out and counted in ``dropped``. The task is inferred by
    ``dlprimer.data.infer_task`` (strings, or at most 20 distinct integers, are classes)
    unless ``task`` says it. The other columns stay raw: ``dp.data.Preprocessor`` (used by
    ``dp.fit`` and ``dlprimer fit``) encodes them.

    With ``require_target=False`` (a file to predict on) a missing target column is no
    error and ``y`` is None; without a ``target`` name every column is a feature.
    """
    if task not in (None, "binary", "multiclass", "regression"):
        raise ValueError(
            f"task must be None (infer it), 'binary', 'multiclass' or 'regression', got {task!r}")
    path = Path(path)
    frame = read_table(path, delimiter)
    columns = [str(c) for c in frame.columns]
    if target is None and require_target:
        target = columns[-1]
    if target is not None and target not in columns:
        if require_target:
            hint = ""
            separator = next((d for d in ";\t|" if d in columns[0]), None)
            if len(columns) == 1 and separator is not None:
                hint = (f"; the header is one column: is the file separated by "
                        f"{separator!r}? pass delimiter={separator!r}")
            raise ValueError(f"{path.name} has no column {target!r}; available columns: "
                             f"{columns}{hint}")
        target = None
    n_read = len(frame)
    rows = np.arange(n_read)
    y = class_names = inferred = None
    dropped = 0
    if target is not None:
        if len(columns) == 1:
            raise ValueError(f"{path.name} has no feature columns besides the target {target!r}")
        keep = frame[target].notna().to_numpy()
        dropped = int((~keep).sum())
        if not keep.any():
            raise ValueError(f"{path.name}: the target column {target!r} is empty")
        rows = rows[keep]
        y, class_names, inferred = _target(path, frame[target][keep], target, task)
        frame = frame.loc[keep].drop(columns=[target]).reset_index(drop=True)
    return Table(X=frame, y=y, target=target, task=inferred, class_names=class_names,
                 name=path.stem, path=path, sha256=file_hash(path), n_read=n_read,
                 dropped=dropped, rows=rows)


def _target(path: Path, series, target: str, task: str | None):
    """The target column as (values, class names, task)."""
    if series.dtype.kind in "biuf" and series.dtype.kind != "b":
        values = series.to_numpy(dtype=np.float64)
        if not np.all(np.isfinite(values)):
            first = int(np.flatnonzero(~np.isfinite(values))[0])
            row, bad = int(series.index[first]), values[first]
            raise ValueError(f"{path.name}: target column {target!r} holds {bad}; only finite "
                             f"numbers are allowed (data row {row + 1}; a number beyond "
                             f"±1.8e308, such as 1e400, reads as {bad})")
        # NOTE: integers beyond 2**53 are not exact in float64 (nor category codes), and
        # beyond 2**63 they do not fit int64: such a column is a measurement.
        whole = bool(np.all(values == np.round(values)) and np.all(np.abs(values) < 2**53))
        inferred = infer_task(values) if whole else "regression"
        if whole:
            values = values.astype(np.int64)
    else:
        if task == "regression":
            raise ValueError(f"{path.name}: task='regression' needs a numeric target, but "
                             f"column {target!r} holds labels such as {series.iloc[0]!r}")
        values = np.array([str(v).strip() for v in series.tolist()])
        inferred = "binary" if len(set(values.tolist())) <= 2 else "multiclass"
    task = task or inferred
    if task == "regression":
        return values.astype(np.float64), None, task
    _, classes = encode_labels(values)
    if task == "binary" and len(classes) > 2:
        raise ValueError(f"{path.name}: task='binary' but column {target!r} has "
                         f"{len(classes)} classes; use task='multiclass'")
    return values, [str(c) for c in classes], task
