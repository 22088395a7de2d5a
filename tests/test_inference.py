"""dlprimer.inference against statsmodels' Logit (Model I) and MNLogit (Model II)."""

import json
import warnings

import numpy as np
import pytest
import statsmodels.api as sm  # the oracle (a dev dependency)
from scipy.optimize import linprog

import dlprimer as dp
from dlprimer.inference import InferenceWarning, Summary, summary

TOL = 1e-4
FEATURES = ["mean radius", "mean texture", "mean smoothness"]
KEYS = ("estimate", "std_err", "z", "p_value", "ci_lower", "ci_upper")


def fit_mle(model, X, y, **kwargs):
    """Unpenalized maximum likelihood to convergence, in float64 (on the raw rows unless
    told: fit's default for ``standardize`` may change)."""
    kwargs.setdefault("standardize", False)
    return dp.fit(model, X, y, optimizer=dp.optim.LBFGS(tol=1e-10), epochs=2000,
                  progress=False, **kwargs)


def column(s: Summary, key: str) -> np.ndarray:
    return np.array([row[key] for row in s.table])


def statsmodels_fit(model_class, y, X):
    # statsmodels flags a share of perfectly predicted rows as "possible quasi-separation"
    # (its own heuristic; the information matrix here is well conditioned): silence it here
    # only, at the oracle.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model_class(y, sm.add_constant(X)).fit(disp=0, method="newton", tol=1e-12,
                                                       maxiter=500)


def statsmodels_columns(result) -> dict:
    """statsmodels' numbers in our row order: for MNLogit, class by class (column order)."""
    ci = np.asarray(result.conf_int())
    if ci.ndim == 3:  # MNLogit: (K-1, p+1, 2)
        ci = ci.reshape(-1, 2)
    flat = {key: np.asarray(value).ravel(order="F") for key, value in
            [("estimate", result.params), ("std_err", result.bse), ("z", result.tvalues),
             ("p_value", result.pvalues)]}
    flat["ci_lower"], flat["ci_upper"] = ci[:, 0], ci[:, 1]
    return flat


def linearly_separable(X, labels) -> bool:
    """Whether some hyperplane splits labels 0 and 1: the LP s_i (b + wᵀx_i) >= 1 is feasible."""
    s = 2 * labels - 1
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    A = -s[:, None] * np.hstack([np.ones((len(Z), 1)), Z])
    result = linprog(np.zeros(A.shape[1]), A_ub=A, b_ub=-np.ones(len(Z)),
                     bounds=[(None, None)] * A.shape[1])
    return result.status == 0


@pytest.fixture(scope="module")
def cancer():
    return dp.datasets.load("breast_cancer")


@pytest.fixture(scope="module")
def cancer3(cancer):
    X = cancer.X[:, [cancer.feature_names.index(f) for f in FEATURES]]
    model = dp.SigmoidModel(3, dtype=np.float64)
    fit_mle(model, X, cancer.y)
    model.feature_names = list(FEATURES)
    return model, X, cancer.y


def test_model_one_matches_statsmodels_logit(cancer3):
    model, X, y = cancer3
    # the premise: not separable, and a well-conditioned information matrix
    assert not linearly_separable(X, y)
    result = statsmodels_fit(sm.Logit, y, X)
    assert np.linalg.cond(result.model.hessian(result.params)) < 1e8

    s = summary(model, X, y)
    reference = statsmodels_columns(result)
    for key in KEYS:
        np.testing.assert_allclose(column(s, key), reference[key], rtol=0, atol=TOL,
                                   err_msg=key)
    # exp turns an absolute error in θ̂ into the same relative error in the odds ratio
    np.testing.assert_allclose(column(s, "odds_ratio"), np.exp(result.params), rtol=TOL)
    np.testing.assert_allclose(column(s, "odds_ratio_ci_lower"),
                               np.exp(np.asarray(result.conf_int())[:, 0]), rtol=TOL)
    assert s.log_likelihood == pytest.approx(result.llf, abs=TOL)
    np.testing.assert_allclose(s.covariance, result.cov_params(), rtol=TOL)
    assert [row["term"] for row in s.table] == ["intercept"] + FEATURES
    assert [row["parameter"] for row in s.table] == ["b0", "w1", "w2", "w3"]


def test_model_summary_delegates_and_standardized_coefficients(cancer):
    X = cancer.X[:, [cancer.feature_names.index(f) for f in FEATURES]]
    model = dp.SigmoidModel(3, dtype=np.float64)
    fit_mle(model, X, cancer.y, standardize=True)
    s = model.summary(X, cancer.y)  # raw rows in; per unit of the raw features by default
    result = statsmodels_fit(sm.Logit, cancer.y, X)
    np.testing.assert_allclose(column(s, "std_err"), result.bse, rtol=TOL)
    np.testing.assert_allclose(column(s, "estimate"), result.params, rtol=TOL)
    assert s.scale == "original" and any("one-unit increase" in note for note in s.notes)
    standardized = summary(model, X, cancer.y, scale="standardized")
    result = statsmodels_fit(sm.Logit, cancer.y, model.standardizer.transform(X))
    np.testing.assert_allclose(column(standardized, "std_err"), result.bse, atol=TOL)
    np.testing.assert_allclose(column(standardized, "estimate"), result.params, atol=TOL)
    assert any("per standard deviation" in note for note in standardized.notes)
    assert "standardized" in standardized.to_text()


@pytest.fixture(scope="module")
def wine2():
    ds = dp.datasets.load("wine")
    X = ds.X[:, :2]  # alcohol, malic_acid: three overlapping cultivars
    y = np.array(ds.class_names)[ds.y]  # string labels, sorted as class_0, class_1, class_2
    model = dp.SoftmaxModel(2, 3, dtype=np.float64)
    fit_mle(model, X, y)
    return model, X, y, ds


def test_model_two_matches_statsmodels_mnlogit(wine2):
    model, X, y, ds = wine2
    result = statsmodels_fit(sm.MNLogit, ds.y, X)
    assert result.mle_retvals["converged"]
    s = summary(model, X, y)
    reference = statsmodels_columns(result)
    for key in KEYS:
        np.testing.assert_allclose(column(s, key), reference[key], rtol=0, atol=TOL,
                                   err_msg=key)
    assert s.log_likelihood == pytest.approx(result.llf, abs=TOL)
    assert [row["class"] for row in s.table] == ["class_1"] * 3 + ["class_2"] * 3
    assert {row["reference"] for row in s.table} == {"class_0"}
    assert s.table[4]["parameter"] == "W[3,1] - W[1,1]"
    assert "odds_ratio" not in s.table[0]
    assert any("reference" in note for note in s.notes)


def test_quasi_separated_iris_warns_and_gives_nan(recwarn):
    # With any two iris features, setosa is split from the other species by a line, so the
    # maximum-likelihood estimate does not exist (statsmodels gives NaN or huge SEs too).
    ds = dp.datasets.load("iris")
    X = ds.X[:, :2]
    model = dp.SoftmaxModel(2, 3, dtype=np.float64)
    fit_mle(model, X, ds.y)
    with pytest.warns(InferenceWarning, match="separation") as record:
        s = summary(model, X, ds.y)
    assert "class '0' is split from class '1'" in str(record[0].message)
    assert np.all(np.isnan(column(s, "std_err")))
    assert np.all(np.isnan(column(s, "p_value")))
    assert np.all(np.isfinite(column(s, "estimate")))


def test_separable_full_breast_cancer_warns_and_gives_nan(cancer):
    assert linearly_separable(cancer.X, cancer.y)
    model = dp.SigmoidModel(30, dtype=np.float64)
    fit_mle(model, cancer.X, cancer.y, standardize=True)
    with pytest.warns(InferenceWarning, match="perfect separation"):
        s = model.summary(cancer.X, cancer.y)
    for key in ("std_err", "z", "p_value", "ci_lower", "ci_upper"):
        assert np.all(np.isnan(column(s, key))), key
    assert "nan" in s.to_text()


def test_collinear_features_warn_and_name_them(cancer3):
    _, X, y = cancer3
    X4 = np.column_stack([X, 2 * X[:, 0] + X[:, 1]])  # a fourth column made of the first two
    model = dp.SigmoidModel(4, dtype=np.float64)
    fit_mle(model, X4, y)
    model.feature_names = FEATURES + ["radius and texture"]
    with pytest.warns(InferenceWarning, match="collinear") as record:
        s = summary(model, X4, y)
    message = str(record[0].message)
    for name in ("mean radius", "mean texture", "radius and texture"):
        assert repr(name) in message
    assert "mean smoothness" not in message
    assert np.all(np.isnan(column(s, "std_err")))


def test_penalized_fit_warns_that_it_is_not_the_maximum(cancer3):
    _, X, y = cancer3
    model = dp.SigmoidModel(3, dtype=np.float64)
    fit_mle(model, X, y, l2=0.01)
    with pytest.warns(InferenceWarning, match="not at the maximum"):
        s = summary(model, X, y)
    assert np.all(np.isfinite(column(s, "std_err")))  # still reported, with the note


def test_text_html_and_dict(cancer3):
    model, X, y = cancer3
    s = summary(model, X, y)
    text = str(s)
    assert text.splitlines()[0].startswith("Model I")
    assert "std err" in text and "P>|z|" in text and "odds ratio" in text
    assert "[0.025" in text and "0.975]" in text
    for name in FEATURES:
        assert name in text
    lines = [line for line in text.splitlines() if line.startswith(("intercept", "mean "))]
    assert len({len(line) for line in lines}) == 1  # aligned columns
    html = s._repr_html_()
    assert html.count("<tr>") == 5 and "<table>" in html
    d = json.loads(json.dumps(s.to_dict()))
    assert d["n"] == 569 and len(d["coefficients"]) == 4
    assert d["coefficients"][1]["term"] == "mean radius"


def test_confidence_level(cancer3):
    model, X, y = cancer3
    s90, s95 = summary(model, X, y, confidence=0.90), summary(model, X, y)
    width = column(s95, "ci_upper") - column(s95, "ci_lower")
    np.testing.assert_allclose(width, 2 * 1.959963984540054 * column(s95, "std_err"))
    assert np.all(column(s90, "ci_upper") < column(s95, "ci_upper"))
    assert "[0.05" in s90.to_text()


def test_bad_input_raises_clear_errors(cancer3):
    model, X, y = cancer3
    with pytest.raises(TypeError, match="Model I"):
        summary(dp.FeedForward([3, 2, 1]), X, y)
    with pytest.raises(ValueError, match="labels"):
        summary(model, X, y + 5)
    with pytest.raises(ValueError, match="rows"):
        summary(model, X, y[:-1])
    with pytest.raises(ValueError, match="p=3"):
        summary(model, X[:, :2], y)
    with pytest.raises(ValueError, match="confidence"):
        summary(model, X, y, confidence=95)
