"""The primer's elementary math (Sections 3, 5, 6, 7) against independent numpy code."""

import numpy as np
import pytest

import dlprimer as dp
from dlprimer import notation as nt

u, v = [2, 0, -3], [1, -12.5, 2]


def test_vector_functions_on_the_primers_vectors():
    # Sec. 5: uᵀv = 2·1 + 0·(-12.5) + (-3)·2 = -4, ‖u‖ = √13, ‖u - v‖ = √182.25 = 13.5
    assert nt.inner(u, v) == -4.0
    assert nt.norm(u) == pytest.approx(np.sqrt(13))
    assert nt.distance(u, v) == 13.5
    assert nt.squared_error(u, v) == 182.25
    assert nt.cosine(u, v) == pytest.approx(-4 / (np.sqrt(13) * np.sqrt(161.25)))
    np.testing.assert_array_equal(nt.hadamard(u, v), [2.0, 0.0, -6.0])


def test_cosine_properties_on_random_vectors():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(7), rng.standard_normal(7)
    c = nt.cosine(a, b)
    assert -1 <= c <= 1
    assert nt.cosine(a, 3.5 * a) == pytest.approx(1.0)
    assert nt.cosine(a, -a) == pytest.approx(-1.0)
    assert nt.cosine([1, 0], [0, 2]) == 0.0  # orthogonal


def test_mean_squared_error_matches_its_definition():
    rng = np.random.default_rng(2)
    Y, Y_hat = rng.standard_normal((10, 4)), rng.standard_normal((10, 4))
    expected = np.mean([np.sum((Y[i] - Y_hat[i]) ** 2) for i in range(10)])
    assert nt.mean_squared_error(Y, Y_hat) == pytest.approx(expected)
    assert nt.mean_squared_error([1, 2, 3], [1, 2, 5]) == pytest.approx(4 / 3)


def test_sample_mean_variance_and_standardize():
    rng = np.random.default_rng(3)
    X = rng.normal(50, 10, size=(200, 3))
    np.testing.assert_allclose(nt.sample_mean(X), X.mean(axis=0))
    np.testing.assert_allclose(nt.sample_variance(X), X.var(axis=0))
    np.testing.assert_allclose(nt.sample_variance(X, ddof=1), X.var(axis=0, ddof=1))
    Z = nt.standardize(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1, atol=1e-12)


def test_standardize_leaves_a_constant_column_at_zero():
    Z = nt.standardize([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]])
    assert np.all(np.isfinite(Z))
    np.testing.assert_array_equal(Z[:, 1], 0.0)


def test_norms_and_distances_neither_overflow_nor_underflow():
    # uᵀu of 1e200 overflows and of 1e-200 underflows; the results themselves are in range
    assert nt.norm([1e200, 1e200]) == pytest.approx(np.sqrt(2) * 1e200, rel=1e-15)
    assert nt.norm([1e-200, 1e-200]) == pytest.approx(np.sqrt(2) * 1e-200, rel=1e-15)
    assert nt.norm([3e-320]) == 3e-320  # a subnormal, exactly
    assert nt.cosine([1e200, 1e200], [1e200, 1e200]) == 1.0  # was NaN (inf / inf)
    assert nt.cosine([1e-200, 1e-200], [1e-200, 1e-200]) == 1.0  # was "u is all zeros"
    assert nt.cosine([1e300, 0], [-1e-300, 0]) == -1.0
    assert nt.distance([1e308, 0], [-5e307, 0]) == pytest.approx(1.5e308, rel=1e-15)
    assert nt.distance([1e308], [-1e308]) == np.inf  # 2e308: truly beyond float64, silently
    assert nt.distance([1e200, 0], [-1e200, 0]) == pytest.approx(2e200, rel=1e-15)
    assert nt.distance([1e-200, 1], [0, 1]) == pytest.approx(1e-200, rel=1e-15)
    assert nt.squared_error([1e150, 0], [-1e150, 0]) == pytest.approx(4e300, rel=1e-15)
    assert nt.squared_error([1e300], [-1e300]) == np.inf  # 4e600: truly beyond float64
    assert nt.mean_squared_error([[1e150], [0]], [[-1e150], [0]]) == pytest.approx(2e300)
    # exact values stay exact: scaling is by powers of two
    assert nt.distance(u, v) == 13.5 and nt.norm([3, 4]) == 5.0
    with pytest.raises(ValueError, match="all zeros"):
        nt.cosine([0.0, 0.0], [1.0, 2.0])


def test_variance_and_standardize_on_huge_tiny_and_constant_columns():
    X = np.array([[1.0, 0.1], [2.0, 0.1], [4.0, 0.1]])
    Z = nt.standardize(X)
    for scale in (1e200, 1e-200):  # (X - x̄)² would overflow, or underflow to 0
        np.testing.assert_allclose(nt.standardize(X * scale), Z, rtol=1e-14)
    # each square is 1.69e308 and their sum overflows; their mean, the variance, does not
    assert nt.sample_variance([1.3e154, -1.3e154]) == pytest.approx(1.69e308, rel=1e-14)
    # 0.1 + 0.1 + 0.1 ≠ 0.3: a mean off by an ulp once made this constant column ±1
    np.testing.assert_array_equal(Z[:, 1], 0.0)
    assert nt.sample_variance([0.1, 0.1, 0.1]) == 0.0
    assert nt.sample_mean([1e308, 1e308]) == 1e308  # the sum 2e308 would overflow


def test_standardize_refuses_nan_and_inf_like_the_standardizer():
    with pytest.raises(ValueError, match=r"X contains 1 NaN .* first at row\(s\) 0; remove"):
        nt.standardize([[1.0, np.nan], [1.0, 3.0]])
    with pytest.raises(ValueError, match=r"2 infinite value\(s\) \(±inf\) in 2 row\(s\)"):
        nt.standardize([1.0, np.inf, -np.inf])


def test_one_hot_and_vectorize():
    np.testing.assert_array_equal(nt.one_hot([2, 0], K=3), [[0, 0, 1], [1, 0, 0]])
    assert nt.one_hot([1, 1]).shape == (2, 2)
    X = np.arange(6).reshape(2, 3)
    np.testing.assert_array_equal(nt.vectorize(X, "column"), [0, 3, 1, 4, 2, 5])
    np.testing.assert_array_equal(nt.vectorize(X, "row"), [0, 1, 2, 3, 4, 5])


def test_sigmoid_and_softmax_accept_arrays_and_tensors():
    z = np.array([[0.03, -1.91, 1.56, 0.34]])
    s = dp.softmax(z)
    assert isinstance(s, np.ndarray)
    np.testing.assert_allclose(s.sum(axis=-1), 1.0)
    np.testing.assert_allclose(s, np.exp(z) / np.exp(z).sum())
    assert isinstance(dp.softmax(dp.Tensor(z)), dp.Tensor)
    np.testing.assert_allclose(dp.sigmoid(np.array([0.7])), 1 / (1 + np.exp(-0.7)))
    assert isinstance(dp.sigmoid(dp.Tensor([0.7])), dp.Tensor)
    # softmax keeps the order of z and argmax picks class 3, as with (14) and (6)
    assert int(np.argmax(s)) == 2


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: nt.inner([1, 2], [1, 2, 3]), "same length, got lengths 2 and 3"),
        (lambda: nt.distance([1, 2], [1]), "same length"),
        (lambda: nt.cosine([0, 0], [1, 2]), "zero vector"),
        (lambda: nt.cosine([1, 2], [0, 0]), "v is all zeros"),
        (lambda: nt.norm([[1, 2]]), "must be 1-D"),
        (lambda: nt.one_hot([0, 3], K=3), r"0\.\.2 for K=3, got 3 at position 1"),
        (lambda: nt.one_hot([-1, 0], K=2), "got -1"),
        (lambda: nt.one_hot(["a", "b"], K=2), "whole numbers"),
        (lambda: nt.one_hot([0.5], K=2), "whole numbers"),
        (lambda: nt.hadamard([1, 2], [1, 2, 3]), "same shape"),
        (lambda: nt.mean_squared_error([[1, 2]], [[1, 2, 3]]), "same shape"),
        (lambda: nt.vectorize([1, 2, 3]), "2-D"),
        (lambda: nt.vectorize([[1]], order="diagonal"), "column"),
        (lambda: nt.sample_mean(np.zeros((0, 3))), "no rows"),
        (lambda: nt.sample_variance([1.0], ddof=1), "at least 2 rows"),
        (lambda: nt.inner(["a", "b"], [1, 2]), "must be numeric"),
        (lambda: dp.softmax(3.0), "scalar"),
    ],
)
def test_bad_input_raises_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
