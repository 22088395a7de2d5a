"""Convolution and pooling (primer Sec. 10, eqs. (37)-(39)): finite differences, PyTorch
parity, the primer's 100×100 example, bad input, and a CNN trained on real digits."""

import numpy as np
import pytest
import torch
from helpers.nn import cross_entropy, layer_gradcheck, train
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import dlprimer as dp
from dlprimer import nn
from dlprimer.nn import functional as F
from dlprimer.nn.functional import conv as conv_ops

torch.set_num_threads(2)
rng = np.random.default_rng(0)


def T(a, grad=True):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


# --------------------------------------------------------------- the primer's example
def test_primer_100x100_image_and_3x3_kernel_give_98x98():
    x = rng.standard_normal((100, 100))
    W = rng.standard_normal((3, 3))  # eq. (37)
    z = F.conv2d(x[None, None], W[None, None]).numpy()[0, 0]
    assert z.shape == (98, 98)  # (100 - 3 + 1) × (100 - 3 + 1)
    # eq. (39): z_{1,1} is the inner product of vec(W) and vec(top-left 3×3 block of x)
    z11 = dp.notation.inner(dp.notation.vectorize(W), dp.notation.vectorize(x[:3, :3]))
    assert z[0, 0] == pytest.approx(z11, rel=1e-12)
    # eq. (38) for another (i, j), written as the double sum
    i, j = 41, 7
    z_ij = sum(x[i + a, j + c] * W[a, c] for a in range(3) for c in range(3))
    assert z[i, j] == pytest.approx(z_ij, rel=1e-12)


# -------------------------------------------------------------- finite differences (64)
CONV_CASES = [
    # (n, C_in, H, W, C_out, kernel, stride, padding, bias)
    (2, 1, 5, 6, 2, 3, 1, 0, True),
    (2, 3, 5, 5, 2, 3, 2, 1, True),
    (1, 2, 6, 5, 3, (2, 3), (2, 1), (1, 0), False),
    (2, 2, 4, 4, 1, 4, 1, 0, True),  # kernel as large as the image: 1×1 output
]


@pytest.mark.parametrize("n, C, H, W, C_out, kernel, stride, padding, bias", CONV_CASES)
def test_conv2d_gradcheck(n, C, H, W, C_out, kernel, stride, padding, bias):
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    inputs = [rng.standard_normal((n, C, H, W)), rng.standard_normal((C_out, C, kh, kw))]
    if bias:
        inputs.append(rng.standard_normal(C_out))
    assert dp.gradcheck(lambda *a: F.conv2d(*a, stride=stride, padding=padding), inputs)


def test_conv2d_layer_gradcheck():
    layer = nn.Conv2d(2, 3, 3, stride=2, padding=1, dtype=np.float64)
    assert layer_gradcheck(layer, rng.standard_normal((2, 2, 5, 4)))


@pytest.mark.parametrize("op", ["max", "avg"])
@pytest.mark.parametrize("k, stride", [(2, None), (3, 1), (2, 3), ((2, 3), (1, 2))])
def test_pool_gradcheck(op, k, stride):
    pool = F.max_pool2d if op == "max" else F.avg_pool2d
    # distinct values: the max is unique, so the max is differentiable there
    x = rng.permutation(2 * 2 * 7 * 6).reshape(2, 2, 7, 6) / 10.0
    assert dp.gradcheck(lambda a: pool(a, k, stride), [x])


# ---------------------------------------------------------------------- PyTorch parity
def assert_conv2d_matches_torch(x, Wt, b, stride, padding, activation=None):
    """Output and every input's gradient equal torch's, for the same incoming gradient
    (with ``activation``: torch's conv2d followed by that function)."""
    ours = [dp.Tensor(a, requires_grad=True) for a in (x, Wt, b) if a is not None]
    theirs = [T(a) for a in (x, Wt, b) if a is not None]
    z = F.conv2d(*ours, stride=stride, padding=padding, activation=activation)
    z_t = torch.nn.functional.conv2d(*theirs, stride=stride, padding=padding)
    z_t = z_t if activation is None else getattr(torch, activation)(z_t)
    np.testing.assert_allclose(z.numpy(), z_t.detach().numpy(), atol=1e-10)
    g = rng.standard_normal(z.shape)
    z.backward(g)
    z_t.backward(torch.tensor(g))
    for a, a_t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.grad, a_t.grad.numpy(), atol=1e-10)


@pytest.mark.parametrize("n, C, H, W, C_out, kernel, stride, padding, bias", CONV_CASES + [
    (3, 4, 12, 11, 5, 3, 1, 1, True),
    (2, 3, 9, 9, 4, 5, 3, 2, True),
])
def test_conv2d_matches_torch(n, C, H, W, C_out, kernel, stride, padding, bias):
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    x, Wt = rng.standard_normal((n, C, H, W)), rng.standard_normal((C_out, C, kh, kw))
    b = rng.standard_normal(C_out) if bias else None
    assert_conv2d_matches_torch(x, Wt, b, stride, padding)


@pytest.mark.parametrize("stride, padding", [(1, 0), (1, (2, 1)), (2, 1)])
def test_conv2d_in_chunks_of_one_sample_matches_torch(monkeypatch, stride, padding):
    # conv2d runs im2col a few samples at a time; force one sample per chunk, so the
    # chunks' results must be joined (outputs, gradients of x) and summed (dL/dW).
    monkeypatch.setattr(conv_ops._ConvGrid, "CHUNK_BYTES", 1)
    x, Wt, b = (rng.standard_normal((3, 2, 7, 6)), rng.standard_normal((4, 2, 3, 2)),
                rng.standard_normal(4))
    assert_conv2d_matches_torch(x, Wt, b, stride, padding)


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("bias, stride", [(True, 1), (False, 1), (True, 2)])
def test_conv2d_fused_activation_matches_torch_and_gradcheck(monkeypatch, activation, bias,
                                                              stride):
    # one chunk a sample, so the activation's gradient is taken chunk by chunk
    monkeypatch.setattr(conv_ops._ConvGrid, "CHUNK_BYTES", 1)
    x, Wt = rng.standard_normal((3, 2, 6, 5)), rng.standard_normal((4, 2, 3, 3))
    b = rng.standard_normal(4) if bias else None
    assert_conv2d_matches_torch(x, Wt, b, stride, 1, activation)
    inputs = [a for a in (x, Wt, b) if a is not None]
    assert dp.gradcheck(lambda *a: F.conv2d(*a, stride=stride, padding=1,
                                            activation=activation), inputs)


def test_conv2d_layer_activation():
    x = rng.standard_normal((2, 3, 6, 6))
    plain = nn.Conv2d(3, 4, 3, seed=2, dtype=np.float64)
    fused = nn.Conv2d(3, 4, 3, activation="relu", seed=2, dtype=np.float64)
    np.testing.assert_array_equal(fused(x).numpy(), plain(x).relu().numpy())
    with pytest.raises(ValueError, match="activation must be one of"):
        nn.Conv2d(3, 4, 3, activation="softplus")


@pytest.mark.parametrize("threads", [1, 2])
def test_conv2d_chunks_grow_with_blas_threads_and_match_torch(monkeypatch, threads):
    # With several BLAS threads the chunks are THREAD_SCALE times larger; either way the
    # result is torch's.
    monkeypatch.setattr(conv_ops, "_threads", lambda: threads)
    x, Wt = rng.standard_normal((9, 3, 6, 6)), rng.standard_normal((2, 3, 3, 3))
    per_sample = (27 + 2) * 6 * 6 * 8  # (K + C_out) · Hg · Wg · 8 bytes, shifted grid
    monkeypatch.setattr(conv_ops._ConvGrid, "CHUNK_BYTES", 2 * per_sample)
    grid = conv_ops._ConvGrid(x, Wt, (1, 1), (0, 0), (4, 4))
    assert grid.chunks[0] == (0, 2 * conv_ops._ConvGrid.THREAD_SCALE ** (threads > 1))
    assert_conv2d_matches_torch(x, Wt, None, 1, 0)


def test_blas_thread_count_is_a_positive_int():
    assert isinstance(conv_ops._threads(), int) and conv_ops._threads() >= 1


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_conv2d_non_finite_pixel_spreads_like_torch(bad):
    # For stride 1, conv2d also evaluates windows that run off the image edge and drops
    # them; a NaN or inf pixel must not leak into dL/dW through those windows.
    x, Wt = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3))
    x[1, 0, 2, 0] = bad  # left edge: covered by kernel column 0 only
    ours = [dp.Tensor(a, requires_grad=True) for a in (x, Wt)]
    theirs = [T(a) for a in (x, Wt)]
    z, z_t = F.conv2d(*ours), torch.nn.functional.conv2d(*theirs)
    g = rng.standard_normal(z.shape)
    z.backward(g)
    z_t.backward(torch.tensor(g))
    np.testing.assert_allclose(z.numpy(), z_t.detach().numpy(), atol=1e-10)  # NaN = NaN
    for a, a_t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.grad, a_t.grad.numpy(), atol=1e-10)


def test_conv2d_layer_matches_torch_nn_conv2d():
    ours = nn.Conv2d(3, 4, (3, 2), stride=(1, 2), padding=1, seed=1, dtype=np.float64)
    theirs = torch.nn.Conv2d(3, 4, (3, 2), stride=(1, 2), padding=1, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.W.data))
        theirs.bias.copy_(torch.tensor(ours.b.data))
    x = rng.standard_normal((2, 3, 7, 8))
    z, z_t = ours(x), theirs(T(x, grad=False))
    np.testing.assert_allclose(z.numpy(), z_t.detach().numpy(), atol=1e-6)
    z.relu().sum().backward()
    z_t.relu().sum().backward()
    np.testing.assert_allclose(ours.W.grad, theirs.weight.grad.numpy(), atol=1e-6)
    np.testing.assert_allclose(ours.b.grad, theirs.bias.grad.numpy(), atol=1e-6)


@pytest.mark.parametrize("k, stride", [(2, None), (3, 1), (2, 3), ((2, 3), (1, 2)), (3, 2)])
def test_pools_match_torch(k, stride):
    x = rng.standard_normal((2, 3, 9, 8))
    assert_pool_matches_torch(F.max_pool2d, torch.nn.functional.max_pool2d, x, k, stride)
    assert_pool_matches_torch(F.avg_pool2d, torch.nn.functional.avg_pool2d, x, k, stride)


def assert_pool_matches_torch(ours_fn, torch_fn, x, k, stride):
    """Output and dL/dx equal torch's, for the same incoming gradient."""
    a, a_t = dp.Tensor(x, requires_grad=True), T(x)
    y, y_t = ours_fn(a, k, stride), torch_fn(a_t, k, stride)
    np.testing.assert_allclose(y.numpy(), y_t.detach().numpy(), atol=1e-12)
    g = rng.standard_normal(y.shape)
    y.backward(g)
    y_t.backward(torch.tensor(g))
    np.testing.assert_allclose(a.grad, a_t.grad.numpy(), atol=1e-12)


def test_pool_layers_and_flatten():
    x = rng.standard_normal((2, 3, 8, 8))
    assert nn.MaxPool2d(2)(x).shape == (2, 3, 4, 4)
    assert nn.AvgPool2d(3, stride=1)(x).shape == (2, 3, 6, 6)
    flat = nn.Flatten()(dp.Tensor(x, requires_grad=True))
    assert flat.shape == (2, 3 * 8 * 8)
    np.testing.assert_array_equal(flat.numpy()[1], x[1].ravel())  # row-major vectorization


def test_max_pool_ties_send_the_gradient_to_the_first_maximum():
    a = dp.Tensor(np.ones((1, 1, 2, 2)), requires_grad=True)
    F.max_pool2d(a, 2).sum().backward()
    np.testing.assert_array_equal(a.grad[0, 0], [[1, 0], [0, 0]])


@pytest.mark.parametrize("k, stride", [(2, None), (3, 1), (2, 3), ((2, 3), (1, 2))])
def test_max_pool_with_many_ties_matches_torch(k, stride):
    # ReLU outputs are full of exact zeros: most windows tie, and each window's gradient
    # must go to its first maximum, as in torch (overlapping windows add up).
    x = np.maximum(rng.integers(-3, 2, size=(2, 3, 9, 8)), 0).astype(np.float64)
    assert_pool_matches_torch(F.max_pool2d, torch.nn.functional.max_pool2d, x, k, stride)


def test_max_pool_propagates_nan_like_torch():
    x = rng.standard_normal((1, 2, 4, 4))
    x[0, 0, 1, 1] = np.nan
    a = dp.Tensor(x, requires_grad=True)
    y = F.max_pool2d(a, 2)
    expected = torch.nn.functional.max_pool2d(torch.tensor(x), 2).numpy()
    np.testing.assert_array_equal(np.isnan(y.numpy()), np.isnan(expected))
    y.backward(np.ones(y.shape))
    assert a.grad[0, 0, 1, 1] == 1 and a.grad[0, 0, :2, :2].sum() == 1  # to the NaN entry


def test_float32_stays_float32():
    x = dp.Tensor(rng.standard_normal((2, 3, 6, 6)).astype(np.float32), requires_grad=True)
    layer = nn.Conv2d(3, 4, 3, padding=1)
    z = nn.MaxPool2d(2)(layer(x).relu())
    z = nn.AvgPool2d(3)(z)
    assert z.dtype == np.float32
    z.sum().backward()
    assert x.grad.dtype == layer.W.grad.dtype == layer.b.grad.dtype == np.float32


def test_extreme_inputs_stay_finite():
    x = np.full((1, 1, 4, 4), 1000.0)
    x[0, 0, 0, 0] = 0.0
    z = F.conv2d(x, -np.ones((1, 1, 2, 2)))
    assert np.all(np.isfinite(z.numpy()))
    assert F.max_pool2d(x, 2).numpy()[0, 0, 0, 0] == 1000.0


# ------------------------------------------------------------------------- bad input
def test_wrong_channel_count_names_the_shapes():
    with pytest.raises(ValueError, match=r"3 channels.*\(2, 3, 8, 8\).*expects 1"):
        F.conv2d(np.zeros((2, 3, 8, 8)), np.zeros((4, 1, 3, 3)))
    with pytest.raises(ValueError, match="channels"):
        nn.Conv2d(1, 4, 3)(np.zeros((2, 3, 8, 8)))


def test_kernel_larger_than_padded_input():
    with pytest.raises(ValueError, match=r"kernel 5x5 .* larger than the padded input 4x4"):
        F.conv2d(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 5, 5)))
    F.conv2d(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 5, 5)), padding=1)  # 6x6 padded: fits
    with pytest.raises(ValueError, match="larger than the input"):
        F.max_pool2d(np.zeros((1, 1, 2, 2)), 3)


def test_other_bad_input():
    with pytest.raises(ValueError, match=r"\(n, C, H, W\)"):
        F.conv2d(np.zeros((8, 8)), np.zeros((1, 1, 3, 3)))
    with pytest.raises(ValueError, match="b of shape"):
        F.conv2d(np.zeros((1, 1, 4, 4)), np.zeros((2, 1, 3, 3)), b=np.zeros(3))
    with pytest.raises(ValueError, match="stride"):
        F.conv2d(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3)), stride=0)
    with pytest.raises(ValueError, match="in_channels"):
        nn.Conv2d(0, 4, 3)


def test_bad_kernel_size_stride_and_padding_are_refused_when_the_layer_is_built():
    with pytest.raises(ValueError, match="kernel_size must be a positive int or a pair of "
                                         "them, got 2.5"):
        nn.Conv2d(3, 4, 2.5)  # was "'float' object is not iterable"
    for kernel in (0, (3, 0), (3,), (3, 3, 3), "3"):
        with pytest.raises(ValueError, match="kernel_size must be a positive int"):
            nn.Conv2d(3, 4, kernel)
    with pytest.raises(ValueError, match="stride must be a positive int"):
        nn.Conv2d(3, 4, 3, stride=(1, 0))
    with pytest.raises(ValueError, match=r"padding must be a non-negative int .* got -1"):
        nn.Conv2d(3, 4, 3, padding=-1)
    # was a message about ('s', 'a', 'm', 'e'); now it says what to pass instead
    with pytest.raises(ValueError, match=r"got 'same'.*'same' for an odd kernel size k and "
                                         r"stride 1 is padding=k // 2"):
        nn.Conv2d(3, 4, 3, padding="same")
    with pytest.raises(ValueError, match="padding must be a non-negative int"):
        F.conv2d(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3)), padding="same")
    with pytest.raises(ValueError, match="k must be a positive int"):
        F.max_pool2d(np.zeros((1, 1, 4, 4)), 1.5)
    # what the hint says works: kernel 3, padding 3 // 2 keeps 5×5
    layer = nn.Conv2d(1, 2, (3, 3), padding=(1, np.int64(1)))
    assert layer(np.zeros((1, 1, 5, 5))).shape == (1, 2, 5, 5)


def test_flatten_of_a_scalar_explains_the_batch_axis():
    with pytest.raises(ValueError, match=r"Flatten expects a batch of shape \(n, \.\.\.\).*0-D"):
        nn.Flatten()(np.ones(()))  # was an IndexError
    assert nn.Flatten()(np.ones(3)).shape == (3, 1)  # n samples of one number each


# --------------------------------------------------------------- a CNN on real digits
class DigitsCNN(nn.Module):
    """conv → ReLU → pool → conv → ReLU → pool → Dense → softmax (inside the loss)."""

    def __init__(self, seed=0):
        rng = np.random.default_rng(seed)
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, seed=rng)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, seed=rng)
        self.dense = nn.Dense(16 * 2 * 2, 10, seed=rng)

    def forward(self, x):
        a = F.max_pool2d(self.conv1(x).relu(), 2)  # (n, 8, 4, 4)
        a = F.max_pool2d(self.conv2(a).relu(), 2)  # (n, 16, 2, 2)
        return self.dense(nn.Flatten()(a))  # (n, 10) logits


def test_cnn_learns_sklearn_digits_to_97_percent():
    digits = load_digits()
    X = (digits.images / 16.0).astype(np.float32)[:, None]  # (1797, 1, 8, 8)
    X_train, X_test, y_train, y_test = train_test_split(
        X, digits.target, test_size=0.2, random_state=0, stratify=digits.target)
    model = DigitsCNN(seed=0)
    loss = train(model.parameters(), lambda X, y: cross_entropy(model(X), y), X_train, y_train,
                 epochs=25, batch_size=32, lr=3e-3)
    assert loss < 0.05
    with dp.no_grad():
        accuracy = (model(X_test).numpy().argmax(axis=1) == y_test).mean()
    assert accuracy >= 0.97
