"""Training (primer Sec. 8): ``fit`` (``fit.py``), its two loops over one ``Run``
(``loops.py``: gradient steps, L-BFGS), the task and its targets and loss
(``targets.py``), what a divergence overflowed (``divergence.py``), callbacks, the
History, metrics, and plain-language convergence diagnostics (``diagnose.py``)."""

from dlprimer.training.callbacks import Callback, EarlyStopping
from dlprimer.training.divergence import DivergenceError
from dlprimer.training.fit import fit
from dlprimer.training.history import History
from dlprimer.training.targets import data_loss

__all__ = ["Callback", "DivergenceError", "EarlyStopping", "History", "data_loss", "fit"]
