"""Plain-language convergence diagnostics of a training run (``History.diagnose``).

``diagnose(history)`` reads the loss curves of a ``dp.fit`` run the way a practitioner
would (is the loss still falling? did validation loss turn up? does the loss oscillate?)
and says what it sees, with the numbers behind it.

>>> from dlprimer.training import History
>>> h = History(loss=[1.0 / (t + 1) for t in range(50)])
>>> print(diagnose(h)[0])    # doctest: +NORMALIZE_WHITESPACE
The training loss is still falling: it dropped by 10% over the last 5 epochs (epoch 45:
0.02222 → epoch 50: 0.02), so more epochs would likely lower it further.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["diagnose"]

#: A relative drop of the training loss over the last 10% of epochs above this is "still
#: falling".
STILL_FALLING = 0.01
#: Validation loss this far (relative) above its minimum at the end is "overfitting".
OVERFIT_RISE = 0.05
#: Share of sign changes among successive loss differences above this is "oscillating".
OSCILLATION_SHARE = 0.3


def diagnose(history) -> list[str]:
    """Convergence diagnostics of a training run, one plain sentence each, with numbers.

    Looks at three things:

    - whether the training loss is still falling: its relative change over the last 10% of
      the epochs (at least 2);
    - whether validation loss rose from its minimum (overfitting): the epoch of the
      minimum and how far the last value lies above it;
    - whether the loss oscillates (a learning rate α too high): how often successive
      differences C_{t+1} - C_t change sign.

    Parameters
    ----------
    history : dp.History

    Returns
    -------
    list of str
    """
    loss = np.asarray(history.loss, dtype=float)
    n = len(loss)
    if n == 0:
        return ["No epochs were recorded: train the model with dp.fit first."]
    notes = []
    finite = np.isfinite(loss)
    if not finite.all():
        first = int(np.flatnonzero(~finite)[0]) + 1
        notes.append(f"The training loss became {loss[first - 1]} at epoch {first}: training "
                     "diverged; lower the learning rate α (for example by 10×) or "
                     "standardize the inputs.")
        loss = loss[:first - 1]
        n = len(loss)
    if n < 3:
        notes.append(f"Only {n} epoch(s) with a finite loss: too few to judge convergence.")
        return notes
    notes.append(_trend(loss))
    if history.val_loss:
        notes.append(_overfitting(np.asarray(history.val_loss, dtype=float), loss))
    notes.append(_oscillation(loss))
    if history.stop_reason:
        notes.append(f"Training stopped after {len(history.loss)} epochs: "
                     f"{history.stop_reason}.")
    return notes


def _trend(loss: np.ndarray) -> str:
    n = len(loss)
    window = max(2, math.ceil(0.1 * n))
    start = n - 1 - window  # compare epoch n - window with epoch n
    before, after = loss[start], loss[-1]
    change = (before - after) / abs(before) if before != 0 else 0.0
    where = (f"over the last {window} epochs (epoch {start + 1}: {before:.4g} → epoch {n}: "
             f"{after:.4g})")
    if change > STILL_FALLING:
        return (f"The training loss is still falling: it dropped by {100 * change:.2g}% "
                f"{where}, so more epochs would likely lower it further.")
    if change < -STILL_FALLING:
        return (f"The training loss rose by {100 * -change:.2g}% {where}: the last steps made "
                "it worse; the learning rate α may be too high.")
    return (f"The training loss has levelled off: it changed by {100 * abs(change):.2g}% "
            f"{where}, below the {100 * STILL_FALLING:g}% taken as still falling.")


def _overfitting(val: np.ndarray, loss: np.ndarray) -> str:
    finite = np.isfinite(val)
    if not finite.any():
        return "The validation loss is not finite at any epoch."
    best = int(np.nanargmin(np.where(finite, val, np.nan)))
    low, last = val[best], val[finite][-1]
    rise = (last - low) / abs(low) if low != 0 else math.inf * (last > low)
    epochs = len(val)
    if rise > OVERFIT_RISE and best < epochs - 1:
        return (f"Overfitting: the validation loss reached its minimum {low:.4g} at epoch "
                f"{best + 1} and then rose by {100 * rise:.3g}% to {last:.4g} at epoch {epochs}, "
                f"while the training loss went on from {loss[min(best, len(loss) - 1)]:.4g} to "
                f"{loss[-1]:.4g}. Stop near epoch {best + 1} (early_stopping=...), or "
                "regularize (l2=...) or simplify the model.")
    if best == epochs - 1:
        return (f"No sign of overfitting: the validation loss is lowest at the last epoch "
                f"({low:.4g} at epoch {epochs}).")
    return (f"No sign of overfitting: the last validation loss {last:.4g} is within "
            f"{100 * max(rise, 0):.2g}% of its minimum {low:.4g} (epoch {best + 1} of "
            f"{epochs}); {100 * OVERFIT_RISE:g}% above it would count as overfitting.")


def _oscillation(loss: np.ndarray) -> str:
    steps = np.diff(loss)
    signs = np.sign(steps[steps != 0])
    flips = int(np.sum(signs[1:] != signs[:-1]))
    possible = max(len(signs) - 1, 1)
    share = flips / possible
    rises = steps[steps > 0]
    worst = float(np.max(rises / np.abs(loss[:-1][steps > 0]))) if rises.size else 0.0
    if share > OSCILLATION_SHARE and flips >= 3:
        return (f"The training loss oscillates: successive differences change sign {flips} "
                f"times in {len(steps)} steps ({100 * share:.0f}%), and it rose in "
                f"{rises.size} epochs, by up to {100 * worst:.3g}%. The learning rate α is "
                "likely too high (the steps overshoot the minimum, as in Figure 4 with a "
                "large α); try α / 10, or mini-batch noise may be the cause.")
    return (f"The training loss does not oscillate: successive differences change sign "
            f"{flips} times in {len(steps)} steps ({100 * share:.0f}%; above "
            f"{100 * OSCILLATION_SHARE:.0f}% would suggest too high a learning rate).")


# --- the report -------------------------------------------------------------------------
