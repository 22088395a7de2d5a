"""The scikit-learn estimators: scikit-learn's own conformance suite, then what a user does
with them (pipelines, grid search, string labels) and how well they fit real data."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import dlprimer as dp
from dlprimer.sklearn import (
    FeedForwardClassifier,
    FeedForwardRegressor,
    SigmoidClassifier,
    SoftmaxClassifier,
)
from dlprimer.training.loops import ConvergenceWarning

ESTIMATORS = [SigmoidClassifier(), SoftmaxClassifier(), FeedForwardClassifier(),
              FeedForwardRegressor()]
CLASSIFIERS = [SigmoidClassifier, SoftmaxClassifier, FeedForwardClassifier]


@pytest.fixture(scope="module")
def breast_cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)


# ---------------------------------------------------------------- scikit-learn's check suite

@parametrize_with_checks(ESTIMATORS)
def test_sklearn_conformance(estimator, check):
    # every check passes: no expected failures are declared
    if getattr(check, "func", check).__name__ == "check_array_api_input":
        # scipy reads SCIPY_ARRAY_API once, at import: run this check in a fresh process
        # with it set, instead of letting scikit-learn skip it.
        _check_array_api_in_subprocess(estimator, check)
        return
    check(estimator)


def _check_array_api_in_subprocess(estimator, check):
    import os
    import subprocess
    import sys

    kwargs = {k: v for k, v in check.keywords.items() if isinstance(v, (str, bool, type(None)))}
    code = (
        "from sklearn.utils.estimator_checks import check_array_api_input\n"
        f"from dlprimer.sklearn import {type(estimator).__name__} as E\n"
        f"check_array_api_input('{type(estimator).__name__}', E(**{estimator.get_params()!r}),"
        f" **{kwargs!r})\n"
    )
    env = {**os.environ, "SCIPY_ARRAY_API": "1"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]


# ---------------------------------------------------------------- the estimator API

@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_string_labels_round_trip(cls):
    X, y = load_breast_cancer(return_X_y=True)
    labels = np.array(["benign", "malignant"])[1 - y]  # 0 = malignant in scikit-learn
    clf = cls(random_state=0).fit(X, labels)
    assert clf.classes_.tolist() == ["benign", "malignant"]
    pred = clf.predict(X)
    assert pred.dtype == labels.dtype and set(pred) <= set(labels)
    assert np.mean(pred == labels) > 0.95
    # the dlprimer model inside carries the labels too, and agrees
    assert np.array_equal(clf.model_.predict(X), pred)


def test_string_labels_multiclass():
    X, y = load_iris(return_X_y=True)
    names = load_iris().target_names[y]
    for cls in (SoftmaxClassifier, FeedForwardClassifier):
        clf = cls(random_state=0).fit(X, names)
        assert clf.classes_.tolist() == ["setosa", "versicolor", "virginica"]
        assert np.mean(clf.predict(X) == names) > 0.9


def test_predict_proba_is_n_by_classes_even_for_model_I(breast_cancer):
    X_train, X_test, y_train, _ = breast_cancer
    clf = SigmoidClassifier(random_state=0).fit(X_train, y_train)
    P = clf.predict_proba(X_test)
    y_hat = clf.model_.predict_proba(X_test)  # ŷ of eq. (1), the probability of class 1
    assert P.shape == (len(X_test), 2)
    np.testing.assert_allclose(P[:, 1], y_hat)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    # decision rule (3) with τ = 0.5 is the sign of the logit
    z = clf.decision_function(X_test)
    assert np.array_equal(clf.predict(X_test), clf.classes_[(z > 0).astype(int)])


def test_feedforward_output_matches_the_number_of_classes(breast_cancer, iris):
    binary = FeedForwardClassifier(hidden_layer_sizes=(4, 3), epochs=5).fit(*breast_cancer[::2])
    assert binary.model_.output == "sigmoid" and binary.model_.sizes == [30, 4, 3, 1]
    multi = FeedForwardClassifier(hidden_layer_sizes=(4,), epochs=5).fit(*iris[::2])
    assert multi.model_.output == "softmax" and multi.model_.sizes == [4, 4, 3]
    assert multi.predict_proba(iris[1]).shape == (len(iris[1]), 3)
    assert multi.decision_function(iris[1]).shape == (len(iris[1]), 3)


def test_softmax_with_two_classes_scores_the_log_odds(breast_cancer):
    X_train, X_test, y_train, _ = breast_cancer
    clf = SoftmaxClassifier(random_state=0).fit(X_train, y_train)
    P = clf.predict_proba(X_test)
    # softmax over two classes is σ(z₁ - z₀): the score is the log-odds of class 1
    np.testing.assert_allclose(dp.sigmoid(clf.decision_function(X_test)), P[:, 1])


def test_works_in_a_pipeline_and_grid_search(iris):
    X_train, X_test, y_train, y_test = iris
    pipe = make_pipeline(StandardScaler(),
                         SoftmaxClassifier(standardize=False, random_state=0))
    search = GridSearchCV(pipe, {"softmaxclassifier__learning_rate": [0.001, 0.05]}, cv=3)
    search.fit(X_train, y_train)
    # 200 full-batch Adam steps of α = 0.001 barely move; α = 0.05 fits
    assert search.best_params_ == {"softmaxclassifier__learning_rate": 0.05}
    assert search.score(X_test, y_test) > 0.9


def test_cross_val_score():
    X, y = load_breast_cancer(return_X_y=True)
    scores = cross_val_score(FeedForwardClassifier(hidden_layer_sizes=(8,), random_state=0),
                             X, y, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.9


def test_clone_and_get_params_keep_hyperparameters_unchanged():
    reg = FeedForwardRegressor(hidden_layer_sizes=[8, 4], optimizer="sgd", dtype="float32")
    params = clone(reg).get_params()
    assert params["hidden_layer_sizes"] == [8, 4] and params["optimizer"] == "sgd"
    assert params["dtype"] == "float32"


def test_random_state_makes_fit_deterministic(iris):
    X_train, _, y_train, _ = iris
    a = FeedForwardClassifier(batch_size=16, epochs=10, random_state=3).fit(X_train, y_train)
    b = FeedForwardClassifier(batch_size=16, epochs=10, random_state=3).fit(X_train, y_train)
    c = FeedForwardClassifier(batch_size=16, epochs=10, random_state=4).fit(X_train, y_train)
    assert a.loss_curve_ == b.loss_curve_
    assert a.loss_curve_ != c.loss_curve_


def test_float32(iris):
    clf = SoftmaxClassifier(dtype="float32", random_state=0).fit(*iris[::2])
    assert clf.model_.dtype == np.float32
    assert clf.predict_proba(iris[1]).dtype == np.float32
    assert clf.score(iris[1], iris[3]) > 0.9


# ---------------------------------------------------------------- training curves

def test_loss_curve_decreases_under_gradient_descent(iris):
    X_train, _, y_train, _ = iris
    # eq. (31) with a small enough α on a convex loss: C(θ) never goes up
    clf = SoftmaxClassifier(optimizer="gd", learning_rate=0.1, epochs=100).fit(X_train, y_train)
    curve = clf.loss_curve_
    assert len(curve) == clf.n_iter_ == 100 and all(isinstance(v, float) for v in curve)
    assert np.all(np.diff(curve) <= 0)
    assert curve[-1] < 0.5 * curve[0]
    assert clf.validation_loss_curve_ == []


def test_validation_curve_and_early_stopping(breast_cancer):
    X_train, _, y_train, _ = breast_cancer
    clf = FeedForwardClassifier(validation_split=0.25, early_stopping=5, epochs=2000,
                                learning_rate=0.05, random_state=0).fit(X_train, y_train)
    assert len(clf.validation_loss_curve_) == len(clf.loss_curve_) == clf.n_iter_
    assert clf.n_iter_ < 2000 and "early stopping" in clf.history_.stop_reason
    assert all(isinstance(v, float) for v in clf.validation_loss_curve_)


# ---------------------------------------------------------------- real data

def test_model_I_with_lbfgs_matches_logistic_regression(breast_cancer):
    X_train, X_test, y_train, y_test = breast_cancer
    reference = make_pipeline(StandardScaler(), LogisticRegression()).fit(X_train, y_train)
    # l2 = 1 / (C n) is LogisticRegression(C)'s objective (dp.fit's docstring)
    ours = SigmoidClassifier(optimizer="lbfgs", l2=1 / len(X_train), random_state=0)
    ours.fit(X_train, y_train)
    assert abs(ours.score(X_test, y_test) - reference.score(X_test, y_test)) <= 0.01
    # the default l2 is lighter but the accuracy is as close
    default = SigmoidClassifier(optimizer="lbfgs", random_state=0).fit(X_train, y_train)
    assert abs(default.score(X_test, y_test) - reference.score(X_test, y_test)) <= 0.01


def test_model_II_on_iris(iris):
    X_train, X_test, y_train, y_test = iris
    clf = SoftmaxClassifier(random_state=0).fit(X_train, y_train)
    assert clf.score(X_test, y_test) >= 0.95
    assert clf.model_.W.shape == (3, 4)


def test_regressor_on_diabetes():
    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    reg = FeedForwardRegressor(hidden_layer_sizes=(16,), random_state=0).fit(X_train, y_train)
    y_hat = reg.predict(X_test)
    assert y_hat.shape == y_test.shape
    assert reg.score(X_test, y_test) > 0.2   # a linear model gets about 0.36 on this split
    assert reg.loss_curve_[-1] < 0.6 * reg.loss_curve_[0]
    # target scaling is folded into the last layer: model_ predicts in the units of y
    np.testing.assert_allclose(reg.model_.predict(X_test), y_hat)


def test_regressor_without_hidden_layers_is_least_squares():
    X, y = load_diabetes(return_X_y=True)
    reg = FeedForwardRegressor(hidden_layer_sizes=(), optimizer="lbfgs", l2=0.0,
                               epochs=500).fit(X, y)
    np.testing.assert_allclose(reg.predict(X), LinearRegression().fit(X, y).predict(X),
                               rtol=1e-4, atol=1e-3)


def test_regressor_two_dimensional_targets():
    X, y = load_diabetes(return_X_y=True)
    Y = np.column_stack([y, -2 * y + 100])
    reg = FeedForwardRegressor(hidden_layer_sizes=(8,), random_state=0).fit(X, Y)
    assert reg.n_outputs_ == 2 and reg.predict(X[:5]).shape == (5, 2)
    assert reg.score(X, Y) > 0.3
    column = FeedForwardRegressor(hidden_layer_sizes=(8,), epochs=5).fit(X, y[:, None])
    assert column.predict(X[:5]).shape == (5, 1)


def test_feature_names_from_a_dataframe():
    import pandas as pd  # noqa: F401  (a dev dependency: the DataFrame path is tested)
    data = load_iris(as_frame=True)
    clf = SoftmaxClassifier(epochs=5).fit(data.data, data.target)
    assert clf.feature_names_in_.tolist() == list(data.data.columns)
    assert clf.model_.feature_names == list(data.data.columns)
    assert clf.predict(pd.DataFrame(data.data)).shape == (150,)


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("params, message", [
    ({"optimizer": "newton"}, "optimizer must be one of"),
    ({"dtype": "int64"}, "dtype must be"),
    ({"dtype": "not a dtype"}, "dtype must be"),
    ({"hidden_layer_sizes": (8, 0)}, "hidden_layer_sizes must be"),
    ({"hidden_layer_sizes": None}, "hidden_layer_sizes must be a tuple of positive integers"),
    ({"hidden_layer_sizes": "8,4"}, "hidden_layer_sizes must be a tuple.*got '8,4'"),
    ({"hidden_layer_sizes": (8.0,)}, "hidden_layer_sizes must be"),
    ({"activation": "softplus"}, "activation must be one of"),
    ({"learning_rate": -1.0}, "learning rate"),
    ({"epochs": 0}, "epochs must be"),
])
def test_bad_hyperparameters_raise_clear_errors(params, message, iris):
    with pytest.raises(ValueError, match=message):
        FeedForwardClassifier(**params).fit(*iris[::2])


def test_sigmoid_classifier_refuses_three_classes(iris):
    with pytest.raises(ValueError, match="Only binary classification.*SoftmaxClassifier"):
        SigmoidClassifier().fit(*iris[::2])


def test_one_class_is_refused():
    with pytest.raises(ValueError, match="only one class"):
        SoftmaxClassifier().fit(np.ones((4, 2)), ["a"] * 4)


# ---------------------------------------------------------------- numpy integers, extreme targets

def test_grid_search_passes_numpy_integers(iris):
    X, _, y, _ = iris
    binary = y == 0
    grid = {"batch_size": np.array([8, 16]), "epochs": np.array([3, 5]),
            "early_stopping": np.array([2])}
    search = GridSearchCV(SigmoidClassifier(), grid, cv=2).fit(X, binary)
    assert isinstance(search.best_params_["batch_size"], np.integer)
    with pytest.warns(ConvergenceWarning, match="cap of [35] iterations"):  # too few
        GridSearchCV(SigmoidClassifier(optimizer="lbfgs"), {"epochs": np.array([3, 5])},
                     cv=2).fit(X, binary)
    widths = [np.int64(3), (np.int64(4), np.int32(2)), np.array([5])]
    search = GridSearchCV(FeedForwardClassifier(epochs=3), {"hidden_layer_sizes": widths},
                          cv=2).fit(X, y)
    assert search.best_estimator_.model_.sizes[0] == 4
    assert all(type(n) is int for n in search.best_estimator_.model_.sizes)


@pytest.mark.parametrize("scale", [1e200, 1e-300])
def test_regressor_standardizes_huge_and_tiny_targets(scale):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = X[:, 0] * scale  # y.std() would overflow (1e200) or underflow to 0 (1e-300)
    reg = FeedForwardRegressor(hidden_layer_sizes=(), optimizer="lbfgs", l2=0.0,
                               epochs=100).fit(X, y)
    y_hat = reg.predict(X[:5])
    assert np.all(np.isfinite(y_hat))
    np.testing.assert_allclose(y_hat / scale, X[:5, 0], atol=1e-4)  # a linear fit: exact


def test_regressor_refuses_targets_its_dtype_cannot_hold():
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(ValueError, match="y has values up to .*e\\+200.*float32.*float64"):
        FeedForwardRegressor(epochs=2, dtype="float32").fit(X, X[:, 0] * 1e200)
    with pytest.raises(ValueError, match="outside what float32 holds"):
        FeedForwardRegressor(epochs=2, dtype="float32", standardize=False).fit(X, X[:, 0] * 1e-45)
