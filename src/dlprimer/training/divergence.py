"""When training diverges: which part of C(θ) = C_Data(θ) + (l2 / 2) Σ ‖W‖² overflowed,
and the one sentence that says so.

The loops check the loss before every step and θ (with the layers' buffers) after the
last one; on a non-finite value they put the last finite parameters back and raise
``DivergenceError`` with the sentence of ``cause``. The learning rate α is blamed only
when the steps blew up: a loss that is already inf at θ⁽⁰⁾, before any step, or a
penalty l2 · Σ ‖W‖² beyond the dtype, is named as such.
"""

from __future__ import annotations

import numpy as np

from dlprimer.engine.validate import range_text
from dlprimer.nn.module import Module
from dlprimer.optim import SGD, GradientDescent, Optimizer
from dlprimer.training.targets import weights

__all__ = ["DivergenceError", "cause", "first_non_finite", "state_arrays"]


class DivergenceError(FloatingPointError):
    """The loss or the parameters became NaN or infinite; the model keeps its last
    finite parameters."""


def state_arrays(model: Module) -> list[np.ndarray]:
    """θ and the layers' float buffers (BatchNorm's running statistics), the arrays a
    divergence check reads and a checkpoint copies, in a fixed order."""
    buffers = [b for _, b in model.named_buffers()
               if isinstance(b, np.ndarray) and b.dtype.kind == "f"]
    return [p.data for p in model.parameters()] + buffers


def first_non_finite(model: Module) -> str | None:
    """The name of the first parameter or buffer holding NaN or inf, or None."""
    named = [(name, p.data) for name, p in model.named_parameters()] + list(
        model.named_buffers())
    for name, array in named:
        if isinstance(array, np.ndarray) and array.dtype.kind == "f" \
                and not np.isfinite(array).all():
            return name
    return None


def _penalty(model: Module, l2: float) -> tuple[float, float, bool]:
    """(Σ ‖W‖², (l2 / 2) Σ ‖W‖², whether the penalty fits the model's dtype), in float64.

    The loss computes the penalty in the model's dtype, with l2 / 2 cast to it: in
    float32, l2 = 1e308 is inf before it multiplies anything (and inf · 0 is NaN).
    """
    with np.errstate(over="ignore", invalid="ignore"):
        square_sum = float(sum(np.sum(np.square(p.data, dtype=np.float64))
                               for p in weights(model)))
        penalty = 0.5 * l2 * square_sum
    largest = float(np.finfo(model.dtype).max)
    fits = 0.5 * l2 <= largest and np.isfinite(penalty) and penalty <= largest
    return square_sum, penalty, bool(fits)


def cause(model: Module, optimizer: Optimizer, l2: float, steps_taken: int,
          what: str) -> str:
    """The sentence of a DivergenceError: ``what`` became non-finite (e.g. "the loss
    became inf at epoch 3 (step 12)"), after ``steps_taken`` optimizer steps, and why.

    Read at the non-finite θ, before the last finite parameters are put back.
    """
    dtype = model.dtype
    square_sum, penalty, fits = _penalty(model, l2)
    broken = first_non_finite(model)
    theta_finite = broken is None
    at_start = steps_taken == 0
    if at_start and not theta_finite:
        return (f"{what}: the model's {broken} held NaN or inf before training began; "
                "build the model again (or set_theta with finite values)")
    largest = float(np.finfo(dtype).max)
    if 0.5 * l2 > largest:
        return (f"{what}: l2 = {l2:g} is beyond what {dtype.name} holds ({range_text(dtype)}); "
                f"the L2 penalty (l2 / 2) Σ ‖W‖² is computed in {dtype.name}, where l2 / 2 "
                "becomes inf (and inf · 0 is NaN). The penalty overflowed, not the steps: "
                "lower l2 (values from 1e-4 to 1 are usual)")
    if at_start and l2 > 0 and theta_finite and not fits:
        return (f"{what}: the L2 penalty (l2 / 2) Σ ‖W‖² = {penalty:.3g} (l2 = {l2:g}, "
                f"Σ ‖W‖² = {square_sum:.3g}) is beyond what {dtype.name} holds "
                f"({range_text(dtype)}) at the initial parameters θ⁽⁰⁾, before any step. The "
                "penalty overflowed, not the steps: lower l2 (values from 1e-4 to 1 are usual)")
    if at_start:
        return (f"{what} at the initial parameters θ⁽⁰⁾, before any step, so not because of "
                "the learning rate: the inputs overflow inside the model "
                f"({dtype.name} holds {range_text(dtype)}); standardize them "
                "(standardize=True), rescale them, or use a float64 model (dtype=np.float64)")
    lr = float(getattr(optimizer, "lr", np.nan))
    if not np.isfinite(lr):  # L-BFGS: no step size to blame
        return (f"{what}: L-BFGS's line search reached parameters where the loss overflows "
                f"{dtype.name}; standardize the inputs (standardize=True), add a small L2 "
                "penalty (l2=1e-4), or use a step-size optimizer")
    if l2 > 0 and isinstance(optimizer, (GradientDescent, SGD)) and lr * l2 >= 2:
        return (f"{what}: with learning rate α = {lr:g} and l2 = {l2:g}, each step scales the "
                f"weights by (1 - α·l2) = {1 - lr * l2:.3g}, whose size is at least 1, so the "
                f"penalty alone makes the steps grow. Lower l2 below 2/α = {2 / lr:.3g}, or the "
                "learning rate")
    grew = ""
    if l2 > 0 and theta_finite and not fits:  # the penalty overflowed as the weights grew
        grew = (f": the L2 penalty (l2 / 2) Σ ‖W‖² overflowed as the steps made the weights "
                f"grow (Σ ‖W‖² = {square_sum:.3g}, l2 = {l2:g})")
    return (f"{what}{grew} with learning rate α = {lr:g}: the steps are too large. Lower the "
            f"learning rate (try α = {lr / 10:g}) or standardize the inputs (standardize=True)")
