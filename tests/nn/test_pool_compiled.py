"""The compiled 2×2 max pooling (nn/functional/pool_compiled.py, numba) against the numpy
code of conv.max_pool2d, the reference: the same values and gradients, bit for bit, with
ties, NaN, infinities, odd sizes and non-contiguous inputs."""

import numpy as np
import pytest

import dlprimer as dp
from dlprimer.nn import functional as F
from dlprimer.nn.functional import accelerator

fast = accelerator.compiled("pool_compiled")
rng = np.random.default_rng(0)


def test_numba_is_installed_and_the_kernels_load():
    assert fast is not None, "numba is in the dev extra: the compiled kernels must load"


def _pool(x, g, use_compiled, monkeypatch):
    monkeypatch.setitem(accelerator._LOADED, "pool_compiled", fast if use_compiled else None)
    a = dp.Tensor(x, requires_grad=True)
    y = F.max_pool2d(a, 2)
    y.backward(g)
    return y.numpy(), a.grad


CASES = {
    "ReLU-like ties": np.maximum(rng.integers(-3, 2, size=(3, 4, 8, 10)), 0),
    "odd sizes": rng.standard_normal((2, 3, 9, 7)),
    "NaN and infinities": np.where(rng.random((2, 2, 6, 6)) < 0.2,
                                   rng.choice([np.nan, np.inf, -np.inf], (2, 2, 6, 6)),
                                   rng.standard_normal((2, 2, 6, 6))),
    "all equal": np.zeros((1, 2, 4, 4)),
    "smallest": rng.standard_normal((1, 1, 2, 3)),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", list(CASES))
def test_compiled_max_pool_equals_the_numpy_code(case, dtype, monkeypatch):
    x = CASES[case].astype(dtype)
    g = rng.standard_normal(x.shape[:2] + (x.shape[2] // 2, x.shape[3] // 2)).astype(dtype)
    if case == "NaN and infinities":
        g.flat[::5] = np.inf  # inf · [not the maximum] = NaN, in both
    y, gx = _pool(x, g, True, monkeypatch)
    with np.errstate(invalid="ignore"):  # numpy warns at inf · 0; the kernel does not
        y_ref, gx_ref = _pool(x, g, False, monkeypatch)
    assert y.dtype == gx.dtype == dtype
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(gx, gx_ref)


def test_non_contiguous_input_and_the_layer(monkeypatch):
    x = rng.standard_normal((4, 3, 8, 8)).astype(np.float32).transpose(0, 1, 3, 2)
    g = rng.standard_normal((4, 3, 4, 4)).astype(np.float32)
    for got, want in zip(_pool(x, g, True, monkeypatch), _pool(x, g, False, monkeypatch),
                         strict=True):
        np.testing.assert_array_equal(got, want)
    monkeypatch.setitem(accelerator._LOADED, "pool_compiled", fast)
    calls = []
    forward = fast.max_pool_2x2_forward
    monkeypatch.setattr(fast, "max_pool_2x2_forward", lambda *a: calls.append(1) or forward(*a))
    dp.nn.MaxPool2d(2)(x)
    dp.nn.MaxPool2d(3)(x)  # any other window runs the numpy code
    assert calls == [1]


def test_read_only_input_and_a_broadcast_gradient(monkeypatch):
    x = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
    x.setflags(write=False)
    monkeypatch.setitem(accelerator._LOADED, "pool_compiled", fast)
    a = dp.Tensor(x, requires_grad=True)
    F.max_pool2d(a, 2).sum().backward()  # the sum's gradient is a read-only broadcast
    assert a.grad.sum() == 2 * 3 * 2 * 2  # one 1 a window
    one = dp.Tensor(x[:1, :1, :2, :2], requires_grad=True)
    F.max_pool2d(one, 2).sum().backward()  # a (1, 1, 1, 1) broadcast looks contiguous
    assert one.grad.sum() == 1
