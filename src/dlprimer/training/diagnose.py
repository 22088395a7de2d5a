"""Plain-language convergence diagnostics of a training run (``History.diagnose``).

``diagnose(history)`` reads the loss curves of a ``dp.fit`` run the way a practitioner
would (did the loss diverge? did validation loss turn up? does the loss oscillate? is it
still falling?) and says what it sees, with the numbers behind it and the setting to change,
named for where the user is: Python arguments (``audience="python"``) or CLI flags
(``audience="cli"``).

>>> from dlprimer.training import History
>>> h = History(loss=[1.0 / (t + 1) for t in range(50)])
>>> print(diagnose(h)[0])    # doctest: +NORMALIZE_WHITESPACE
The training loss is still falling: it dropped by 10% over the last 5 epochs (epoch 45:
0.02222 → epoch 50: 0.02), so more epochs would likely lower it further (epochs=100).
>>> print(diagnose(h, audience="cli")[0].split("so ")[-1])
more epochs would likely lower it further (--epochs 100).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["AUDIENCES", "diagnose"]

#: A relative drop of the training loss over the last 10% of epochs above this is "still
#: falling".
STILL_FALLING = 0.01
#: Validation loss this far (relative) above its minimum at the end is "overfitting".
OVERFIT_RISE = 0.05
#: Share of sign changes among successive loss differences above this is "oscillating".
OSCILLATION_SHARE = 0.3
#: Feature scales (standard deviations) further apart than this call for standardization.
SCALE_RATIO = 1000.0

#: How each setting is named where the user is. The CLI always standardizes (no entry).
AUDIENCES = {
    "python": {"lr": "lr=... in the optimizer, e.g. dp.optim.Adam(lr=1e-4)",
               "epochs": "epochs={}", "early_stopping": "early_stopping={}", "l2": "l2={}",
               "batch_size": "batch_size={}", "standardize": "standardize=True"},
    "cli": {"lr": "--lr", "epochs": "--epochs {}", "early_stopping": "--early-stopping {}",
            "l2": "--l2 {}", "batch_size": "--batch-size {}", "standardize": None},
}


def diagnose(history, audience: str = "python") -> list[str]:
    """Convergence diagnostics of a training run, one plain sentence each, with numbers.

    Looks at:

    - whether the loss became infinite or NaN (divergence);
    - whether validation loss rose from its minimum (overfitting): the epoch of the
      minimum and how far the last value lies above it;
    - whether the loss oscillates (a learning rate α too high): how often successive
      differences C_{t+1} - C_t change sign;
    - whether the features' scales differ by more than ``SCALE_RATIO``× in a fit without
      standardization (eq. (13) would fix the conditioning);
    - whether the training loss is still falling: its relative change over the last 10% of
      the epochs (at least 2).

    The most important finding comes first, in that order, and the advice never contradicts
    itself: "more epochs" is advised only when the loss is still falling and nothing else
    (divergence, overfitting, oscillation, early stopping, a stalled validation loss) says
    that more epochs would not help. Findings of no problem follow, then why training
    stopped.

    Parameters
    ----------
    history : dp.History
    audience : "python" or "cli"
        Names the settings to change as Python arguments (``epochs=``, ``lr=`` in the
        optimizer, ``early_stopping=``, ``l2=``, ``standardize=True``) or as the CLI's
        flags (``--epochs``, ``--lr``, ``--early-stopping``, ``--l2``; the CLI always
        standardizes, so it is never advised there).

    Returns
    -------
    list of str
    """
    if audience not in AUDIENCES:
        raise ValueError(f'audience must be "python" or "cli", got {audience!r}')
    knobs = AUDIENCES[audience]
    loss = np.asarray(history.loss, dtype=float)
    n = len(loss)
    if n == 0:
        return ["No epochs were recorded: train the model with dp.fit first."]
    scale = _scale(getattr(history, "feature_scale_ratio", None), knobs)
    finite = np.isfinite(loss)
    if not finite.all():  # nothing else is worth saying about a run that diverged
        first = int(np.flatnonzero(~finite)[0]) + 1
        notes = [f"The training loss became {loss[first - 1]} at epoch {first}: training "
                 f"diverged; lower the learning rate α ({knobs['lr']}), for example by 10×."]
        return notes + scale + _stopped(history)
    if n < 3:
        return [f"Only {n} epoch(s) with a finite loss: too few to judge convergence.", *scale]

    val = np.asarray(history.val_loss, dtype=float) if history.val_loss else None
    overfit = _overfitting(val, loss, history.best_epoch, knobs) if val is not None else None
    wobble = _oscillation(loss, knobs)
    problems, fine = [], []
    if overfit is not None:
        (problems if overfit[0] else fine).append(overfit[1])
    (problems if wobble[0] else fine).append(wobble[1])
    blocker = _blocker(overfit, wobble[0], val, history.best_epoch)
    return problems + scale + [_trend(loss, blocker, wobble[0], knobs)] + fine + _stopped(history)


def _scale(ratio, knobs) -> list[str]:
    if ratio is None or not ratio > SCALE_RATIO or knobs["standardize"] is None:
        return []
    return [f"The features' scales differ by a factor of {ratio:,.0f} (largest standard "
            "deviation over smallest) and the model was fit without standardization: "
            "gradient descent then creeps along the small-scale directions. Standardize the "
            f"inputs ({knobs['standardize']}, eq. (13))."]


def _stopped(history) -> list[str]:
    if not history.stop_reason:
        return []
    return [f"Training stopped after {len(history.loss)} epochs: {history.stop_reason}."]


def _blocker(overfit, oscillates: bool, val, best_epoch) -> str | None:
    """Why more epochs would not help, if anything says so (most important first)."""
    if overfit is not None and overfit[0] == "overfit":
        return ("; with the validation loss rising, that fall is fitting the training rows, "
                "not new ones")
    if overfit is not None and overfit[0]:
        return "; but the validation loss is not finite: check the validation rows first"
    if best_epoch is not None:
        return (f"; early stopping ended the run because the monitored loss stopped "
                f"improving after epoch {best_epoch}")
    if oscillates:
        return (" on average, swinging up and down (above): lower the learning rate first, "
                "then judge how far it has to go")
    if val is not None and np.isfinite(val).any():
        best = int(np.nanargmin(np.where(np.isfinite(val), val, np.nan)))
        if best < len(val) - 1:
            return (f"; but the validation loss has been no lower since epoch {best + 1}, so "
                    "further training would mostly fit the training rows")
    return None


def _trend(loss: np.ndarray, blocker: str | None, oscillates: bool, knobs) -> str:
    n = len(loss)
    window = max(2, math.ceil(0.1 * n))
    start = n - 1 - window  # compare epoch n - window with epoch n
    before, after = loss[start], loss[-1]
    change = (before - after) / abs(before) if before != 0 else 0.0
    where = (f"over the last {window} epochs (epoch {start + 1}: {before:.4g} → epoch {n}: "
             f"{after:.4g})")
    if change > STILL_FALLING:
        head = f"The training loss is still falling: it dropped by {100 * change:.2g}% {where}"
        if blocker is not None:
            return head + blocker + "."
        more = knobs["epochs"].format(2 * n)
        return head + f", so more epochs would likely lower it further ({more})."
    if change < -STILL_FALLING:
        head = (f"The training loss rose by {100 * -change:.2g}% {where}: the last steps made "
                "it worse")
        if oscillates:  # the oscillation sentence already names the learning rate
            return head + "."
        return head + f"; the learning rate α may be too high ({knobs['lr']})."
    return (f"The training loss has levelled off: it changed by {100 * abs(change):.2g}% "
            f"{where}, below the {100 * STILL_FALLING:g}% taken as still falling.")


def _overfitting(val: np.ndarray, loss: np.ndarray, best_epoch, knobs) -> tuple[str, str]:
    """("overfit", sentence), ("not finite", sentence), or ("", a no-problem sentence)."""
    finite = np.isfinite(val)
    if not finite.any():
        return "not finite", "The validation loss is not finite at any epoch."
    best = int(np.nanargmin(np.where(finite, val, np.nan)))
    low, last = val[best], val[finite][-1]
    rise = (last - low) / abs(low) if low != 0 else math.inf * (last > low)
    epochs = len(val)
    if rise > OVERFIT_RISE and best < epochs - 1:
        l2 = knobs["l2"].format("1e-3")
        if best_epoch is not None:
            advice = (f"Early stopping already ended the run and restored the parameters of "
                      f"epoch {best_epoch}, its best; to lower the validation minimum itself, "
                      f"regularize ({l2}) or simplify the model.")
        else:
            patience = max(3, math.ceil(0.1 * epochs))
            advice = (f"Stop near epoch {best + 1} "
                      f"({knobs['early_stopping'].format(patience)}), or regularize ({l2}) "
                      "or simplify the model.")
        return "overfit", (f"Overfitting: the validation loss reached its minimum {low:.4g} at "
                      f"epoch {best + 1} and then rose by {100 * rise:.3g}% to {last:.4g} at "
                      f"epoch {epochs}, while the training loss went on from "
                      f"{loss[min(best, len(loss) - 1)]:.4g} to {loss[-1]:.4g}. {advice}")
    if best == epochs - 1:
        return "", (f"No sign of overfitting: the validation loss is lowest at the last "
                       f"epoch ({low:.4g} at epoch {epochs}).")
    return "", (f"No sign of overfitting: the last validation loss {last:.4g} is within "
                   f"{100 * max(rise, 0):.2g}% of its minimum {low:.4g} (epoch {best + 1} of "
                   f"{epochs}); {100 * OVERFIT_RISE:g}% above it would count as overfitting.")


def _oscillation(loss: np.ndarray, knobs) -> tuple[bool, str]:
    steps = np.diff(loss)
    signs = np.sign(steps[steps != 0])
    flips = int(np.sum(signs[1:] != signs[:-1]))
    possible = max(len(signs) - 1, 1)
    share = flips / possible
    rises = steps[steps > 0]
    worst = float(np.max(rises / np.abs(loss[:-1][steps > 0]))) if rises.size else 0.0
    if share > OSCILLATION_SHARE and flips >= 3:
        return True, (
            f"The training loss oscillates: successive differences change sign {flips} "
            f"times in {len(steps)} steps ({100 * share:.0f}%), and it rose in {rises.size} "
            f"epochs, by up to {100 * worst:.3g}%. The learning rate α is likely too high "
            "(the steps overshoot the minimum, as in Figure 4 with a large α); try α / 10 "
            f"({knobs['lr']}), or, if mini-batch noise is the cause, larger batches "
            f"({knobs['batch_size'].format('...')}).")
    return False, (
        f"The training loss does not oscillate: successive differences change sign {flips} "
        f"times in {len(steps)} steps ({100 * share:.0f}%; above "
        f"{100 * OSCILLATION_SHARE:.0f}% would suggest too high a learning rate).")
