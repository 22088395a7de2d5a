"""Tests for dlprimer.data.datasets: the bundled data sets and read_csv."""

import builtins
import subprocess
import sys

import numpy as np
import pytest
import sklearn.datasets

from dlprimer.data import Standardizer, datasets, train_test_split
from dlprimer.data.datasets import Dataset, load, read_csv

# name -> (n, p, task, n_classes)
EXPECTED = {
    "breast_cancer": (569, 30, "binary", 2),
    "iris": (150, 4, "multiclass", 3),
    "wine": (178, 13, "multiclass", 3),
    "digits": (1797, 64, "multiclass", 10),
    "diabetes": (442, 10, "regression", None),
}


# ---------------------------------------------------------------- bundled data sets

def test_list_names_every_bundled_set():
    names = datasets.list()
    assert isinstance(names, builtins.list)
    assert names == builtins.list(EXPECTED)


@pytest.mark.parametrize("name", builtins.list(EXPECTED))
def test_each_bundled_set_loads_with_the_right_shapes(name):
    n, p, task, n_classes = EXPECTED[name]
    ds = load(name)
    assert isinstance(ds, Dataset)
    assert ds.name == name and ds.task == task and ds.n_classes == n_classes
    assert ds.X.shape == (n, p) and ds.X.dtype == np.float64
    assert ds.y.shape == (n,)
    assert len(ds.feature_names) == p and all(isinstance(f, str) for f in ds.feature_names)
    assert isinstance(ds.description, str) and "\n" not in ds.description
    assert np.all(np.isfinite(ds.X))
    if task == "regression":
        assert ds.class_names is None and ds.y.dtype == np.float64
    else:
        assert ds.y.dtype == np.int64
        assert sorted(set(ds.y.tolist())) == builtins.list(range(n_classes))
        assert len(ds.class_names) == n_classes
    assert (ds.images is not None) == (name == "digits")
    assert repr(ds).startswith(f"Dataset({name!r}, n={n}, p={p}")


def test_bundled_sets_match_sklearn():
    ds = load("breast_cancer")
    oracle = sklearn.datasets.load_breast_cancer()
    np.testing.assert_array_equal(ds.X, oracle.data)
    np.testing.assert_array_equal(ds.y, oracle.target)
    assert ds.class_names == ["malignant", "benign"]
    digits = load("digits")
    np.testing.assert_array_equal(digits.images.reshape(-1, 64), digits.X)
    assert digits.images.shape == (1797, 8, 8)
    assert digits.class_names == [str(k) for k in range(10)]
    diabetes = load("diabetes")   # unscaled: ages in years, sex coded 1 / 2
    assert diabetes.feature_names[:3] == ["age", "sex", "bmi"]
    assert diabetes.X[:, 0].max() > 70 and set(diabetes.X[:, 1]) == {1.0, 2.0}


_LOADERS = {"breast_cancer": "load_breast_cancer", "iris": "load_iris", "wine": "load_wine",
            "digits": "load_digits", "diabetes": "load_diabetes"}


def assert_same_as_sklearn(ds, name):
    oracle = getattr(sklearn.datasets, _LOADERS[name])(
        **({"scaled": False} if name == "diabetes" else {}))
    np.testing.assert_array_equal(ds.X, oracle.data)
    np.testing.assert_array_equal(ds.y, oracle.target)
    assert ds.X.dtype == np.float64
    assert ds.y.dtype == (np.float64 if name == "diabetes" else np.int64)
    assert ds.feature_names == [str(f) for f in oracle.feature_names]
    if name != "diabetes":
        assert ds.class_names == [str(c) for c in oracle.target_names]
    if name == "digits":
        np.testing.assert_array_equal(ds.images, oracle.images)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_bundled_files_read_directly_equal_sklearn_loaders(name):
    # load() reads scikit-learn's data files itself (no scikit-learn import); every
    # array and name must be what scikit-learn's own loader gives.
    assert datasets._read_files(name) is not None
    assert_same_as_sklearn(load(name), name)


def test_unexpected_files_fall_back_to_sklearn_loader(monkeypatch, tmp_path):
    (tmp_path / "breast_cancer.csv").write_text("569,30,malignant,benign\n1,2,3\n")
    monkeypatch.setattr(datasets, "_data_dir", lambda: tmp_path)  # a corrupt file
    assert datasets._read_files("breast_cancer") is None
    assert_same_as_sklearn(load("breast_cancer"), "breast_cancer")
    monkeypatch.setattr(datasets, "_data_dir", lambda: tmp_path / "missing")
    assert datasets._read_files("iris") is None
    assert_same_as_sklearn(load("iris"), "iris")


def test_loading_a_bundled_set_does_not_import_sklearn():
    code = ("import sys, dlprimer.data.datasets as d; d.load('breast_cancer'); "
            "print('sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_load_accepts_loose_spelling():
    assert load("Breast-Cancer").name == "breast_cancer"
    assert load(" IRIS ").name == "iris"


def test_load_unknown_name_lists_the_available_ones():
    with pytest.raises(ValueError, match=r"unknown data set 'mnist'; available: breast_cancer, "
                                         r"iris, wine, digits, diabetes"):
        load("mnist")


def test_info_table():
    rows = datasets.info()
    assert [tuple(r) for r in rows] == [(name, *EXPECTED[name]) for name in EXPECTED]
    assert rows[3].n_classes == 10 and rows[4].task == "regression"


def test_dataset_is_frozen():
    ds = load("iris")
    with pytest.raises(AttributeError):
        ds.task = "regression"


def test_bundled_set_through_the_pipeline():
    ds = load("wine")
    X_train, X_test, y_train, y_test = train_test_split(ds.X, ds.y, seed=0)
    s = Standardizer().fit(X_train)
    assert np.allclose(s.transform(X_train).mean(axis=0), 0)
    assert set(y_test.tolist()) == {0, 1, 2}


# ---------------------------------------------------------------- read_csv

def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_read_csv_numeric_binary_target(tmp_path):
    path = write(tmp_path, "age,bmi,sick\n30,22.5,0\n40,31,1\n\n50,27.5,1\n")
    ds = read_csv(path)
    np.testing.assert_array_equal(ds.X, [[30, 22.5], [40, 31], [50, 27.5]])
    np.testing.assert_array_equal(ds.y, [0, 1, 1])
    assert ds.y.dtype == np.int64 and ds.X.dtype == np.float64
    assert ds.feature_names == ["age", "bmi"] and ds.class_names == ["0", "1"]
    assert ds.task == "binary" and ds.name == "data" and ds.images is None
    assert "3 rows, 2 features, target 'sick'" in ds.description


def test_read_csv_string_labels_are_sorted_and_coded(tmp_path):
    text = "species,length\nvirginica,6.3\nsetosa,5.1\nversicolor,7.0\nsetosa,4.9\n"
    ds = read_csv(write(tmp_path, text), target="species")
    assert ds.task == "multiclass"
    assert ds.class_names == ["setosa", "versicolor", "virginica"]
    np.testing.assert_array_equal(ds.y, [2, 0, 1, 0])
    assert ds.feature_names == ["length"]


def test_read_csv_integer_labels_are_coded_from_zero(tmp_path):
    ds = read_csv(write(tmp_path, "x,grade\n1,3\n2,5\n3,4\n4,3.0\n"))
    assert ds.task == "multiclass" and ds.class_names == ["3", "4", "5"]
    np.testing.assert_array_equal(ds.y, [0, 2, 1, 0])


def test_read_csv_regression_target(tmp_path):
    rows = "\n".join(f"{i},{i * 0.5 + 0.25}" for i in range(30))
    ds = read_csv(write(tmp_path, "x,y\n" + rows + "\n"))
    assert ds.task == "regression" and ds.class_names is None and ds.y.dtype == np.float64
    many = "\n".join(f"{i},{i}" for i in range(25))   # 25 distinct integers: regression
    assert read_csv(write(tmp_path, "x,y\n" + many + "\n")).task == "regression"


def test_read_csv_task_override(tmp_path):
    path = write(tmp_path, "x,quality\n1,3\n2,5\n3,4\n")
    ds = read_csv(path, task="regression")
    assert ds.task == "regression" and ds.class_names is None
    np.testing.assert_array_equal(ds.y, [3.0, 5.0, 4.0])
    with pytest.raises(ValueError, match=r"task='binary' but column 'quality' has 3 classes"):
        read_csv(path, task="binary")
    with pytest.raises(ValueError, match=r"task must be None \(infer it\).*got 'classify'"):
        read_csv(path, task="classify")
    labels = write(tmp_path, "x,kind\n1,a\n2,b\n", name="labels.csv")
    with pytest.raises(ValueError, match=r"needs a numeric target, .*labels such as 'a'"):
        read_csv(labels, task="regression")


def test_read_csv_quoted_fields_bom_and_spaces(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('\ufeff"a", "b" ,label\n" 1.5",2, "yes, really"\n3,4,no\n', encoding="utf-8")
    ds = read_csv(path)
    assert ds.feature_names == ["a", "b"]
    np.testing.assert_array_equal(ds.X, [[1.5, 2], [3, 4]])
    assert ds.class_names == ["no", "yes, really"]


def test_read_csv_prediction_file_without_target(tmp_path):
    path = write(tmp_path, "age,bmi\n30,22.5\n40,31\n")
    ds = read_csv(path, require_target=False)
    assert ds.y is None and ds.feature_names == ["age", "bmi"] and ds.X.shape == (2, 2)
    named = read_csv(path, target="sick", require_target=False)
    assert named.y is None and named.X.shape == (2, 2)
    with_target = read_csv(path, target="bmi", require_target=False)
    assert with_target.feature_names == ["age"] and with_target.task == "regression"


def test_read_csv_other_delimiter(tmp_path):
    ds = read_csv(write(tmp_path, "a;b;c\n1;2;x\n3;4;y\n"), delimiter=";")
    assert ds.X.shape == (2, 2) and ds.class_names == ["x", "y"]


@pytest.mark.parametrize("text, name", [
    ("a;b;c\n1,5;2;x\n3;4;y\n", "semi.csv"),      # ';' with no comma in the header
    ("a\tb\tc\n1.5\t2\tx\n3\t4\ty\n", "tabs.csv"),
    ("a\tb\tc\n1.5\t2\tx\n3\t4\ty\n", "data.tsv"),
])
def test_read_csv_detects_semicolons_and_tabs(tmp_path, text, name):
    path = write(tmp_path, text, name)
    if name == "semi.csv":  # a decimal comma is not a number: said, not misread
        with pytest.raises(ValueError, match=r"column 'a' is not numeric: line 2 holds '1,5'"):
            read_csv(path)
        path = write(tmp_path, text.replace("1,5", "1.5"), name)
    ds = read_csv(path)
    assert ds.feature_names == ["a", "b"] and ds.class_names == ["x", "y"]
    np.testing.assert_array_equal(ds.X, [[1.5, 2], [3, 4]])
    comma = read_csv(write(tmp_path, "a;b,c\n1,x\n2,y\n", "comma.csv"))  # comma wins
    assert comma.feature_names == ["a;b"]


def test_read_csv_ignored_columns_are_not_read(tmp_path):
    path = write(tmp_path, "id,age,bmi,note\nA7,30,22.5,\nB2,40,31,late\n")
    ds = read_csv(path, require_target=False, ignore=["id", "note"])
    assert ds.feature_names == ["age", "bmi"] and ds.y is None  # no "not numeric", no blank


# ---------------------------------------------------------------- read_csv errors

def test_read_csv_missing_file_is_named(tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(ValueError, match=r"^no such file: '.*nope\.csv'$"):
        read_csv(missing)
    with pytest.raises(FileNotFoundError):   # also catchable as the usual OSError
        read_csv(str(missing))
    with pytest.raises(ValueError, match="is not a file"):
        read_csv(tmp_path)


@pytest.mark.parametrize("text, match", [
    ("", r"data\.csv is empty; expected a header row"),
    ("\n\n  \n", r"data\.csv is empty"),
    ("a,b,c\n", r"data\.csv has a header but no data rows"),
    ("a,b\n1,2\n3\n", r"line 3 has 1 field\(s\) but the header has 2"),
    ("a,b\n1,2\n\n3,4,5\n", r"line 4 has 3 field\(s\) but the header has 2"),
    (",a,b\n0,1,2\n", r"column 1 has no name .*index=False"),
    ("a,a,b\n1,2,3\n", r"column name\(s\) \['a'\] appear more than once"),
    ("y\n1\n2\n", r"no feature columns besides the target 'y'"),
    ("a,b\n1,\xe9\n", None),   # written as latin-1 below
])
def test_read_csv_malformed_files(tmp_path, text, match):
    if match is None:
        path = tmp_path / "data.csv"
        path.write_bytes(text.encode("latin-1"))
        match = r"data\.csv is not UTF-8 text"
    else:
        path = write(tmp_path, text)
    with pytest.raises(ValueError, match=match):
        read_csv(path)


def test_read_csv_missing_target_lists_columns(tmp_path):
    path = write(tmp_path, "age,bmi,sick\n30,22.5,0\n")
    with pytest.raises(ValueError, match=r"has no column 'outcome'; available columns: "
                                         r"\['age', 'bmi', 'sick'\]"):
        read_csv(path, target="outcome")
    pipes = write(tmp_path, "age|bmi|sick\n30|22.5|0\n", name="pipes.csv")
    with pytest.raises(ValueError, match=r"separated by '\|'\? pass delimiter='\|'"):
        read_csv(pipes, target="sick")
    assert read_csv(pipes, target="sick", delimiter="|").feature_names == ["age", "bmi"]


def test_read_csv_non_numeric_feature_names_column_value_and_line(tmp_path):
    path = write(tmp_path, "age,sex,sick\n30,1,0\n41,2,1\n52,F,1\n")
    with pytest.raises(ValueError, match=r"feature column 'sex' is not numeric: line 4 "
                                         r"holds 'F'"):
        read_csv(path)


def test_read_csv_infinite_values(tmp_path):
    with pytest.raises(ValueError, match=r"column 'a' holds the infinite value 'inf' on line 3"):
        read_csv(write(tmp_path, "a,y\n1,0\ninf,1\n"))
    with pytest.raises(ValueError, match=r"target column 'y' holds the infinite value '-inf' "
                                         r"on line 2"):
        read_csv(write(tmp_path, "a,y\n1,-inf\n2,1\n"))


def test_read_csv_missing_values_count_and_lines(tmp_path):
    rows = ["1,2,0", ",2,1", "3,NA,0", "4,5,nan", "5,6,1", "6,N/A,1", "7,,", "9, ,1", "1,2,0"]
    path = write(tmp_path, "a,b,y\n" + "\n".join(rows) + "\n")
    # lines 3 (a), 4 (b), 5 (y), 7 (b), 8 (b and y), 9 (b): 7 cells on 6 lines
    with pytest.raises(ValueError, match=r"has 7 missing value\(s\) \(empty, NA or nan cells\) "
                                         r"in column\(s\) \['a', 'b', 'y'\], on line\(s\) "
                                         r"3, 4, 5, 7, 8 and 1 more"):
        read_csv(path)
