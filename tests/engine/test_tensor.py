"""The engine's behaviour: accumulation, no_grad, dtypes, errors, deep graphs, extremes."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import dlprimer as dp
from dlprimer import Tensor


def test_float32_by_default_float64_when_given_or_asked():
    assert Tensor([1, 2]).dtype == np.float32
    assert Tensor(np.array([1.0, 2.0])).dtype == np.float64
    assert Tensor(np.arange(3)).dtype == np.float32
    assert Tensor([1.0], dtype="float64").dtype == np.float64
    assert dp.tensor([[1.0]], requires_grad=True).requires_grad


def test_non_numeric_data_is_refused():
    with pytest.raises(TypeError, match="numeric"):
        Tensor(["a", "b"])
    with pytest.raises(TypeError, match="float32 or float64"):
        Tensor([1, 2], dtype="int32")


def test_python_scalars_keep_the_tensor_dtype():
    x = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    assert (x * 2.5 + 1 - 0.5 / (x + 3)).dtype == np.float32
    assert (x**2).dtype == np.float32


def test_numpy_arrays_mix_in_on_either_side():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0], dtype=np.float32) * x + np.ones(2, dtype=np.float32)
    assert isinstance(y, Tensor)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


def test_a_node_used_twice_accumulates():
    x = Tensor([3.0], requires_grad=True)
    (x * x + x).backward()  # d/dx (x² + x) = 2x + 1
    np.testing.assert_array_equal(x.grad, [7.0])


def test_gradients_accumulate_across_calls_until_zero_grad():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [6.0, 6.0])
    x.zero_grad()
    assert x.grad is None


def test_gradient_arrays_are_not_shared_between_leaves():
    x = Tensor([1.0], requires_grad=True)
    y = Tensor([1.0], requires_grad=True)
    (x + y).sum().backward()
    (x + y).sum().backward()
    x.grad += 100  # must not leak into y.grad
    np.testing.assert_array_equal(y.grad, [2.0])


def test_no_grad_records_nothing_and_restores_itself():
    w = Tensor([1.0], requires_grad=True)
    with dp.no_grad():
        assert not dp.is_grad_enabled()
        y = w * 2
    assert dp.is_grad_enabled()
    assert not y.requires_grad and y._parents == ()


def test_detach_cuts_the_graph():
    x = Tensor([2.0], requires_grad=True)
    y = (x * x).detach() * x  # only the last factor carries a gradient
    y.backward()
    np.testing.assert_array_equal(x.grad, [4.0])


def test_numpy_item_shape_repr():
    x = Tensor([[1.5, 2.0]], requires_grad=True)
    assert x.numpy() is x.data
    assert x.shape == (1, 2) and x.ndim == 2 and x.size == 2 and len(x) == 1
    assert Tensor([4.0]).item() == 4.0
    with pytest.raises(ValueError, match="one element"):
        x.item()
    text = repr(x)
    assert "shape=(1, 2)" in text and "float32" in text and "requires_grad=True" in text


def test_backward_on_non_scalar_needs_a_gradient():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"scalar output, got shape \(2,\)"):
        (x * 2).backward()
    (x * 2).backward(np.array([1.0, 10.0]))
    np.testing.assert_array_equal(x.grad, [2.0, 20.0])
    with pytest.raises(ValueError, match="gradient has shape"):
        (x * 2).backward(np.ones(3))


def test_backward_without_requires_grad_is_explained():
    with pytest.raises(RuntimeError, match="requires_grad=True"):
        Tensor([1.0]).sum().backward()


def test_matmul_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(3, 4\) and \(5, 2\)"):
        Tensor(np.ones((3, 4))) @ Tensor(np.ones((5, 2)))
    with pytest.raises(ValueError, match="batch axes"):
        Tensor(np.ones((2, 3, 4))) @ Tensor(np.ones((3, 4, 5)))
    with pytest.raises(ValueError, match="scalar"):
        Tensor(2.0) @ Tensor(np.ones(2))


def test_reduction_axis_out_of_range_is_refused_not_wrapped():
    x = Tensor(np.arange(6.0).reshape(2, 3))
    for reduce in (x.sum, x.mean, x.max):
        with pytest.raises(ValueError, match=r"axis 5 is out of range .* shape \(2, 3\)"):
            reduce(axis=5)  # a % 2 would quietly reduce over axis 1
        with pytest.raises(ValueError, match=r"axis -3 is out of range .* valid axes -2\.\.1"):
            reduce(axis=(0, -3))
        with pytest.raises(ValueError, match="names an axis twice"):
            reduce(axis=(1, -1))
    with pytest.raises(ValueError, match=r"shape \(\) \(0-D, no axes: use axis=None\)"):
        Tensor(3.0).sum(axis=0)  # was a ZeroDivisionError
    with pytest.raises(TypeError, match="tuple of ints"):
        x.sum(axis=1.0)
    np.testing.assert_array_equal(x.sum(axis=(-1,)).data, [3.0, 12.0])  # valid ones still work
    assert Tensor(3.0).sum().item() == 3.0


def test_max_and_softmax_over_an_empty_axis_explain_themselves():
    with pytest.raises(ValueError, match=r"shape \(0, 3\): an axis of length 0 has no max"):
        Tensor(np.ones((0, 3))).max()
    assert Tensor(np.ones((0, 3))).max(axis=1).shape == (0,)  # nothing to reduce is fine
    # as scipy.special.softmax: an empty axis raises (numpy's "zero-size array" before)
    for call in (lambda: dp.softmax([]), lambda: Tensor(np.ones((2, 0))).softmax(),
                 lambda: dp.log_softmax(np.ones((2, 0)))):
        with pytest.raises(ValueError, match="axis is empty"):
            call()
    assert dp.softmax(np.ones((0, 3))).shape == (0, 3)  # an empty batch is fine


def test_pow_needs_a_number():
    with pytest.raises(TypeError, match="exponent"):
        Tensor([1.0]) ** Tensor([2.0])


def test_deep_chain_of_20000_ops_does_not_hit_the_recursion_limit():
    x = Tensor([1.0], requires_grad=True, dtype="float64")
    y = x
    for _ in range(20_000):
        y = y * 1.0001
    y.backward()
    np.testing.assert_allclose(x.grad, [1.0001**20_000], rtol=1e-9)


def _no_warnings(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn()


def test_softmax_of_plus_minus_1000_is_exact_and_silent():
    z = Tensor([1000.0, -1000.0], requires_grad=True)
    s = _no_warnings(lambda: z.softmax())
    np.testing.assert_array_equal(s.data, [1.0, 0.0])
    _no_warnings(lambda: (s * Tensor([1.0, 2.0])).sum().backward())
    assert np.all(np.isfinite(z.grad))
    np.testing.assert_array_equal(_no_warnings(lambda: dp.softmax([1000.0, -1000.0])), [1, 0])


def test_softmax_and_cross_entropy_across_the_float32_range_are_silent_and_finite():
    from dlprimer.nn.functional.losses import cross_entropy

    z32 = np.array([[3e38, -3e38]], dtype=np.float32)  # z - max(z) = -6e38 overflows
    np.testing.assert_array_equal(_no_warnings(lambda: dp.softmax(z32)), [[1.0, 0.0]])
    z = Tensor(z32, requires_grad=True)
    np.testing.assert_array_equal(_no_warnings(lambda: z.softmax()).data, [[1.0, 0.0]])
    np.testing.assert_array_equal(_no_warnings(lambda: z.log_softmax()).data[0, 0], 0.0)
    loss = _no_warnings(lambda: cross_entropy(z, [0]))
    assert loss.item() == 0.0 and loss.dtype == np.float32
    _no_warnings(loss.backward)
    np.testing.assert_array_equal(z.grad, [[0.0, 0.0]])
    # one-hot targets: the 0 · (-inf) of the unchosen class must not become NaN
    assert _no_warnings(lambda: cross_entropy(Tensor(z32), np.array([[1.0, 0.0]]))).item() == 0
    # target 1: the loss 6e38 exceeds float32 (inf), but a mean with an easy sample fits
    assert _no_warnings(lambda: cross_entropy(Tensor(z32), [1])).item() == np.inf
    two = Tensor(np.array([[3e38, -3e38], [0.0, 0.0]], dtype=np.float32), requires_grad=True)
    for y in ([1, 0], np.array([[0.0, 1.0], [1.0, 0.0]])):
        loss = _no_warnings(lambda y=y: cross_entropy(two, y))
        np.testing.assert_allclose(loss.item(), (6e38 + np.log(2)) / 2, rtol=1e-6)
    _no_warnings(loss.backward)
    np.testing.assert_allclose(two.grad, [[0.5, -0.5], [-0.25, 0.25]])  # (p - y) / n
    with pytest.raises(ValueError, match=r"n ≥ 1 samples and K ≥ 1 classes, got \(0, 3\)"):
        cross_entropy(Tensor(np.ones((0, 3))), np.zeros(0, dtype=int))
    # the binary loss: two losses of 3e38 overflowed their float32 sum, not their mean
    bce = dp.nn.functional.binary_cross_entropy_with_logits
    loss = _no_warnings(lambda: bce(Tensor(np.float32([3e38, -3e38])), [0.0, 1.0]))
    np.testing.assert_allclose(loss.item(), 3e38, rtol=1e-6)


def test_sigmoid_at_plus_minus_1000_is_finite_and_silent():
    z = Tensor(np.array([-1000.0, 0.0, 1000.0]), requires_grad=True)
    s = _no_warnings(lambda: z.sigmoid())
    np.testing.assert_array_equal(s.data, [0.0, 0.5, 1.0])
    _no_warnings(lambda: s.sum().backward())
    np.testing.assert_array_equal(z.grad, [0.0, 0.25, 0.0])
    # tiny probabilities keep their relative precision: σ(-30) = e^{-30} / (1 + e^{-30})
    np.testing.assert_allclose(dp.sigmoid(np.array([-30.0])), [np.exp(-30) / (1 + np.exp(-30))],
                               rtol=1e-14)


def test_log_softmax_of_10000_logits_never_takes_log_of_zero():
    rng = np.random.default_rng(0)
    z = Tensor(rng.standard_normal(10_000) * 1e4, requires_grad=True)
    out = _no_warnings(lambda: z.log_softmax())
    assert np.all(np.isfinite(out.data))
    assert np.all(out.data <= 0)
    np.testing.assert_allclose(np.exp(out.data).sum(), 1.0, rtol=1e-12)
    _no_warnings(lambda: out[np.array([3, 7])].sum().backward())
    assert np.all(np.isfinite(z.grad))


def _broadcastable_pair():
    return hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4)


@settings(max_examples=40, deadline=None)
@given(shapes=_broadcastable_pair(), seed=st.integers(0, 2**16))
def test_binary_ops_reduce_gradients_to_each_input_shape(shapes, seed):
    import torch

    rng = np.random.default_rng(seed)
    a, b = (rng.uniform(0.5, 2.0, size=s) for s in shapes.input_shapes)
    for op in (lambda x, y: x + y, lambda x, y: x - y, lambda x, y: x * y,
               lambda x, y: x / y, lambda x, y: dp.maximum(x, y) if isinstance(x, Tensor)
               else torch.maximum(x, y)):
        x, y = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
        tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
        op(x, y).sum().backward()
        op(tx, ty).sum().backward()
        assert x.grad.shape == a.shape and y.grad.shape == b.shape
        np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-6, atol=1e-12)
        np.testing.assert_allclose(y.grad, ty.grad.numpy(), rtol=1e-6, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(shapes=_broadcastable_pair(), seed=st.integers(0, 2**16))
def test_unbroadcast_is_the_adjoint_of_broadcasting(shapes, seed):
    # <broadcast(a), G> = <a, unbroadcast(G)> for every a and G
    rng = np.random.default_rng(seed)
    shape = shapes.input_shapes[0]
    a = rng.standard_normal(shape)
    G = rng.standard_normal(shapes.result_shape)
    lhs = float((np.broadcast_to(a, shapes.result_shape) * G).sum())
    rhs = float((a * dp.unbroadcast(G, shape)).sum())
    assert np.isclose(lhs, rhs, rtol=1e-9, atol=1e-9)
