"""The argument types of the command line: each turns one option's text into a value or
raises ArgumentTypeError with a message that says what was expected."""

from __future__ import annotations

import argparse

import numpy as np

__all__ = ["LIMIT", "finite", "hidden_widths", "learning_rate", "non_negative",
           "penalty", "positive", "share"]

#: The largest learning rate and L2 penalty taken: beyond it the first step overflows.
LIMIT = 1e6


def hidden_widths(text: str) -> list[int]:
    """Hidden layer widths, comma-separated: "16,8" → [16, 8]; "", "none" or "0" → []."""
    if text.strip() in ("", "none", "0"):
        return []
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--hidden takes widths separated by commas, like 16,8; got {text!r}") from None
    if any(n < 1 for n in sizes):
        raise argparse.ArgumentTypeError(f"hidden widths must be positive, got {text!r}")
    return sizes


# NOTE: the argument types raise ArgumentTypeError with their own message: on a plain
# ValueError argparse would print "invalid positive value", naming the function.
def share(text: str) -> float:
    """A fraction in [0, 1): 0 means none."""
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1) (0 for none), got {text!r}")
    return value


def _integer(text: str, low: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < low:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
    return value


def positive(text: str) -> int:
    return _integer(text, 1, "a positive integer")


def non_negative(text: str) -> int:
    return _integer(text, 0, "an integer >= 0")


def finite(text: str) -> float:
    """A finite number; NaN, ±inf and numbers beyond the float range are refused by name."""
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not np.isfinite(value):
        why = ""
        if value is not None and np.isnan(value):
            why = " (not a number)"
        elif value is not None and "inf" not in text.lower():
            why = " (beyond the float range, about ±1.8e308)"
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}{why}")
    return value


def learning_rate(text: str) -> float:
    """The step size α: a finite number in (0, LIMIT]."""
    value = finite(text)
    if not 0 < value <= LIMIT:
        raise argparse.ArgumentTypeError(f"must be a positive number at most 1e6 (a "
                                         f"step size such as 0.01), got {text!r}")
    return value


def penalty(text: str) -> float:
    """A penalty weight: a finite number in [0, LIMIT]."""
    value = finite(text)
    if not 0 <= value <= LIMIT:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1e6] (0 for none, "
                                         f"such as 1e-3), got {text!r}")
    return value
