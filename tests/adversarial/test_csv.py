"""CSV files as they come: long cells, line-break look-alikes inside cells and names, NUL
bytes, mixed line ends, byte-order marks and UTF-16/32, open quotes, empty and odd files,
numbers beyond the float range, spellings of NaN. Each reads correctly or raises a
ValueError (FileNotFoundError for a missing file) whose message names the problem."""

import csv
import os

import numpy as np
import pytest

import dlprimer as dp
from dlprimer.data import Preprocessor, read_csv


def write(tmp_path, data, name="data.csv"):
    path = tmp_path / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8", newline="")
    else:
        path.write_bytes(data)
    return path


def matrix(table):
    """X̃ of the table's features: finite floats."""
    Z = Preprocessor().fit(table.X).transform(table.X)
    assert Z.dtype.kind == "f" and np.all(np.isfinite(Z))
    return Z


# --------------------------------------------------------------------- long fields

def test_a_cell_over_csv_field_limit(tmp_path):
    limit = csv.field_size_limit()
    long = "x" * 300_000
    table = read_csv(write(tmp_path, f"a,b,y\n1,{long},0\n2,z,1\n3,{long},0\n"))
    assert table.X["b"].tolist() == [long, "z", long] and table.y.tolist() == [0, 1, 0]
    assert csv.field_size_limit() == limit  # put back: the csv module's state is global
    assert matrix(table).shape == (3, 3)


def test_a_column_name_over_csv_field_limit(tmp_path):
    name = "n" * 200_000
    table = read_csv(write(tmp_path, f"{name};y\n1;0\n2;1\n"), target="y")
    assert table.feature_names == [name]


# --------------------------------------------- line-break look-alikes stay inside a cell

@pytest.mark.parametrize("char", ["\f", "\v", "\x1c", "\x1d", "\x1e", "\x85", "\u2028",
                                  "\u2029"])
def test_break_look_alikes_inside_a_cell_and_a_name(tmp_path, char):
    rows = "".join(f"{i};x{char}y;{i % 2}\n" for i in range(6))
    table = read_csv(write(tmp_path, f"id{char}no;label{char}text;y\n{rows}"), target="y")
    assert table.feature_names == [f"id{char}no", f"label{char}text"]  # ';' found
    assert table.X[f"label{char}text"].tolist() == [f"x{char}y"] * 6  # one cell each
    assert table.X[f"id{char}no"].tolist() == list(range(6))
    assert len(table.y) == 6


def test_a_break_look_alike_next_to_a_number_is_text(tmp_path):
    # "1,5\x85" is not the number 1.5 (the decimal-comma reader saw \s as blank space)
    table = read_csv(write(tmp_path, "a;b;y\n1,5\x85;1,5;0\n2,5;2,5;1\n"), target="y")
    assert table.X["b"].tolist() == [1.5, 2.5]
    assert table.X["a"].tolist() == ["1,5\x85", "2,5"]


def test_other_scripts_digits_are_text(tmp_path):
    table = read_csv(write(tmp_path, "a;b;y\n\u0661,\u0665;1,5;0\n2,5;2,5;1\n"), target="y")
    assert table.X["a"].tolist() == ["\u0661,\u0665", "2,5"]


# ------------------------------------------------------------------------ NUL bytes

def test_nul_near_the_start_is_not_text(tmp_path):
    with pytest.raises(ValueError, match="not a text file"):
        read_csv(write(tmp_path, b"a,y\n1\x00,0\n2,1\n"))


def test_nul_deep_in_the_file_is_named(tmp_path):
    body = "".join(f"{i},{i % 2}\n" for i in range(2000))
    path = write(tmp_path, f"a,y\n{body}7\x00,1\n")
    try:
        table = read_csv(path)
    except ValueError as err:
        assert "line" in str(err) or "\\x00" in str(err)
        return
    with pytest.raises(ValueError, match=r"column 'a'"):
        Preprocessor().fit(table.X)


# ------------------------------------------------------------- line ends and encodings

def test_mixed_line_endings(tmp_path):
    table = read_csv(write(tmp_path, "a,b,y\r\n1,2,0\n3,4,1\r5,6,0\r\n\n7,8,1"))
    assert table.X["a"].tolist() == [1, 3, 5, 7] and table.y.tolist() == [0, 1, 0, 1]


def test_a_line_break_inside_quotes_stays_in_the_cell(tmp_path):
    table = read_csv(write(tmp_path, 'a,b,y\n1,"two\r\nlines",0\n2,"x\ry",1\n'))
    assert table.X["b"].tolist() == ["two\nlines", "x\ny"]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be",
                                      "utf-32", "utf-32-be"])
def test_byte_order_marks(tmp_path, encoding):
    data = "masse,espèce\n1,α\n2,β\n".encode(encoding)
    if encoding in ("utf-16-le", "utf-16-be", "utf-32-be"):  # codecs without a mark
        data = "\ufeff".encode(encoding) + data
    table = read_csv(write(tmp_path, data))
    assert table.feature_names == ["masse"] and table.y.tolist() == ["α", "β"]


def test_utf16_without_a_mark_or_truncated(tmp_path):
    with pytest.raises(ValueError, match="not a text file"):
        read_csv(write(tmp_path, "a,y\n1,0\n".encode("utf-16-le")))
    with pytest.raises(ValueError, match=r"UTF-16 byte-order mark but byte \d+ is not"):
        read_csv(write(tmp_path, "a,y\n1,0\n2,1\n".encode("utf-16")[:-1]))


def test_windows_1252_is_read_with_a_warning(tmp_path):
    with pytest.warns(dp.data.ReadWarning, match="not UTF-8"):
        table = read_csv(write(tmp_path, "caf\xe9,y\n1,0\n2,1\n".encode("cp1252")))
    assert table.feature_names == ["café"]


# ------------------------------------------------------------------------ quotes

def test_an_unterminated_quote_names_where_it_opened(tmp_path):
    with pytest.raises(ValueError, match=r"line 4 has 2 field\(s\) but the header has 3: a "
                                         r"quoted cell opened on line 3 .*quote not closed"):
        read_csv(write(tmp_path, 'a,b,y\n0,1,2\n1,"oops,0\n2,3,1\n'))


def test_a_quote_inside_a_cell(tmp_path):
    table = read_csv(write(tmp_path, 'a,b,y\n1,"say ""hi""",0\n2,x"y,1\n'))
    assert table.X["b"].tolist() == ['say "hi"', 'x"y']


# --------------------------------------------------------------------- odd files

@pytest.mark.parametrize("data, match", [
    ("", "is empty"),
    (b"", "is empty"),
    ("\n\r\n \n", "is empty"),
    ("a,b,y\n", "has a header but no data rows"),
    ("a,b,y\r\n\r\n", "has a header but no data rows"),
    ("y\n1\n2\n", "no feature columns besides the target"),
    ("a,a,y\n1,2,0\n", "appear more than once"),
])
def test_empty_and_degenerate_files(tmp_path, data, match):
    with pytest.raises(ValueError, match=match):
        read_csv(write(tmp_path, data))


def test_a_folder_a_fifo_and_nothing(tmp_path):
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(ValueError, match=r"is not a file \(a folder\)"):
        read_csv(tmp_path / "folder.csv")
    os.mkfifo(tmp_path / "pipe.csv")  # never opened: reading it would wait for a writer
    with pytest.raises(ValueError, match=r"is not a file \(a pipe or a device\)"):
        read_csv(tmp_path / "pipe.csv")
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_csv(tmp_path / "nothing.csv")


# --------------------------------------------------------------------- numbers

def test_a_feature_beyond_the_float_range(tmp_path):
    table = read_csv(write(tmp_path, "a,y\n1e400,0\n2,1\n3,0\n"))
    assert table.X["a"].tolist()[0] == np.inf
    with pytest.raises(ValueError, match=r"column 'a' holds inf in row 0"):
        Preprocessor().fit(table.X)


def test_a_feature_near_the_float_limit_is_named_as_written(tmp_path):
    table = read_csv(write(tmp_path, "a,y\n1e308,0\n2,1\n3,0\n"))
    with pytest.raises(ValueError, match=r"column 'a' holds 1e\+308 in row 0"):
        Preprocessor().fit(table.X)


def test_a_target_beyond_the_float_range_is_named(tmp_path):
    with pytest.raises(ValueError, match=r"target column 'y' holds inf; only finite numbers "
                                         r"are allowed \(data row 2; .*1e400"):
        read_csv(write(tmp_path, "a,y\n1,1.5\n2,1e400\n3,0.5\n"))


def test_a_huge_whole_target_is_a_measurement_not_an_overflowed_class(tmp_path):
    table = read_csv(write(tmp_path, "a,y\n1,1e308\n2,-1e308\n3,5\n4,1e308\n"))
    assert table.task == "regression" and table.class_names is None
    assert table.y.dtype == np.float64 and table.y[0] == 1e308  # not -2**63


@pytest.mark.parametrize("nan", ["nan", "NaN", "-nan", "-NaN", "NAN", "+nan", "-NAN", ""])
def test_spellings_of_nan_are_missing(tmp_path, nan):
    table = read_csv(write(tmp_path, f"a,y\n{nan},0\n2,1\n3,0\n"))
    assert np.isnan(table.X["a"].iloc[0]) and table.X["a"].dtype.kind == "f"
    assert matrix(table).shape == (3, 2)  # imputed, with a missing indicator
    target = read_csv(write(tmp_path, f"a,y\n1,{nan}\n2,1.5\n3,0.5\n", name="t.csv"))
    assert target.dropped == 1 and target.y.tolist() == [1.5, 0.5]


def test_nan_as_a_name_is_a_category(tmp_path):
    table = read_csv(write(tmp_path, "name,y\nNan,0\nBo,1\nNan,0\n"))
    assert table.X["name"].tolist() == ["Nan", "Bo", "Nan"]


@pytest.mark.parametrize("text", [",\n,", ",,\n,,\n", ";\n;\n"])
def test_only_separators(tmp_path, text):
    with pytest.raises(ValueError, match="has no column with a name or a value"):
        read_csv(write(tmp_path, text))


@pytest.mark.parametrize("cell", ["\u0661", "1_000", "0x10", "\x1c1"])
def test_what_float_takes_but_pandas_does_not_is_text(tmp_path, cell):
    table = read_csv(write(tmp_path, f"a,y\n{cell},0\n2,1\n3,0\n"))
    assert matrix(table).shape[0] == 3  # a category, not a number pandas cannot read


def test_subnormal_numbers_standardize_to_finite_values(tmp_path):
    table = read_csv(write(tmp_path, "a,y\n0,0\n4.941e-324,1\n4.941e-324,0\n"))
    assert matrix(table).shape == (3, 1)
