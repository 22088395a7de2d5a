"""dlprimer: the primer "Navigating Mathematical Basics: A Primer for Deep Learning in
Science" (Liquet, Moka, Nazarathy, 2024) made executable.

>>> import dlprimer as dp
>>> x = dp.Tensor([[1.0, 2.0]], requires_grad=True)
>>> W = dp.Tensor([[0.5, -1.0], [2.0, 0.0]], requires_grad=True)
>>> loss = (x @ W.T).relu().sum()      # z = W x, then ReLU, then Σ
>>> loss.backward()
>>> W.grad
array([[0., 0.],
       [1., 2.]], dtype=float32)
"""

from dlprimer import data, datasets, nn, notation, optim
from dlprimer.functional import log_softmax, relu, sigmoid, softmax, tanh
from dlprimer.gradcheck import GradcheckError, gradcheck
from dlprimer.io import ModelFileError, load, save
from dlprimer.models import FeedForward, SigmoidModel, SoftmaxModel
from dlprimer.ops import clip, concatenate, maximum, stack, where
from dlprimer.tensor import Tensor, is_grad_enabled, no_grad, tensor, unbroadcast
from dlprimer.train import Callback, DivergenceError, EarlyStopping, History, fit

__version__ = "0.1.0"

_LAZY = ("explain", "inference", "plots", "report", "sklearn")


def __getattr__(name: str):
    """Front-end modules load on first use, so ``import dlprimer`` stays light."""
    if name in _LAZY:
        import importlib

        return importlib.import_module(f"dlprimer.{name}")
    raise AttributeError(f"module 'dlprimer' has no attribute {name!r}")


__all__ = [
    "Callback",
    "DivergenceError",
    "EarlyStopping",
    "FeedForward",
    "ModelFileError",
    "load",
    "save",
    "History",
    "SigmoidModel",
    "SoftmaxModel",
    "data",
    "datasets",
    "fit",
    "optim",
    "GradcheckError",
    "Tensor",
    "clip",
    "concatenate",
    "gradcheck",
    "is_grad_enabled",
    "log_softmax",
    "maximum",
    "no_grad",
    "nn",
    "notation",
    "relu",
    "sigmoid",
    "softmax",
    "stack",
    "tanh",
    "tensor",
    "unbroadcast",
    "where",
]
