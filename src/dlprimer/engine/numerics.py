"""The numerics every layer shares: a sigmoid and a softmax that neither overflow nor take
log(0), and the max-shift of softmax and log-sum-exp. One definition each, on numpy arrays.
"""

from __future__ import annotations

import numpy as np

from dlprimer.engine.validate import axis_index

__all__ = ["minus_max", "stable_sigmoid", "stable_softmax"]


def stable_sigmoid(z: np.ndarray) -> np.ndarray:
    """σ_Sig(z) = 1/(1 + e^{−z}), eq. (1), on an array, neither overflowing nor warning at
    ±1000.

    >>> stable_sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    array([0. , 0.5, 1. ])
    """
    # NOTE: e^{-|z|} ≤ 1 never overflows; for z < 0 use the equivalent form e^z / (1 + e^z)
    # so that tiny probabilities keep their relative precision.
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def minus_max(z: np.ndarray, axis: int, op: str) -> np.ndarray:
    """z - max(z) over ``axis`` (every entry ≤ 0), the shift of softmax and log-sum-exp.

    An axis out of range, and an empty ``axis``, are refused (the latter as
    scipy.special.softmax does: there is nothing to normalize); an empty batch, such as
    shape (0, K), is fine.
    """
    axis = axis_index(axis, z.ndim, z.shape, op)
    if z.shape[axis] == 0:
        raise ValueError(f"{op} over axis {axis} of shape {z.shape}: that axis is empty, and "
                         "a softmax needs at least one entry (as scipy.special.softmax)")
    # NOTE: z - max can overflow to -inf when z spans more than the dtype's range (float32
    # [3e38, -3e38]); that is the right limit, as e^{-inf} = 0 and the true value is beyond
    # the dtype anyway. Only this overflow is silenced: NaN and inf in z still warn.
    with np.errstate(over="ignore"):
        return z - z.max(axis=axis, keepdims=True)


def stable_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """S_Softmax(z), eq. (4), over ``axis`` with max subtraction.

    >>> stable_softmax(np.array([1000.0, -1000.0]))
    array([1., 0.])
    """
    # NOTE: softmax(z) = softmax(z - c) for any c; c = max(z) makes every exponent ≤ 0.
    e = np.exp(minus_max(z, axis, "softmax"))
    return e / e.sum(axis=axis, keepdims=True)
