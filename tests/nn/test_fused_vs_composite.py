"""Each fused op against its composite, the specification written in Tensor primitives
(STYLE rule 10): same values, same gradients for every input and parameter, on random
float64 inputs; and finite differences on each composite."""

import numpy as np
import pytest

import dlprimer as dp
from dlprimer import nn
from dlprimer.nn import functional as F

RTOL, ATOL = 1e-10, 1e-12


def leaves(*shapes, seed=0):
    """Random float64 Tensors that ask for gradients, one per shape."""
    rng = np.random.default_rng(seed)
    return [dp.Tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]


def values_and_gradients(fn, inputs, seed=1):
    """fn's outputs and the gradients of Σ_k Σ r_k ⊙ out_k (fixed random r_k) with
    respect to every input, from fresh copies of the inputs."""
    copies = [dp.Tensor(t.data.copy(), requires_grad=True) for t in inputs]
    outs = fn(*copies)
    outs = outs if isinstance(outs, tuple) else (outs,)
    rng = np.random.default_rng(seed)
    loss = sum((out * rng.standard_normal(out.shape)).sum() for out in outs)
    loss.backward()
    return [o.data for o in outs], [c.grad for c in copies]


def assert_agree(fused, composite, inputs):
    values, grads = values_and_gradients(fused, inputs)
    values_c, grads_c = values_and_gradients(composite, inputs)
    for v, v_c in zip(values, values_c, strict=True):
        assert v.shape == v_c.shape
        np.testing.assert_allclose(v, v_c, rtol=RTOL, atol=ATOL)
    for k, (g, g_c) in enumerate(zip(grads, grads_c, strict=True)):
        assert g is not None and g_c is not None, f"input {k} got no gradient"
        np.testing.assert_allclose(g, g_c, rtol=RTOL, atol=ATOL, err_msg=f"input {k}")


# --------------------------------------------------------------------------- RNN, LSTM
@pytest.mark.parametrize("n, T, I, H", [(2, 2, 1, 1), (3, 5, 4, 2), (2, 9, 3, 6)])
def test_rnn_scan_matches_its_composite(n, T, I, H):
    inputs = leaves((n, T, I), (H, I), (H,), (H,), (H, H), (n, H), seed=n * T)
    assert_agree(F.rnn_scan, F.rnn_scan_composite, inputs)


@pytest.mark.parametrize("n, T, I, H", [(2, 2, 1, 1), (3, 5, 4, 2), (2, 9, 3, 6)])
def test_lstm_scan_matches_its_composite(n, T, I, H):
    inputs = leaves((n, T, I), (4 * H, I), (4 * H,), (4 * H,), (4 * H, H), (n, H), (n, H),
                    seed=n * T)
    assert_agree(F.lstm_scan, F.lstm_scan_composite, inputs)


def test_recurrent_composites_gradcheck():
    assert dp.gradcheck(F.rnn_scan_composite, leaves((2, 3, 2), (2, 2), (2,), (2,), (2, 2),
                                                     (2, 2)))
    assert dp.gradcheck(F.lstm_scan_composite, leaves((2, 3, 2), (8, 2), (8,), (8,), (8, 2),
                                                      (2, 2), (2, 2)))


def test_scans_refuse_shapes_that_do_not_fit():
    X, W_ih, b, W_hh, h0 = leaves((2, 3, 2), (3, 2), (3,), (3, 3), (2, 3))
    for scan in (F.rnn_scan, F.rnn_scan_composite):
        with pytest.raises(ValueError, match=r"h0 must have shape \(2, 3\).*got \(3, 3\)"):
            scan(X, W_ih, b, b, W_hh, W_hh)
        with pytest.raises(ValueError, match=r"T >= 1"):
            scan(X[:, :0], W_ih, b, b, W_hh, h0)
    with pytest.raises(ValueError, match=r"W_ih must have shape \(12, 2\)"):
        F.lstm_scan(X, W_ih, b, b, W_hh, h0, h0)


@pytest.mark.parametrize("layer", [nn.RNN, nn.LSTM])
def test_recurrent_layers_describe_themselves(layer):
    from dlprimer.nn.module import build

    ours = layer(3, 5, seed=4, dtype=np.float64)
    config = ours.config()
    assert config == {"kind": layer.__name__, "input_size": 3, "hidden_size": 5,
                      "dtype": "float64"}
    rebuilt = build(config)
    assert type(rebuilt) is layer and rebuilt.dtype == np.float64
    assert [p.shape for p in rebuilt.parameters()] == [p.shape for p in ours.parameters()]


# -------------------------------------------------------------------------- attention
_causal = F.causal_mask(4)  # (4, 4)
_padding = F.padding_mask([4, 2], 4)  # (2, 1, 4)
_with_empty_row = np.array([[False] * 4, [True, False, True, False]] * 2)  # query 0: no key


@pytest.mark.parametrize("shapes, mask, scale", [
    (((4, 3), (4, 3), (4, 2)), None, None),  # no batch axis
    (((2, 4, 3), (2, 4, 3), (2, 4, 5)), None, 1.0),  # the primer's scale 1
    (((2, 4, 3), (2, 4, 3), (2, 4, 3)), _causal, None),
    (((2, 4, 3), (2, 4, 3), (2, 4, 3)), _padding, 0.7),
    (((2, 3, 4, 2), (3, 4, 2), (1, 3, 4, 2)), _with_empty_row, None),  # broadcast k, v
    (((2, 3, 2), (2, 4, 2), (2, 4, 3)), np.array([True, False, True, True]), None),  # T_q ≠ T_k
])
def test_attention_matches_its_composite(shapes, mask, scale):
    inputs = leaves(*shapes, seed=len(shapes[0]))
    assert_agree(lambda q, k, v: F.dot_product_attention(q, k, v, mask, scale),
                 lambda q, k, v: F.dot_product_attention_composite(q, k, v, mask, scale),
                 inputs)


@pytest.mark.parametrize("mask", [None, F.causal_mask(5)[None, None], np.ones((2, 1, 5, 5),
                                                                               bool)])
def test_multi_head_attention_matches_its_composite_stacked_qkv(mask):
    inputs = leaves((2, 5, 3 * 6))  # (n, T, 3d), d = 6, h = 3 heads of 2 columns
    assert_agree(lambda qkv: F.multi_head_attention((qkv,), 3, mask),
                 lambda qkv: F.multi_head_attention_composite((qkv,), 3, mask), inputs)


def test_multi_head_attention_matches_its_composite_cross():
    inputs = leaves((2, 3, 4), (2, 5, 4), (2, 5, 4), seed=3)  # T_q = 3, T_k = 5, d = 4
    mask = F.padding_mask([5, 2], 5)[:, None]  # (n, 1, 1, T_k)
    assert_agree(lambda q, k, v: F.multi_head_attention((q, k, v), 2, mask),
                 lambda q, k, v: F.multi_head_attention_composite((q, k, v), 2, mask), inputs)


def test_attention_composites_gradcheck():
    mask = F.causal_mask(3)
    assert dp.gradcheck(lambda q, k, v: F.dot_product_attention_composite(q, k, v, mask)[0],
                        leaves((2, 3, 2), (2, 3, 2), (2, 3, 2)))
    assert dp.gradcheck(lambda q, k: F.dot_product_attention_composite(q, k, k)[1],
                        leaves((3, 2), (3, 2)))
    assert dp.gradcheck(lambda qkv: F.multi_head_attention_composite((qkv,), 2)[0],
                        leaves((1, 3, 3 * 4)))


# ------------------------------------------------------------------------- layer norm
@pytest.mark.parametrize("shape, affine", [((5,), False), ((3, 4), True), ((2, 3, 6), True),
                                           ((2, 3, 1), True)])
def test_layer_norm_matches_its_composite(shape, affine):
    d = shape[-1]
    inputs = leaves(shape, (d,), (d,), seed=d) if affine else leaves(shape)
    assert_agree(F.layer_norm, F.layer_norm_composite, inputs)


def test_layer_norm_composite_gradcheck():
    assert dp.gradcheck(F.layer_norm_composite, leaves((2, 4), (4,), (4,)))


# ------------------------------------------------------------------------ convolution
@pytest.mark.parametrize("n, C, H, W, C_out, kernel, stride, padding, bias", [
    (1, 1, 5, 5, 1, (3, 3), 1, 0, False),
    (2, 3, 6, 7, 4, (3, 3), 1, 1, True),  # the shifted-grid path of the fused op
    (2, 2, 7, 6, 5, (3, 2), 2, 1, True),  # stride 2, padding 1, non-square kernel
    (2, 3, 8, 8, 2, (2, 2), (2, 1), (0, 2), True),  # a pair of strides and of paddings
    (3, 1, 5, 5, 6, (2, 2), 1, 2, False),  # K < C_out: the valid-windows grid
])
def test_conv2d_matches_its_composite(n, C, H, W, C_out, kernel, stride, padding, bias):
    shapes = [(n, C, H, W), (C_out, C) + kernel] + ([(C_out,)] if bias else [])
    inputs = leaves(*shapes, seed=n * H)
    assert_agree(lambda *a: F.conv2d(*a, stride=stride, padding=padding),
                 lambda *a: F.conv2d_composite(*a, stride=stride, padding=padding), inputs)


def test_conv2d_fused_activation_matches_the_composite_then_the_activation():
    inputs = leaves((2, 2, 5, 5), (3, 2, 3, 3), (3,), seed=5)
    assert_agree(lambda *a: F.conv2d(*a, stride=2, padding=1, activation="tanh"),
                 lambda *a: F.conv2d_composite(*a, stride=2, padding=1).tanh(), inputs)


def test_conv2d_composite_gradcheck():
    assert dp.gradcheck(lambda x, W, b: F.conv2d_composite(x, W, b, stride=2, padding=1),
                        leaves((1, 2, 4, 4), (2, 2, 3, 3), (2,)))
