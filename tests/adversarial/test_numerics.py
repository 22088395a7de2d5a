"""Numerics at the edges of float64 and float32: standardization and the losses stay finite
wherever the true value is finite, and a model whose finite input overflows inside it says
so, naming the rows.

References are exact: fractions.Fraction sums of the same floats, rounded once.
"""

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest

import dlprimer as dp
from dlprimer.data import Standardizer
from dlprimer.nn import functional as F

EPS = np.finfo(np.float64).eps


def silent(fn):
    """fn() with every warning an error (overflow warnings included)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn()


def exact_moments(column) -> tuple[float, float]:
    """(x̄, s) of one column, eq. (10) with 1/n, from exact rational arithmetic."""
    values = [Fraction(float(v)) for v in column]
    n = len(values)
    mean = sum(values) / n
    variance = sum((v - mean) ** 2 for v in values) / n
    # √variance without leaving the float range: scale by a power of 4 first
    k = math.frexp(float(max(abs(v) for v in values)))[1]
    s = math.ldexp(math.sqrt(float(variance / Fraction(2) ** (2 * k))), k)
    return float(mean), s


COLUMNS = {
    "±1e308": [1e308, -1e308, 1e308, 1e308, -1e308],
    "all 1e308": [1e308, 1e308, 1e308],
    "1.7e308 and 0": [1.7e308, 0.0, 1.7e308, 0.0],
    "beyond 1e154": [3e200, -2e200, 5e200, 1e199],
    "mixed magnitudes": [1e308, -1e308, 1e300, 3.0, -1e-300],
    "tiny": [1e-310, 3e-310, -2e-310, 5e-324],
    "ordinary": [50.0, 35.0, 45.0, 47.5],
}


@pytest.mark.parametrize("name", COLUMNS)
def test_standardizer_is_finite_and_exact_at_the_edges_of_float64(name):
    column = np.array(COLUMNS[name])
    s = silent(lambda: Standardizer().fit(column[:, None]))
    mean, std = exact_moments(column)
    top = float(np.max(np.abs(column)))
    assert np.isfinite(s.mean_).all() and np.isfinite(s.scale_).all()
    # a floating-point sum of n terms is exact to n·ε·max|x|: the error of the mean itself
    assert abs(s.mean_[0] - mean) <= 4 * len(column) * EPS * top
    if std > 1e-12 * top:
        assert s.scale_[0] == pytest.approx(std, rel=1e-12, abs=4 * len(column) * EPS * top)
    Z = silent(lambda: s.transform(column[:, None]))
    assert np.isfinite(Z).all()
    if std > 1e-12 * top:
        exact = [float((Fraction(v) - Fraction(mean)) / Fraction(std)) for v in column]
        np.testing.assert_allclose(Z[:, 0], exact, rtol=1e-9, atol=1e-9)


def test_standardizer_columns_of_every_scale_at_once():
    rng = np.random.default_rng(0)
    scales = np.array([1e308 / 4, 1e200, 1.0, 1e-200, 1e-305])
    X = rng.normal(size=(50, 5)) * scales
    s = silent(lambda: Standardizer().fit(X))
    for j in range(5):
        mean, std = exact_moments(X[:, j])
        assert s.mean_[j] == pytest.approx(mean, rel=1e-12, abs=200 * EPS * np.abs(X[:, j]).max())
        assert s.scale_[j] == pytest.approx(std, rel=1e-12)
    Z = silent(lambda: s.transform(X))
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1, rtol=1e-12)


def test_standardizer_on_ordinary_data_is_bit_for_bit_the_plain_formula():
    # the power-of-two scaling is exact, so nothing changes where nothing overflows
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 4)) * [1.0, 1e5, 1e-5, 3.0] + [0, 7, -2, 1e3]
    s = Standardizer().fit(X)
    np.testing.assert_array_equal(s.mean_, X.mean(axis=0))
    np.testing.assert_array_equal(s.scale_, X.std(axis=0))
    X32 = X.astype(np.float32)
    s32 = Standardizer().fit(X32)
    np.testing.assert_array_equal(s32.mean_, X32.astype(np.float64).mean(axis=0))


def test_a_float32_model_fits_columns_of_1e308_after_standardizing():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(60, 2)) * [1e308 / 5, 1.0]
    y = (X[:, 0] > 0).astype(int)
    model = dp.SigmoidModel(2)
    silent(lambda: dp.fit(model, X, y, optimizer=dp.optim.GradientDescent(lr=1.0), epochs=50,
                          progress=False))  # standardize=True: the default for a table
    assert np.isfinite(model.theta()).all()
    assert (silent(lambda: model.predict(X)) == y).mean() > 0.9


def test_without_standardizing_1e308_is_named_beyond_float32_not_inf():
    X = np.array([[1e308, 0.0], [1.0, 2.0]] * 10)
    with pytest.warns(UserWarning, match="differ by a factor of 5e"), \
            pytest.raises(ValueError, match=r"up to 1e\+308 .*beyond what float32 holds "
                                            r"\(±3\.4e38\)") as info:
        dp.fit(dp.SigmoidModel(2), X, [0, 1] * 10, progress=False, standardize=False)
    assert "inf" not in str(info.value).replace("infinite", "")


# ------------------------------------------------------------------------ the losses
def _exact_mean(terms) -> float:
    return float(sum(terms, Fraction(0)) / len(terms))


def test_cross_entropy_of_float64_logits_at_1e308_is_the_finite_mean():
    big = Fraction(1e308)
    Z = np.array([[1e308, -1e308], [0.0, 0.0], [-1e308, 1e308], [1e308, 1e308]])
    y = np.array([1, 0, 0, 1])
    # the losses: 2e308 (beyond float64 alone), log 2, 2e308, log 2 (a tie)
    exact = _exact_mean([2 * big, Fraction(math.log(2)), 2 * big, Fraction(math.log(2))])
    z = dp.Tensor(Z, requires_grad=True)
    loss = silent(lambda: F.cross_entropy(z, y))
    assert loss.item() == pytest.approx(exact, rel=1e-15)
    silent(loss.backward)
    # (softmax(z) - onehot(y)) / n, row by row
    np.testing.assert_allclose(z.grad, [[0.25, -0.25], [-0.125, 0.125], [-0.25, 0.25],
                                        [0.125, -0.125]])
    one_hot = np.eye(2)[y]
    assert silent(lambda: F.cross_entropy(dp.Tensor(Z), one_hot)).item() == \
        pytest.approx(exact, rel=1e-15)


def test_cross_entropy_is_inf_only_where_the_mean_is_beyond_float64():
    loss = silent(lambda: F.cross_entropy(dp.Tensor(np.array([[1e308, -1e308]])), [1]))
    assert loss.item() == np.inf  # one sample, loss 2e308: beyond float64 itself


def test_binary_cross_entropy_of_float64_logits_at_1e308_is_the_finite_mean():
    z = np.array([1e308, -1e308, 5e307, 0.0])
    y = np.array([0.0, 1.0, 0.0, 1.0])
    exact = _exact_mean([Fraction(1e308), Fraction(1e308), Fraction(5e307),
                         Fraction(math.log(2))])
    t = dp.Tensor(z, requires_grad=True)
    loss = silent(lambda: F.binary_cross_entropy_with_logits(t, y))
    assert loss.item() == pytest.approx(exact, rel=1e-15)
    silent(loss.backward)
    np.testing.assert_allclose(t.grad, [0.25, -0.25, 0.25, -0.125])  # (σ(z) - y) / n


@pytest.mark.parametrize("dtype, big", [(np.float64, 1.5e154), (np.float32, 2e19)])
def test_mse_is_finite_where_the_squares_overflow_but_the_mean_does_not(dtype, big):
    y_hat = dp.Tensor(np.array([[big], [-big], [0.5]], dtype=dtype), requires_grad=True)
    y = np.zeros((3, 1), dtype=dtype)
    b = Fraction(float(dtype(big)))
    exact = _exact_mean([b * b, b * b, Fraction(1, 4)])  # 1.5e308 (float64), 2.7e38 (float32)
    loss = silent(lambda: F.mse_loss(y_hat, y))
    assert loss.dtype == dtype and np.isfinite(loss.item())
    assert loss.item() == pytest.approx(exact, rel=1e-6 if dtype == np.float32 else 1e-15)
    silent(loss.backward)
    np.testing.assert_allclose(y_hat.grad, 2 * y_hat.data / 3, rtol=1e-6)  # 2 (ŷ - y) / n


def test_mse_on_ordinary_values_is_the_plain_formula():
    rng = np.random.default_rng(3)
    y_hat, y = rng.normal(size=(7, 2)), rng.normal(size=(7, 2))
    t = dp.Tensor(y_hat, requires_grad=True)
    loss = F.mse_loss(t, y)
    d = y_hat - y
    assert loss.item() == (d * d).sum() * (1 / 7)
    loss.backward()
    np.testing.assert_array_equal(t.grad, 2 * (1 / 7) * d)


# ------------------------------------------------------------ overflow inside a model
def _overflowing_softmax_model():
    model = dp.SoftmaxModel(2, 3)  # float32
    model.W.data[...] = [[2.0, 0.0], [0.0, 1.0], [-1.0, 1.0]]
    return model


def test_finite_inputs_that_overflow_inside_the_model_are_named_by_row():
    model = _overflowing_softmax_model()
    X = np.array([[1.0, 2.0], [3e38, 0.0], [0.5, 0.5], [0.0, 0.0], [-3e38, 1.0]])
    with pytest.raises(ValueError) as info:
        silent(lambda: model.predict_proba(X))
    message = str(info.value)
    assert "in 2 row(s) of X, first at row(s) 1, 4" in message
    assert "overflow inside the model (float32 holds ±3.4e38)" in message
    assert "float64" in message and "standardize" in message
    with pytest.raises(ValueError, match=r"row\(s\) 1, 4"):
        silent(lambda: model.predict(X))  # never NaN read as class 0
    # the rows that do not overflow are fine on their own, and so is a float64 model
    assert np.isfinite(model.predict_proba(X[[0, 2, 3]])).all()
    model64 = dp.SoftmaxModel(2, 3, dtype=np.float64)
    model64.W.data[...] = model.W.data
    assert np.isfinite(silent(lambda: model64.predict_proba(X))).all()


def test_an_inf_logit_of_a_sigmoid_model_is_refused_too():
    model = dp.SigmoidModel(2)
    model.w.data[...] = [2.0, 2.0]
    X = np.array([[0.0, 0.0], [3e38, 3e38]])
    with pytest.raises(ValueError, match=r"1 infinite value\(s\) \(±inf\) in 1 row\(s\) of X, "
                                         r"first at row\(s\) 1"):
        silent(lambda: model.predict(X))


def test_a_fitted_network_names_the_overflowing_rows_among_many():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(80, 3))
    y = (X[:, 0] > 0).astype(int)
    net = dp.FeedForward([3, 8, 2], activation="relu", output="softmax")
    dp.fit(net, X, y, epochs=5, progress=False, standardize=False)
    big = X.copy()
    big[[3, 10, 11, 40, 50, 60, 70]] = 3e38
    with pytest.raises(ValueError, match=r"in 7 row\(s\) of X, first at row\(s\) 3, 10, 11, "
                                         r"40, 50 and 2 more"):
        silent(lambda: net.predict(big))


def test_non_finite_parameters_are_blamed_instead_of_the_inputs():
    model = dp.SigmoidModel(2)
    model.w.data[0] = np.nan
    with pytest.raises(ValueError, match="parameters hold NaN or inf"):
        model.predict_proba([[1.0, 2.0]])
