"""Batch normalization: the fused op against its composite, finite differences, PyTorch
parity (values, gradients, running statistics, eval mode), and bad input."""

import numpy as np
import pytest
import torch

import dlprimer as dp
from dlprimer import nn
from dlprimer.nn.functional.batchnorm import batch_norm, batch_norm_composite

torch.set_num_threads(2)

SHAPES = [(6, 3), (4, 3, 5), (3, 2, 4, 5)]  # (n, C), (n, C, L), (n, C, H, W)


def T(a, grad=True):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def stats(rng, C):
    return rng.standard_normal(C), rng.uniform(0.5, 2.0, C)


# ------------------------------------------------------------ fused op vs composite
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_fused_batch_norm_agrees_with_its_composite(rng, shape, training, affine):
    C = shape[1]
    x_data = rng.normal(2.0, 3.0, shape)
    w_data, b_data = rng.standard_normal(C), rng.standard_normal(C)
    g = rng.standard_normal(shape)
    results = []
    for op in (batch_norm, batch_norm_composite):
        x = dp.Tensor(x_data, requires_grad=True)
        w = dp.Tensor(w_data, requires_grad=True) if affine else None
        b = dp.Tensor(b_data, requires_grad=True) if affine else None
        mean, var = stats(np.random.default_rng(1), C)
        y = op(x, mean, var, w, b, training=training, momentum=0.3, eps=1e-3)
        (y * dp.Tensor(g)).sum().backward()
        grads = [x.grad] + ([w.grad, b.grad] if affine else [])
        results.append((y.numpy(), grads, mean, var))
    (y1, g1, m1, v1), (y2, g2, m2, v2) = results
    np.testing.assert_allclose(y1, y2, rtol=1e-10, atol=1e-12)
    for a, b in zip(g1, g2, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(m1, m2, rtol=1e-12)
    np.testing.assert_allclose(v1, v2, rtol=1e-12)
    if training:  # the running statistics moved
        assert not np.allclose(m1, stats(np.random.default_rng(1), C)[0])


# -------------------------------------------------------------- finite differences (64)
@pytest.mark.parametrize("shape", SHAPES)
def test_batch_norm_gradcheck_in_training_mode(rng, shape):
    C = shape[1]
    inputs = [rng.normal(1.0, 2.0, shape), rng.standard_normal(C), rng.standard_normal(C)]
    assert dp.gradcheck(lambda x, w, b: batch_norm(x, None, None, w, b, training=True),
                        inputs)


def test_batch_norm_gradcheck_without_affine_and_in_eval_mode(rng):
    x = rng.standard_normal((5, 3, 4))
    assert dp.gradcheck(lambda x: batch_norm(x, training=True, eps=1e-3), [x])
    mean, var = stats(rng, 3)
    w, b = rng.standard_normal(3), rng.standard_normal(3)
    assert dp.gradcheck(lambda x, w, b: batch_norm(x, mean, var, w, b, training=False),
                        [x, w, b])


def test_layer_gradcheck_through_the_module(rng):
    layer = nn.BatchNorm2d(2, dtype=np.float64)
    layer.weight.data[:] = [1.5, -0.5]
    x = rng.standard_normal((3, 2, 3, 3))
    assert dp.gradcheck(lambda x: layer(x), [x])


# --------------------------------------------------------------------- PyTorch parity
def _copy_affine(layer, torch_layer, rng):
    C = layer.weight.shape[0]
    w, b = rng.uniform(0.5, 1.5, C), rng.standard_normal(C)
    layer.weight.data[:], layer.bias.data[:] = w, b
    with torch.no_grad():
        torch_layer.weight.copy_(torch.from_numpy(w))
        torch_layer.bias.copy_(torch.from_numpy(b))


@pytest.mark.parametrize("kind, shape", [
    ("BatchNorm1d", (8, 3)), ("BatchNorm1d", (5, 3, 7)), ("BatchNorm2d", (4, 3, 5, 6)),
])
@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_batch_norm_layer_matches_torch_over_several_steps(rng, kind, shape, momentum):
    C = shape[1]
    layer = getattr(nn, kind)(C, momentum=momentum, dtype=np.float64)
    ref = getattr(torch.nn, kind)(C, momentum=momentum).double()
    _copy_affine(layer, ref, rng)
    for step in range(3):
        x_data = rng.normal(step - 1.0, 1.0 + step, shape)
        g = rng.standard_normal(shape)
        x, xt = dp.Tensor(x_data, requires_grad=True), T(x_data)
        y, yt = layer(x), ref(xt)
        np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
        (y * dp.Tensor(g)).sum().backward()
        (yt * torch.from_numpy(g)).sum().backward()
        np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(layer.weight.grad, ref.weight.grad.numpy(), rtol=1e-9)
        np.testing.assert_allclose(layer.bias.grad, ref.bias.grad.numpy(), rtol=1e-9)
        layer.zero_grad()
        ref.zero_grad()
    # running statistics: momentum towards the batch mean and the UNBIASED variance
    np.testing.assert_allclose(layer.running_mean, ref.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.running_var, ref.running_var.numpy(), rtol=1e-12)
    assert int(layer.num_batches_tracked) == int(ref.num_batches_tracked) == 3
    # evaluation mode: the running statistics stand in for the batch's
    layer.eval()
    ref.eval()
    x_data = rng.normal(0.5, 2.0, shape)
    x, xt = dp.Tensor(x_data, requires_grad=True), T(x_data)
    y, yt = layer(x), ref(xt)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    y.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(layer.weight.grad, ref.weight.grad.numpy(), rtol=1e-10)
    before = layer.running_mean.copy()
    layer(x_data)
    np.testing.assert_array_equal(layer.running_mean, before)  # eval leaves stats alone
    assert int(layer.num_batches_tracked) == 3


def test_batch_norm_without_affine_matches_torch(rng):
    layer = nn.BatchNorm1d(4, affine=False, dtype=np.float64)
    ref = torch.nn.BatchNorm1d(4, affine=False).double()
    assert layer.parameters() == [] and layer.dtype == np.float64
    x_data = rng.normal(3.0, 2.0, (10, 4))
    x, xt = dp.Tensor(x_data, requires_grad=True), T(x_data)
    y, yt = layer(x), ref(xt)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    (y * y * y).sum().backward()
    (yt ** 3).sum().backward()
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(layer.running_var, ref.running_var.numpy(), rtol=1e-12)


def test_running_variance_is_unbiased_by_hand():
    layer = nn.BatchNorm1d(1, dtype=np.float64)
    layer(np.array([[1.0], [3.0]]))  # mean 2; biased variance 1, unbiased 2
    # running_mean = 0.9·0 + 0.1·2 = 0.2; running_var = 0.9·1 + 0.1·2 = 1.1
    np.testing.assert_allclose(layer.running_mean, [0.2], rtol=1e-15)
    np.testing.assert_allclose(layer.running_var, [1.1], rtol=1e-15)


def test_float32_layer_stays_float32_and_lists_its_buffers(rng):
    layer = nn.BatchNorm2d(3)
    y = layer(rng.standard_normal((2, 3, 4, 4)))
    assert y.dtype == np.float32 and layer.running_mean.dtype == np.float32
    assert [name for name, _ in layer.named_buffers()] == [
        "running_mean", "running_var", "num_batches_tracked"]
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert int(layer.num_batches_tracked) == 1


def test_a_batch_of_constant_channels_gives_zeros_not_nan():
    y = nn.BatchNorm1d(2)(np.full((4, 2), 7.0)).numpy()
    assert np.all(y == 0)


# -------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("build, x, message", [
    (lambda: nn.BatchNorm1d(3), np.zeros((4, 2)), r"BatchNorm1d\(3\) expects .*C = 3.*\(4, 2\)"),
    (lambda: nn.BatchNorm1d(3), np.zeros((4, 3, 2, 2)), r"\(n, C\) or \(n, C, L\)"),
    (lambda: nn.BatchNorm1d(3), np.zeros(3), r"got shape \(3,\)"),
    (lambda: nn.BatchNorm2d(3), np.zeros((4, 2, 5, 5)), r"BatchNorm2d\(3\) .*C = 3"),
    (lambda: nn.BatchNorm2d(3), np.zeros((4, 3, 5)), r"\(n, C, H, W\)"),
    (lambda: nn.BatchNorm1d(3), np.zeros((1, 3)), "more than 1 value per channel"),
])
def test_bad_input_is_refused_with_a_clear_message(build, x, message):
    layer = build()
    with pytest.raises(ValueError, match=message):
        layer(x)
    assert int(layer.num_batches_tracked) == 0  # a refused batch is not counted


@pytest.mark.parametrize("make, message", [
    (lambda: nn.BatchNorm1d(0), "num_features must be a positive integer"),
    (lambda: nn.BatchNorm1d(True), "num_features must be a positive integer, got True"),
    (lambda: nn.BatchNorm2d(2.0), "num_channels must be a positive integer"),
    (lambda: nn.BatchNorm1d(2, momentum=1.5), r"momentum must be a number in \[0, 1\]"),
    (lambda: nn.BatchNorm1d(2, eps=0), "eps must be a finite number > 0"),
    (lambda: nn.BatchNorm1d(2, affine="yes"), "affine must be True or False"),
])
def test_bad_hyperparameters_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_functional_batch_norm_checks_its_arguments(rng):
    x = rng.standard_normal((4, 3))
    with pytest.raises(ValueError, match="pass running_mean and running_var"):
        batch_norm(x, training=False)
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\)"):
        batch_norm(x, weight=np.ones(2), training=True)
    with pytest.raises(ValueError, match=r"momentum must be a number in \[0, 1\] .*, got None"):
        batch_norm(x, training=True, momentum=None)
