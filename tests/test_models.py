"""Models I, II and III: worked examples, shapes, decision rules, θ as one vector."""

import numpy as np
import pytest

import dlprimer as dp


def test_model_one_forward_pass_by_hand():
    m = dp.SigmoidModel(3, dtype=np.float64)
    m.b0.data[...] = 0.5
    m.w.data[:] = [1.0, -2.0, 0.25]
    x = np.array([[2.0, 1.0, 4.0]])
    # z = b0 + wᵀx = 0.5 + (1)(2) + (-2)(1) + (0.25)(4) = 0.5 + 2 - 2 + 1 = 1.5, eq. (2)
    # ŷ = σ(1.5) = 1 / (1 + e^{-1.5}) = 0.817574..., eq. (1)
    assert m.logits(x).data[0] == pytest.approx(1.5)
    assert m.predict_proba(x)[0] == pytest.approx(1 / (1 + np.exp(-1.5)))
    # decision rule (3): 0.8176 > τ = 0.5 → class 1; with τ = 0.9 → class 0
    assert m.predict(x)[0] == 1
    assert m.predict(x, tau=0.9)[0] == 0


def test_model_two_forward_pass_by_hand():
    m = dp.SoftmaxModel(p=2, K=3, dtype=np.float64)
    m.b.data[:] = [0.0, 1.0, -1.0]
    m.W.data[:] = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
    x = np.array([[2.0, -1.0]])
    # z_i = b_i + Σ_j w_ij x_j, eq. (5): z = (0 + 2, 1 - 1, -1 + 2 - 1) = (2, 0, 0)
    z = m.logits(x).data[0]
    np.testing.assert_allclose(z, [2.0, 0.0, 0.0])
    # softmax, eq. (4): (e², 1, 1) / (e² + 2)
    expected = np.array([np.e**2, 1, 1]) / (np.e**2 + 2)
    np.testing.assert_allclose(m.predict_proba(x)[0], expected)
    assert m.predict(x)[0] == 0  # argmax, eq. (6)


def test_model_three_figure_3_dimensions_and_forward_pass():
    net = dp.FeedForward([4, 4, 3, 5, 1], activation="sigmoid", output="sigmoid",
                         dtype=np.float64)
    assert [layer.W.shape for layer in net.layers] == [(4, 4), (3, 4), (5, 3), (1, 5)]
    assert [layer.b.shape for layer in net.layers] == [(4,), (3,), (5,), (1,)]
    assert net.num_parameters() == 61  # eq. (36)
    # eq. (35) computed independently: ŷ = S4(W4 S3(W3 S2(W2 S1(W1 x + b1) + b2) + b3) + b4)
    rng = np.random.default_rng(0)
    for layer in net.layers:
        layer.b.data[:] = rng.standard_normal(layer.b.shape)
    x = rng.standard_normal(4)
    a = x
    for layer in net.layers:
        a = 1 / (1 + np.exp(-(layer.W.data @ a + layer.b.data)))
    assert net.predict_proba(x[None, :])[0] == pytest.approx(a[0])


def test_theta_round_trip_and_parameter_order():
    net = dp.FeedForward([3, 4, 2], activation="relu", output="softmax")
    names = [name for name, _ in net.named_parameters()]
    assert names == ["layers.0.W", "layers.0.b", "layers.1.W", "layers.1.b"]
    theta = net.theta()
    assert theta.shape == (net.num_parameters(),) == (3 * 4 + 4 + 4 * 2 + 2,)
    net.set_theta(np.arange(theta.size, dtype=np.float32))
    assert net.layers[0].W.data[0, 1] == 1.0 and net.layers[1].b.data[-1] == theta.size - 1
    with pytest.raises(ValueError, match=r"theta must have shape \(26,\)"):
        net.set_theta(np.zeros(5))
    m1 = dp.SigmoidModel(5)
    assert [n for n, _ in m1.named_parameters()] == ["b0", "w"] and m1.num_parameters() == 6


def test_seeded_initialization_is_reproducible_and_explicit():
    a, b = dp.FeedForward([5, 8, 1], seed=3), dp.FeedForward([5, 8, 1], seed=3)
    np.testing.assert_array_equal(a.theta(), b.theta())
    assert not np.array_equal(a.theta(), dp.FeedForward([5, 8, 1], seed=4).theta())
    # biases start at zero; He init for ReLU has larger spread than Glorot here
    assert np.all(a.layers[0].b.data == 0)


def test_repr_shows_every_shape():
    text = repr(dp.FeedForward([4, 4, 3, 5, 1]))
    for shape in ("(4, 4)", "(3, 4)", "(5, 3)", "(1, 5)", "(5,)"):
        assert shape in text


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: dp.SigmoidModel(0), "p .* positive integer"),
        (lambda: dp.SoftmaxModel(3, 0), "K .* positive integer"),
        (lambda: dp.FeedForward([4]), "at least the input and output"),
        (lambda: dp.FeedForward([4, 2], activation="swish"), "activation must be one of"),
        (lambda: dp.FeedForward([4, 2], output="linear"), "output must be one of"),
    ],
)
def test_bad_architecture_is_refused(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_wrong_feature_count_names_both():
    m = dp.SoftmaxModel(3, 2)
    with pytest.raises(ValueError, match=r"p=3 features, got shape \(2, 4\)"):
        m.predict(np.ones((2, 4)))
    with pytest.raises(ValueError, match="NaN"):
        m.predict(np.array([[1.0, np.nan, 0.0]]))



def test_affine_activation_must_be_known():
    with pytest.raises(ValueError, match="activation must be one of"):
        dp.nn.functional.affine(dp.Tensor([[1.0]]), dp.Tensor([[1.0]]), activation="softplus")


def test_feedforward_hidden_layer_is_one_fused_node_with_the_same_values():
    net = dp.FeedForward([3, 4, 2], activation="relu", output="identity", seed=1)
    X = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    a = net.layers[0](X, activation="relu")
    assert a._op == "relu" and len(a._parents) == 3  # X, W, b: no separate z node
    np.testing.assert_array_equal(a.numpy(), np.maximum(X @ net.layers[0].W.data.T, 0))
