"""Differentiable functions of the primer, on numpy arrays or Tensors.

Given a Tensor they return a Tensor (so gradients flow); given an array or a list
they return a numpy array. Activations: sigmoid (1), softmax (4), ReLU and tanh (Sec. 9).

>>> softmax([0.03, -1.91, 1.56, 0.34]).round(3)   # the z of Sec. 5, giving ŷ of (14)
array([0.14 , 0.02 , 0.648, 0.191])
"""

from __future__ import annotations

import numpy as np

from dlprimer.engine.checks import as_float_array, values_of
from dlprimer.engine.numerics import minus_max, stable_sigmoid, stable_softmax
from dlprimer.engine.tensor import Tensor

__all__ = [
    "sigmoid", "softmax", "log_softmax", "relu", "tanh",
    "affine", "mse_loss", "binary_cross_entropy_with_logits", "cross_entropy",
]


def _plain(z) -> np.ndarray:
    """An array-like input as a float array (float32 stays float32, the rest float64)."""
    if isinstance(z, np.ndarray) and z.dtype == np.float32:
        return z
    return as_float_array(z, "z")


def sigmoid(z):
    """σ_Sig(z) = 1 / (1 + e^{-z}), eq. (1), element-wise; never overflows.

    >>> sigmoid(0.0)                 # σ(0) = 1/2, as the primer notes
    0.5
    >>> sigmoid(np.array([-1000.0, 1000.0]))
    array([0., 1.])
    """
    if isinstance(z, Tensor):
        return z.sigmoid()
    out = stable_sigmoid(_plain(z))
    return float(out) if out.ndim == 0 else out


def softmax(z, axis: int = -1):
    """S_Softmax(z) = e^{z} / Σ_i e^{z_i}, eq. (4), over the last axis by default.

    With the z of Sec. 5 the exponentials are (1.030, 0.148, 4.759, 1.405) and
    1 / Σ e^{z_i} = 0.1362 (the primer prints 4.807 and 0.1353, slips of rounding), so

    >>> softmax([0.03, -1.91, 1.56, 0.34]).round(4)
    array([0.1403, 0.0202, 0.6481, 0.1913])
    >>> softmax([1000.0, -1000.0])   # max subtraction: no overflow
    array([1., 0.])

    An empty axis raises a ValueError, as ``scipy.special.softmax`` does (numpy's message
    would be about a "zero-size array"); an empty batch, shape (0, K), gives (0, K).
    """
    if isinstance(z, Tensor):
        return z.softmax(axis=axis)
    z = _plain(z)
    if z.ndim == 0:
        raise ValueError("softmax needs a vector (or a batch of them), got a scalar")
    return stable_softmax(z, axis)


def log_softmax(z, axis: int = -1):
    """log S_Softmax(z), by log-sum-exp: finite for any finite z.

    >>> log_softmax([1000.0, 0.0]).round(3)
    array([    0., -1000.])
    """
    if isinstance(z, Tensor):
        return z.log_softmax(axis=axis)
    z = _plain(z)
    if z.ndim == 0:
        raise ValueError("log_softmax needs a vector (or a batch of them), got a scalar")
    shifted = minus_max(z, axis, "log_softmax")
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def relu(z):
    """ReLU(z) = max(0, z) element-wise (Sec. 9).

    >>> relu(np.array([-2.0, 0.0, 3.0]))
    array([0., 0., 3.])
    """
    if isinstance(z, Tensor):
        return z.relu()
    return np.maximum(_plain(z), 0)


def tanh(z):
    """Hyperbolic tangent element-wise (Sec. 9).

    >>> tanh(np.array([0.0]))
    array([0.])
    """
    if isinstance(z, Tensor):
        return z.tanh()
    return np.tanh(_plain(z))


# ------------------------------------------------------------------------------ layers
# activation: (a = f(z), overwriting z; dL/dz from a and g = dL/da), for ``affine``
_ACTIVATIONS = {
    "relu": (lambda z: np.maximum(z, 0, out=z), lambda a, g: g * (a > 0)),
    "sigmoid": (stable_sigmoid, lambda a, g: g * a * (1 - a)),
    "tanh": (lambda z: np.tanh(z, out=z), lambda a, g: g * (1 - a * a)),
}


def activation_function(name: str | None):
    """(σ, dL/dz from σ(z) and dL/dσ) for a fused activation; (None, None) for None."""
    if name is None:
        return None, None
    if name not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)} or None, got "
                         f"{name!r}")
    return _ACTIVATIONS[name]


def affine(X: Tensor, W: Tensor, b: Tensor | None = None, activation: str | None = None
           ) -> Tensor:
    """The affine map of eq. (8) on a batch: Z = X Wᵀ + b, one sample a row; with
    ``activation`` ("relu", "sigmoid" or "tanh") the layer a = σ(Z) of eq. (33).

    Same result and gradients as ``X @ W.T + b`` (then ``.relu()`` ...), in one graph
    node instead of three or four. Fused for speed: a small network's step spends a
    noticeable share of its time on per-node bookkeeping, and σ is applied in place.

    >>> affine(Tensor([[1.0, 2.0]]), Tensor([[1.0, 0.0], [0.0, 3.0]]), Tensor([0.5, 0.0]))
    Tensor([[1.5, 6. ]], shape=(1, 2), dtype=float32)
    >>> affine(Tensor([[1.0, 2.0]]), Tensor([[-1.0, 0.0], [0.0, 3.0]]), activation="relu")
    Tensor([[0., 6.]], shape=(1, 2), dtype=float32)
    """
    x, w = X.data, W.data
    if w.ndim != 2 or x.shape[-1] != w.shape[1]:
        raise ValueError(f"affine map of inputs {x.shape} with W {w.shape}: W must be "
                         f"(out, in) with in = {x.shape[-1]}")
    sigma, derivative = activation_function(activation)
    # NOTE: leading axes flattened: one (n·T, in) x (in, out) product instead of numpy's
    # n separate (T, in) ones for a batch of sequences (3x faster at 32 x 128 rows).
    x2 = x.reshape(-1, x.shape[-1])  # (rows, in)
    out = (x2 @ w.T).reshape(*x.shape[:-1], w.shape[0])
    if b is not None:
        out += b.data
    if sigma is not None:
        out = sigma(out)  # a = σ(z)
    need_x, need_W = X.requires_grad, W.requires_grad

    def backward(g):
        if sigma is not None:
            g = derivative(out, g)  # dL/dz = σ'(z) ⊙ dL/da
        elif not (g.flags.c_contiguous or g.flags.f_contiguous):
            g = np.ascontiguousarray(g)  # keep the products on BLAS
        g2 = g.reshape(-1, g.shape[-1])  # (rows, out), leading axes flattened
        gX = (g2 @ w).reshape(x.shape) if need_x else None  # ∂C/∂X = G W
        gW = g2.T @ x2 if need_W else None  # ∂C/∂W = Gᵀ X
        gb = g2.sum(axis=0) if b is not None else None  # ∂C/∂b = Σ_rows G
        return (gX, gW, gb) if b is not None else (gX, gW)

    parents = (X, W, b) if b is not None else (X, W)
    return Tensor.from_op(out, parents, backward, "affine" if sigma is None else activation)


# ------------------------------------------------------------------------------- losses
# The data loss C_Data(θ) is a mean over the n samples (Sec. 4 and 8). The cross-entropy
# losses take logits z (before σ or softmax) and fuse the activation into the loss: that
# is both stable (log-sum-exp, no log(0)) and gives the simple gradient (ŷ - y) / n.


def _targets(y, like: Tensor, name: str = "y") -> np.ndarray:
    target = np.asarray(values_of(y))
    if target.shape != like.shape:
        raise ValueError(f"{name} must have the shape of the model output {like.shape}, "
                         f"got {target.shape}")
    return target.astype(like.dtype, copy=False)


def mse_loss(y_hat: Tensor, y) -> Tensor:
    """Mean squared error (1/n) Σ_i ‖y⁽ⁱ⁾ - ŷ⁽ⁱ⁾‖², eq. (20); rows are samples.

    Note: PyTorch's ``MSELoss`` also averages over the outputs; for one output they agree.

    >>> float(mse_loss(Tensor([[1.0], [3.0]]), [[0.0], [1.0]]).item())   # (1 + 4) / 2
    2.5
    """
    y = _targets(y, y_hat)
    n = y_hat.shape[0] if y_hat.ndim else 1
    d = y_hat - y
    return (d * d).sum() * (1.0 / n)


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
    n = x.shape[0] if x.ndim else 1
    # NOTE: log1p(e^{-|z|}) is exact for large |z|, where log(1 + e^{-|z|}) rounds to 0.
    e = np.exp(-np.abs(x))  # ≤ 1: never overflows; reused by the gradient
    per_entry = np.maximum(x, 0) - y * x + np.log1p(e)  # in [0, |z| + log 2] for y in [0, 1]
    # NOTE: summed in float64, as the float32 sum of two losses of 3e38 overflows where
    # their mean does not; the mean is inf only when it exceeds the dtype itself.
    mean = float(per_entry.sum(dtype=np.float64)) / n  # ≥ 0
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
        out = np.asarray(total / n, dtype=x.dtype)

    def backward(g):
        p = exp / sum_exp  # softmax(Z), (n, K)
        if Y is None:
            p[rows, target] -= 1
        else:
            p -= Y
        p *= g / n
        return (p,)

    return Tensor.from_op(out, (Z,), backward, "cross_entropy")
