"""Embedding, RNN and LSTM (primer Sec. 10): finite differences, PyTorch parity, the
primer's king/queen/mean example, bad input, and an LSTM that learns a memory task."""

import numpy as np
import pytest
import torch
from helpers.nn import cross_entropy, layer_gradcheck, train

import dlprimer as dp
from dlprimer import nn
from dlprimer.nn import functional as F

torch.set_num_threads(2)
rng = np.random.default_rng(0)


# ------------------------------------------------------------------------- embedding
def test_embedding_gradcheck_with_repeated_tokens():
    idx = np.array([[0, 2, 2], [4, 0, 2]])  # token 2 three times, token 0 twice
    assert dp.gradcheck(lambda W: F.embedding(idx, W), [rng.standard_normal((5, 3))])


def test_embedding_matches_torch():
    ours = nn.Embedding(7, 4, seed=3, dtype=np.float64)
    theirs = torch.nn.Embedding(7, 4, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.W.data))
    idx = rng.integers(0, 7, size=(3, 5))
    y, y_t = ours(idx), theirs(torch.tensor(idx))
    np.testing.assert_array_equal(y.numpy(), y_t.detach().numpy())
    g = rng.standard_normal(y.shape)
    y.backward(g)
    y_t.backward(torch.tensor(g))
    np.testing.assert_allclose(ours.W.grad, theirs.weight.grad.numpy(), atol=1e-12)


def test_primer_king_queen_mean_cosines():
    king, queen, mean = [0.41, 1.2, 3.4, -1.3], [0.39, 1.1, 3.5, 1.6], [-0.2, -3.2, 1.3, 0.8]
    layer = nn.Embedding(3, 4, dtype=np.float64)
    layer.W.data[...] = [king, queen, mean]
    index, cos = nn.most_similar(layer.W.data[0], layer, k=2, exclude=[0])
    assert list(index) == [1, 2]
    np.testing.assert_allclose(cos, [0.729, -0.04], atol=5e-4)  # as printed in Sec. 10
    _, cos_q = nn.most_similar(queen, layer, k=3)
    np.testing.assert_allclose(cos_q, [1.0, 0.729, 0.156], atol=5e-4)


def test_most_similar_zero_row_has_cosine_zero():
    index, cos = nn.most_similar([1.0, 0.0], np.array([[0.0, 0.0], [-1.0, 0.0]]), k=2)
    assert list(index) == [0, 1]
    np.testing.assert_array_equal(cos, [0.0, -1.0])


def test_token_out_of_range_and_non_integers():
    layer = nn.Embedding(10, 4)
    with pytest.raises(ValueError, match=r"token index 12 .* 10 rows \(valid: 0..9\)"):
        layer([[1, 12, 3]])
    with pytest.raises(ValueError, match="token index -1"):
        layer([-1])
    with pytest.raises(ValueError, match="whole numbers"):
        layer([1.5])


# ------------------------------------------------------------------------ RNN, LSTM
def _torch_copy(ours, theirs):
    with torch.no_grad():
        for name in ("W_ih", "W_hh", "b_ih", "b_hh"):
            torch_name = {"W_ih": "weight_ih_l0", "W_hh": "weight_hh_l0",
                          "b_ih": "bias_ih_l0", "b_hh": "bias_hh_l0"}[name]
            getattr(theirs, torch_name).copy_(torch.tensor(getattr(ours, name).data))


def _torch_grads(theirs):
    return [getattr(theirs, n).grad.numpy()
            for n in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")]


@pytest.mark.parametrize("with_state", [False, True])
def test_rnn_matches_torch(with_state):
    ours = nn.RNN(3, 5, seed=1, dtype=np.float64)
    theirs = torch.nn.RNN(3, 5, batch_first=True, dtype=torch.float64)
    _torch_copy(ours, theirs)
    X = rng.standard_normal((4, 6, 3))
    h0 = rng.standard_normal((4, 5)) if with_state else None
    x, x_t = dp.Tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    h0_ours = None if h0 is None else dp.Tensor(h0, requires_grad=True)
    h0_t = None if h0 is None else torch.tensor(h0[None], requires_grad=True)
    out, h = ours(x, h0_ours)
    out_t, h_t = theirs(x_t, h0_t)
    np.testing.assert_allclose(out.numpy(), out_t.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(h.numpy(), h_t[0].detach().numpy(), atol=1e-10)
    g, g_h = rng.standard_normal(out.shape), rng.standard_normal(h.shape)
    ((out * g).sum() + (h * g_h).sum()).backward()  # gradient through h_T as well
    ((out_t * torch.tensor(g)).sum() + (h_t[0] * torch.tensor(g_h)).sum()).backward()
    np.testing.assert_allclose(x.grad, x_t.grad.numpy(), atol=1e-10)
    if with_state:
        np.testing.assert_allclose(h0_ours.grad, h0_t.grad[0].numpy(), atol=1e-10)
    for ours_grad, theirs_grad in zip([p.grad for p in ours.parameters()], _torch_grads(theirs),
                                      strict=True):
        np.testing.assert_allclose(ours_grad, theirs_grad, atol=1e-10)


@pytest.mark.parametrize("with_state", [False, True])
def test_lstm_matches_torch(with_state):
    ours = nn.LSTM(3, 4, seed=2, dtype=np.float64)
    theirs = torch.nn.LSTM(3, 4, batch_first=True, dtype=torch.float64)
    _torch_copy(ours, theirs)
    X = rng.standard_normal((2, 7, 3))
    state = (rng.standard_normal((2, 4)), rng.standard_normal((2, 4))) if with_state else None
    x, x_t = dp.Tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    state_ours = None if state is None else tuple(dp.Tensor(a, requires_grad=True)
                                                  for a in state)
    state_t = None if state is None else tuple(torch.tensor(a[None], requires_grad=True)
                                               for a in state)
    out, (h, c) = ours(x, state_ours)
    out_t, (h_t, c_t) = theirs(x_t, state_t)
    np.testing.assert_allclose(out.numpy(), out_t.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(h.numpy(), h_t[0].detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(c.numpy(), c_t[0].detach().numpy(), atol=1e-10)
    g_out, g_h, g_c = (rng.standard_normal(a.shape) for a in (out, h, c))
    # gradient through h_T and c_T as well
    ((out * g_out).sum() + (h * g_h).sum() + (c * g_c).sum()).backward()
    ((out_t * torch.tensor(g_out)).sum() + (h_t[0] * torch.tensor(g_h)).sum()
     + (c_t[0] * torch.tensor(g_c)).sum()).backward()
    np.testing.assert_allclose(x.grad, x_t.grad.numpy(), atol=1e-10)
    if with_state:
        for ours_state, theirs_state in zip(state_ours, state_t, strict=True):
            np.testing.assert_allclose(ours_state.grad, theirs_state.grad[0].numpy(),
                                       atol=1e-10)
    for ours_grad, theirs_grad in zip([p.grad for p in ours.parameters()], _torch_grads(theirs),
                                      strict=True):
        np.testing.assert_allclose(ours_grad, theirs_grad, atol=1e-10)


def test_rnn_gradcheck():
    layer = nn.RNN(2, 3, dtype=np.float64)
    assert layer_gradcheck(layer, rng.standard_normal((2, 4, 2)), reduce=lambda out: out[0])


def test_lstm_gradcheck_through_output_and_cell_state():
    layer = nn.LSTM(2, 3, dtype=np.float64)
    h0, c0 = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    assert layer_gradcheck(
        layer, rng.standard_normal((2, 4, 2)), h0, c0,
        call=lambda lstm, X, h, c: lstm(X, (h, c)),
        reduce=lambda out: out[0].sum(axis=1) + out[1][1] * 2.0)


def test_recurrent_float32_and_bad_input():
    lstm = nn.LSTM(3, 4)
    out, (h, c) = lstm(rng.standard_normal((2, 5, 3)).astype(np.float32))
    assert out.dtype == h.dtype == c.dtype == np.float32
    with pytest.raises(ValueError, match=r"\(n, T, 3\).*got shape \(2, 5\)"):
        lstm(np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"\(n, T, 3\).*got shape \(2, 5, 4\)"):
        nn.RNN(3, 4)(np.zeros((2, 5, 4)))
    with pytest.raises(ValueError, match=r"h0 must have shape \(2, 4\)"):
        lstm(np.zeros((2, 5, 3)), (np.zeros((1, 2, 4)), np.zeros((2, 4))))
    with pytest.raises(ValueError, match=r"at least one element \(T >= 1\)"):
        lstm(np.zeros((2, 0, 3)))


def test_rnn_extreme_inputs_saturate_without_overflow():
    out, h = nn.RNN(1, 2)(np.full((1, 3, 1), 1e4))
    assert np.all(np.isfinite(out.numpy())) and np.all(np.abs(h.numpy()) <= 1)


# ----------------------------------------------------------- an LSTM that must remember
def pattern_task(n, T=12, vocab=6, seed=0):
    """Does token A = 1 occur somewhere before a later token B = 2? Balanced labels.

    Tokens 1 and 2 appear exactly once in every sequence, so only their order decides:
    the model has to remember whether it saw A before it reads B.
    """
    g = np.random.default_rng(seed)
    X = g.integers(3, vocab, size=(n, T))
    y = g.integers(0, 2, size=n)
    for s in range(n):
        a, b = sorted(g.choice(T, size=2, replace=False))
        X[s, a], X[s, b] = (1, 2) if y[s] else (2, 1)
    return X, y


class SequenceClassifier(nn.Module):
    def __init__(self, vocab, dim, hidden, seed=0):
        rng = np.random.default_rng(seed)
        self.embed = nn.Embedding(vocab, dim, seed=rng)
        self.lstm = nn.LSTM(dim, hidden, seed=rng)
        self.out = nn.Dense(hidden, 2, seed=rng)

    def forward(self, tokens):
        _, (h, _) = self.lstm(self.embed(tokens))  # h_T (n, hidden) summarizes the sequence
        return self.out(h)  # (n, 2) logits


def test_lstm_learns_a_task_that_needs_memory():
    X_train, y_train = pattern_task(600, seed=0)
    X_test, y_test = pattern_task(300, seed=1)
    model = SequenceClassifier(6, 8, 16)
    train(model.parameters(), lambda X, y: cross_entropy(model(X), y), X_train, y_train,
          epochs=25, batch_size=32, lr=1e-2)
    with dp.no_grad():
        accuracy = (model(X_test).numpy().argmax(axis=1) == y_test).mean()
    assert accuracy >= 0.95  # a bag of words scores 0.5: both tokens are always there
