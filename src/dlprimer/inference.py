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

Units. A model fit on standardized features x̃_j = (x_j - m_j) / s_j (eq. (13)) has
z = b + Σ_j w_j x̃_j = (b - Σ_j w_j m_j / s_j) + Σ_j (w_j / s_j) x_j, so its parameters in
the units of the data are θ_raw = A θ, A = [[1, -m/s], [0, diag(1/s)]], with covariance
A I⁻¹ Aᵀ (for Model II, A acts on each class's contrast). This is exact: it is the
maximum-likelihood fit on the raw rows. ``scale="standardized"`` reports θ and I⁻¹ instead.

>>> import dlprimer as dp
>>> ds = dp.datasets.load("breast_cancer")
>>> X = ds.X[:, [0, 1, 4]]                   # mean radius, texture, smoothness
>>> m = dp.SigmoidModel(3, dtype=np.float64)
>>> _ = dp.fit(m, X, ds.y, optimizer=dp.optim.LBFGS(tol=1e-10), epochs=2000, progress=False,
...            standardize=True)
>>> s = summary(m, X, ds.y)                  # per unit of each feature, as in the data
>>> row = s.table[1]                         # w_1, the weight of x_1 = mean radius
>>> row["term"], round(row["estimate"], 3), round(row["std_err"], 3), round(row["odds_ratio"], 3)
('x1', -1.397, 0.154, 0.247)
>>> s_std = summary(m, X, ds.y, scale="standardized")  # per standard deviation
>>> round(s_std.table[1]["estimate"] / float(m.standardizer.scale_[0]), 3)
-1.397
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
from dlprimer.inference_checks import (  # noqa: F401 (MAX_CONDITION: re-exported)
    MAX_CONDITION,
    column_splits,
    describe_splits,
    invert_information,
)

__all__ = ["InferenceWarning", "Summary", "summary"]

#: A Newton step longer than this many standard errors means θ̂ is not the maximum.
MAX_NEWTON_STEP_SE = 0.01

#: The units a coefficient table can be in.
SCALES = ("original", "standardized")

_SCALE_NOTES = {
    "original": "coefficients are per unit of each feature as it appears in the data: a "
                "weight is the change in log-odds for a one-unit increase (for a one-hot "
                "column such as 'colour=red', the change from 0 to 1). The model was fit on "
                "the standardized features x̃ = (x - x̄)/s of eq. (13); its parameters are "
                "mapped back exactly (w_j / s_j, and b - Σ_j w_j x̄_j / s_j for the "
                "intercept), and the covariance with them (A I⁻¹ Aᵀ). scale='standardized' "
                "gives the table per standard deviation.",
    "standardized": "coefficients refer to the standardized features x̃ = (x - x̄)/s of "
                    "eq. (13): a weight is the change in log-odds per standard deviation of "
                    "its feature. scale='original' gives the table per unit of the data.",
}


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
    covariance : ndarray (d, d), the covariance of the estimates in the order of ``table``
        (NaN when singular), on the table's scale
    scale : "original" (per unit of each feature as in the data) or "standardized"
        (per standard deviation, eq. (13))
    converged : bool or None, whether the optimizer met its convergence test (None: unknown)
    """

    table: list[dict]
    model: str
    n: int
    log_likelihood: float
    confidence: float
    notes: list[str] = field(default_factory=list)
    covariance: np.ndarray | None = None
    scale: str = "original"
    converged: bool | None = None

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

    def _header(self) -> str:
        state = {None: "", True: "    converged", False: "    not converged"}[self.converged]
        return (f"n = {self.n}    log-likelihood = {self.log_likelihood:.4f}    "
                f"parameters = {len(self.table)}{state}")

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
        out = [self.model, "=" * line_width, self._header(), "=" * line_width]
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
        parts = [f"<p><b>{html.escape(self.model)}</b><br>"
                 f"{html.escape(', '.join(self._header().split('    ')))}</p>"]
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
            "confidence": self.confidence, "notes": list(self.notes), "scale": self.scale,
            "converged": self.converged,
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


def summary(model, X, y, confidence: float = 0.95, scale: str = "original") -> Summary:
    """Maximum-likelihood inference for a fitted Model I (``SigmoidModel``) or Model II
    (``SoftmaxModel``): estimate, standard error, z, p-value and confidence interval per
    coefficient, and odds ratios for Model I.

    Parameters
    ----------
    model : a fitted SigmoidModel or SoftmaxModel
        Its parameters should be the maximum-likelihood estimate: fit without an L2 penalty
        and to convergence (``dp.optim.LBFGS`` does both quickly), ideally in float64.
    X : array (n, p) or DataFrame
        The training rows, raw, as given to ``fit``; the model's preprocessing (its
        ``preprocessor`` or ``standardizer``) is applied.
    y : array (n,)
        The training labels, as given to ``fit``.
    confidence : float
        The level of the intervals (0.95 gives 95% intervals).
    scale : "original" or "standardized"
        "original": per unit of each feature as it appears in the data (θ_raw = A θ, with
        covariance A I⁻¹ Aᵀ; see the module's docstring). "standardized": per standard
        deviation, for the features x̃ = (x - x̄) / s of eq. (13) the model was fit on. The
        two agree for a model fit without standardization.

    Returns
    -------
    Summary

    Notes
    -----
    The standard errors come from the inverse of the Fisher information of the
    unpenalized log-likelihood at the model's parameters. For a model fit with an L2
    penalty (``l2 > 0``) those parameters are shrunk towards 0, not the maximum-likelihood
    estimate, and the intervals and p-values do not have their nominal meaning; an
    ``InferenceWarning`` says so when θ̂ is measurably away from the maximum, and when the
    model's ``converged_`` is False (the optimizer hit its iteration cap).

    When the classes are (quasi-)separated — the fitted model classifies every row
    correctly, one column alone splits a class from the others, or the information matrix
    is singular without the features being collinear — the maximum-likelihood estimate
    does not exist; an ``InferenceWarning`` names the columns that split two classes, and
    the standard errors, z, p-values and intervals are NaN rather than meaningless numbers.
    Collinear features (a singular information matrix with a singular design) are named
    the same way.
    """
    from dlprimer.models import SigmoidModel, SoftmaxModel

    if not isinstance(model, (SigmoidModel, SoftmaxModel)):
        raise TypeError(
            f"summary covers Model I (SigmoidModel) and Model II (SoftmaxModel), got "
            f"{type(model).__name__}; a network's parameters (Model III) are not identifiable "
            "and have no standard errors of this kind")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(map(repr, SCALES))}, got {scale!r}")
    X_raw, scaler, features = _design(model, X)
    if X_raw.shape[1] != model.n_features:
        raise ValueError(f"X has {X_raw.shape[1]} columns but the model has "
                         f"p={model.n_features} features; pass the rows it was fit on")
    if not np.all(np.isfinite(X_raw)):
        raise ValueError("X contains NaN or infinite values; pass the rows the model was fit on")
    X_std = X_raw if scaler is None else scaler.transform(X_raw).astype(np.float64)
    labels = _encode(model, y, len(X_raw))
    X1 = np.hstack([np.ones((len(X_std), 1)), X_std])  # X̃ = [1, x̃], (n, p+1)
    K = 2 if isinstance(model, SigmoidModel) else model.n_outputs
    classes = [str(c) for c in (model.classes_ if model.classes_ is not None else range(K))]

    if isinstance(model, SigmoidModel):
        theta = np.concatenate([[float(model.b0.data)], model.w.data.astype(np.float64)])
        info, score, log_lik, perfect = _model_one(X1, theta, labels)
        fitted_splits = ""
        terms = ["intercept"] + features
        symbols = ["b0"] + [f"w{j + 1}" for j in range(len(features))]
        rows = [{"term": t, "parameter": s} for t, s in zip(terms, symbols, strict=True)]
        title = "Model I: sigmoid (logistic regression), maximum-likelihood inference"
    else:
        theta_all = np.hstack([model.b.data[:, None], model.W.data]).astype(np.float64)
        info, score, log_lik, perfect, pairs = _model_two(X1, theta_all, labels)
        theta = (theta_all[1:] - theta_all[0]).ravel()  # contrasts with class 0, (K-1)(p+1)
        fitted_splits = "; ".join(f"class {classes[k]!r} is split from class "
                                  f"{classes[ell]!r}" for k, ell in pairs)
        rows = []
        for k in range(1, model.n_outputs):
            rows.append({"term": "intercept", "parameter": f"b{k + 1} - b1",
                         "class": classes[k], "reference": classes[0]})
            rows += [{"term": f, "parameter": f"W[{k + 1},{j + 1}] - W[1,{j + 1}]",
                      "class": classes[k], "reference": classes[0]}
                     for j, f in enumerate(features)]
        title = "Model II: softmax (multinomial logistic regression), maximum-likelihood inference"

    to_raw = scaler is not None and scale == "original"
    notes = []
    if scaler is not None:
        notes.append(_SCALE_NOTES[scale])
    if isinstance(model, SoftmaxModel):
        notes.append(f"class {classes[0]!r} is the reference: each coefficient is class k's "
                     f"parameter minus class {classes[0]!r}'s (the log-odds of k against "
                     f"{classes[0]!r}), as in statsmodels' MNLogit; the K full sets of the "
                     "softmax model are not identifiable.")
    if model.dtype != np.float64:
        notes.append("the model's parameters are float32; for inference fit it with "
                     "dtype=np.float64 so that θ̂ is the maximum to more digits.")
    problems = []
    splits, quasi = column_splits(X_raw, labels, K)
    named, remedy = describe_splits(X_raw, labels, splits, features, classes)
    cov, problem = invert_information(info, X1, ["intercept"] + features, perfect, quasi,
                                      fitted_splits, named, remedy)
    se = np.sqrt(np.diag(cov))
    if problem:
        problems.append(problem)
    else:
        newton = cov @ score  # the Newton step to the maximum, in the units of θ
        worst = int(np.argmax(np.abs(newton) / se))
        if abs(newton[worst]) / se[worst] > MAX_NEWTON_STEP_SE:
            problems.append(
                f"the parameters are not at the maximum of the likelihood: one Newton step "
                f"would move {rows[worst]['parameter']} ({rows[worst]['term']}) by "
                f"{abs(newton[worst]) / se[worst]:.2g} standard errors. Standard errors, "
                "p-values and intervals assume the maximum-likelihood estimate; fit without "
                "an L2 penalty and to convergence (optimizer=dp.optim.LBFGS(tol=1e-10)).")
    converged = getattr(model, "converged_", None)
    if converged is False:
        problems.append(
            "not converged: the optimizer hit its iteration cap before its convergence test "
            "was met, so θ̂ may not be the maximum-likelihood estimate and the standard "
            "errors, p-values and intervals may be off; fit with more epochs.")
    for message in problems:
        warnings.warn(message, InferenceWarning, stacklevel=_stacklevel())
        notes.append(message)

    if to_raw:
        A = np.kron(np.eye(K - 1), _unstandardize(scaler))  # one A per contrast
        theta, cov = A @ theta, A @ cov @ A.T  # θ_raw = A θ, Cov_raw = A I⁻¹ Aᵀ
        se = np.sqrt(np.diag(cov))
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
    return Summary(table=rows, model=title, n=len(X_raw), log_likelihood=log_lik,
                   confidence=confidence, notes=notes, covariance=cov, scale=scale,
                   converged=converged)


def _design(model, X) -> tuple[np.ndarray, object, list[str]]:
    """The rows in the units of the data, the standardizer between them and the model's
    input (or None), and the feature names: (X_raw float64 (n, p), scaler, names)."""
    preprocessor = getattr(model, "preprocessor", None)
    if preprocessor is not None:  # a table of raw columns: one-hot, imputed, dates as numbers
        X_raw = np.asarray(preprocessor.encode(X), dtype=np.float64)
        return X_raw, preprocessor.standardizer, [str(f) for f in preprocessor.feature_names_]
    X_raw, names = _data.as_matrix(X, "X")
    features = model.feature_names or names or [f"x{j + 1}" for j in range(X_raw.shape[1])]
    return X_raw.astype(np.float64), model.standardizer, list(features)


def _unstandardize(scaler) -> np.ndarray:
    """A with θ_raw = A θ for θ = (b, w) fit on x̃ = (x - m) / s: [[1, -m/s], [0, diag(1/s)]]."""
    m = np.asarray(scaler.mean_, dtype=np.float64)
    s = np.asarray(scaler.scale_, dtype=np.float64)
    A = np.zeros((m.size + 1, m.size + 1))
    A[0, 0], A[0, 1:] = 1.0, -m / s  # b_raw = b - Σ_j w_j m_j / s_j
    A[1:, 1:] = np.diag(1 / s)  # w_raw,j = w_j / s_j
    return A


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
