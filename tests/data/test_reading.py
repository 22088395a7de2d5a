"""Tests for dlprimer.data.reading: files in (CSV, exports, Parquet), the target split off,
and the messages for files that cannot be read."""

import numpy as np
import pandas as pd
import pytest
from helpers.messy import (
    dummies_csv,
    european_export,
    field_survey,
    parquet_file,
    write_text,
)

from dlprimer.data import ReadWarning, read_csv, read_table
from dlprimer.data.reading import file_hash


def read_quietly(path, **kwargs):
    """read_csv where a ReadWarning (cp1252) is expected."""
    with pytest.warns(ReadWarning, match=r"is not UTF-8; read it as cp1252"):
        return read_csv(path, **kwargs)


# ---------------------------------------------------------------- messy files

def test_field_survey_is_read_with_gaps_and_target_rows_dropped(tmp_path):
    path, rows = field_survey(tmp_path)
    table = read_csv(path)
    kept = [i for i, r in enumerate(rows) if r["survived"]]
    assert table.target == "survived" and table.task == "binary"
    assert table.class_names == ["no", "yes"] and table.n_read == len(rows) == 200
    assert table.dropped == 200 - len(kept) > 0 and table.rows.tolist() == kept
    assert table.y.tolist() == [rows[i]["survived"] for i in kept]
    assert list(table.X.columns) == ["Unnamed: 0", "sample_id", "site", "collected", "mass_g",
                                     "age_years", "treated", "smoker", "notes", "protocol",
                                     "comments"]
    assert table.X["Unnamed: 0"].tolist() == kept  # the saved index, gaps where rows left
    # "NA" and empty cells are both missing; the rest are the numbers written
    mass = [float(rows[i]["mass_g"]) if rows[i]["mass_g"] not in ("", "NA") else np.nan
            for i in kept]
    np.testing.assert_array_equal(table.X["mass_g"].to_numpy(), mass)
    assert table.X["treated"].dtype == bool and table.X["comments"].isna().all()
    assert table.sha256 == file_hash(path) and len(table.sha256) == 64
    assert table.name == "survey" and table.path == path


def test_european_export_semicolons_decimal_commas_cp1252(tmp_path):
    path, expected = european_export(tmp_path)
    table = read_quietly(path)
    assert table.target == "Klasse" and table.class_names == ["gut", "schlecht"]
    assert table.X["Ort"].tolist() == expected["Ort"]          # Zürich, Genève intact
    for column in ("Gewicht_kg", "Temperatur"):                 # 1.234,5 → 1234.5; 1.500 → 1500
        assert table.X[column].dtype == np.float64
        np.testing.assert_array_equal(table.X[column].to_numpy(), expected[column])
    assert table.X["Datum"].tolist()[:2] == ["31.12.2023", "01.02.2024"]  # raw: dates later


def test_a_quoted_comma_in_a_semicolon_header_is_no_separator(tmp_path):
    path = write_text(tmp_path, '"mass, g";site;ok\n1,5;N;yes\n2,25;S;no\n')
    table = read_csv(path)
    assert table.feature_names == ["mass, g", "site"]
    assert table.X["mass, g"].tolist() == [1.5, 2.25]


def test_english_thousands_commas_are_not_decimal_commas(tmp_path):
    path = write_text(tmp_path, 'population,y\n"1,234",0\n"12,500",1\n"3,000",0\n')
    table = read_csv(path)  # left as text: the Preprocessor says it is not numeric
    assert table.X["population"].tolist() == ["1,234", "12,500", "3,000"]
    semi = write_text(tmp_path, "a;y\n1,234;0\n12,500;1\n", "semi.csv")
    assert read_csv(semi).X["a"].tolist() == [1.234, 12.5]


def test_get_dummies_output_keeps_its_booleans(tmp_path):
    path, frame = dummies_csv(tmp_path)
    table = read_csv(path, target="label")
    assert table.feature_names == ["length", "colour_blue", "colour_green", "colour_red"]
    for column in table.feature_names[1:]:
        assert table.X[column].dtype == bool
        assert table.X[column].tolist() == frame[column].tolist()
    assert table.y.tolist() == frame["label"].tolist()


def test_parquet_keeps_pandas_dtypes(tmp_path):
    pytest.importorskip("pyarrow")
    path, frame = parquet_file(tmp_path)
    table = read_csv(path)
    assert table.target == "y" and table.task == "binary" and table.y.tolist() == [0, 1] * 6
    pd.testing.assert_frame_equal(table.X, frame.drop(columns="y"))


def test_mac_line_ends_and_unclosed_quotes(tmp_path):
    assert read_csv(write_text(tmp_path, "a,b,y\r1,2,0\r3,4,1\r")).X.to_numpy().tolist() == [
        [1, 2], [3, 4]]
    table = read_csv(write_text(tmp_path, 'a,b,y\n1,"x"y,0\n2,z,1\n'))  # as pandas reads it
    assert table.X["b"].tolist() == ["xy", "z"]


def test_trailing_separators_make_no_column(tmp_path):
    table = read_csv(write_text(tmp_path, "a,b,y,\n1,2,0,\n3,4,1,\n"))
    assert table.feature_names == ["a", "b"] and table.target == "y"


def test_utf16_and_binary_files(tmp_path):
    path = tmp_path / "unicode.txt"
    path.write_bytes("a\tZürich\ty\n1\tx\t0\n2\tz\t1\n".encode("utf-16"))
    assert read_csv(path).X["Zürich"].tolist() == ["x", "z"]
    binary = tmp_path / "book.csv"
    binary.write_bytes(b"PK\x03\x04\x00\x00\x08\x00" * 10)
    with pytest.raises(ValueError, match=r"book\.csv is not a text file .*save it as CSV"):
        read_csv(binary)
    excel = tmp_path / "book.xlsx"
    excel.write_bytes(b"PK")
    with pytest.raises(ValueError, match=r"book\.xlsx is a spreadsheet; save it as CSV"):
        read_csv(excel)


# ---------------------------------------------------------------- targets and tasks

def test_string_labels_are_sorted(tmp_path):
    text = "species,length\nvirginica,6.3\nsetosa,5.1\nversicolor,7.0\nsetosa,4.9\n"
    table = read_csv(write_text(tmp_path, text), target="species")
    assert table.task == "multiclass"
    assert table.class_names == ["setosa", "versicolor", "virginica"]
    assert table.y.tolist() == ["virginica", "setosa", "versicolor", "setosa"]
    assert table.feature_names == ["length"]


def test_integer_labels(tmp_path):
    table = read_csv(write_text(tmp_path, "x,grade\n1,3\n2,5\n3,4\n4,3.0\n"))
    assert table.task == "multiclass" and table.class_names == ["3", "4", "5"]
    assert table.y.dtype == np.int64 and table.y.tolist() == [3, 5, 4, 3]


def test_regression_target(tmp_path):
    rows = "\n".join(f"{i},{i * 0.5 + 0.25}" for i in range(30))
    table = read_csv(write_text(tmp_path, "x,y\n" + rows + "\n"))
    assert table.task == "regression" and table.class_names is None
    assert table.y.dtype == np.float64
    many = "\n".join(f"{i},{i}" for i in range(25))   # 25 distinct integers: regression
    assert read_csv(write_text(tmp_path, "x,y\n" + many + "\n")).task == "regression"


def test_task_override(tmp_path):
    path = write_text(tmp_path, "x,quality\n1,3\n2,5\n3,4\n")
    table = read_csv(path, task="regression")
    assert table.task == "regression" and table.class_names is None
    np.testing.assert_array_equal(table.y, [3.0, 5.0, 4.0])
    with pytest.raises(ValueError, match=r"task='binary' but column 'quality' has 3 classes"):
        read_csv(path, task="binary")
    with pytest.raises(ValueError, match=r"task must be None \(infer it\).*got 'classify'"):
        read_csv(path, task="classify")
    labels = write_text(tmp_path, "x,kind\n1,a\n2,b\n", name="labels.csv")
    with pytest.raises(ValueError, match=r"needs a numeric target, .*labels such as 'a'"):
        read_csv(labels, task="regression")


def test_quoted_fields_bom_and_spaces(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('\ufeff"a", "b" ,label\n" 1.5",2, "yes, really"\n3,4,no\n', encoding="utf-8")
    table = read_csv(path)
    assert table.feature_names == ["a", "b"]
    np.testing.assert_array_equal(table.X.to_numpy(dtype=float), [[1.5, 2], [3, 4]])
    assert table.class_names == ["no", "yes, really"]


def test_prediction_file_without_target(tmp_path):
    path = write_text(tmp_path, "age,bmi\n30,22.5\n40,31\n")
    table = read_csv(path, require_target=False)
    assert table.y is None and table.feature_names == ["age", "bmi"] and table.X.shape == (2, 2)
    named = read_csv(path, target="sick", require_target=False)
    assert named.y is None and named.X.shape == (2, 2) and named.target is None
    with_target = read_csv(path, target="bmi", require_target=False)
    assert with_target.feature_names == ["age"] and with_target.task == "regression"


@pytest.mark.parametrize("text, name", [
    ("a;b;c\n1,5;2;x\n3;4;y\n", "semi.csv"),      # ';' with no comma in the header
    ("a\tb\tc\n1.5\t2\tx\n3\t4\ty\n", "tabs.csv"),
    ("a\tb\tc\n1.5\t2\tx\n3\t4\ty\n", "data.tsv"),
])
def test_semicolons_and_tabs_are_detected(tmp_path, text, name):
    table = read_csv(write_text(tmp_path, text, name))
    assert table.feature_names == ["a", "b"] and table.class_names == ["x", "y"]
    np.testing.assert_array_equal(table.X.to_numpy(dtype=float), [[1.5, 2], [3, 4]])


def test_comma_wins_a_tie_and_delimiter_can_be_given(tmp_path):
    comma = read_csv(write_text(tmp_path, "a;b,c\n1,x\n2,y\n", "comma.csv"))
    assert comma.feature_names == ["a;b"]
    table = read_csv(write_text(tmp_path, "a|b|c\n1|2|x\n3|4|y\n"), delimiter="|")
    assert table.X.shape == (2, 2) and table.class_names == ["x", "y"]
    with pytest.raises(ValueError, match=r"delimiter must be one character .*got '::'"):
        read_csv(write_text(tmp_path, "a::b\n1::2\n"), delimiter="::")


# ---------------------------------------------------------------- errors

def test_missing_file_is_named(tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(ValueError, match=r"^no such file: '.*nope\.csv'$"):
        read_csv(missing)
    with pytest.raises(FileNotFoundError):   # also catchable as the usual OSError
        read_table(str(missing))
    with pytest.raises(ValueError, match="is not a file"):
        read_csv(tmp_path)


@pytest.mark.parametrize("text, match", [
    ("", r"data\.csv is empty; expected a header row"),
    ("\n\n  \n", r"data\.csv is empty"),
    ("a,b,c\n", r"data\.csv has a header but no data rows"),
    ("a,b\n1,2\n3\n", r"data\.csv line 3 has 1 field\(s\) but the header has 2"),
    ("a,b\n1,2\n\n3,4,5\n", r"line 4 has 3 field\(s\) but the header has 2"),
    ("a,b\n0,1,2\n1,3,4\n", r"line 2 has 3 field\(s\)"),     # not a silent index column
    ('a,b\n"x\ny",1\n2\n', r"line 4 has 1 field"),              # a quoted newline counted
    ('a,b,y\n1,"x,0\n2,3,1\n', r"line 3 has 2 field\(s\) .*a quote not closed\?"),
    ("a,b\r1\r", r"line 2 has 1 field"),                           # \r line ends (old Mac)
    ("a,a,b\n1,2,3\n", r"column name\(s\) \['a'\] appear more than once"),
    ("\n\na, a,b\n1,2,3\n", r"column name\(s\) \['a'\] appear more than once"),
    ("y\n1\n2\n", r"no feature columns besides the target 'y'"),
    ("a,y\n1,\n2,\n", r"the target column 'y' is empty"),
])
def test_malformed_files(tmp_path, text, match):
    with pytest.raises(ValueError, match=match):
        read_csv(write_text(tmp_path, text))


def test_cp1252_file_is_read_with_a_warning(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes("name,y\ncaf\xe9,1\nna\xefve,0\n".encode("cp1252"))
    assert read_quietly(path).X["name"].tolist() == ["café", "naïve"]


def test_unknown_target_lists_columns_and_hints_at_the_delimiter(tmp_path):
    path = write_text(tmp_path, "age,bmi,sick\n30,22.5,0\n")
    with pytest.raises(ValueError, match=r"has no column 'outcome'; available columns: "
                                         r"\['age', 'bmi', 'sick'\]$"):
        read_csv(path, target="outcome")
    pipes = write_text(tmp_path, "age|bmi|sick\n30|22.5|0\n", name="pipes.csv")
    with pytest.raises(ValueError, match=r"separated by '\|'\? pass delimiter='\|'"):
        read_csv(pipes, target="sick")
    assert read_csv(pipes, target="sick", delimiter="|").feature_names == ["age", "bmi"]


def test_infinite_target(tmp_path):
    with pytest.raises(ValueError, match=r"target column 'y' holds -inf; only finite"):
        read_csv(write_text(tmp_path, "a,y\n1,-inf\n2,1\n"))
    table = read_csv(write_text(tmp_path, "a,y\n1,0\ninf,1\n"))  # features: the Preprocessor
    assert table.X["a"].tolist() == [1.0, np.inf]
