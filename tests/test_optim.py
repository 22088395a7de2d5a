"""Optimizer hyperparameters: checked in the constructor with messages that name them."""

import numpy as np
import pytest

import dlprimer as dp


@pytest.mark.parametrize("kwargs, message", [
    (dict(history=-1), "history .* must be a positive integer, got -1"),
    (dict(history=0), "history"),
    (dict(history=2.5), "history .* got 2.5"),
    (dict(history="5"), "history .* got '5'"),
    (dict(history=True), "history"),
    (dict(max_iter=0), "max_iter must be a positive integer"),
    (dict(max_iter=10.0), "max_iter"),
    (dict(max_iter=None), "max_iter"),
    (dict(tol=0), "tol"),
    (dict(tol=np.nan), "tol must be a finite number"),
    (dict(ftol=-1e-9), "ftol"),
])
def test_lbfgs_rejects_bad_arguments_in_its_constructor(kwargs, message):
    with pytest.raises(ValueError, match=message):
        dp.optim.LBFGS(**kwargs)


def test_lbfgs_accepts_numpy_numbers():
    opt = dp.optim.LBFGS(max_iter=np.int64(50), history=np.int32(5), tol=np.float32(1e-5))
    assert (opt.max_iter, opt.history) == (50, 5)
    assert type(opt.max_iter) is int and type(opt.history) is int
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    history = dp.fit(dp.SigmoidModel(1), X, [0, 0, 1, 1], optimizer=opt, epochs=20,
                     progress=False)
    assert np.isfinite(history.loss[-1])


@pytest.mark.parametrize("name, kwargs", [
    ("GradientDescent", dict(lr=np.float32(0.1))),
    ("SGD", dict(lr=np.float64(0.1), momentum=np.float64(0.9))),
    ("Adam", dict(lr=np.int64(1), beta1=np.float64(0.5))),
])
def test_step_size_optimizers_accept_numpy_numbers(name, kwargs):
    opt = getattr(dp.optim, name)(**kwargs)
    assert all(type(getattr(opt, key)) is float for key in kwargs)
