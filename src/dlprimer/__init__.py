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

from dlprimer import data, engine, nn, notation, optim
from dlprimer.data import datasets
from dlprimer.engine import (
    GradcheckError,
    Tensor,
    clip,
    concatenate,
    gradcheck,
    is_grad_enabled,
    maximum,
    no_grad,
    stack,
    tensor,
    unbroadcast,
    where,
)
from dlprimer.io import ModelFileError, load, save
from dlprimer.models import FeedForward, SigmoidModel, SoftmaxModel
from dlprimer.nn.functional import log_softmax, relu, sigmoid, softmax, tanh
from dlprimer.training import Callback, DivergenceError, EarlyStopping, History, fit
from dlprimer.training.fit import DISTRIBUTED as _DISTRIBUTED
from dlprimer.version import __version__


def _explain(model, x=None, digits: int = 4, **options):
    from dlprimer.explain import explain

    return explain(model, x, digits, **options)


def _summary(model, X, y):
    from dlprimer.inference import summary

    return summary(model, X, y)


def _html(model):
    from dlprimer.report.notebook import model_html

    return model_html(model)


def _fit_dask(*args, **kwargs):
    try:
        from dlprimer.distributed import fit_dask
    except ImportError as err:  # dask or distributed missing
        raise ImportError(f"fitting on Dask arrays needs dlprimer's Dask extra: pip install "
                          f"'dlprimer[dask]' ({err})") from None
    return fit_dask(*args, **kwargs)


def _predict_dask(model, X, kind):
    from dlprimer.distributed import predict_dask

    return predict_dask(model, X, kind)


_DISTRIBUTED["fit"] = _fit_dask  # dp.fit on Dask data, loaded on first use

# NOTE: model.explain() and model.summary() reach the front ends through nn's FRONT_ENDS,
# installed here at the root, so that nn itself never imports upwards (DESIGN.md).
nn.module.FRONT_ENDS.update(explain=_explain, summary=_summary, html=_html,
                             dask=_predict_dask)

# Front ends load on first use, so ``import dlprimer`` stays light; ``dp.plots`` is the
# figures module of ``dlprimer.report``.
_LAZY = {"distributed": "dlprimer.distributed", "explain": "dlprimer.explain",
         "inference": "dlprimer.inference", "plots": "dlprimer.report.plots",
         "report": "dlprimer.report", "sklearn": "dlprimer.sklearn", "cli": "dlprimer.cli"}


def __getattr__(name: str):
    """A front-end module, imported on first use."""
    if name in _LAZY:
        import importlib

        return importlib.import_module(_LAZY[name])
    raise AttributeError(f"module 'dlprimer' has no attribute {name!r}")


__all__ = [
    "__version__",
    "engine",
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
