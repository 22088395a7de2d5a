"""Check backpropagation against the limit definition of the derivative (Sec. 8).

f'(u) = lim_{Δ→0} (f(u + Δ) - f(u)) / Δ; the central difference
(f(u + Δ) - f(u - Δ)) / (2Δ) has error O(Δ²), so in float64 with Δ = 1e-6 it
agrees with an exact gradient to about eight digits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from dlprimer.engine.tensor import Tensor, no_grad

__all__ = ["gradcheck", "GradcheckError"]


class GradcheckError(AssertionError):
    """Backward and finite differences disagree."""


def gradcheck(fn: Callable, inputs: Sequence, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-4, seed: int = 0) -> bool:
    """Compare ``backward`` with central finite differences, in float64.

    Parameters
    ----------
    fn : callable
        Takes the inputs as Tensors and returns a Tensor.
    inputs : sequence of Tensors or arrays
        Points at which to check. They are copied to float64; arrays and Tensors with
        ``requires_grad=True`` are checked (all of them if no Tensor asks).
    eps, atol, rtol : float
        Step Δ and the tolerance |backward - numeric| ≤ atol + rtol |numeric|.
    seed : int
        A non-scalar output y is reduced to the scalar Σ r ⊙ y with fixed random r, so
        every output entry takes part.

    Returns True, or raises GradcheckError naming the input, the index and both values
    of the worst mismatch.

    >>> gradcheck(lambda x: (x * x).sum(), [np.array([1.0, -2.0])])
    True
    """
    values = [np.array(getattr(v, "data", v), dtype=np.float64) for v in inputs]
    asked = [isinstance(v, Tensor) and v.requires_grad for v in inputs]
    checked = asked if any(asked) else [True] * len(values)
    leaves = [Tensor(v, requires_grad=c) for v, c in zip(values, checked, strict=True)]

    out = fn(*leaves)
    if not isinstance(out, Tensor):
        raise TypeError(f"fn must return a Tensor, got {type(out).__name__}")
    weights = np.random.default_rng(seed).standard_normal(out.shape)

    def scalar(*tensors) -> float:
        with no_grad():
            return float((fn(*tensors).data * weights).sum())

    if not out.requires_grad:
        raise GradcheckError("fn's output does not depend on any checked input")
    (out * Tensor(weights)).sum().backward()

    worst = None  # (excess, input number, index, analytic, numeric)
    for k, (leaf, check) in enumerate(zip(leaves, checked, strict=True)):
        if not check:
            continue
        analytic = leaf.grad if leaf.grad is not None else np.zeros_like(leaf.data)
        probe = [Tensor(t.data.copy()) for t in leaves]
        x = probe[k].data
        for index in np.ndindex(x.shape):
            original = x[index]
            x[index] = original + eps
            up = scalar(*probe)
            x[index] = original - eps
            down = scalar(*probe)
            x[index] = original
            numeric = (up - down) / (2 * eps)
            excess = abs(analytic[index] - numeric) - (atol + rtol * abs(numeric))
            if excess > 0 and (worst is None or excess > worst[0]):
                worst = (excess, k, index, float(analytic[index]), numeric)
    if worst is not None:
        _, k, index, analytic, numeric = worst
        raise GradcheckError(
            f"gradient mismatch for input {k} at index {index}: backward gave {analytic:.8g}, "
            f"finite differences gave {numeric:.8g} (atol={atol}, rtol={rtol})"
        )
    return True
