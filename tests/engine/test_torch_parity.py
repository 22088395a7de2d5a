"""Every op against PyTorch's autograd: same float64 inputs, values and gradients to 1e-6."""

import numpy as np
import pytest
import torch
from helpers.op_cases import CASES

import dlprimer as dp


def _run_both(case, seed=0):
    arrays = case.inputs(seed)
    ours = [dp.Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = case.dp_fn(*ours), case.torch_fn(*theirs)
    weights = np.random.default_rng(seed + 1).standard_normal(out.shape)
    (out * weights).sum().backward()
    (ref * torch.tensor(weights)).sum().backward()
    return out, ref, ours, theirs


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_values_and_gradients_match_torch(case):
    out, ref, ours, theirs = _run_both(case)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-6, atol=1e-9)
    for k, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        expected = b.grad.numpy() if b.grad is not None else np.zeros(a.shape)
        assert a.grad is not None, f"input {k} got no gradient"
        assert a.grad.shape == a.shape
        np.testing.assert_allclose(a.grad, expected, rtol=1e-6, atol=1e-9,
                                   err_msg=f"gradient of input {k}")


def test_float32_stays_float32():
    x = dp.Tensor(np.ones((3, 4), dtype=np.float32), requires_grad=True)
    W = dp.Tensor(np.ones((2, 4), dtype=np.float32), requires_grad=True)
    out = ((x @ W.T + 0.5).sigmoid() * 2.0).log_softmax().sum()
    out.backward()
    assert out.dtype == np.float32
    assert x.grad.dtype == np.float32 and W.grad.dtype == np.float32
