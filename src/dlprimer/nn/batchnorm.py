"""Batch normalization layers: standardize (13) each channel over the batch, then scale
and shift (learned). PyTorch's semantics, parameters and buffers."""

from __future__ import annotations

import numpy as np

from dlprimer.engine.checks import positive_int
from dlprimer.engine.tensor import Tensor, as_tensor
from dlprimer.nn.functional.batchnorm import batch_norm, check_momentum
from dlprimer.nn.functional.norm import check_eps
from dlprimer.nn.module import Module, Parameter, register

__all__ = ["BatchNorm1d", "BatchNorm2d"]


class _BatchNorm(Module):
    """What BatchNorm1d and BatchNorm2d share; they differ in the input shapes they take."""

    BUFFERS = ("running_mean", "running_var", "num_batches_tracked")
    #: (the accepted numbers of axes, how to name them in a message)
    SHAPES: tuple[tuple[int, ...], str] = ((), "")

    def __init__(self, C: int, name: str, eps: float, momentum: float | None, affine: bool,
                 dtype):
        C = positive_int(C, name)
        if not isinstance(affine, (bool, np.bool_)):
            raise ValueError(f"affine must be True or False, got {affine!r}")
        self.eps = check_eps(eps)
        self.momentum = check_momentum(momentum, allow_none=True)
        self.affine = bool(affine)
        if self.affine:
            self.weight = Parameter(np.ones(C), dtype)  # γ, starts at 1 (as PyTorch)
            self.bias = Parameter(np.zeros(C), dtype)  # β, starts at 0
        else:
            self.weight = self.bias = None
        self.running_mean = Tensor(np.zeros(C), dtype=dtype).data  # (C,)
        self.running_var = Tensor(np.ones(C), dtype=dtype).data  # (C,)
        self.num_batches_tracked = np.zeros((), dtype=np.int64)  # a 0-d array, saved as such

    @property
    def dtype(self) -> np.dtype:
        """The dtype of the running statistics (and of weight and bias where affine)."""
        return self.running_mean.dtype

    @property
    def channels(self) -> int:
        return self.running_mean.shape[0]

    def _arguments(self) -> dict:
        return {"eps": self.eps, "momentum": self.momentum, "affine": self.affine,
                "dtype": str(self.dtype)}

    def forward(self, x) -> Tensor:
        x = as_tensor(x, self.dtype)
        ndims, names = self.SHAPES
        if x.ndim not in ndims or x.shape[1] != self.channels:
            raise ValueError(f"{type(self).__name__}({self.channels}) expects input of shape "
                             f"{names} with C = {self.channels} channels, got shape {x.shape}")
        momentum = self.momentum
        if momentum is None:  # PyTorch's cumulative moving average of all batches so far
            momentum = 1.0 / (int(self.num_batches_tracked) + 1) if self.training else 0.0
        y = batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                       training=self.training, momentum=momentum, eps=self.eps)
        if self.training:
            self.num_batches_tracked += 1  # in place: the array stays the saved buffer
        return y


@register
class BatchNorm1d(_BatchNorm):
    """Batch normalization of (n, C) or (n, C, L) input, each of the C channels over the
    n (·L) entries it has in the batch:

        y = (x - μ) / √(σ² + eps) ⊙ weight + bias

    In training mode μ and σ² are the batch mean and biased variance (10), and
    ``running_mean``, ``running_var`` move towards the batch mean and unbiased variance
    by ``momentum``; in evaluation mode (``eval()``) the running statistics are used.

    Parameters
    ----------
    num_features : int
        C.
    eps : float > 0
    momentum : float in [0, 1], or None
        Weight of each new batch in the running statistics; None averages all batches.
    affine : bool
        Learn ``weight`` (C,) (starts at 1) and ``bias`` (C,) (starts at 0).
    dtype : float32 (default) or float64

    >>> import numpy as np
    >>> layer = BatchNorm1d(1)
    >>> layer(np.array([[1.0], [2.0], [3.0]])).numpy().round(4).ravel()
    array([-1.2247,  0.    ,  1.2247], dtype=float32)
    >>> layer.running_mean, layer.running_var       # 0.1·2, 0.9·1 + 0.1·1 (unbiased: 1)
    (array([0.2], dtype=float32), array([1.], dtype=float32))
    """

    SHAPES = ((2, 3), "(n, C) or (n, C, L)")

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, dtype=np.float32):
        super().__init__(num_features, "num_features", eps, momentum, affine, dtype)

    def config(self) -> dict:
        return {"kind": "BatchNorm1d", "num_features": self.channels, **self._arguments()}


@register
class BatchNorm2d(_BatchNorm):
    """Batch normalization of images (n, C, H, W), each channel over its n·H·W entries.

    The same rule, statistics and parameters as ``BatchNorm1d``; ``num_channels`` is C.

    >>> import numpy as np
    >>> layer = BatchNorm2d(3)
    >>> layer(np.random.default_rng(0).normal(5, 2, (4, 3, 6, 6))).numpy().std().round(3)
    np.float32(1.0)
    """

    SHAPES = ((4,), "(n, C, H, W)")

    def __init__(self, num_channels: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, dtype=np.float32):
        super().__init__(num_channels, "num_channels", eps, momentum, affine, dtype)

    def config(self) -> dict:
        return {"kind": "BatchNorm2d", "num_channels": self.channels, **self._arguments()}
