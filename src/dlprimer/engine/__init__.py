"""The engine (primer Sec. 8): Tensor with reverse-mode automatic differentiation over
numpy, its ops, the numerics they share, and the finite-difference gradient check.

numpy is its only dependency; nothing here imports a layer above it.
"""

from dlprimer.engine.gradcheck import GradcheckError, gradcheck
from dlprimer.engine.ops import clip, concatenate, maximum, stack, where
from dlprimer.engine.tensor import Tensor, as_tensor, is_grad_enabled, no_grad, tensor, unbroadcast

__all__ = [
    "GradcheckError", "Tensor", "as_tensor", "clip", "concatenate", "gradcheck",
    "is_grad_enabled", "maximum", "no_grad", "stack", "tensor", "unbroadcast", "where",
]
