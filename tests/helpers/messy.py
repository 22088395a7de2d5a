"""Messy tables as they come from the field, a spreadsheet or a notebook, written into a
folder for the reading and preprocessing tests. Each writer returns the file's path and,
where a test needs it, the values it wrote (so tests can check against them)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

SITES = ["Ashby", "Brook End", "Crofton", "Dunmore"]
WORDS = ["wet", "dry", "windy", "late", "fog", "mud", "sun", "frost", "hail", "calm"]


def survey_rows(n: int = 200, seed: int = 0) -> list[dict]:
    """The field survey as a list of rows (dicts of strings as written; "" is an empty
    cell). Missing cells: site 5%, collected 5%, mass_g 10% (half "NA", half empty),
    age_years 3%, survived 4%."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2021-03-01")
    rows = []
    for i in range(n):
        mass = rng.normal(2400.0, 600.0)
        age = int(rng.integers(1, 15))
        u = rng.random(6)
        rows.append({
            "": str(i),  # pandas' to_csv(index=True): an unnamed 0, 1, 2, ... column
            "sample_id": f"S-{i + 1:04d}",
            "site": "" if u[0] < 0.05 else str(rng.choice(SITES)),
            "collected": "" if u[1] < 0.05 else str(start + int(rng.integers(0, 700))),
            "mass_g": ("NA" if u[2] < 0.05 else "" if u[2] < 0.10 else f"{mass:.1f}"),
            "age_years": "" if u[3] < 0.03 else str(age),
            "treated": str(bool(rng.random() < 0.4)),
            "smoker": "yes" if rng.random() < 0.3 else "no",
            "notes": " ".join(rng.choice(WORDS, size=3)) + f" #{i}" if u[4] < 0.9 else "",
            "protocol": "v2",
            "comments": "",
            "survived": ("" if u[5] < 0.04 else
                         "yes" if rng.random() < 1 / (1 + np.exp((mass - 2400) / 400)) else "no"),
        })
    return rows


def write_rows(path: Path, rows: list[dict], delimiter: str = ",",
               encoding: str = "utf-8") -> Path:
    with open(path, "w", newline="", encoding=encoding) as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


def field_survey(folder: Path, n: int = 200, seed: int = 0) -> tuple[Path, list[dict]]:
    """``survey.csv``: IDs, a saved pandas index, text with gaps, ISO dates, "NA" and
    empty cells, True/False, yes/no, free text, a constant and an empty column, and the
    target ``survived`` (yes/no) with a few gaps."""
    rows = survey_rows(n, seed)
    return write_rows(Path(folder) / "survey.csv", rows), rows


def european_export(folder: Path) -> tuple[Path, dict]:
    """``messwerte.csv``: a spreadsheet export with ';' separators, decimal commas,
    thousands dots, dd.mm.yyyy dates and Windows-1252 accents (Zürich, Genève)."""
    rows = [
        ("Zürich", "1.234,5", "-3,5", "31.12.2023", "ja", "gut"),
        ("Genève", "987,25", "12", "01.02.2024", "nein", "schlecht"),
        ("Zürich", "2.001,0", "0,75", "15.03.2024", "ja", "gut"),
        ("Bern", "", "4,5", "", "nein", "gut"),
        ("Genève", "1.500", "-0,25", "28.02.2024", "ja", "schlecht"),
        ("Bern", "850,5", "", "13.01.2024", "nein", "gut"),
    ]
    header = "Ort;Gewicht_kg;Temperatur;Datum;Bio;Klasse"
    text = "\r\n".join([header] + [";".join(r) for r in rows]) + "\r\n"
    path = Path(folder) / "messwerte.csv"
    path.write_bytes(text.encode("cp1252"))
    expected = {"Gewicht_kg": [1234.5, 987.25, 2001.0, np.nan, 1500.0, 850.5],
                "Temperatur": [-3.5, 12.0, 0.75, 4.5, -0.25, np.nan],
                "Ort": [r[0] for r in rows], "Klasse": [r[5] for r in rows]}
    return path, expected


def dummies_frame(n: int = 40, seed: int = 1):
    """A table after ``pandas.get_dummies``: numbers plus True/False (bool) columns."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "length": rng.normal(10.0, 2.0, n).round(2),
        "colour": rng.choice(["red", "green", "blue"], n),
        "label": rng.choice(["a", "b"], n),
    })
    return pd.get_dummies(frame, columns=["colour"])


def dummies_csv(folder: Path) -> tuple[Path, object]:
    """``dummies.csv``: ``dummies_frame()`` written by ``to_csv(index=False)``."""
    frame = dummies_frame()
    path = Path(folder) / "dummies.csv"
    frame.to_csv(path, index=False)
    return path, frame


def parquet_frame():
    """Columns with pandas' own dtypes, as a Parquet file keeps them: datetimes, nullable
    integers and booleans, categories, strings."""
    import pandas as pd

    n = 12
    return pd.DataFrame({
        "when": pd.to_datetime(["2024-01-01", None, "2024-01-03"] * 4),
        "count": pd.array([1, None, 3, 4] * 3, dtype="Int64"),
        "flag": pd.array([True, False, None, True] * 3, dtype="boolean"),
        "grade": pd.Categorical(["low", "high", None, "mid"] * 3),
        "name": [f"n{i}" for i in range(n)],
        "y": [0, 1] * 6,
    })


def parquet_file(folder: Path) -> tuple[Path, object]:
    frame = parquet_frame()
    path = Path(folder) / "frame.parquet"
    frame.to_parquet(path)
    return path, frame


def write_text(folder: Path, text: str, name: str = "data.csv") -> Path:
    path = Path(folder) / name
    path.write_text(text, encoding="utf-8")
    return path
