"""The losses C_Data(θ) of Sec. 4 and 8: mean squared error (20) and the cross-entropies,
fused with σ or softmax and computed from the logits, so they are stable (log-sum-exp, no
log(0)) and their gradient is the simple (ŷ - y) / n."""

from __future__ import annotations

import numpy as np

from dlprimer.engine.checks import values_of
from dlprimer.engine.tensor import Tensor

__all__ = ["mse_loss", "binary_cross_entropy_with_logits", "cross_entropy"]




def _targets(y, like: Tensor, name: str = "y") -> np.ndarray:
    target = np.asarray(values_of(y))
    if target.shape != like.shape:
        raise ValueError(f"{name} must have the shape of the model output {like.shape}, "
                         f"got {target.shape}")
    return target.astype(like.dtype, copy=False)


def _sample_count(t: Tensor, op: str) -> int:
    """n, the rows a mean loss divides by (a 0-D output is one sample); n = 0 refused."""
    n = t.shape[0] if t.ndim else 1
    if n == 0:
        raise ValueError(f"{op} is a mean over the samples and needs at least one, got an "
                         f"output of shape {t.shape}")
    return n


def mse_loss(y_hat: Tensor, y) -> Tensor:
    """Mean squared error (1/n) Σ_i ‖y⁽ⁱ⁾ - ŷ⁽ⁱ⁾‖², eq. (20); rows are samples.

    Note: PyTorch's ``MSELoss`` also averages over the outputs; for one output they agree.
    Gradient: 2 (ŷ - y) / n. Finite whenever the mean fits the dtype, even where the sum
    of squares would not (two errors of 1.5e154 in float64; of 2e19 in float32).

    >>> float(mse_loss(Tensor([[1.0], [3.0]]), [[0.0], [1.0]]).item())   # (1 + 4) / 2
    2.5
    """
    y = _targets(y, y_hat)
    n = _sample_count(y_hat, "mse_loss")
    with np.errstate(over="ignore"):  # |ŷ - y| beyond the dtype: the mean is too
        d = y_hat.data - y  # (n, q)
        inv_n = np.asarray(1.0 / n, dtype=d.dtype)
        out = (d * d).sum() * inv_n
        if not np.isfinite(out) and np.isfinite(d).all():
            # NOTE: the squares overflowed, not necessarily the mean: scale d by a power
            # of two 2^k (exact) so that max |d| < 1, then scale the mean back by 2^{2k}.
            k = int(np.frexp(np.max(np.abs(d)))[1])
            D = np.ldexp(d, -k)
            out = np.ldexp((D * D).sum() * inv_n, 2 * k).astype(d.dtype)

    def backward(g):
        return ((2 * (g * inv_n)) * d,)  # d/dŷ (1/n) Σ d² = 2 d / n

    return Tensor.from_op(np.asarray(out, dtype=d.dtype), (y_hat,), backward, "mse_loss")


_LARGEST = {np.dtype(t): float(np.finfo(t).max) for t in (np.float32, np.float64)}


def binary_cross_entropy_with_logits(z: Tensor, y) -> Tensor:
    """-(1/n) Σ_i [y_i log σ(z_i) + (1 - y_i) log(1 - σ(z_i))], from logits z.

    Computed as softplus(z) - y z with softplus(z) = max(z, 0) + log(1 + e^{-|z|}), which
    never overflows and never takes log(0). Gradient: (σ(z) - y) / n.

    >>> round(binary_cross_entropy_with_logits(Tensor([0.0]), [1.0]).item(), 4)   # log 2
    0.6931
    """
    y = _targets(y, z)
    x = z.data
    n = _sample_count(z, "binary_cross_entropy_with_logits")
    # NOTE: log1p(e^{-|z|}) is exact for large |z|, where log(1 + e^{-|z|}) rounds to 0.
    e = np.exp(-np.abs(x))  # ≤ 1: never overflows; reused by the gradient
    per_entry = np.maximum(x, 0) - y * x + np.log1p(e)  # in [0, |z| + log 2] for y in [0, 1]
    # NOTE: summed in float64, as the float32 sum of two losses of 3e38 overflows where
    # their mean does not; the mean is inf only when it exceeds the dtype itself.
    with np.errstate(over="ignore"):
        mean = float(per_entry.sum(dtype=np.float64)) / n  # ≥ 0
        if not np.isfinite(mean) and np.isfinite(per_entry).all():
            # NOTE: float64 logits: a sum of losses of 1e308 overflows; Σ (loss / n) is the
            # mean itself, and its partial sums (of terms ≥ 0) never exceed it.
            mean = float((per_entry / n).sum(dtype=np.float64))
    out = np.asarray(mean if mean <= _LARGEST[x.dtype] else np.inf, dtype=x.dtype)

    def backward(g):
        # σ(z) from the same e^{-|z|}: 1 / (1 + e) for z ≥ 0, e / (1 + e) for z < 0
        sigma = np.where(x >= 0, 1, e) / (1 + e)
        return (g * (sigma - y) / n,)

    return Tensor.from_op(out, (z,), backward, "binary_cross_entropy")


def cross_entropy(Z: Tensor, y) -> Tensor:
    """-(1/n) Σ_i log S_Softmax(z⁽ⁱ⁾)_{y_i} from logits Z (n, K), fused softmax + loss.

    ``y`` holds class indices 0..K-1 (n,) or one-hot rows (n, K). Computed with
    log-sum-exp; gradient (softmax(Z) - onehot(y)) / n.

    >>> round(cross_entropy(Tensor([[0.0, 0.0]]), [1]).item(), 4)                 # log 2
    0.6931

    Finite for any finite logits whose loss fits the dtype, even across float32's range:

    >>> z = Tensor(np.array([[3e38, -3e38], [0.0, 0.0]], dtype=np.float32))
    >>> round(cross_entropy(z, [0, 0]).item(), 4)              # (0 + log 2) / 2
    0.3466
    >>> round(cross_entropy(z, [1, 0]).item() / 3e38, 6)       # (6e38 + log 2) / 2
    1.0
    """
    x = Z.data
    if x.ndim != 2 or 0 in x.shape:
        raise ValueError(f"cross_entropy expects logits of shape (n, K) with n ≥ 1 samples and "
                         f"K ≥ 1 classes, got {x.shape}")
    n, K = x.shape
    target = np.asarray(values_of(y))
    if target.shape == (n,):
        if target.dtype.kind not in "iu" or (n and (target.min() < 0 or target.max() >= K)):
            raise ValueError(f"class indices must be integers in 0..{K - 1}, got "
                             f"{target[:5].tolist()}...")
        rows, Y = np.arange(n), None  # the one-hot matrix is never built: pick entries
    elif target.shape == (n, K):
        Y = target.astype(x.dtype, copy=False)
    else:
        raise ValueError(f"y must be class indices ({n},) or one-hot rows ({n}, {K}), "
                         f"got shape {target.shape}")
    # NOTE: log-sum-exp with the max subtracted: log Σ e^{z_k} = m + log Σ e^{z_k - m}.
    m = x.max(axis=1, keepdims=True)  # (n, 1)
    with np.errstate(over="ignore"):  # z - m < -max(dtype) becomes -inf, and e^{-inf} = 0
        exp = np.exp(x - m)  # e^{z_k - m} ≤ 1
    sum_exp = exp.sum(axis=1, keepdims=True)
    log_sum = np.log(sum_exp)  # (n, 1), in [0, log K]: the largest term is e^0 = 1
    # NOTE: the loss forms z_k - m again, in float64: in float32 it overflows to -inf for
    # logits spread beyond float32's range (3e38 and -3e38), which would make the loss inf
    # (or 0·inf = NaN) where it is finite. Every float32 gap fits in float64, so the loss
    # is inf only when the mean itself exceeds the dtype (one sample with loss 6e38 in
    # float32), or, for float64 logits, when one sample's loss exceeds float64's range.
    with np.errstate(over="ignore"):
        if Y is None:  # -log p_{y_i} = log Σ e^{z_k - m} - (z_{y_i} - m)
            gap = x[rows, target].astype(np.float64) - m[:, 0]
            total = (log_sum[:, 0] - gap).sum()
        else:  # -Σ_k y_k log p_k, with log p_k = (z_k - m) - log Σ e^{z_k - m}
            log_p = (x.astype(np.float64, copy=False) - m) - log_sum
            terms = np.multiply(Y, log_p, out=np.zeros_like(log_p), where=Y != 0)  # 0·-inf: 0
            total = -terms.sum()
        mean = total / n
        if not np.isfinite(mean) and np.isfinite(x).all():
            mean = _mean_of_terms_over_n(x, m, log_sum, target if Y is None else Y, n)
        out = np.asarray(mean, dtype=x.dtype)

    def backward(g):
        p = exp / sum_exp  # softmax(Z), (n, K)
        if Y is None:
            p[rows, target] -= 1
        else:
            p -= Y
        p *= g / n
        return (p,)

    return Tensor.from_op(out, (Z,), backward, "cross_entropy")


def _mean_of_terms_over_n(x: np.ndarray, m: np.ndarray, log_sum: np.ndarray, y: np.ndarray,
                          n: int) -> float:
    """The cross-entropy mean as Σ_i (loss_i / n), each term divided by n before the sum.

    NOTE: only float64 logits need it: z_y - m overflows for z of ±1e308 (and so does a
    sum of losses of 1e308) where the mean is finite. Every term here is at most a few
    times max |z| / n, and the partial sums of losses (≥ 0) never exceed the mean, so the
    result is inf only when the mean itself is beyond float64 (n = 1 and a loss of 2e308).
    """
    x, m, log_sum = x / n, m / n, log_sum / n  # (n, K), (n, 1), (n, 1)
    if y.ndim == 1:  # class indices: log Σ e^{z - m} - (z_y - m), over n
        return float((log_sum[:, 0] - (x[np.arange(len(y)), y] - m[:, 0])).sum())
    log_p = (x - m) - log_sum  # log p_k / n
    return float(-np.multiply(y, log_p, out=np.zeros_like(log_p), where=y != 0).sum())
