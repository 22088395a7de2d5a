"""Tests for dlprimer.data.datasets: the bundled data sets."""

import builtins
import subprocess
import sys

import numpy as np
import pytest
import sklearn.datasets

from dlprimer.data import Standardizer, datasets, train_test_split
from dlprimer.data.datasets import Dataset, load

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
