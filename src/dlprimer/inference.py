"""Statistical inference for Models I and II: standard errors, z, p-values, intervals.

Model I is logistic regression and Model II multinomial logistic regression (Sec. 2), so
a fitted model's coefficients carry the usual maximum-likelihood inference. For
θ̂ the maximum-likelihood estimate, the covariance of θ̂ is approximately the inverse of
the Fisher information I(θ̂) (the matrix inverse of Sec. 7):

    Model I    I = X̃ᵀ diag(ŷ_i (1 - ŷ_i)) X̃,   X̃ = [1, X] ∈ R^{n×(p+1)}
    Model II   I_{(k,j),(l,m)} = Σ_i (ŷ_ik δ_kl - ŷ_ik ŷ_il) x̃_ij x̃_im,   k, l = 1..K-1

(for these canonical links the observed and the expected information coincide). Then
SE_j = sqrt([I⁻¹]_jj), z_j = θ̂_j / SE_j, the two-sided p-value 2 Φ(-|z_j|) and the 95%
interval θ̂_j ± 1.96 SE_j. For Model I, exp(θ̂_j) is the odds ratio of a one-unit increase
in feature j.

Model II's reference class. ``SoftmaxModel`` holds K full sets of parameters (b_k, w_k),
but adding one vector to every class leaves all probabilities (4) unchanged, so they are
not identifiable and have no standard errors. As statsmodels' ``MNLogit`` does, the
summary reports the identifiable contrasts with the first class (the reference):
b_k - b_0 and w_k - w_0 for k = 1..K-1, the log-odds of class k against class 0.

>>> import dlprimer as dp
>>> ds = dp.datasets.load("breast_cancer")
>>> X = ds.X[:, [0, 1, 4]]                   # mean radius, texture, smoothness
>>> m = dp.SigmoidModel(3, dtype=np.float64)
>>> _ = dp.fit(m, X, ds.y, optimizer=dp.optim.LBFGS(tol=1e-10), epochs=2000, progress=False)
>>> s = summary(m, X, ds.y)
>>> row = s.table[1]                         # w_1, the weight of x_1 = mean radius
>>> row["term"], round(row["estimate"], 3), round(row["std_err"], 3), round(row["odds_ratio"], 3)
('x1', -1.397, 0.154, 0.247)
"""

from __future__ import annotations

import html
import math
import textwrap
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtr, ndtri

from dlprimer.data import tables as _data
from dlprimer.engine.numerics import stable_sigmoid

__all__ = ["InferenceWarning", "Summary", "summary"]

#: Above this condition number (of the information matrix scaled to unit diagonal) the
#: inverse is numerically meaningless: standard errors are reported as NaN.
MAX_CONDITION = 1e10

#: A Newton step longer than this many standard errors means θ̂ is not the maximum.
MAX_NEWTON_STEP_SE = 0.01


class InferenceWarning(UserWarning):
    """The standard errors cannot be trusted (singular information, θ̂ not the maximum)."""


@dataclass
class Summary:
    """The coefficient table of a fitted Model I or II.

    Attributes
    ----------
    table : list of dict
        One row per coefficient: ``term`` (the feature, or "intercept"), ``parameter``
        (the primer's symbol), ``class`` and ``reference`` (Model II), ``estimate``,
        ``std_err``, ``z``, ``p_value``, ``ci_lower``, ``ci_upper``; for Model I also
        ``odds_ratio``, ``odds_ratio_ci_lower``, ``odds_ratio_ci_upper``.
    model : str
    n : int, the number of rows
    log_likelihood : float, at θ̂
    confidence : float, the interval's level
    notes : list of str, what the numbers refer to and any problem found
    covariance : ndarray (d, d), I⁻¹ in the order of ``table`` (NaN when singular)
    """

    table: list[dict]
    model: str
    n: int
    log_likelihood: float
    confidence: float
    notes: list[str] = field(default_factory=list)
    covariance: np.ndarray | None = None

    _COLUMNS = (("estimate", "coef"), ("std_err", "std err"), ("z", "z"),
                ("p_value", "P>|z|"), ("ci_lower", "[{lo}"), ("ci_upper", "{hi}]"))
    _ODDS = (("odds_ratio", "odds ratio"), ("odds_ratio_ci_lower", "[{lo}"),
             ("odds_ratio_ci_upper", "{hi}]"))

    def _columns(self) -> list[tuple[str, str]]:
        lo, hi = f"{(1 - self.confidence) / 2:.3g}", f"{(1 + self.confidence) / 2:.3g}"
        cols = list(self._COLUMNS)
        if self.table and "odds_ratio" in self.table[0]:
            cols += self._ODDS
        return [(key, head.format(lo=lo, hi=hi)) for key, head in cols]

    def _groups(self) -> list[tuple[str | None, list[dict]]]:
        """Rows grouped by class (Model II) or one group (Model I)."""
        groups: dict = {}
        for row in self.table:
            key = None if "class" not in row else f"class {row['class']} vs {row['reference']}"
            groups.setdefault(key, []).append(row)
        return list(groups.items())

    def to_text(self) -> str:
        """An aligned table, in the layout of statsmodels' ``summary()``."""
        cols = self._columns()
        names = [_short(row["term"]) for row in self.table] + ["intercept"]
        name_width = max(len(n) for n in names)
        cells = [[_fmt(row[key], key) for key, _ in cols] for row in self.table]
        widths = [max([len(head)] + [len(c[i]) for c in cells]) for i, (_, head) in
                  enumerate(cols)]
        line_width = name_width + sum(w + 2 for w in widths)
        header = " " * name_width + "".join(f"  {h:>{w}}" for (_, h), w in
                                            zip(cols, widths, strict=True))
        out = [self.model, "=" * line_width,
               f"n = {self.n}    log-likelihood = {self.log_likelihood:.4f}    "
               f"parameters = {len(self.table)}"]
        out.append("=" * line_width)
        row_index = 0
        for group, rows in self._groups():
            if group is not None:
                out.append(group)
            out += [header, "-" * line_width]
            for row in rows:
                out.append(f"{_short(row['term']):<{name_width}}" + "".join(
                    f"  {c:>{w}}" for c, w in zip(cells[row_index], widths, strict=True)))
                row_index += 1
            out.append("=" * line_width)
        for note in self.notes:
            out += textwrap.wrap(f"Note: {note}", width=max(line_width, 72),
                                 subsequent_indent="      ")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        cols = self._columns()
        parts = [f"<p><b>{html.escape(self.model)}</b><br>n = {self.n}, log-likelihood = "
                 f"{self.log_likelihood:.4f}, parameters = {len(self.table)}</p>"]
        for group, rows in self._groups():
            if group is not None:
                parts.append(f"<p><i>{html.escape(group)}</i></p>")
            head = "".join(f"<th>{html.escape(h)}</th>" for _, h in cols)
            body = "".join(
                f"<tr><th style='text-align:left'>{html.escape(row['term'])}</th>"
                + "".join(f"<td>{html.escape(_fmt(row[k], k))}</td>" for k, _ in cols)
                + "</tr>" for row in rows)
            parts.append(f"<table><thead><tr><th></th>{head}</tr></thead>"
                         f"<tbody>{body}</tbody></table>")
        parts += [f"<p>Note: {html.escape(note)}</p>" for note in self.notes]
        return "\n".join(parts)

    def to_dict(self) -> dict:
        """Plain Python types only (floats, strings, lists), e.g. for ``json.dumps``."""
        return {
            "model": self.model, "n": self.n, "log_likelihood": float(self.log_likelihood),
            "confidence": self.confidence, "notes": list(self.notes),
            "coefficients": [{k: (float(v) if isinstance(v, (float, np.floating)) else v)
                              for k, v in row.items()} for row in self.table],
        }


def _short(name: str, width: int = 28) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def _fmt(value, key: str) -> str:
    if isinstance(value, str):
        return value
    if not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if key == "p_value":
        return "<0.0001" if value < 1e-4 else f"{value:.4f}"
    if value != 0 and not 1e-3 <= abs(value) < 1e6:
        return f"{value:.3e}"
    return f"{value:.4f}"


def summary(model, X, y, confidence: float = 0.95) -> Summary:
    """Maximum-likelihood inference for a fitted Model I (``SigmoidModel``) or Model II
    (``SoftmaxModel``): estimate, standard error, z, p-value and confidence interval per
    coefficient, and odds ratios for Model I.

    Parameters
    ----------
    model : a fitted SigmoidModel or SoftmaxModel
        Its parameters should be the maximum-likelihood estimate: fit without an L2 penalty
        and to convergence (``dp.optim.LBFGS`` does both quickly), ideally in float64.
    X : array (n, p) or DataFrame
        The training rows, raw; the model's standardizer, if it has one, is applied, and the
        coefficients then refer to the standardized features x̃ = (x - x̄) / s of eq. (13).
    y : array (n,)
        The training labels, as given to ``fit``.
    confidence : float
        The level of the intervals (0.95 gives 95% intervals).

    Returns
    -------
    Summary

    Notes
    -----
    The standard errors come from the inverse of the Fisher information of the
    unpenalized log-likelihood at the model's parameters. For a model fit with an L2
    penalty (``l2 > 0``) those parameters are shrunk towards 0, not the maximum-likelihood
    estimate, and the intervals and p-values do not have their nominal meaning; an
    ``InferenceWarning`` says so when θ̂ is measurably away from the maximum.

    When the information matrix is singular or nearly so (condition number above 1e10
    after scaling it to unit diagonal) — the classes are perfectly separated, or features
    are collinear — an ``InferenceWarning`` explains which, and the standard errors, z,
    p-values and intervals are NaN rather than meaningless numbers.
    """
    from dlprimer.models import SigmoidModel, SoftmaxModel

    if not isinstance(model, (SigmoidModel, SoftmaxModel)):
        raise TypeError(
            f"summary covers Model I (SigmoidModel) and Model II (SoftmaxModel), got "
            f"{type(model).__name__}; a network's parameters (Model III) are not identifiable "
            "and have no standard errors of this kind")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    X, names = _data.as_matrix(X, "X")
    X = X.astype(np.float64)
    if X.shape[1] != model.n_features:
        raise ValueError(f"X has {X.shape[1]} columns but the model has p={model.n_features} "
                         "features; pass the rows it was fit on")
    if not np.all(np.isfinite(X)):
        raise ValueError("X contains NaN or infinite values; pass the rows the model was fit on")
    standardized = model.standardizer is not None
    if standardized:
        X = model.standardizer.transform(X).astype(np.float64)
    labels = _encode(model, y, len(X))
    features = list(model.feature_names or names or [f"x{j + 1}" for j in range(X.shape[1])])
    X1 = np.hstack([np.ones((len(X), 1)), X])  # X̃ = [1, X], (n, p+1)

    if isinstance(model, SigmoidModel):
        theta = np.concatenate([[float(model.b0.data)], model.w.data.astype(np.float64)])
        info, score, log_lik, perfect = _model_one(X1, theta, labels)
        separated = ""
        terms = ["intercept"] + features
        symbols = ["b0"] + [f"w{j + 1}" for j in range(len(features))]
        rows = [{"term": t, "parameter": s} for t, s in zip(terms, symbols, strict=True)]
        title = "Model I: sigmoid (logistic regression), maximum-likelihood inference"
    else:
        theta_all = np.hstack([model.b.data[:, None], model.W.data]).astype(np.float64)
        info, score, log_lik, perfect, pairs = _model_two(X1, theta_all, labels)
        theta = (theta_all[1:] - theta_all[0]).ravel()  # contrasts with class 0, (K-1)(p+1)
        classes = [str(c) for c in (model.classes_ if model.classes_ is not None
                                    else range(model.n_outputs))]
        separated = "; ".join(f"class {classes[k]!r} is split from class {classes[ell]!r}"
                              for k, ell in pairs)
        separated = f" ({separated})" if separated else ""
        rows = []
        for k in range(1, model.n_outputs):
            rows.append({"term": "intercept", "parameter": f"b{k + 1} - b1",
                         "class": classes[k], "reference": classes[0]})
            rows += [{"term": f, "parameter": f"W[{k + 1},{j + 1}] - W[1,{j + 1}]",
                      "class": classes[k], "reference": classes[0]}
                     for j, f in enumerate(features)]
        title = "Model II: softmax (multinomial logistic regression), maximum-likelihood inference"

    notes = []
    if standardized:
        notes.append("coefficients refer to the standardized features x̃ = (x - x̄)/s of "
                      "eq. (13): a weight is the change in log-odds per standard deviation "
                      "of its feature.")
    if isinstance(model, SoftmaxModel):
        notes.append(f"class {classes[0]!r} is the reference: each coefficient is class k's "
                     f"parameter minus class {classes[0]!r}'s (the log-odds of k against "
                     f"{classes[0]!r}), as in statsmodels' MNLogit; the K full sets of the "
                     "softmax model are not identifiable.")
    if model.dtype != np.float64:
        notes.append("the model's parameters are float32; for inference fit it with "
                     "dtype=np.float64 so that θ̂ is the maximum to more digits.")

    cov, problem = _invert(info, X1, ["intercept"] + features, perfect, separated)
    if problem:
        warnings.warn(problem, InferenceWarning, stacklevel=_stacklevel())
        notes.append(problem)
    se = np.sqrt(np.diag(cov))
    if not problem:
        newton = cov @ score  # the Newton step to the maximum, in the units of θ
        worst = int(np.argmax(np.abs(newton) / se))
        if abs(newton[worst]) / se[worst] > MAX_NEWTON_STEP_SE:
            message = (
                f"the parameters are not at the maximum of the likelihood: one Newton step "
                f"would move {rows[worst]['parameter']} ({rows[worst]['term']}) by "
                f"{abs(newton[worst]) / se[worst]:.2g} standard errors. Standard errors, "
                "p-values and intervals assume the maximum-likelihood estimate; fit without "
                "an L2 penalty and to convergence (optimizer=dp.optim.LBFGS(tol=1e-10)).")
            warnings.warn(message, InferenceWarning, stacklevel=_stacklevel())
            notes.append(message)

    z = theta / se
    q = float(ndtri(0.5 + confidence / 2))  # 1.959964 for 95%
    p_values = 2 * ndtr(-np.abs(z))
    for j, row in enumerate(rows):
        row.update(estimate=float(theta[j]), std_err=float(se[j]), z=float(z[j]),
                   p_value=float(p_values[j]), ci_lower=float(theta[j] - q * se[j]),
                   ci_upper=float(theta[j] + q * se[j]))
        if isinstance(model, SigmoidModel):
            with np.errstate(over="ignore"):
                row.update(odds_ratio=float(np.exp(theta[j])),
                           odds_ratio_ci_lower=float(np.exp(row["ci_lower"])),
                           odds_ratio_ci_upper=float(np.exp(row["ci_upper"])))
    return Summary(table=rows, model=title, n=len(X), log_likelihood=log_lik,
                   confidence=confidence, notes=notes, covariance=cov)


def _stacklevel() -> int:
    """Point warnings at the caller of ``summary`` (or of ``Model.summary``)."""
    import inspect

    frame, level = inspect.currentframe(), 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("dlprimer."):
        frame, level = frame.f_back, level + 1
    return level - 1


def _encode(model, y, n: int) -> np.ndarray:
    """Labels → class indices 0..K-1 in the order of the model's outputs."""
    y = _data.label_vector(y)
    if len(y) != n:
        raise ValueError(f"X has {n} rows but y has {len(y)} labels; give one label per row")
    K = 2 if model.output == "sigmoid" else model.n_outputs
    classes = model.classes_ if model.classes_ is not None else np.arange(K)
    return _data.index_labels(y, classes)


def _model_one(X1, theta, labels):
    """Model I: Fisher information X̃ᵀ diag(ŷ(1-ŷ)) X̃, score X̃ᵀ(y - ŷ), log-likelihood."""
    z = X1 @ theta
    # NOTE: ŷ(1-ŷ) computed as e^{-|z|} / (1 + e^{-|z|})² keeps its digits for large |z|,
    # where 1 - ŷ would round to 0.
    e = np.exp(-np.abs(z))
    v = e / (1 + e) ** 2
    y_hat = stable_sigmoid(z)
    info = X1.T @ (v[:, None] * X1)
    score = X1.T @ (labels - y_hat)
    log_lik = -float(np.sum(np.logaddexp(0, -(2 * labels - 1) * z)))  # Σ log σ(±z)
    perfect = bool(np.all((z > 0) == (labels == 1)))
    return info, score, log_lik, perfect


def _model_two(X1, theta_all, labels):
    """Model II with class 0 as reference: the information of the K-1 contrasts."""
    n, d = X1.shape
    K = theta_all.shape[0]
    Z = X1 @ theta_all.T  # (n, K)
    Z = Z - Z.max(axis=1, keepdims=True)  # NOTE: max-subtraction keeps exp from overflowing
    log_P = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    P = np.exp(log_P)
    A = P[:, 1:]  # (n, K-1): ŷ_ik for the non-reference classes
    M = (A[:, :, None] * X1[:, None, :]).reshape(n, (K - 1) * d)  # ŷ_ik x̃_i, (n, (K-1)d)
    info = -M.T @ M
    for k in range(K - 1):  # + the block diagonal X̃ᵀ diag(ŷ_k) X̃
        block = slice(k * d, (k + 1) * d)
        info[block, block] += X1.T @ (A[:, k, None] * X1)
    Y = np.eye(K)[labels]
    score = ((Y - P)[:, 1:, None] * X1[:, None, :]).sum(axis=0).ravel()  # X̃ᵀ(y_k - ŷ_k)
    log_lik = float(log_P[np.arange(n), labels].sum())
    perfect = bool(np.all(Z.argmax(axis=1) == labels))
    pairs = []  # class pairs (k, l) whose rows the fitted z_k - z_l splits perfectly
    for k in range(K):
        for ell in range(k + 1, K):
            rows_k, rows_l = labels == k, labels == ell
            if rows_k.any() and rows_l.any():
                margin = Z[:, k] - Z[:, ell]
                if margin[rows_k].min() > 0 > margin[rows_l].max():
                    pairs.append((k, ell))
    return info, score, log_lik, perfect, pairs


def _invert(info, X1, design_names, perfect, separated=""):
    """I⁻¹ through its unit-diagonal scaling, or NaN and the reason it cannot be trusted."""
    d = info.shape[0]
    nan = np.full((d, d), np.nan)
    if perfect:
        return nan, (
            "perfect separation: the fitted model classifies every training row correctly, "
            "so the classes can be split by a hyperplane in feature space. The maximum-"
            "likelihood estimate does not exist (the likelihood keeps growing as the weights "
            "grow), and standard errors are undefined; they are reported as NaN. Use fewer "
            "features, more data, or an L2 penalty for prediction (without p-values).")
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
    return nan, _why_singular(condition, X1, design_names, separated)


def _why_singular(condition, X1, design_names, separated) -> str:
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
    return head + (
        "Cause: (quasi-)perfect separation: the features are not collinear, so some "
        "classes are (almost) perfectly split by a hyperplane and the estimates grow "
        f"without bound{separated}. Use fewer features or more data; an L2 penalty gives "
        "finite weights for prediction, but not p-values.")
