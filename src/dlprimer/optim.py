"""Optimizers: gradient descent (eq. (31)) and its variants, updating θ in place.

Two ways to use one. Built with its hyperparameters only, ``dp.fit`` hands it the model's
parameters (``setup(params)``). Or PyTorch's way, given the parameters first, in a loop of
your own:

>>> import dlprimer as dp
>>> w = dp.Tensor([1.0, -2.0], requires_grad=True)
>>> opt = GradientDescent([w], lr=0.1)     # or GradientDescent(model.parameters(), lr=0.1)
>>> for _ in range(2):
...     opt.zero_grad()
...     (w * w).sum().backward()           # ∇C(θ) = 2θ
...     opt.step()                         # θ ← θ - α ∇C(θ) = θ - 0.2 θ
>>> w.data                                 # 0.8² θ⁽⁰⁾
array([ 0.64, -1.28], dtype=float32)

``by_name("adam")`` is the optimizer the front ends (CLI, scikit-learn) mean by a name.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from dlprimer.engine.checks import positive_int
from dlprimer.engine.tensor import Tensor

__all__ = ["Optimizer", "GradientDescent", "SGD", "Adam", "LBFGS", "NAMES", "by_name"]


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


def _parameter_list(params, owner: str) -> list[Tensor]:
    """``params`` as a list of Tensors that get gradients, or an error that says how to fix."""
    if callable(getattr(params, "parameters", None)):  # a Module, not its parameters
        raise TypeError(f"{owner} got the model itself ({type(params).__name__}); pass "
                        f"model.parameters(), e.g. {owner}(model.parameters(), lr=...)")
    if isinstance(params, Tensor):
        raise TypeError(f"{owner} needs a list of parameter Tensors, got one Tensor of shape "
                        f"{params.shape}; put it in a list: {owner}([w], lr=...)")
    if isinstance(params, dict):
        raise TypeError(f"{owner} needs a list of parameter Tensors, got a dict (parameter "
                        "groups are not supported); pass model.parameters()")
    if isinstance(params, (str, bytes)) or not isinstance(params, Iterable):
        raise TypeError(f"{owner} needs a list of parameter Tensors (model.parameters()), "
                        f"got {type(params).__name__} {params!r}")
    params = list(params)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{owner}: parameter {i} is a {type(p).__name__}, not a Tensor; "
                            "pass model.parameters() or a list of Tensors")
        if not p.requires_grad:
            raise ValueError(f"{owner}: parameter {i} (shape {p.shape}) has "
                             "requires_grad=False, so it never gets a gradient; create it "
                             "with requires_grad=True")
    return params


def _params_and_lr(owner: str, params, lr, default: float):
    """(params, lr) from the two positional forms ``Opt(params, lr)`` and ``Opt(lr)``.

    ``Opt(lr)`` is how the parameter-free optimizers were called before the parameter list
    came first; a number in the first place is taken as the learning rate, and then a second
    positional number is refused rather than guessed at.
    """
    if isinstance(params, numbers.Real) and not isinstance(params, bool):
        if lr is not None:
            raise TypeError(f"{owner}({params!r}, {lr!r}): the first argument is the parameter "
                            "list; pass the hyperparameters by name, e.g. "
                            f"{owner}(model.parameters(), lr={params!r})")
        return None, params
    return params, default if lr is None else lr


def _with_weight_decay(g: np.ndarray, theta: np.ndarray, weight_decay: float) -> np.ndarray:
    """g + λθ: the gradient of the L2 penalty (λ/2)‖θ‖² added, as PyTorch's ``weight_decay``
    (coupled to the gradient, not AdamW's decoupled decay). A new array: g may be a .grad."""
    return g + weight_decay * theta if weight_decay else g


class Optimizer:
    """Base: holds the parameters θ and updates them in place from their ``.grad``.

    A subclass writes its rule once, ``_update(k, theta, g, t)``, for one parameter k, or for
    all of θ as one vector (k = None), with its state from ``_buffer(name, k)``.

    Parameters
    ----------
    params : sequence of Tensor, optional
        The parameters θ to update, e.g. ``model.parameters()``; each needs
        ``requires_grad=True``. Without them, ``dp.fit`` (or ``setup``) binds them later.
    """

    lr: float

    # NOTE: one update costs about ten numpy calls a parameter; for a small network those
    # calls, not the arithmetic, are the time (6 parameters of breast_cancer's [30,16,8,1]:
    # 42 µs a step, against 15 µs for one update of θ as a single vector). Up to this many
    # entries, θ and ∇C are gathered into one vector, updated, and θ scattered back.
    FLAT_MAX = 1 << 15

    def __init__(self, params: Sequence[Tensor] | None = None) -> None:
        self.params: list[Tensor] = []
        self.t = 0  # number of steps taken
        self._steps: list[int] = []  # steps in which each parameter had a gradient
        self._bounds: list[tuple[int, int]] | None = None  # None: no parameters bound yet
        if params is not None:
            self.setup(params)

    def setup(self, params: Sequence[Tensor]) -> None:
        """Attach the parameters to update and reset the optimizer's state (``dp.fit``
        calls this with the model's parameters, also when some were given before)."""
        self.params = _parameter_list(params, type(self).__name__)
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
        if self._bounds is None:
            name = type(self).__name__
            raise RuntimeError(f"{name}.step() has no parameters to update; give them first, "
                               f"{name}(model.parameters(), lr=...), or let dp.fit bind them")
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
        """Forget every parameter's gradient (``.grad = None``) before the next backward."""
        for p in self.params:
            p.grad = None

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v}" for k, v in vars(self).items()
                           if not k.startswith("_") and k not in ("params", "t"))
        return f"{type(self).__name__}({fields})"


class GradientDescent(Optimizer):
    """θ⁽ᵗ⁺¹⁾ = θ⁽ᵗ⁾ - α ∇C(θ⁽ᵗ⁾), eq. (31), verbatim.

    Parameters
    ----------
    params : sequence of Tensor, optional
        θ, e.g. ``model.parameters()`` (see ``Optimizer``).
    lr : float, default 0.1
        α > 0, the learning rate.
    """

    def __init__(self, params: Sequence[Tensor] | None = None, lr: float | None = None):
        params, lr = _params_and_lr("GradientDescent", params, lr, 0.1)
        super().__init__(params)
        self.lr = _check("lr (the learning rate α)", lr, 0.0)

    def _update(self, k, theta, g, t):
        tmp = self._buffer("scratch", k)
        np.multiply(g, self.lr, out=tmp)  # in place: no temporary the size of θ per step
        theta -= tmp


class SGD(Optimizer):
    """Gradient descent with momentum μ (and Nesterov's look-ahead), as PyTorch's SGD.

    v ← μ v + ∇C(θ);  θ ← θ - α v   (Nesterov: θ ← θ - α (∇C(θ) + μ v)).
    With μ = 0 this is eq. (31); on mini-batches it is stochastic gradient descent.

    Parameters
    ----------
    params : sequence of Tensor, optional
        θ, e.g. ``model.parameters()`` (see ``Optimizer``).
    lr : float, default 0.01
        α > 0, the learning rate.
    momentum : float, default 0
        μ in [0, 1).
    nesterov : bool, default False
        Nesterov's look-ahead (needs μ > 0).
    weight_decay : float, default 0
        λ ≥ 0: ∇C(θ) + λθ is used for ∇C(θ), the L2 penalty (λ/2)‖θ‖², as in PyTorch.
    """

    def __init__(self, params: Sequence[Tensor] | None = None, lr: float | None = None,
                 momentum: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0):
        params, lr = _params_and_lr("SGD", params, lr, 0.01)
        super().__init__(params)
        self.lr = _check("lr (the learning rate α)", lr, 0.0)
        self.momentum = _check("momentum μ", momentum, 0.0, 1.0, low_open=False,
                               high_open=True)
        if nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0")
        self.nesterov = bool(nesterov)
        self.weight_decay = _check("weight_decay λ", weight_decay, 0.0, low_open=False)

    def _update(self, k, theta, g, t):
        g = _with_weight_decay(g, theta, self.weight_decay)
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

    Parameters
    ----------
    params : sequence of Tensor, optional
        θ, e.g. ``model.parameters()`` (see ``Optimizer``).
    lr : float, default 0.001
        α > 0, the learning rate.
    beta1, beta2 : float, default 0.9, 0.999
        β₁, β₂ in [0, 1), the decay rates of the moment estimates (PyTorch's ``betas``).
    eps : float, default 1e-8
        ε > 0, keeps the step finite where v̂ = 0.
    weight_decay : float, default 0
        λ ≥ 0: g = ∇C(θ) + λθ, the L2 penalty (λ/2)‖θ‖², as PyTorch's Adam (not AdamW).
    """

    def __init__(self, params: Sequence[Tensor] | None = None, lr: float | None = None,
                 beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 0.0):
        params, lr = _params_and_lr("Adam", params, lr, 1e-3)
        super().__init__(params)
        self.lr = _check("lr (the learning rate α)", lr, 0.0)
        self.beta1 = _check("beta1", beta1, 0.0, 1.0, low_open=False, high_open=True)
        self.beta2 = _check("beta2", beta2, 0.0, 1.0, low_open=False, high_open=True)
        self.eps = _check("eps", eps, 0.0)
        self.weight_decay = _check("weight_decay λ", weight_decay, 0.0, low_open=False)

    def _update(self, k, theta, g, t):
        g = _with_weight_decay(g, theta, self.weight_decay)
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

    Unlike the step-size optimizers it takes no parameter list: it needs the loss as a
    function of all of θ, which ``dp.fit`` builds (or call ``minimize`` yourself).
    """

    lr = float("nan")  # not a step size method; kept for messages

    def __init__(self, params=None, max_iter: int = 500, tol: float = 1e-6,
                 ftol: float = 64 * np.finfo(float).eps, history: int = 10):
        if params is not None:
            raise TypeError(
                f"LBFGS takes no parameter list (got {type(params).__name__} {params!r:.60}): "
                "it minimizes the whole loss at once and is run by dp.fit: "
                "dp.fit(model, X, y, optimizer=LBFGS(max_iter=...)); or call "
                "LBFGS().minimize(fn, theta0). Give its settings by name")
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


#: name → (class, default learning rate): the one table behind ``by_name``.
_BY_NAME = {"gd": (GradientDescent, 0.1), "sgd": (SGD, 0.05), "adam": (Adam, 0.001),
            "lbfgs": (LBFGS, None)}
NAMES = tuple(_BY_NAME)  # the optimizers' names, for choices in front ends


def by_name(name: str, lr: float | None = None, **kwargs) -> Optimizer:
    """The optimizer called ``name``: "gd" (eq. (31)), "sgd", "adam" or "lbfgs".

    ``lr`` defaults to 0.1 for gd, 0.05 for sgd and 0.001 for adam; L-BFGS takes none (it
    chooses its own steps). Other keyword arguments go to the optimizer's constructor.

    >>> by_name("sgd", momentum=0.9)
    SGD(lr=0.05, momentum=0.9, nesterov=False, weight_decay=0.0)
    >>> by_name("adam", 0.01).lr
    0.01
    """
    if not isinstance(name, str) or name not in _BY_NAME:
        raise ValueError(f"optimizer must be one of {NAMES}, got {name!r}")
    cls, default = _BY_NAME[name]
    if default is None:
        if lr is not None:
            raise ValueError(f"lr does not apply to {name!r}: L-BFGS chooses its own steps "
                             f"(a line search), got lr={lr!r}")
        return cls(**kwargs)
    return cls(lr=default if lr is None else lr, **kwargs)
