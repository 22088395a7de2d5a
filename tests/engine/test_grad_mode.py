"""Grad mode is per thread: ``no_grad()`` in one thread leaves every other thread's alone.

Two real threads, forced through a fixed interleaving with a Barrier, so that a single
module-wide flag would fail every round: the trainer (B) takes gradient steps while the
predictor (A) sits inside ``no_grad()``, and leaves its own ``no_grad()`` block (its
parameter update) while A is inside one.
"""

import threading

import numpy as np
import pytest

import dlprimer as dp

ROUNDS = 5
LR = 0.1


def _problem():
    """Parameters W (3, 4), b (3,) of a tanh layer and one batch X (8, 4), Y (8, 3)."""
    rng = np.random.default_rng(0)
    W = dp.Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    b = dp.Tensor(rng.standard_normal(3), requires_grad=True)
    X, Y = rng.standard_normal((8, 4)), rng.standard_normal((8, 3))
    return W, b, X, Y


def _predict(W, b, X):
    return (dp.Tensor(X) @ W.T + b).tanh()  # (8, 3)


def _gradient_step(W, b, X, Y):
    """C = mean((tanh(X Wᵀ + b) - Y)²); backward; returns (grad mode seen, ∇_W C, ∇_b C)."""
    enabled = dp.is_grad_enabled()
    C = ((_predict(W, b, X) - dp.Tensor(Y)) ** 2).mean()
    C.backward()
    return enabled, W.grad.copy(), b.grad.copy()


def _update(W, b):
    W.data -= LR * W.grad
    b.data -= LR * b.grad
    W.grad = b.grad = None


def _single_threaded_gradients():
    W, b, X, Y = _problem()
    grads = []
    for _ in range(ROUNDS):
        for _ in range(2):  # the trainer takes two steps a round, updating before each
            if W.grad is not None:
                with dp.no_grad():
                    _update(W, b)
            grads.append(_gradient_step(W, b, X, Y)[1:])
    return grads


def test_no_grad_in_one_thread_leaves_the_other_threads_grad_mode_alone():
    W, b, X, Y = _problem()
    barrier = threading.Barrier(2, timeout=20)
    errors, seen_by_predictor, recorded_by_predictor, trainer_steps = [], [], [], []

    def predictor():  # thread A: predictions under no_grad(), as a server would
        for _ in range(ROUNDS):
            barrier.wait()  # 1: the trainer is inside its no_grad() update block
            with dp.no_grad():
                barrier.wait()  # 2: A is inside no_grad()
                _predict(W, b, X)  # runs while the trainer updates and steps
                barrier.wait()  # 3: the trainer has left no_grad() and taken a step
                seen_by_predictor.append(dp.is_grad_enabled())
                recorded_by_predictor.append(_predict(W, b, X).requires_grad)
            barrier.wait()  # 4
            with dp.no_grad():
                barrier.wait()  # 5: A is inside no_grad() again
                _predict(W, b, X)
                barrier.wait()  # 6: the trainer has taken its second step
                seen_by_predictor.append(dp.is_grad_enabled())
                recorded_by_predictor.append(_predict(W, b, X).requires_grad)

    def trainer():  # thread B: gradient steps, parameter updates under no_grad()
        for _ in range(ROUNDS):
            with dp.no_grad():
                barrier.wait()  # 1
                barrier.wait()  # 2: A entered no_grad() after B did
                if W.grad is not None:
                    _update(W, b)
            trainer_steps.append(_gradient_step(W, b, X, Y))  # A is inside no_grad()
            barrier.wait()  # 3
            barrier.wait()  # 4
            barrier.wait()  # 5: A is inside no_grad()
            with dp.no_grad():
                _update(W, b)
            trainer_steps.append(_gradient_step(W, b, X, Y))
            barrier.wait()  # 6

    def run(target):
        try:
            target()
        except Exception as err:  # reported by the main thread
            errors.append(err)
            barrier.abort()  # release the other thread instead of leaving it waiting

    threads = [threading.Thread(target=run, args=(f,)) for f in (predictor, trainer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    real_errors = [e for e in errors if not isinstance(e, threading.BrokenBarrierError)]
    assert not real_errors, real_errors
    assert not errors

    assert seen_by_predictor == [False] * (2 * ROUNDS)
    assert recorded_by_predictor == [False] * (2 * ROUNDS)
    assert [enabled for enabled, _, _ in trainer_steps] == [True] * (2 * ROUNDS)
    expected = _single_threaded_gradients()
    assert len(trainer_steps) == len(expected) == 2 * ROUNDS
    for (_, gW, gb), (eW, eb) in zip(trainer_steps, expected, strict=True):
        np.testing.assert_allclose(gW, eW, rtol=1e-12, atol=0)
        np.testing.assert_allclose(gb, eb, rtol=1e-12, atol=0)


def test_a_new_thread_starts_with_grad_mode_on():
    seen = []
    with dp.no_grad():
        thread = threading.Thread(target=lambda: seen.append(dp.is_grad_enabled()))
        thread.start()
        thread.join(timeout=20)
        assert not dp.is_grad_enabled()
    assert seen == [True]


def test_no_grad_nests_and_restores_after_an_exception():
    w = dp.Tensor([1.0], requires_grad=True)
    with dp.no_grad():
        with dp.no_grad():
            assert not dp.is_grad_enabled()
        assert not dp.is_grad_enabled()  # the inner block restored "off", not "on"
        assert not (w * 2).requires_grad
    assert dp.is_grad_enabled() and (w * 2).requires_grad
    with pytest.raises(RuntimeError, match="inside"), dp.no_grad():
        raise RuntimeError("inside no_grad")
    assert dp.is_grad_enabled()
