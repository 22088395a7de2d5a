"""The compiled LSTM loops (nn/functional/lstm_compiled.py, numba) against the reference
numpy loops of lstm_kernel.py and against PyTorch, in float32: same outputs and gradients,
as accurate as the numpy loops against a float64 run, the same NaN and ±inf behaviour, and
the switches that choose between them."""

import numpy as np
import pytest
import torch

import dlprimer as dp
from dlprimer import nn
from dlprimer.nn.functional import accelerator
from dlprimer.nn.functional.lstm_kernel import lstm_forward

# numba is in the dev extra, so the suite always checks the compiled loops (a skip here
# would hide that they were never run).
fast = accelerator.compiled("lstm_compiled")


def test_numba_is_installed_and_the_loops_compile():
    assert fast is not None, "numba is in the dev extra: the compiled loops must load"


def _operands(n, T, I, H, seed, scale=1.0, dtype=np.float32):
    """X, weights, biases, h0, c0 and the output gradient; the weights at ``scale`` times
    PyTorch's initial size 1/√H (a scale of ~10 makes the recurrence chaotic, where any
    two float32 runs part ways)."""
    rng = np.random.default_rng(seed)
    shapes = [(n, T, I), (4 * H, I), (4 * H,), (4 * H,), (4 * H, H), (n, H), (n, H)]
    sizes = [1.0] + [scale / np.sqrt(H)] * 4 + [1.0, 1.0]
    arrays = [(rng.standard_normal(s) * size).astype(dtype)
              for s, size in zip(shapes, sizes, strict=True)]
    gY = rng.standard_normal((n, T + 1, H)).astype(dtype)
    return arrays, gY


def _run(arrays, gY, compiled, dtype=np.float32):
    Y, backward = lstm_forward(*[a.astype(dtype) for a in arrays], dtype, True,
                               compiled=compiled)
    return [Y, *backward(gY.astype(dtype))]


NAMES = ["Y", "dX", "dW_ih", "db", "dW_hh", "dh0", "dc0"]


@pytest.mark.parametrize("n, T, I, H", [(1, 1, 1, 1), (2, 3, 1, 2), (5, 7, 3, 4),
                                        (32, 50, 16, 64), (3, 40, 2, 17)])
def test_compiled_loops_match_the_numpy_loops(n, T, I, H):
    arrays, gY = _operands(n, T, I, H, seed=n + T)
    for name, ours, ref in zip(NAMES, _run(arrays, gY, True), _run(arrays, gY, False),
                               strict=True):
        assert ours.dtype == np.float32 and ours.shape == ref.shape
        scale = max(np.abs(ref).max(), 1e-30)
        assert np.abs(ours - ref).max() / scale < 3e-6, name


@pytest.mark.parametrize("scale", [1.0, 3.0])
def test_compiled_loops_are_as_accurate_as_the_numpy_loops(scale):
    # both float32 runs against the float64 run on the same (float32) numbers
    arrays, gY = _operands(8, 60, 5, 12, seed=3, scale=scale)
    exact = _run(arrays, gY, False, dtype=np.float64)
    for name, ours, ref, truth in zip(NAMES, _run(arrays, gY, True), _run(arrays, gY, False),
                                      exact, strict=True):
        scale_ = max(np.abs(truth).max(), 1e-30)
        err_ours = np.abs(ours - truth).max() / scale_
        err_ref = np.abs(ref - truth).max() / scale_
        assert err_ours < 1e-5 and err_ours < 4 * err_ref + 1e-7, (name, err_ours, err_ref)


def test_tanh32_is_within_three_ulp_and_keeps_special_values():
    x = np.concatenate([np.linspace(-12, 12, 400_001), np.geomspace(1e-30, 12, 100_000),
                        -np.geomspace(1e-38, 12, 1000)]).astype(np.float32)
    ours = np.array([fast.tanh32(v) for v in x[::97]], dtype=np.float32)
    truth = np.tanh(x[::97].astype(np.float64))
    ulp = np.spacing(np.abs(truth).astype(np.float32)).astype(np.float64)
    assert (np.abs(ours - truth) / ulp).max() <= 3
    special = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45, 1e30, -1e30], np.float32)
    got = np.array([fast.tanh32(v) for v in special], dtype=np.float32)
    np.testing.assert_array_equal(got[1:], np.array([1, -1, 0, 0, 1e-45, 1, -1], np.float32))
    assert np.isnan(got[0]) and np.signbit(got[4]) and not np.signbit(got[3])


def test_saturated_gates_and_nan_behave_as_in_numpy():
    # |z| up to ~1000: every gate saturates, nothing overflows, both loops agree
    arrays, gY = _operands(4, 6, 3, 5, seed=7, scale=300.0)
    for ours, ref in zip(_run(arrays, gY, True), _run(arrays, gY, False), strict=True):
        assert np.isfinite(ours).all()
        np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())
    # a NaN in one sample's input stays in that sample (and reaches the weight gradients)
    arrays, gY = _operands(4, 6, 3, 5, seed=8)
    arrays[0][2, 3, 1] = np.nan
    for name, ours, ref in zip(NAMES, _run(arrays, gY, True), _run(arrays, gY, False),
                               strict=True):
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref), err_msg=name)
    Y = _run(arrays, gY, True)[0]
    assert np.isnan(Y[2, 3:]).all() and np.isfinite(np.delete(Y, 2, axis=0)).all()


def test_float32_lstm_layer_runs_the_compiled_loops_and_matches_torch(monkeypatch):
    calls = []
    forward_loop = fast.forward_loop
    monkeypatch.setattr(fast, "forward_loop", lambda *a: calls.append(1) or forward_loop(*a))
    ours = nn.LSTM(6, 9, seed=4)  # float32, the default
    theirs = torch.nn.LSTM(6, 9, batch_first=True)
    torch_names = {"W_ih": "weight_ih_l0", "W_hh": "weight_hh_l0", "b_ih": "bias_ih_l0",
                   "b_hh": "bias_hh_l0"}
    with torch.no_grad():
        for name, torch_name in torch_names.items():
            getattr(theirs, torch_name).copy_(torch.tensor(getattr(ours, name).data))
    X = np.random.default_rng(5).standard_normal((3, 20, 6)).astype(np.float32)
    g = np.random.default_rng(6).standard_normal((3, 20, 9)).astype(np.float32)
    x, x_t = dp.Tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    out, (h, c) = ours(x)
    out_t, (h_t, c_t) = theirs(x_t)
    ((out * g).sum() + c.sum()).backward()
    ((out_t * torch.tensor(g)).sum() + c_t.sum()).backward()
    assert calls == [1]
    np.testing.assert_allclose(out.numpy(), out_t.detach().numpy(), atol=2e-6)
    np.testing.assert_allclose(c.numpy(), c_t[0].detach().numpy(), atol=2e-6)
    np.testing.assert_allclose(x.grad, x_t.grad.numpy(), atol=2e-5)
    for name, torch_name in torch_names.items():
        theirs_grad = getattr(theirs, torch_name).grad.numpy()
        np.testing.assert_allclose(getattr(ours, name).grad, theirs_grad, atol=1e-4)


def test_float64_runs_the_numpy_loops(monkeypatch):
    monkeypatch.setattr(fast, "forward_loop", lambda *a: pytest.fail("compiled in float64"))
    out, _ = nn.LSTM(2, 3, dtype=np.float64)(np.ones((1, 4, 2)))
    assert out.dtype == np.float64


def test_the_switches(monkeypatch):
    arrays, _ = _operands(2, 3, 2, 2, seed=1, dtype=np.float64)
    with pytest.raises(ValueError, match="float32 arrays, got float64"):
        lstm_forward(*arrays, np.float64, False, compiled=True)
    monkeypatch.setattr(accelerator, "_LOADED", {})
    monkeypatch.setenv("DLPRIMER_COMPILED", "0")
    assert accelerator.compiled("lstm_compiled") is None  # and remembered
    monkeypatch.delenv("DLPRIMER_COMPILED")
    assert accelerator.compiled("lstm_compiled") is None
    with pytest.raises(ValueError, match=r"needs numba \(pip install 'dlprimer\[fast\]'\)"):
        lstm_forward(*[a.astype(np.float32) for a in arrays], np.float32, False,
                     compiled=True)
    Y, backward = lstm_forward(*[a.astype(np.float32) for a in arrays], np.float32, False)
    assert Y.shape == (2, 4, 2)  # the numpy loops, silently
    with pytest.raises(ValueError, match="no compiled kernel 'gemm'"):
        accelerator.compiled("gemm")


def test_a_compiler_failure_warns_once_and_falls_back(monkeypatch):
    def broken(name):
        raise RuntimeError("LLVM ERROR: no target for this CPU")

    monkeypatch.setattr(accelerator, "_LOADED", {})
    monkeypatch.setattr(accelerator, "_import", broken)
    with pytest.warns(RuntimeWarning, match="could not be built .*LLVM ERROR.*using numpy"):
        assert accelerator.compiled("lstm_compiled") is None
    assert accelerator.compiled("lstm_compiled") is None  # no second warning (errors here)
    out, _ = nn.LSTM(2, 3)(np.ones((1, 4, 2), np.float32))
    assert out.shape == (1, 4, 3)
