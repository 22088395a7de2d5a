"""The model protocol's layers: activation modules, Dropout and Sequential (PyTorch parity,
finite differences, train/eval), config() and build() for every registered layer, and the
shared positive-integer check."""

import json

import numpy as np
import pytest
import torch
from helpers.nn import layer_gradcheck

import dlprimer as dp
from dlprimer import nn
from dlprimer.nn.module import KINDS, build

torch.set_num_threads(2)


def T(a, grad=True):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


# ------------------------------------------------------------------ activation modules
@pytest.mark.parametrize("kind, reference", [
    ("ReLU", torch.relu), ("Sigmoid", torch.sigmoid), ("Tanh", torch.tanh),
])
def test_activation_modules_match_torch(rng, kind, reference):
    x_data = rng.standard_normal((4, 3, 5)) * 3
    x, xt = dp.Tensor(x_data, requires_grad=True), T(x_data)
    y, yt = getattr(nn, kind)()(x), reference(xt)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-15)
    g = rng.standard_normal(x_data.shape)
    (y * dp.Tensor(g)).sum().backward()
    (yt * torch.from_numpy(g)).sum().backward()
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-12, atol=1e-15)
    assert getattr(nn, kind)().parameters() == []


@pytest.mark.parametrize("kind", ["ReLU", "Sigmoid", "Tanh"])
def test_activation_modules_take_arrays_and_pass_gradcheck(rng, kind):
    layer = getattr(nn, kind)()
    out = layer(np.array([[-1.0, 0.5]]))
    assert isinstance(out, dp.Tensor) and out.dtype == np.float64
    x = rng.standard_normal((3, 4)) + 0.05  # away from ReLU's kink at 0
    assert layer_gradcheck(layer, x)


def test_activation_modules_at_extreme_inputs():
    x = np.array([-1000.0, 0.0, 1000.0])
    np.testing.assert_array_equal(nn.Sigmoid()(x).numpy(), [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(nn.Tanh()(x).numpy(), [-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(nn.ReLU()(x).numpy(), [0.0, 0.0, 1000.0])


# ------------------------------------------------------------------------------ Dropout
def test_dropout_in_eval_mode_and_with_p_zero_is_the_identity(rng):
    x_data = rng.standard_normal((50, 20))
    layer = nn.Dropout(0.5).eval()
    x = dp.Tensor(x_data, requires_grad=True)
    y = layer(x)
    np.testing.assert_array_equal(y.numpy(), x_data)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones_like(x_data))
    np.testing.assert_array_equal(nn.Dropout(0.0)(x_data).numpy(), x_data)  # train mode


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_zeroes_a_share_p_and_scales_survivors_by_one_over_one_minus_p(rng, p):
    x_data = rng.uniform(1.0, 2.0, (500, 400))  # 200 000 entries, none of them 0
    y = nn.Dropout(p, seed=3)(x_data).numpy()
    dropped = y == 0
    # the share of zeros has standard deviation √(p(1-p)/N) ≤ 0.0012 here
    assert abs(dropped.mean() - p) < 0.006
    np.testing.assert_allclose(y[~dropped], x_data[~dropped] / (1 - p), rtol=1e-12)


def test_dropout_masks_come_from_the_seed_alone(rng):
    x = np.ones((30, 30))
    first, second = nn.Dropout(0.5, seed=7), nn.Dropout(0.5, seed=7)
    state = np.random.get_state()[1].copy()
    a1, a2 = first(x).numpy(), first(x).numpy()
    np.testing.assert_array_equal(a1, second(x).numpy())  # same seed → same masks
    np.testing.assert_array_equal(a2, second(x).numpy())
    assert not np.array_equal(a1, a2)  # each call draws a fresh mask
    assert not np.array_equal(a1, nn.Dropout(0.5, seed=8)(x).numpy())
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # global state untouched


def test_dropout_gradient_is_the_mask_over_one_minus_p(rng):
    p = 0.3
    x = dp.Tensor(rng.uniform(1.0, 2.0, (40, 25)), requires_grad=True)
    y = nn.Dropout(p, seed=1)(x)
    g = rng.standard_normal(x.shape)
    (y * dp.Tensor(g)).sum().backward()
    mask = y.numpy() != 0
    np.testing.assert_allclose(x.grad, g * mask / (1 - p), rtol=1e-12)
    assert 0 < mask.mean() < 1


def test_dropout_keeps_float32(rng):
    y = nn.Dropout(0.2)(rng.standard_normal((3, 4)).astype(np.float32))
    assert y.dtype == np.float32


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, float("nan"), True, "0.5"])
def test_dropout_refuses_p_outside_zero_to_one(p):
    with pytest.raises(ValueError, match=r"p \(the probability of zeroing an entry\) must be"):
        nn.Dropout(p)


# --------------------------------------------------------------------------- Sequential
def small_cnn():
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Dense(8 * 4 * 4, 10))


def test_sequential_cnn_gives_logits_of_shape_n_by_10(rng):
    out = small_cnn()(rng.standard_normal((5, 1, 8, 8)))
    assert out.shape == (5, 10) and out.dtype == np.float32


def test_sequential_cnn_matches_the_same_torch_sequential(rng):
    net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, dtype=np.float64), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Flatten(), nn.Dense(8 * 4 * 4, 10, dtype=np.float64))
    ref = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(),
                              torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                              torch.nn.Linear(8 * 4 * 4, 10)).double()
    # the same parameters, in the same order and of the same shapes
    assert [p.shape for p in net.parameters()] == [tuple(p.shape) for p in ref.parameters()]
    assert [name for name, _ in net.named_parameters()] == [
        "layers.0.W", "layers.0.b", "layers.4.W", "layers.4.b"]
    with torch.no_grad():
        for p, q in zip(net.parameters(), ref.parameters(), strict=True):
            q.copy_(torch.from_numpy(p.data))
    x_data = rng.standard_normal((3, 1, 8, 8))
    x, xt = dp.Tensor(x_data, requires_grad=True), T(x_data)
    y, yt = net(x), ref(xt)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = rng.standard_normal((3, 10))
    (y * dp.Tensor(g)).sum().backward()
    (yt * torch.from_numpy(g)).sum().backward()
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    for p, q in zip(net.parameters(), ref.parameters(), strict=True):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_sequential_with_batchnorm_and_dropout_matches_torch_in_both_modes(rng):
    net = nn.Sequential(nn.Dense(4, 6, dtype=np.float64), nn.BatchNorm1d(6, dtype=np.float64),
                        nn.Tanh(), nn.Dropout(0.5), nn.Dense(6, 2, dtype=np.float64))
    ref = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.BatchNorm1d(6), torch.nn.Tanh(),
                              torch.nn.Dropout(0.5), torch.nn.Linear(6, 2)).double()
    with torch.no_grad():
        for p, q in zip(net.parameters(), ref.parameters(), strict=True):
            q.copy_(torch.from_numpy(p.data))
    x_data = rng.standard_normal((16, 4))
    net.layers[3].p = 0.0  # dropout's masks differ from torch's: compare without them
    ref[3].p = 0.0
    for _ in range(2):
        np.testing.assert_allclose(net(x_data).numpy(), ref(T(x_data, False)).detach().numpy(),
                                   rtol=1e-10, atol=1e-12)
    net.layers[3].p = ref[3].p = 0.5
    assert net.eval() is net and not any(m.training for m in net.modules())
    ref.eval()
    np.testing.assert_allclose(net(x_data).numpy(), ref(T(x_data, False)).detach().numpy(),
                               rtol=1e-10, atol=1e-12)  # running stats, no dropout
    assert all(m.training for m in net.train().modules())


def test_sequential_behaves_as_a_list_of_layers():
    net = small_cnn()
    assert len(net) == 5
    assert isinstance(net[0], nn.Conv2d) and isinstance(net[-1], nn.Dense)
    assert [type(layer).__name__ for layer in net] == [
        "Conv2d", "ReLU", "MaxPool2d", "Flatten", "Dense"]
    head = net[3:]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[1] is net[4]
    assert head(np.zeros((2, 8, 4, 4))).shape == (2, 10)
    assert net.num_parameters() == 8 * 9 + 8 + 128 * 10 + 10
    assert nn.Sequential()(np.ones((2, 3))).shape == (2, 3)  # empty: the identity


def test_sequential_refuses_what_is_not_a_module():
    with pytest.raises(TypeError, match="argument 1 is a function"):
        nn.Sequential(nn.ReLU(), lambda x: x)


class Doubler(nn.Module):
    def forward(self, x):
        return dp.Tensor(x) * 2.0


def test_sequential_config_names_a_user_defined_layer():
    net = nn.Sequential(nn.Dense(3, 4), Doubler())
    with pytest.raises(TypeError, match=r"Sequential layer 1 \(Doubler\) has no config\(\)"):
        net.config()


# ------------------------------------------------------------- config() and build()
def every_layer():
    """One instance of each registered built-in layer (non-default arguments where the
    constructor has them), and a nested Sequential."""
    return [
        nn.Dense(3, 5, dtype=np.float64),
        nn.Conv2d(2, 4, (3, 2), stride=(2, 1), padding=(1, 0), activation="relu"),
        nn.Conv2d(1, 3, 5, stride=2, padding=2),
        nn.MaxPool2d(2), nn.MaxPool2d((3, 2), stride=1), nn.AvgPool2d(3, stride=(2, 1)),
        nn.Flatten(), nn.ReLU(), nn.Sigmoid(), nn.Tanh(), nn.Dropout(0.25),
        nn.BatchNorm1d(6, eps=1e-3, momentum=None, affine=False),
        nn.BatchNorm2d(4, momentum=0.2, dtype=np.float64),
        nn.Embedding(11, 4),
        nn.MultiHeadAttention(8, 4, dtype=np.float64),
        nn.LayerNorm(8, eps=1e-6),
        nn.TransformerEncoderBlock(8, 2, 16),
        nn.Sequential(nn.Dense(4, 6), nn.Sequential(nn.BatchNorm1d(6), nn.ReLU()),
                      nn.Dropout(0.1), nn.Dense(6, 2)),
    ]


def test_every_registered_nn_layer_has_a_case():
    # RNN and LSTM (recurrent.py) get their config in their own change and tests
    nn_kinds = {kind for kind, cls in KINDS.items()
                if cls.__module__.startswith("dlprimer.nn")
                and cls.__module__ != "dlprimer.nn.recurrent"}
    covered = {type(layer).__name__ for layer in every_layer()}
    assert nn_kinds - covered == set()
    assert {"Sequential", "BatchNorm2d", "Conv2d", "TransformerEncoderBlock"} <= nn_kinds


def _describe(module):
    return ([(name, p.shape, p.dtype) for name, p in module.named_parameters()],
            [(name, np.shape(b), np.asarray(b).dtype) for name, b in module.named_buffers()])


@pytest.mark.parametrize("layer", every_layer(), ids=lambda layer: type(layer).__name__)
def test_build_of_config_rebuilds_the_same_layer(layer):
    config = layer.config()
    assert config["kind"] == type(layer).__name__
    config = json.loads(json.dumps(config))  # JSON-able, and read back as plain JSON
    rebuilt = build(config)
    assert type(rebuilt) is type(layer)
    assert _describe(rebuilt) == _describe(layer)
    assert rebuilt.config() == layer.config()


@pytest.mark.parametrize("layer, x", [
    (nn.Conv2d(2, 4, (3, 2), stride=(2, 1), padding=(1, 0)), np.zeros((1, 2, 7, 6))),
    (nn.AvgPool2d(3, stride=(2, 1)), np.zeros((1, 1, 7, 6))),
    (nn.Embedding(11, 4), np.array([[1, 2, 10]])),
    (nn.TransformerEncoderBlock(8, 2, 16), np.zeros((2, 3, 8))),
])
def test_rebuilt_layers_give_outputs_of_the_same_shape(layer, x):
    assert build(layer.config())(x).shape == layer(x).shape


def test_nested_sequential_config_lists_its_layers():
    net = nn.Sequential(nn.Dense(4, 6), nn.Sequential(nn.ReLU()), nn.Dense(6, 2))
    config = net.config()
    assert [c["kind"] for c in config["layers"]] == ["Dense", "Sequential", "Dense"]
    assert config["layers"][1] == {"kind": "Sequential", "layers": [{"kind": "ReLU"}]}
    assert [name for name, _ in build(config).named_parameters()] == [
        "layers.0.W", "layers.0.b", "layers.2.W", "layers.2.b"]
    with pytest.raises(ValueError, match="lists its layers under 'layers'"):
        build({"kind": "Sequential", "layers": "Dense"})


# ---------------------------------------------------------- the positive-integer check
@pytest.mark.parametrize("make, name", [
    (lambda v: nn.Dense(v, 3), "in_features"),
    (lambda v: nn.Dense(3, v), "out_features"),
    (lambda v: nn.Conv2d(v, 2, 3), "in_channels"),
    (lambda v: nn.Conv2d(1, v, 3), "out_channels"),
    (lambda v: nn.Embedding(v, 2), "num_embeddings"),
    (lambda v: nn.Embedding(5, v), "dim"),
    (lambda v: nn.MultiHeadAttention(v, 1), "d_model"),
    (lambda v: nn.MultiHeadAttention(4, v), "num_heads"),
    (lambda v: nn.LayerNorm(v), "d"),
    (lambda v: nn.TransformerEncoderBlock(4, 2, v), "d_ff"),
    (lambda v: nn.BatchNorm1d(v), "num_features"),
])
@pytest.mark.parametrize("value", [True, 0, -2, 2.0])
def test_layer_sizes_must_be_positive_integers_not_bools(make, name, value):
    with pytest.raises(ValueError, match=rf"{name} must be a positive integer, got {value!r}"):
        make(value)


def test_numpy_integers_are_accepted_as_sizes():
    layer = nn.Dense(np.int64(3), np.int32(2))
    assert layer.W.shape == (2, 3) and type(layer.config()["in_features"]) is int


@pytest.mark.parametrize("make", [lambda: nn.MaxPool2d(0), lambda: nn.AvgPool2d(2, stride=0),
                                  lambda: nn.MaxPool2d("2")])
def test_pools_check_their_window_when_built(make):
    with pytest.raises(ValueError, match="must be a positive int"):
        make()
