"""The primer's Figure 4: gradient descent, eq. (31), on a loss curve or surface, each
gradient from the engine's ``backward()``. Re-exported by :mod:`dlprimer.report.plots`.

>>> fig, thetas = descent_path(lambda t: (t - 3) ** 2, theta0=0.0, lr=0.25, steps=3)
>>> thetas                               # θ ← θ - α·2(θ - 3): 0 → 1.5 → 2.25 → 2.625
array([0.   , 1.5  , 2.25 , 2.625])
"""

from __future__ import annotations

import numpy as np

from dlprimer.engine.tensor import Tensor, no_grad
from dlprimer.report.figures import GREY, RED, finish_figure, new_figure

__all__ = ["descent_path"]


def _loss_value(loss_fn, theta: np.ndarray) -> float:
    with no_grad(), np.errstate(over="ignore", invalid="ignore"):
        C = loss_fn(Tensor(theta, dtype=np.float64))
    return float(np.asarray(getattr(C, "data", C)))


def _descend(loss_fn, theta0: np.ndarray, lr: float, steps: int):
    """Iterates θ⁽⁰⁾…θ⁽ᵗ⁾ of eq. (31), the gradient from the engine's backward."""
    thetas, losses = [theta0.copy()], []
    theta = theta0.copy()
    for t in range(steps + 1):
        x = Tensor(theta, requires_grad=True, dtype=np.float64)
        with np.errstate(over="ignore", invalid="ignore"):  # reported just below
            C = loss_fn(x)
        if not isinstance(C, Tensor) or C.size != 1:
            raise TypeError("loss_fn must map the Tensor θ to a scalar Tensor C(θ), built from "
                            "Tensor operations so that backward() can compute ∇C(θ); got "
                            f"{type(C).__name__}" + (f" of shape {C.shape}"
                                                     if isinstance(C, Tensor) else ""))
        losses.append(float(C.data))
        if not np.isfinite(losses[-1]):
            from dlprimer.training import DivergenceError

            raise DivergenceError(
                f"C(θ) became {losses[-1]} at step {t} with α = {lr:g}: the iterates diverge; "
                f"use a smaller learning rate (try α = {lr / 10:g})")
        if t == steps:
            break
        with np.errstate(over="ignore", invalid="ignore"):
            C.backward()
        theta = theta - lr * x.grad  # eq. (31): θ⁽ᵗ⁺¹⁾ = θ⁽ᵗ⁾ - α ∇C(θ⁽ᵗ⁾)
        thetas.append(theta.copy())
    return np.array(thetas), np.array(losses)


def _span(values: np.ndarray, pad: float = 0.35) -> tuple[float, float]:
    lo, hi = float(values.min()), float(values.max())
    width = max(hi - lo, 1e-3 * max(abs(lo), abs(hi)), 0.5)
    return lo - pad * width, hi + pad * width


def descent_path(loss_fn, theta0, lr: float, steps: int, path=None, bounds=None,
                 grid: int = 60):
    """Gradient descent on a loss landscape, the primer's Figure 4.

    Runs θ⁽ᵗ⁺¹⁾ = θ⁽ᵗ⁾ - α ∇C(θ⁽ᵗ⁾), eq. (31), from θ⁽⁰⁾ = ``theta0`` for ``steps``
    steps, each gradient computed by ``backward()``, and draws the iterates on the curve
    C(θ) (a scalar θ, Figure 4 (a)) or on the contours of the surface C(θ₁, θ₂) (two
    entries, Figure 4 (b)).

    Parameters
    ----------
    loss_fn : callable
        Maps a Tensor θ (a scalar, or a vector of 2 entries) to a scalar Tensor C(θ).
    theta0 : float or array of 2 floats
    lr : float, α > 0
    steps : int
    path : str or Path, optional; where to write the PNG
    bounds : (lo, hi), or ((lo₁, hi₁), (lo₂, hi₂)), optional; the plotted range
    grid : int; points per axis of the drawn landscape

    Returns
    -------
    (Figure, iterates): iterates is (steps+1,) for a scalar θ, else (steps+1, 2).
    """
    theta0 = np.asarray(theta0, dtype=np.float64)
    if theta0.size not in (1, 2) or theta0.ndim > 1:
        raise ValueError(f"theta0 must be a scalar (a loss curve) or 2 numbers (a loss "
                         f"surface), got shape {theta0.shape}; higher dimensions cannot be "
                         "drawn")
    if not lr > 0:
        raise ValueError(f"the learning rate α must be > 0, got {lr}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    thetas, losses = _descend(loss_fn, theta0, lr, int(steps))
    if theta0.ndim == 0:
        fig = _curve(loss_fn, thetas, losses, lr, bounds, max(grid, 200))
    else:
        fig = _surface(loss_fn, thetas, losses, lr, bounds, grid)
    return finish_figure(fig, path), thetas


def _labelled(t: int, steps: int) -> bool:
    """Label θ⁽⁰⁾, θ⁽¹⁾, θ⁽²⁾ and the last iterate; later ones crowd near θ*."""
    return t < 3 or t == steps


def _curve(loss_fn, thetas, losses, lr, bounds, grid):
    lo, hi = bounds if bounds is not None else _span(thetas)
    axis = np.linspace(lo, hi, grid)
    curve = np.ma.masked_invalid([_loss_value(loss_fn, np.asarray(v)) for v in axis])
    fig = new_figure(6.0, 4.2)
    ax = fig.subplots()
    ax.plot(axis, curve, color="black", linewidth=1.5, label=r"$C(\theta)$")
    ax.plot(thetas, losses, color=RED, linestyle="--", linewidth=0.9)
    ax.scatter(thetas, losses, color=RED, zorder=3, s=22,
               label=rf"$\theta^{{(t)}}$, $\alpha$ = {lr:g}")
    steps = len(thetas) - 1
    for t, (theta, C) in enumerate(zip(thetas, losses, strict=True)):
        if _labelled(t, steps):
            below = t == steps and steps >= 3  # keep the last label clear of θ⁽²⁾
            ax.annotate(rf"$\theta^{{({t})}}$", (theta, C), textcoords="offset points",
                        xytext=(4, -14 if below else 6), fontsize="small", color=RED)
    best = axis[np.argmin(curve)]
    ax.axvline(best, color=GREY, linestyle=":", linewidth=1)
    ax.text(best, 0.98, r" $\theta^*$", transform=ax.get_xaxis_transform(), ha="left",
            va="top", fontsize="small", color=GREY)
    ax.set_xlim(lo, hi)
    ax.set_xlabel(r"$\theta$")
    ax.set_ylabel(r"$C(\theta)$")
    ax.set_title(f"Gradient descent, eq. (31): {steps} steps")
    ax.legend(fontsize="small")
    return fig


def _surface(loss_fn, thetas, losses, lr, bounds, grid):
    if bounds is None:
        bounds = (_span(thetas[:, 0]), _span(thetas[:, 1]))
    (lo1, hi1), (lo2, hi2) = bounds
    a1, a2 = np.linspace(lo1, hi1, grid), np.linspace(lo2, hi2, grid)
    T1, T2 = np.meshgrid(a1, a2)
    C = np.array([_loss_value(loss_fn, np.array([u, v]))
                  for u, v in zip(T1.ravel(), T2.ravel(), strict=True)]).reshape(T1.shape)
    C = np.ma.masked_invalid(C)  # a landscape may overflow far from the path
    fig = new_figure(6.2, 5.0)
    ax = fig.subplots()
    filled = ax.contourf(T1, T2, C, levels=25, cmap="viridis", alpha=0.85)
    ax.contour(T1, T2, C, levels=12, colors="white", linewidths=0.5, alpha=0.6)
    fig.colorbar(filled, ax=ax, label=r"$C(\theta_1, \theta_2)$")
    ax.plot(thetas[:, 0], thetas[:, 1], color=RED, linewidth=1.2, marker="o", markersize=4,
            label=rf"$\theta^{{(t)}}$, $\alpha$ = {lr:g}")
    steps = len(thetas) - 1
    for t, theta in enumerate(thetas):
        if _labelled(t, steps):
            ax.annotate(rf"$\theta^{{({t})}}$", theta, textcoords="offset points",
                        xytext=(5, 5), fontsize="small", color="white")
    best = np.unravel_index(np.argmin(C), C.shape)
    ax.scatter([T1[best]], [T2[best]], marker="*", s=120, color="white", edgecolor="black",
               zorder=3, label=r"$\theta^*$ (lowest on the grid)")
    ax.set_xlabel(r"$\theta_1$")
    ax.set_ylabel(r"$\theta_2$")
    ax.set_title(f"Gradient descent, eq. (31): {steps} steps, "
                 rf"$C(\theta^{{({steps})}})$ = {losses[-1]:.4g}")
    ax.legend(fontsize="small", loc="upper right")
    return fig
