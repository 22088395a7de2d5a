"""When the covariance of Models I and II cannot be computed: separation and collinearity.

``dlprimer.inference`` inverts the Fisher information I(θ̂). That inverse is meaningless
in two cases, and this module says which one holds and what to do:

- (quasi-)separation: some hyperplane splits the classes (all rows correctly classified,
  ties allowed for "quasi"), so the likelihood keeps growing as the weights grow and the
  maximum-likelihood estimate does not exist. The simplest case is one column alone: every
  value in one class at most every value in the other, max_{class a} x_j ≤ min_{class b} x_j.
- collinear features: the design X̃ = [1, X] itself is (nearly) singular.

>>> X = np.array([[0.0, 1.0], [1.0, 3.0], [2.0, 2.0], [3.0, 5.0]])
>>> column_splits(X, np.array([0, 0, 1, 1]), K=2)   # column 0 splits: 0, 1 | 2, 3
([(0, 0, 1)], True)
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["ADVICE", "MAX_CONDITION", "column_splits", "describe_splits", "invert_information"]

#: Above this condition number (of the information matrix scaled to unit diagonal) the
#: inverse is numerically meaningless: standard errors are reported as NaN.
MAX_CONDITION = 1e10

#: What to do about separation; {remedy} names the columns to remove where they are known.
ADVICE = ("Fit with an L2 penalty (l2=0.01 in Python, --l2 0.01 on the command line) for "
          "predictions without p-values, or {remedy}.")


def _splits(X: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Columns whose values alone split rows a from rows b (ties allowed), (p,) bool: the
    largest in one group is at most the smallest in the other, and the column is not
    constant on a ∪ b (a constant column is collinear with the intercept instead)."""
    Xa, Xb = X[a], X[b]
    a_below = (Xa.max(axis=0) <= Xb.min(axis=0)) & (Xa.min(axis=0) < Xb.max(axis=0))
    b_below = (Xb.max(axis=0) <= Xa.min(axis=0)) & (Xb.min(axis=0) < Xa.max(axis=0))
    return a_below | b_below


def column_splits(X: np.ndarray, labels: np.ndarray, K: int
                  ) -> tuple[list[tuple[int, int, int]], bool]:
    """(j, k, ℓ) for each column j of X (n, p) whose values alone split classes k < ℓ, and
    whether some column splits one class from all the others.

    The second is a proof that no maximum-likelihood estimate exists: with c a value between
    the two groups, adding t (x_j - c) to that class's logit raises every row's likelihood
    (or leaves it, at x_j = c) for all t > 0. A split of two classes among three or more is
    not, since it moves the rows of the others too; it names a culprit once separation is
    found some other way."""
    present = [k for k in range(K) if np.any(labels == k)]
    pairs = [(int(j), k, ell) for k in present for ell in present if k < ell
             for j in np.flatnonzero(_splits(X, labels == k, labels == ell))]
    proof = any(_splits(X, labels == k, labels != k).any() for k in present
                if len(present) > 1)
    return pairs, proof


def describe_splits(X, labels, pairs, features, classes) -> tuple[str, str]:
    """A sentence naming the columns of ``column_splits`` with their ranges, and the
    remedy for ``ADVICE``; ("", a general remedy) when no single column splits."""
    splits: dict[str, list[str]] = {}  # column → the class pairs it splits
    for j, k, ell in pairs:
        xk, xl = X[labels == k, j], X[labels == ell, j]
        (lo, lo_x), (hi, hi_x) = ((k, xk), (ell, xl)) if xk.max() <= xl.min() else \
            ((ell, xl), (k, xk))
        splits.setdefault(features[j], []).append(
            f"class {classes[lo]!r} (all ≤ {lo_x.max():.4g}) from class {classes[hi]!r} "
            f"(all ≥ {hi_x.min():.4g})")
    sentences = [f"the column {name!r} alone splits {' and '.join(found)}"
                 for name, found in splits.items()]
    columns = list(splits)
    if not columns:
        return "", "use fewer features or more data"
    which = "the column" if len(columns) == 1 else "the columns"
    return "; ".join(sentences), f"remove {which} {', '.join(map(repr, columns))}"


def invert_information(info, X1, design_names, perfect: bool, quasi: bool,
                       fitted_splits: str = "", named: str = "",
                       remedy: str = "use fewer features or more data"):
    """I⁻¹ through its unit-diagonal scaling, or NaN and the reason it cannot be trusted.

    perfect: the fitted model classifies every row correctly; quasi: ``column_splits``
    proved that no maximum-likelihood estimate exists; fitted_splits: the class pairs the
    fitted logits split; named, remedy: from ``describe_splits``."""
    d = info.shape[0]
    nan = np.full((d, d), np.nan)
    advice = ADVICE.format(remedy=remedy)
    unbounded = ("The maximum-likelihood estimate does not exist (the likelihood keeps "
                 "growing as the weights grow), and standard errors are undefined; they are "
                 "reported as NaN. ")
    if perfect:
        found = f" ({named})" if named else ""
        return nan, ("perfect separation: the fitted model classifies every training row "
                     "correctly, so the classes can be split by a hyperplane in feature "
                     f"space{found}. " + unbounded + advice)
    if quasi:
        return nan, f"quasi-separation: {named}. " + unbounded + advice
    diag = np.diag(info)
    if np.all(diag > 0) and np.all(np.isfinite(info)):
        # Scaling to unit diagonal (a correlation-like matrix) makes the condition number
        # measure collinearity, not the units of the features.
        s = 1 / np.sqrt(diag)
        scaled = info * s[:, None] * s[None, :]
        condition = float(np.linalg.cond(scaled))
        if condition <= MAX_CONDITION:
            try:
                cov = np.linalg.inv(scaled) * s[:, None] * s[None, :]  # I⁻¹ = S C⁻¹ S
            except np.linalg.LinAlgError:
                cov = None
            if cov is not None and np.all(np.diag(cov) > 0):
                return cov, None
    else:
        condition = math.inf
    return nan, _why_singular(condition, X1, design_names,
                              "; ".join(filter(None, [fitted_splits, named])), advice)


def _why_singular(condition, X1, design_names, separated, advice) -> str:
    """Collinear features (the design itself is singular) or separation (it is not)."""
    head = (f"the Fisher information matrix is singular or nearly so (condition number "
            f"{condition:.3g} > {MAX_CONDITION:.0e}), so its inverse, and the standard errors, "
            "cannot be computed reliably; they are reported as NaN. ")
    scaled = X1 / np.maximum(np.linalg.norm(X1, axis=0), 1e-300)
    _, sv, Vt = np.linalg.svd(scaled, full_matrices=False)
    if sv[-1] <= sv[0] / math.sqrt(MAX_CONDITION) or X1.shape[0] < X1.shape[1]:
        loading = np.abs(Vt[-1])
        suspects = [design_names[j] for j in np.argsort(-loading) if loading[j] > 0.2]
        return head + (
            f"Cause: collinear features: {', '.join(repr(s) for s in suspects)} are (nearly) "
            "linear combinations of each other (a constant column is collinear with the "
            "intercept). Drop all but one of them, or combine them.")
    separated = f" ({separated})" if separated else ""
    return head + (
        "Cause: (quasi-)perfect separation: the features are not collinear, so some "
        "classes are (almost) perfectly split by a hyperplane and the estimates grow "
        f"without bound{separated}. " + advice)
