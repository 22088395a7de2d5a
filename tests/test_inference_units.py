"""dlprimer.inference in the units of the data, separation named, convergence reported.

A model fit on standardized features reports its coefficients per unit of each raw
feature: θ_raw = A θ, Cov_raw = A I⁻¹ Aᵀ. That is the maximum-likelihood fit on the raw
rows, so it must agree with statsmodels' Logit / MNLogit on the raw X; the standardized
table must agree with them on (X - m) / s.
"""

import warnings

import numpy as np
import pytest
import statsmodels.api as sm  # the oracle (a dev dependency)

import dlprimer as dp
from dlprimer.inference import InferenceWarning, summary
from dlprimer.inference_checks import column_splits

RTOL = 1e-4
NAMES = ["weight_g", "age_years", "smoker"]


def fit_mle(model, X, y):
    """Maximum likelihood on standardized features, to convergence."""
    dp.fit(model, X, y, optimizer=dp.optim.LBFGS(tol=1e-12), epochs=5000, progress=False,
           standardize=True)
    model.feature_names = list(NAMES[: X.shape[1]])
    return model


def raw_rows(n=400, seed=0):
    """Grams in the thousands, years in the tens and a 0/1 column: scales 1000 apart."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.normal(1000, 200, n), rng.normal(40, 12, n),
                         rng.integers(0, 2, n).astype(float)])
    return X, rng


def column(s, key):
    return np.array([row[key] for row in s.table])


def oracle(model_class, y, X):
    with warnings.catch_warnings():  # statsmodels' own heuristics, at the oracle only
        warnings.simplefilter("ignore")
        result = model_class(y, sm.add_constant(X)).fit(disp=0, method="newton", tol=1e-12,
                                                         maxiter=500)
    ci = np.asarray(result.conf_int()).reshape(-1, 2)  # MNLogit: (K-1, p+1, 2), class by class
    flat = {key: np.asarray(value).ravel(order="F") for key, value in
            [("estimate", result.params), ("std_err", result.bse), ("z", result.tvalues),
             ("p_value", result.pvalues)]}
    flat["ci_lower"], flat["ci_upper"] = ci[:, 0], ci[:, 1]
    return flat, result


def assert_matches(s, reference):
    for key in ("estimate", "std_err", "z", "ci_lower", "ci_upper"):
        np.testing.assert_allclose(column(s, key), reference[key], rtol=RTOL, err_msg=key)
    # p-values far below any level differ in absolute, not relative, terms
    np.testing.assert_allclose(column(s, "p_value"), reference["p_value"], rtol=RTOL,
                               atol=1e-10, err_msg="p_value")


@pytest.fixture(scope="module")
def model_one():
    X, rng = raw_rows()
    z = -5 + 0.003 * X[:, 0] + 0.04 * X[:, 1] + 0.8 * X[:, 2]
    y = (rng.random(len(X)) < 1 / (1 + np.exp(-z))).astype(int)
    return fit_mle(dp.SigmoidModel(3, dtype=np.float64), X, y), X, y


def test_model_one_original_units_match_statsmodels_on_raw_rows(model_one):
    model, X, y = model_one
    s = summary(model, X, y)
    reference, result = oracle(sm.Logit, y, X)
    assert s.scale == "original"
    assert_matches(s, reference)
    np.testing.assert_allclose(s.covariance, result.cov_params(), rtol=RTOL)
    np.testing.assert_allclose(column(s, "odds_ratio"), np.exp(result.params), rtol=RTOL)
    np.testing.assert_allclose(column(s, "odds_ratio_ci_upper"),
                               np.exp(np.asarray(result.conf_int())[:, 1]), rtol=RTOL)
    assert [row["term"] for row in s.table] == ["intercept"] + NAMES
    assert any("one-unit increase" in note and "'colour=red'" in note for note in s.notes)


def test_model_one_standardized_scale_matches_statsmodels_on_standardized_rows(model_one):
    model, X, y = model_one
    s = summary(model, X, y, scale="standardized")
    m, sd = model.standardizer.mean_, model.standardizer.scale_
    reference, _ = oracle(sm.Logit, y, (X - m) / sd)
    assert s.scale == "standardized"
    assert_matches(s, reference)
    assert any("per standard deviation" in note for note in s.notes)
    # the map by hand, eq. (13) undone: w_j / s_j and b - Σ w_j m_j / s_j
    w = column(s, "estimate")
    raw = column(summary(model, X, y), "estimate")
    np.testing.assert_allclose(raw[1:], w[1:] / sd, rtol=1e-12)
    assert raw[0] == pytest.approx(w[0] - np.sum(w[1:] * m / sd), rel=1e-12)


def test_model_two_original_and_standardized_match_statsmodels_mnlogit():
    X, rng = raw_rows(n=600, seed=1)
    Z = np.column_stack([np.zeros(len(X)),
                         -3 + 0.002 * X[:, 0] + 0.03 * X[:, 1] - 0.5 * X[:, 2],
                         1 - 0.001 * X[:, 0] + 0.01 * X[:, 1] + 0.7 * X[:, 2]])
    P = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    y = (rng.random(len(X))[:, None] > np.cumsum(P, axis=1)).sum(axis=1)
    model = fit_mle(dp.SoftmaxModel(3, 3, dtype=np.float64), X, y)

    reference, result = oracle(sm.MNLogit, y, X)
    assert result.mle_retvals["converged"]
    s = summary(model, X, y)
    assert_matches(s, reference)
    np.testing.assert_allclose(s.covariance, result.cov_params(), rtol=RTOL)

    m, sd = model.standardizer.mean_, model.standardizer.scale_
    reference, _ = oracle(sm.MNLogit, y, (X - m) / sd)
    assert_matches(summary(model, X, y, scale="standardized"), reference)


class FakePreprocessor:
    """The duck-typed interface of dp.data.Preprocessor: encode raw rows into a float64
    matrix in raw units (here a one-hot 'colour=red'), its column names, a standardizer."""

    feature_names_ = ["colour=red", "weight_g", "age_years"]

    def __init__(self, standardizer):
        self.standardizer = standardizer

    def encode(self, rows):
        return np.array([[colour == "red", grams, years] for colour, grams, years in rows],
                        dtype=np.float64)


def test_rows_and_scaler_come_from_the_preprocessor():
    X, rng = raw_rows(seed=2)
    rows = [("red" if b else "blue", g, a) for g, a, b in X]
    encoded = FakePreprocessor(None).encode(rows)
    z = -4 + 0.003 * encoded[:, 1] + 0.02 * encoded[:, 2] + 0.9 * encoded[:, 0]
    y = (rng.random(len(X)) < 1 / (1 + np.exp(-z))).astype(int)
    model = fit_mle(dp.SigmoidModel(3, dtype=np.float64), encoded, y)
    model.preprocessor = FakePreprocessor(model.standardizer)  # as fit on a raw table
    model.standardizer, model.feature_names = None, None

    s = summary(model, rows, y)
    reference, _ = oracle(sm.Logit, y, encoded)
    assert_matches(s, reference)
    assert [row["term"] for row in s.table] == ["intercept"] + FakePreprocessor.feature_names_
    assert s.table[1]["odds_ratio"] == pytest.approx(np.exp(reference["estimate"][1]),
                                                     rel=RTOL)  # red against not red


def test_without_a_standardizer_both_scales_are_the_same(model_one):
    _, X, y = model_one
    model = dp.SigmoidModel(2, dtype=np.float64)
    dp.fit(model, X[:, 1:], y, optimizer=dp.optim.LBFGS(tol=1e-12), epochs=5000,
           progress=False, standardize=False)
    original = summary(model, X[:, 1:], y)
    standardized = summary(model, X[:, 1:], y, scale="standardized")
    assert original.table == standardized.table
    assert original.notes == standardized.notes
    assert not any("standardized" in note for note in original.notes)


def test_a_column_that_separates_perfectly_is_named():
    rng = np.random.default_rng(3)
    X = np.column_stack([rng.normal(size=200), rng.normal(size=200)])
    y = (X[:, 1] > 0).astype(int)  # the second column alone splits the classes
    model = dp.SigmoidModel(2, dtype=np.float64)
    dp.fit(model, X, y, optimizer=dp.optim.LBFGS(tol=1e-10), epochs=300, progress=False,
           standardize=True)
    model.feature_names = ["noise", "dose"]
    with pytest.warns(InferenceWarning, match="separation") as record:
        s = summary(model, X, y)
    message = str(record[0].message)
    assert "the column 'dose' alone splits class '0'" in message
    assert "'noise'" not in message
    assert "l2=0.01" in message and "--l2 0.01" in message
    assert "remove the column 'dose'" in message
    assert np.all(np.isnan(column(s, "std_err")))


def test_a_quasi_separating_column_is_named_even_when_the_fit_looks_fine():
    # Every smoker is class 1, non-smokers are of both classes: quasi-complete separation,
    # the smoker weight grows without bound though no hyperplane classifies every row.
    X, rng = raw_rows(seed=4)
    z = -6 + 0.005 * X[:, 0] + 0.02 * X[:, 1]
    y = (rng.random(len(X)) < 1 / (1 + np.exp(-z))).astype(int)
    y[X[:, 2] == 1] = 1
    model = fit_mle(dp.SigmoidModel(3, dtype=np.float64), X, y)
    with pytest.warns(InferenceWarning, match="quasi-separation") as record:
        s = summary(model, X, y)
    message = str(record[0].message)
    assert "'smoker' alone splits class '0' (all ≤ 0) from class '1' (all ≥ 0)" in message
    assert "remove the column 'smoker'" in message
    assert "'weight_g'" not in message
    assert np.all(np.isnan(column(s, "p_value")))
    assert np.all(np.isfinite(column(s, "estimate")))


def test_model_two_names_the_column_that_splits_a_class_from_the_others():
    ds = dp.datasets.load("iris")
    X = ds.X[:, [0, 2]]  # sepal length, petal length: petal length alone splits setosa
    model = dp.SoftmaxModel(2, 3, dtype=np.float64)
    dp.fit(model, X, ds.y, optimizer=dp.optim.LBFGS(tol=1e-10), epochs=500, progress=False,
           standardize=True)
    model.feature_names = ["sepal length", "petal length"]
    with pytest.warns(InferenceWarning, match="separation") as record:
        s = summary(model, X, ds.y)
    message = str(record[0].message)
    assert "the column 'petal length' alone splits class '0'" in message
    assert "remove the column 'petal length'" in message
    assert np.all(np.isnan(column(s, "std_err")))


def test_column_splits_ignores_constant_columns_and_overlap():
    X = np.array([[5.0, 0.0, 1.0], [5.0, 1.0, 2.0], [5.0, 1.0, 0.0], [5.0, 2.0, 3.0]])
    labels = np.array([0, 0, 1, 1])
    assert column_splits(X, labels, 2) == ([(1, 0, 1)], True)  # column 1 with a tie at 1
    three = np.array([0, 0, 1, 1, 2, 2])
    x = np.array([[0.0], [1.0], [0.5], [2.0], [2.5], [3.0]])
    # 0 | 2 and 1 | 2 split, and class 2 from both others: the MLE cannot exist
    assert column_splits(x, three, 3) == ([(0, 0, 2), (0, 1, 2)], True)
    x[4, 0] = 1.5  # class 2 now overlaps class 1: 0 | 2 still splits, proving nothing
    assert column_splits(x, three, 3) == ([(0, 0, 2)], False)


def test_not_converged_warns_and_shows_in_the_header(model_one):
    model, X, y = model_one
    before = model.converged_
    try:
        model.converged_ = False
        with pytest.warns(InferenceWarning, match="iteration cap"):
            s = summary(model, X, y)
        assert s.converged is False and s.to_dict()["converged"] is False
        assert "not converged" in s.to_text().splitlines()[2]
        assert any("more epochs" in note for note in s.notes)
        assert "not converged" in s._repr_html_()

        model.converged_ = True
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            s = summary(model, X, y)
        header = s.to_text().splitlines()[2]
        assert header.endswith("converged") and "not converged" not in header
    finally:
        model.converged_ = before


def test_a_bad_scale_names_the_allowed_ones(model_one):
    model, X, y = model_one
    with pytest.raises(ValueError, match="'original', 'standardized'.*'raw'"):
        summary(model, X, y, scale="raw")
