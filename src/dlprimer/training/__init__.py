"""Training (primer Sec. 8): ``fit``, its two loops (gradient steps, L-BFGS), targets,
callbacks, metrics and the plain-language convergence diagnostics."""

from dlprimer.training.fit import (
    Callback,
    DivergenceError,
    EarlyStopping,
    History,
    data_loss,
    fit,
)

__all__ = ["Callback", "DivergenceError", "EarlyStopping", "History", "data_loss", "fit"]
