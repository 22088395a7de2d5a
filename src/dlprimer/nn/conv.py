"""Convolutional layers (primer Sec. 10, eqs. (37)-(39)): Conv2d, pooling, Flatten."""

from __future__ import annotations

import numpy as np

import dlprimer.nn.functional as F
from dlprimer.engine.checks import positive_int
from dlprimer.engine.tensor import Tensor
from dlprimer.nn.functional.activations import activation_function
from dlprimer.nn.functional.conv import int_pair
from dlprimer.nn.init import he_normal
from dlprimer.nn.module import FRONT_ENDS, Module, Parameter, as_rng, register

__all__ = ["Conv2d", "MaxPool2d", "AvgPool2d", "Flatten"]


def _json_pair(pair: tuple[int, int]) -> int | list[int]:
    """A (kernel, stride, padding) pair as ``config()`` writes it: one int where both
    entries agree, else a list (JSON has no tuples); ``int_pair`` reads either back."""
    return pair[0] if pair[0] == pair[1] else list(pair)


@register
class Conv2d(Module):
    """Convolutional layer z = W ⋆ x + b, eqs. (37)-(39), one kernel per output channel.

    Parameters
    ----------
    in_channels, out_channels : int
        C_in (1 for a grayscale image, 3 for RGB) and C_out, the number of feature maps.
    kernel_size : int or (kh, kw)
    stride, padding : int or pair
    seed : int or numpy Generator
        Source of the initial weights (He normal, fan_in = C_in·kh·kw); b starts at 0.
    dtype : float32 (default) or float64
    activation : "relu", "sigmoid", "tanh" or None (default)
        The layer returns the feature map σ(z) (Sec. 10), fused into the convolution's
        graph node: the same as ``layer(x).relu()``, with fewer passes over the map.

    W has shape (C_out, C_in, kh, kw) and b shape (C_out,), as PyTorch's nn.Conv2d.

    >>> layer = Conv2d(1, 4, 3)
    >>> layer.W.shape, layer.b.shape
    ((4, 1, 3, 3), (4,))
    >>> layer(np.zeros((2, 1, 100, 100))).shape      # the primer's 100×100 → 98×98
    (2, 4, 98, 98)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 seed=0, dtype=np.float32, activation: str | None = None):
        in_channels = positive_int(in_channels, "in_channels")
        out_channels = positive_int(out_channels, "out_channels")
        kh, kw = int_pair(kernel_size, "kernel_size", minimum=1)
        int_pair(stride, "stride", minimum=1)  # bad values fail here, not at the first call
        int_pair(padding, "padding", minimum=0)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = (kh, kw)
        self.stride, self.padding = stride, padding
        activation_function(activation)  # a bad name fails here, not at the first call
        self.activation = activation
        rng = as_rng(seed)
        shape = (out_channels, in_channels, kh, kw)
        self.W = Parameter(he_normal(shape, in_channels * kh * kw, rng, dtype), dtype)
        self.b = Parameter(np.zeros(out_channels), dtype)

    def config(self) -> dict:
        return {"kind": "Conv2d", "in_channels": self.in_channels,
                "out_channels": self.out_channels, "kernel_size": _json_pair(self.kernel_size),
                "stride": _json_pair(int_pair(self.stride, "stride")),
                "padding": _json_pair(int_pair(self.padding, "padding")),
                "activation": self.activation, "dtype": str(self.dtype)}

    def forward(self, x) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x, dtype=self.W.dtype)
        return F.conv2d(x, self.W, self.b, stride=self.stride, padding=self.padding,
                        activation=self.activation)

    def explain(self, x=None, channel_out: int = 0, i: int = 0, j: int = 0, digits: int = 4):
        """The layer in the primer's notation; with one image x (C_in, H, W) (or a batch:
        sample 0), the entry z_{i,j} of output channel ``channel_out`` as the sum of
        eqs. (38)-(39) with numbers. Indices are 0-based; the text counts from 1 as the
        primer does. See :func:`dlprimer.explain.explain_conv2d`.
        """
        return FRONT_ENDS["explain"](self, x, digits, channel_out=channel_out, i=i, j=j)


@register
class MaxPool2d(Module):
    """Max over each k×k window (stride k unless given); no parameters.

    >>> MaxPool2d(2)(np.zeros((1, 3, 8, 8))).shape
    (1, 3, 4, 4)
    """

    def __init__(self, k, stride=None):
        int_pair(k, "k", minimum=1)  # bad values fail here, not at the first call
        if stride is not None:
            int_pair(stride, "stride", minimum=1)
        self.k, self.stride = k, stride

    def config(self) -> dict:
        stride = None if self.stride is None else _json_pair(int_pair(self.stride, "stride"))
        return {"kind": "MaxPool2d", "k": _json_pair(int_pair(self.k, "k")), "stride": stride}

    def forward(self, x) -> Tensor:
        return F.max_pool2d(x, self.k, self.stride)


@register
class AvgPool2d(Module):
    """Mean over each k×k window (stride k unless given); no parameters.

    >>> AvgPool2d(2, stride=1)(np.zeros((1, 3, 8, 8))).shape
    (1, 3, 7, 7)
    """

    def __init__(self, k, stride=None):
        int_pair(k, "k", minimum=1)  # bad values fail here, not at the first call
        if stride is not None:
            int_pair(stride, "stride", minimum=1)
        self.k, self.stride = k, stride

    def config(self) -> dict:
        stride = None if self.stride is None else _json_pair(int_pair(self.stride, "stride"))
        return {"kind": "AvgPool2d", "k": _json_pair(int_pair(self.k, "k")), "stride": stride}

    def forward(self, x) -> Tensor:
        return F.avg_pool2d(x, self.k, self.stride)


@register
class Flatten(Module):
    """(n, C, H, W) → (n, C·H·W): vectorize each sample (Sec. 7) for a Dense layer.

    >>> Flatten()(np.zeros((2, 3, 4, 4))).shape
    (2, 48)
    """

    def config(self) -> dict:
        return {"kind": "Flatten"}

    def forward(self, x) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        if x.ndim == 0:
            raise ValueError("Flatten expects a batch of shape (n, ...), one sample per entry "
                             "of the first axis, got a 0-D input (shape ()) that has no axes")
        return x.reshape(x.shape[0], int(np.prod(x.shape[1:])))  # (n, C·H·W), row-major
