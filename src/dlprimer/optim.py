"""Optimizers: gradient descent (eq. (31)) and its variants, updating θ in place.

An optimizer is created with its hyperparameters only; ``dp.fit`` hands it the model's
parameters with ``setup(params)``. Used by hand:

>>> import dlprimer as dp
>>> w = dp.Tensor([1.0, -2.0], requires_grad=True)
>>> opt = GradientDescent(lr=0.1)
>>> opt.setup([w])
>>> (w * w).sum().backward()          # ∇C(θ) = 2θ
>>> opt.step()                        # θ ← θ - α ∇C(θ) = θ - 0.2 θ
>>> w.data
array([ 0.8, -1.6], dtype=float32)
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence

import numpy as np

from dlprimer.engine.checks import positive_int
from dlprimer.engine.tensor import Tensor

__all__ = ["Optimizer", "GradientDescent", "SGD", "Adam", "LBFGS"]


def _check(name: str, value, low: float, high: float = np.inf, low_open: bool = True,
           high_open: bool = False) -> float:
    """A hyperparameter as a float in its interval, or a ValueError that says which."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    below = value <= low if low_open else value < low
    above = value >= high if high_open else value > high
    if below or above:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        raise ValueError(f"{name} must lie in {left}{low}, {high}{right}, got {value}")
    return float(value)


class Optimizer:
    """Base: holds the parameters θ and updates them in place from their ``.grad``.

    A subclass writes its rule once, ``_update(k, theta, g, t)``, for one parameter k, or for
    all of θ as one vector (k = None), with its state from ``_buffer(name, k)``.
    """

    lr: float

    # NOTE: one update costs about ten numpy calls a parameter; for a small network those
    # calls, not the arithmetic, are the time (6 parameters of breast_cancer's [30,16,8,1]:
    # 42 µs a step, against 15 µs for one update of θ as a single vector). Up to this many
    # entries, θ and ∇C are gathered into one vector, updated, and θ scattered back.
    FLAT_MAX = 1 << 15

    def __init__(self) -> None:
        self.params: list[Tensor] = []
        self.t = 0  # number of steps taken
        self._steps: list[int] = []  # steps in which each parameter had a gradient

    def setup(self, params: Sequence[Tensor]) -> None:
        """Attach the parameters to update and reset the optimizer's state."""
        self.params = list(params)
        self.t = 0
        self._steps = [0] * len(self.params)
        sizes = [p.data.size for p in self.params]
        ends = np.cumsum(sizes, dtype=np.int64).tolist()
        starts = [0, *ends[:-1]] if ends else []
        self._bounds = list(zip(starts, ends, strict=True))  # parameter k's part of θ
        dtypes = {p.data.dtype for p in self.params}
        # state of all parameters in one vector, each parameter's a view of its part
        self._dtype = dtypes.pop() if len(dtypes) == 1 else None
        self._flat = self._dtype is not None and 0 < sum(sizes) <= self.FLAT_MAX
        self._state: dict = {}

    def _buffer(self, name: str, k: int | None) -> np.ndarray:
        """State ``name`` (zeros at first) of parameter k, or of all of θ (k = None)."""
        array = self._state.get((name, k))  # made once, then looked up every step
        if array is not None:
            return array
        if self._dtype is None:  # parameters of several dtypes: separate arrays
            array = np.zeros_like(self.params[k].data)
        else:
            flat = self._state.get((name, None))
            if flat is None:
                size = self._bounds[-1][1] if self._bounds else 0
                flat = self._state[name, None] = np.zeros(size, self._dtype)
            if k is None:
                return flat
            start, stop = self._bounds[k]
            array = flat[start:stop].reshape(self.params[k].shape)  # a view of θ's part
        self._state[name, k] = array
        return array

    def step(self) -> None:
        """One update of every parameter that has a gradient (one without is skipped, and
        its step count, which Adam's bias corrections use, stays put, as in PyTorch)."""
        self.t += 1
        steps = self._steps
        if (self._flat and all(p.grad is not None for p in self.params)
                and steps.count(steps[0]) == len(steps)):
            self._steps = [count + 1 for count in steps]
            theta = np.concatenate([p.data.ravel() for p in self.params])
            g = np.concatenate([p.grad.ravel() for p in self.params]).astype(theta.dtype,
                                                                               copy=False)
            self._update(None, theta, g, self._steps[0])
            for p, (start, stop) in zip(self.params, self._bounds, strict=True):
                p.data[...] = theta[start:stop].reshape(p.shape)
            return
        for k, p in enumerate(self.params):
            if p.grad is not None:
                steps[k] += 1
                self._update(k, p.data, p.grad, steps[k])

    def _update(self, k: int | None, theta: np.ndarray, g: np.ndarray, t: int) -> None:
        """θ ← its update from the gradient g, at this parameter's t-th step."""
        raise NotImplementedError

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v}" for k, v in vars(self).items()
                           if not k.startswith("_") and k not in ("params", "t"))
        return f"{type(self).__name__}({fields})"


class GradientDescent(Optimizer):
    """θ⁽ᵗ⁺¹⁾ = θ⁽ᵗ⁾ - α ∇C(θ⁽ᵗ⁾), eq. (31), verbatim (α = ``lr`` > 0)."""

    def __init__(self, lr: float = 0.1):
        super().__init__()
        self.lr = _check("lr (the learning rate α)", lr, 0.0)

    def _update(self, k, theta, g, t):
        tmp = self._buffer("scratch", k)
        np.multiply(g, self.lr, out=tmp)  # in place: no temporary the size of θ per step
        theta -= tmp


class SGD(Optimizer):
    """Gradient descent with momentum μ (and Nesterov's look-ahead), as PyTorch's SGD.

    v ← μ v + ∇C(θ);  θ ← θ - α v   (Nesterov: θ ← θ - α (∇C(θ) + μ v)).
    With μ = 0 this is eq. (31); on mini-batches it is stochastic gradient descent.
    """

    def __init__(self, lr: float = 0.01, momentum: float = 0.0, nesterov: bool = False):
        super().__init__()
        self.lr = _check("lr (the learning rate α)", lr, 0.0)
        self.momentum = _check("momentum μ", momentum, 0.0, 1.0, low_open=False,
                               high_open=True)
        if nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0")
        self.nesterov = bool(nesterov)

    def _update(self, k, theta, g, t):
        tmp = self._buffer("scratch", k)
        if self.momentum == 0:
            np.multiply(g, self.lr, out=tmp)
            theta -= tmp
            return
        v = self._buffer("velocity", k)  # starts at 0, so the first v is g, as in PyTorch
        v *= self.momentum
        v += g
        if self.nesterov:  # θ -= α (g + μ v)
            np.multiply(v, self.momentum, out=tmp)
            tmp += g
            tmp *= self.lr
        else:  # θ -= α v
            np.multiply(v, self.lr, out=tmp)
        theta -= tmp


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), the variant of gradient descent the primer points to.

    m ← β₁ m + (1 - β₁) g;  v ← β₂ v + (1 - β₂) g²          (moment estimates)
    m̂ = m / (1 - β₁ᵗ);      v̂ = v / (1 - β₂ᵗ)               (bias corrections)
    θ ← θ - α m̂ / (√v̂ + ε)
    """

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8):
        super().__init__()
        self.lr = _check("lr (the learning rate α)", lr, 0.0)
        self.beta1 = _check("beta1", beta1, 0.0, 1.0, low_open=False, high_open=True)
        self.beta2 = _check("beta2", beta2, 0.0, 1.0, low_open=False, high_open=True)
        self.eps = _check("eps", eps, 0.0)

    def _update(self, k, theta, g, t):
        # NOTE: kept as m' = m / (1 - β₁) and v' = v / (1 - β₂), so that the moment updates
        # m' ← β₁ m' + g and v' ← β₂ v' + g² need no scaling pass; every constant folds into
        # the two scalars below (10 passes over θ instead of 12, same steps).
        m, v, tmp = (self._buffer(name, k) for name in ("m", "v", "scratch"))
        m *= self.beta1
        m += g
        v *= self.beta2
        np.multiply(g, g, out=tmp)
        v += tmp
        # α m̂ / (√v̂ + ε) with m̂ = c₁ m', √v̂ = c₂ √v' is (α c₁ / c₂) · m' / (√v' + ε / c₂)
        c1 = (1 - self.beta1) / (1 - self.beta1**t)
        c2 = np.sqrt((1 - self.beta2) / (1 - self.beta2**t))
        np.sqrt(v, out=tmp)
        tmp += self.eps / c2
        np.divide(m, tmp, out=tmp)
        tmp *= self.lr * c1 / c2
        theta -= tmp


class LBFGS(Optimizer):
    """Limited-memory BFGS on the full-batch loss (scipy's L-BFGS-B with our gradient).

    A quasi-Newton method: it builds a curvature estimate from past gradients, so on the
    smooth, convex losses of Models I and II it reaches the optimum in far fewer steps
    than eq. (31). ``dp.fit`` runs it on the whole data set (``batch_size`` is ignored).

    Parameters
    ----------
    max_iter : int
        Most iterations (``epochs`` in ``dp.fit`` caps it too).
    tol : float
        Stop when the projected gradient's largest entry is below ``tol``.
    ftol : float
        Or when a step lowers the loss by less than ``ftol`` relative to its size (the
        default, 64 machine epsilons, is scikit-learn's: no further progress possible).
    history : int
        Number of past gradient pairs kept for the curvature estimate.
    """

    lr = float("nan")  # not a step size method; kept for messages

    def __init__(self, max_iter: int = 500, tol: float = 1e-6,
                 ftol: float = 64 * np.finfo(float).eps, history: int = 10):
        super().__init__()
        self.max_iter = positive_int(max_iter, "max_iter")
        self.tol = _check("tol", tol, 0.0)
        self.ftol = _check("ftol", ftol, 0.0, low_open=False)
        self.history = positive_int(history, "history (the number of gradient pairs kept)")

    def minimize(self, loss_and_grad: Callable[[np.ndarray], tuple[float, np.ndarray]],
                 theta0: np.ndarray, max_iter: int | None = None,
                 callback: Callable[[np.ndarray], None] | None = None):
        """Minimize C(θ) from θ⁽⁰⁾; returns scipy's OptimizeResult (x, fun, nit, message)."""
        from scipy.optimize import minimize

        return minimize(loss_and_grad, theta0.astype(np.float64), jac=True, method="L-BFGS-B",
                        callback=callback,
                        options={"maxiter": max_iter or self.max_iter, "gtol": self.tol,
                                 "ftol": self.ftol, "maxcor": self.history, "maxls": 50})

    def step(self) -> None:
        raise TypeError("LBFGS works on the whole loss at once: use dp.fit(..., "
                        "optimizer=LBFGS()) or LBFGS.minimize(fn, theta0)")
