"""conv2d with its compiled im2col and col2im (nn/functional/conv_compiled.py, numba; the
valid windows only) against the numpy code of conv.py (the shifted grid where it applies),
the reference: the same outputs and gradients for strides, paddings, rectangular kernels,
fused activations and non-finite inputs, in float32 and float64."""

import numpy as np
import pytest

import dlprimer as dp
from dlprimer.nn import functional as F
from dlprimer.nn.functional import accelerator

fast = accelerator.compiled("conv_compiled")
rng = np.random.default_rng(0)


def test_numba_is_installed_and_the_kernels_load():
    assert fast is not None, "numba is in the dev extra: the compiled kernels must load"


def _conv(use_compiled, monkeypatch, x, W, b, **options):
    monkeypatch.setitem(accelerator._LOADED, "conv_compiled", fast if use_compiled else None)
    leaves = [dp.Tensor(a, requires_grad=True) for a in (x, W, b)]
    z = F.conv2d(*leaves, **options)
    g = np.random.default_rng(1).standard_normal(z.shape).astype(z.dtype)
    z.backward(g)
    return [z.numpy()] + [t.grad for t in leaves]


GEOMETRIES = [  # (n, C, H, W), (C_out, kh, kw), stride, padding
    ((5, 32, 12, 12), (16, 3, 3), 1, 0),  # K ≥ C_out: the numpy code shifts the grid
    ((5, 1, 11, 13), (8, 3, 3), 1, 0),  # K < C_out: both on the valid windows
    ((3, 2, 7, 9), (4, 3, 3), 2, 1),
    ((2, 3, 6, 5), (5, 2, 3), (1, 2), (2, 1)),
    ((2, 4, 5, 5), (3, 5, 5), 1, 2),  # the kernel as large as the padded image
    ((1, 2, 3, 3), (2, 1, 1), 3, 1),  # windows on the padding only
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", [None, "relu", "tanh"])
@pytest.mark.parametrize("shape, kernel, stride, padding", GEOMETRIES)
def test_compiled_conv2d_matches_the_numpy_code(shape, kernel, stride, padding, activation,
                                                dtype, monkeypatch):
    C_out, kh, kw = kernel
    x = rng.standard_normal(shape).astype(dtype)
    W = (rng.standard_normal((C_out, shape[1], kh, kw)) / np.sqrt(shape[1] * kh * kw))
    b = rng.standard_normal(C_out)
    options = {"stride": stride, "padding": padding, "activation": activation}
    ours = _conv(True, monkeypatch, x, W.astype(dtype), b.astype(dtype), **options)
    ref = _conv(False, monkeypatch, x, W.astype(dtype), b.astype(dtype), **options)
    tol = 2e-6 if dtype == np.float32 else 1e-13
    for name, got, want in zip(["z", "dx", "dW", "db"], ours, ref, strict=True):
        assert got.dtype == dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max(),
                                   err_msg=name)


def test_non_finite_inputs_stay_where_they_belong(monkeypatch):
    x = rng.standard_normal((2, 3, 8, 8))
    x[0, 1, 4, 4], x[1, 0, 0, 7] = np.nan, np.inf
    W, b = rng.standard_normal((4, 3, 3, 3)), np.zeros(4)
    with np.errstate(invalid="ignore"):
        ours = _conv(True, monkeypatch, x, W, b, padding=1)
        ref = _conv(False, monkeypatch, x, W, b, padding=1)
    for got, want in zip(ours, ref, strict=True):
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
        finite = np.isfinite(want)
        np.testing.assert_allclose(got[finite], want[finite], rtol=1e-12)
    assert np.isfinite(ours[0][1, :, 4:, :4]).all()  # far from both: untouched by them


def test_read_only_images_and_gradients(monkeypatch):
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    x.setflags(write=False)  # e.g. a memory-mapped data set
    W = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    ours = _conv(True, monkeypatch, x, W, np.zeros(4, np.float32), padding=1)
    ref = _conv(False, monkeypatch, x, W, np.zeros(4, np.float32), padding=1)
    for got, want in zip(ours, ref, strict=True):
        np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-6)
    z = F.conv2d(dp.Tensor(x, requires_grad=True), W)
    z.sum().backward()  # a broadcast (read-only) incoming gradient
