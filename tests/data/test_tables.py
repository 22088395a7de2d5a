"""Tests for dlprimer.data: the data matrix, Standardizer, labels, splits and batches."""

import json

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.preprocessing import StandardScaler

from dlprimer.data import (
    Standardizer,
    as_matrix,
    batches,
    decode_labels,
    encode_labels,
    infer_task,
    train_test_split,
)

TABLE_9 = [[50, 120, 200], [35, 130, 220], [45, 125, 190]]


# ---------------------------------------------------------------- as_matrix

def test_as_matrix_lists_and_arrays():
    X, names = as_matrix(TABLE_9)
    assert X.dtype == np.float64 and X.shape == (3, 3) and names is None
    X32, _ = as_matrix(np.ones((2, 2), dtype=np.float32))
    assert X32.dtype == np.float32
    Xint, _ = as_matrix(np.ones((2, 2), dtype=np.int32))
    assert Xint.dtype == np.float64


@pytest.mark.parametrize("bad, match", [
    ([1.0, 2.0], r"must be a 2-D data matrix .*got shape \(2,\).*reshape\(-1, 1\)"),
    (np.ones((2, 2, 2)), r"must be a 2-D data matrix .*got shape \(2, 2, 2\)"),
    (np.empty((0, 3)), r"at least one row and one column, got shape \(0, 3\)"),
    (np.empty((3, 0)), r"at least one row and one column, got shape \(3, 0\)"),
    ([["a", "b"]], r"X must be numeric"),
])
def test_as_matrix_rejects_bad_shapes(bad, match):
    with pytest.raises(ValueError, match=match):
        as_matrix(bad)


def test_as_matrix_reports_nan_and_inf_rows():
    X = np.zeros((8, 2))
    X[2, 0] = np.nan
    X[5, 1] = np.inf
    X[5, 0] = np.nan
    with pytest.raises(ValueError, match=r"3 NaN or infinite value\(s\) in 2 row\(s\), "
                                         r"first at row\(s\) 2, 5"):
        as_matrix(X)
    with pytest.raises(ValueError, match=r"^features contains"):
        as_matrix(X, name="features")


def test_as_matrix_dataframe():
    import pandas as pd
    df = pd.DataFrame({"age": [30, 40], "bmi": [22.5, 31.0], "smoker": [True, False],
                       "dose": pd.array([1, 2], dtype="Int64")})
    X, names = as_matrix(df)
    assert names == ["age", "bmi", "smoker", "dose"]
    np.testing.assert_array_equal(X, [[30, 22.5, 1, 1], [40, 31.0, 0, 2]])
    with pytest.raises(ValueError, match=r"column 'sex' is not numeric: row 1 holds 'M'"):
        as_matrix(pd.DataFrame({"age": [1, 2], "sex": [0, "M"]}))
    with pytest.raises(ValueError, match=r"column 'city' is not numeric: row 0 holds 'Oslo'"):
        as_matrix(pd.DataFrame({"city": pd.Categorical(["Oslo", "Rome"])}))
    with pytest.raises(ValueError, match=r"1 NaN value\(s\) in 1 row\(s\), "
                                         r"first at row\(s\) 1"):
        as_matrix(pd.DataFrame({"dose": pd.array([1, None], dtype="Int64")}))


# ---------------------------------------------------------------- Standardizer

@pytest.mark.parametrize("loader", [load_breast_cancer, load_wine])
def test_standardizer_matches_sklearn_on_real_data(loader):
    X = loader().data
    s = Standardizer()
    Z = s.fit_transform(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1, rtol=1e-12)
    oracle = StandardScaler().fit(X)
    np.testing.assert_allclose(s.mean_, oracle.mean_, rtol=1e-12)
    np.testing.assert_allclose(s.scale_, oracle.scale_, rtol=1e-12)
    np.testing.assert_allclose(Z, oracle.transform(X), atol=1e-12)
    np.testing.assert_allclose(s.inverse_transform(Z), X, rtol=1e-12, atol=1e-12)


def test_standardizer_matches_notation_standardize():
    from dlprimer.notation import standardize
    np.testing.assert_allclose(Standardizer().fit_transform(TABLE_9), standardize(TABLE_9))


def test_standardizer_constant_columns_get_scale_one():
    X = np.column_stack([np.full(7, 0.1), np.zeros(7), np.arange(7.0), np.full(7, 3e8)])
    s = Standardizer().fit(X)
    np.testing.assert_array_equal(s.scale_[[0, 1, 3]], 1.0)
    Z = s.transform(X)
    assert np.all(np.isfinite(Z))
    np.testing.assert_allclose(Z[:, [0, 1, 3]], 0, atol=1e-9)
    np.testing.assert_allclose(Z[:, 2].std(), 1)
    np.testing.assert_allclose(StandardScaler().fit(X).transform(X), Z, atol=1e-9)


def test_standardizer_keeps_float32_and_uses_float64_otherwise():
    X32 = np.random.default_rng(0).normal(5, 3, size=(50, 3)).astype(np.float32)
    s = Standardizer().fit(X32)
    assert s.mean_.dtype == np.float64
    assert s.transform(X32).dtype == np.float32
    assert s.inverse_transform(s.transform(X32)).dtype == np.float32
    assert s.transform(X32.astype(np.float64)).dtype == np.float64
    assert s.transform(X32.astype(np.int64)).dtype == np.float64


def test_standardizer_dict_round_trip_is_exact_and_json():
    X = load_wine().data
    s = Standardizer().fit(X)
    d = json.loads(json.dumps(s.to_dict()))
    assert all(isinstance(v, float) for v in d["mean"] + d["scale"])
    s2 = Standardizer.from_dict(d)
    np.testing.assert_array_equal(s2.mean_, s.mean_)
    np.testing.assert_array_equal(s2.scale_, s.scale_)
    np.testing.assert_array_equal(s2.transform(X), s.transform(X))
    assert s2.n_features_in_ == 13 and repr(s2) == "Standardizer(p=13)"


def test_standardizer_feature_names_from_dataframe():
    import pandas as pd
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0.0, 0.0, 1.0]})
    s = Standardizer().fit(df)
    assert s.feature_names_ == ["a", "b"]
    assert Standardizer.from_dict(s.to_dict()).feature_names_ == ["a", "b"]
    np.testing.assert_allclose(s.transform(df), s.transform(df.to_numpy()))
    with pytest.raises(ValueError, match=r"has columns \['b', 'a'\] but the Standardizer "
                                         r"was fitted on \['a', 'b'\]"):
        s.transform(df[["b", "a"]])


def test_standardizer_errors():
    s = Standardizer()
    assert repr(s) == "Standardizer(not fitted)" and s.n_features_in_ is None
    with pytest.raises(ValueError, match="not fitted yet; call fit"):
        s.transform(TABLE_9)
    with pytest.raises(ValueError, match="not fitted yet; call fit"):
        s.inverse_transform(TABLE_9)
    with pytest.raises(ValueError, match="not fitted yet"):
        s.to_dict()
    s.fit(TABLE_9)
    with pytest.raises(ValueError, match=r"X has 2 column\(s\) but the Standardizer was "
                                         r"fitted on 3"):
        s.transform([[1.0, 2.0]])
    with pytest.raises(ValueError, match=r"Z has 4 column\(s\)"):
        s.inverse_transform(np.zeros((1, 4)))
    with pytest.raises(ValueError, match=r"1 NaN value\(s\).*row\(s\) 1"):
        Standardizer().fit([[1.0, 2.0], [np.nan, 3.0]])


@pytest.mark.parametrize("d, match", [
    ({"mean": [1.0]}, r"missing \['scale'\]"),
    ({"mean": [1.0, 2.0], "scale": [1.0]}, "same length, got lengths 2 and 1"),
    ({"mean": [], "scale": []}, "non-empty"),
    ({"mean": [1.0], "scale": [0.0]}, r"every scale must be > 0, got \[0.0\]"),
    ({"mean": [float("nan")], "scale": [1.0]}, "mean contains 1 NaN"),
    ({"mean": [1.0], "scale": [1.0], "feature_names": ["a", "b"]}, "2 names but mean has 1"),
])
def test_standardizer_from_dict_errors(d, match):
    with pytest.raises(ValueError, match=match):
        Standardizer.from_dict(d)


# ---------------------------------------------------------------- labels

@pytest.mark.parametrize("y, classes", [
    ([3, 1, 3, 2], [1, 2, 3]),
    (["virginica", "setosa", "setosa"], ["setosa", "virginica"]),
    ([True, False, True], [False, True]),
    (np.array([[2.0], [0.5], [2.0]]), [0.5, 2.0]),       # a column vector is fine
])
def test_encode_decode_round_trip(y, classes):
    indices, got = encode_labels(y)
    assert indices.dtype == np.int64
    assert got.tolist() == classes
    np.testing.assert_array_equal(decode_labels(indices, got), np.asarray(y).ravel())
    np.testing.assert_array_equal(got, np.unique(y))


def test_encode_labels_errors():
    with pytest.raises(ValueError, match=r"must be 1-D .*got shape \(2, 2\)"):
        encode_labels([[0, 1], [1, 0]])
    with pytest.raises(ValueError, match=r"1 NaN label\(s\), first at row 2"):
        encode_labels([0.0, 1.0, np.nan])
    with pytest.raises(ValueError, match=r"1 missing label\(s\) .*first at row 1"):
        encode_labels(np.array(["a", None], dtype=object))


def test_decode_labels_errors():
    assert decode_labels(np.array([1.0, 0.0]), ["a", "b"]).tolist() == ["b", "a"]
    with pytest.raises(ValueError, match=r"must lie in 0..1 for 2 classes, got values from "
                                         r"0 to 2"):
        decode_labels([0, 2], ["a", "b"])
    with pytest.raises(ValueError, match=r"must lie in 0..1.*from -1"):
        decode_labels([-1], ["a", "b"])
    with pytest.raises(ValueError, match="must be integers 0..K-1, got dtype float64"):
        decode_labels([0.5], ["a", "b"])


@pytest.mark.parametrize("y, task", [
    ([0, 1, 1], "binary"),
    ([1.0, 2.0, 3.0], "multiclass"),
    (["x", "y"], "binary"),
    (["x", "y", "z"], "multiclass"),
    ([True, False], "binary"),
    (np.arange(21), "regression"),         # more than 20 distinct integers
    (np.arange(20) % 20, "multiclass"),
    ([0.5, 1.0], "regression"),
    ([0.0, np.nan], "regression"),
])
def test_infer_task(y, task):
    assert infer_task(y) == task


# ---------------------------------------------------------------- train_test_split

def test_split_is_stratified_on_real_data():
    data = load_breast_cancer()
    X, y = data.data, data.target
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, seed=1)
    assert len(X_test) == int(np.ceil(0.25 * len(X))) == 143
    assert len(X_train) + len(X_test) == len(X)
    np.testing.assert_allclose(y_test.mean(), y.mean(), atol=1 / len(y_test))
    np.testing.assert_allclose(y_train.mean(), y.mean(), atol=1 / len(y_train))
    # rows stay paired with their labels and every sample is used exactly once
    rows = {tuple(r): label for r, label in zip(X, y, strict=True)}
    for part_X, part_y in ((X_train, y_train), (X_test, y_test)):
        assert all(rows[tuple(r)] == label for r, label in zip(part_X, part_y, strict=True))
    assert len({tuple(r) for r in np.vstack([X_train, X_test])}) == len(rows)


def test_split_keeps_every_class_with_two_samples_in_both_parts():
    y = np.array(["a"] * 40 + ["b"] * 2 + ["c"] * 5 + ["d"])
    X = np.arange(len(y)).reshape(-1, 1)
    _, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, seed=3)
    assert set(y_test) == {"a", "b", "c"} and set(y_train) == {"a", "b", "c", "d"}
    assert len(X_test) == 10
    assert sorted(y_test.tolist()).count("a") == 8


def test_split_gives_every_class_a_test_sample_even_past_test_size():
    y = np.repeat(np.arange(10), 2)          # 10 classes of 2: ceil(0.1 * 20) = 2 is too few
    _, _, y_train, y_test = train_test_split(np.zeros((20, 1)), y, test_size=0.1)
    assert sorted(y_test.tolist()) == list(range(10)) == sorted(y_train.tolist())


def test_split_shares_add_up_to_the_test_size():
    rng = np.random.default_rng(0)
    for _ in range(50):
        y = rng.integers(0, rng.integers(2, 6), size=rng.integers(20, 200))
        test_size = float(rng.uniform(0.1, 0.5))
        _, X_test, _, y_test = train_test_split(np.zeros((len(y), 1)), y, test_size, seed=1)
        assert len(X_test) == int(np.ceil(test_size * len(y)))
        for c in np.unique(y):
            if (y == c).sum() >= 2:
                assert 0 < (y_test == c).sum() < (y == c).sum()


def test_split_is_seeded_and_unstratified_for_regression():
    X = np.arange(40.0).reshape(20, 2)
    y = np.linspace(0, 1, 20)   # regression: plain random split
    a = train_test_split(X, y, seed=7)
    b = train_test_split(X, y, seed=7)
    c = train_test_split(X, y, seed=8)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[1], c[1])
    assert len(a[1]) == 5
    unstratified = train_test_split(X, np.arange(20) % 2, stratify=False, seed=0)
    assert len(unstratified[1]) == 5


def test_split_keeps_pandas_types():
    import pandas as pd
    df = pd.DataFrame({"x": range(12)})
    y = pd.Series([0, 1] * 6)
    X_train, X_test, y_train, y_test = train_test_split(df, y, test_size=1 / 3)
    assert isinstance(X_train, pd.DataFrame) and isinstance(y_test, pd.Series)
    assert len(X_test) == 4 and sorted(y_test) == [0, 0, 1, 1]


@pytest.mark.parametrize("test_size", [0, 1, 1.5, -0.1, 30, True, "0.2"])
def test_split_rejects_bad_test_size(test_size):
    with pytest.raises(ValueError, match="test_size must be a fraction strictly between 0 and 1"):
        train_test_split(np.zeros((10, 1)), np.zeros(10), test_size=test_size)


def test_split_errors():
    with pytest.raises(ValueError, match="same number of samples, got 10 rows in X and 9 labels"):
        train_test_split(np.zeros((10, 1)), np.zeros(9))
    with pytest.raises(ValueError, match=r"cannot split 1 sample\(s\)"):
        train_test_split(np.zeros((1, 1)), np.zeros(1))


# ---------------------------------------------------------------- batches

@pytest.mark.parametrize("n, batch_size", [(1, 1), (10, 3), (10, 10), (10, 64), (97, 8)])
def test_batches_cover_every_index_once(n, batch_size):
    parts = list(batches(n, batch_size, rng=0))
    assert all(len(idx) == batch_size for idx in parts[:-1])
    assert 1 <= len(parts[-1]) <= batch_size
    everything = np.concatenate(parts)
    np.testing.assert_array_equal(np.sort(everything), np.arange(n))


def test_batches_shuffle_is_seeded_and_optional():
    a = np.concatenate(list(batches(50, 7, rng=1)))
    b = np.concatenate(list(batches(50, 7, rng=np.random.default_rng(1))))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, np.arange(50))
    ordered = np.concatenate(list(batches(50, 7, shuffle=False)))
    np.testing.assert_array_equal(ordered, np.arange(50))
    rng = np.random.default_rng(0)   # one generator over epochs gives new orders
    epoch1 = np.concatenate(list(batches(50, 50, rng=rng)))
    epoch2 = np.concatenate(list(batches(50, 50, rng=rng)))
    assert not np.array_equal(epoch1, epoch2)


def test_batches_full_batch_is_eq_31():
    parts = list(batches(6, None, rng=0))
    assert len(parts) == 1
    np.testing.assert_array_equal(parts[0], np.arange(6))


def test_batches_yield_integer_indices():
    parts = list(batches(10, 4, shuffle=False))
    assert all(idx.dtype.kind == "i" for idx in parts)


@pytest.mark.parametrize("n, batch_size, match", [
    (0, 4, "n must be a positive integer, got 0"),
    (10.0, 4, "n must be a positive integer, got 10.0"),
    (10, 0, "batch_size must be a positive integer, got 0"),
    (10, 2.5, "batch_size must be a positive integer, got 2.5"),
    (10, True, "batch_size must be a positive integer, got True"),
])
def test_batches_errors_are_raised_at_the_call(n, batch_size, match):
    with pytest.raises(ValueError, match=match):
        batches(n, batch_size)   # no iteration needed: checked eagerly


def test_finite_check_handles_sums_that_overflow():
    from dlprimer.engine.checks import require_finite_rows

    X = np.full((10, 3), 3e38, dtype=np.float32)  # finite entries whose sum overflows
    require_finite_rows(X)  # no error, no warning (warnings are errors in this suite)
    X[4, 2] = np.inf
    with pytest.raises(ValueError, match="first at row"):
        require_finite_rows(X)
