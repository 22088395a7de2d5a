"""Hooks into ``fit``: a Callback sees every epoch's logs and may stop training."""

from __future__ import annotations

import math

from dlprimer.engine.checks import positive_int
from dlprimer.nn.module import Module

__all__ = ["Callback", "EarlyStopping"]


class Callback:
    """Hook into ``fit``; ``on_epoch_end`` returns True to stop training."""

    def on_train_begin(self, model: Module) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: dict, model: Module) -> bool | None:
        return None

    def on_train_end(self, model: Module) -> None:
        pass


class EarlyStopping(Callback):
    """Stop when the monitored loss has not improved by ``min_delta`` for ``patience``
    epochs; optionally put back the best parameters seen."""

    def __init__(self, patience: int = 10, min_delta: float = 0.0, monitor: str = "auto",
                 restore_best_weights: bool = True):
        patience = positive_int(patience, "patience (early_stopping)")
        if monitor not in ("auto", "loss", "val_loss"):
            raise ValueError(f'monitor must be "auto", "loss" or "val_loss", got {monitor!r}')
        self.patience, self.min_delta, self.monitor = patience, float(min_delta), monitor
        self.restore_best_weights = restore_best_weights

    def on_train_begin(self, model):
        self.best, self.best_epoch, self.best_theta, self.wait = math.inf, None, None, 0
        self.stopped = False

    def on_epoch_end(self, epoch, logs, model):
        key = self.monitor
        if key == "auto":
            key = "val_loss" if "val_loss" in logs else "loss"
        value = logs[key]
        if value < self.best - self.min_delta:
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_theta = model.theta().copy()
            return None
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped = True
            self.reason = (f"early stopping: {key} did not improve for {self.patience} epochs "
                           f"(best {self.best:.4g} at epoch {self.best_epoch})")
            return True
        return None

    def on_train_end(self, model):
        if self.restore_best_weights and self.best_theta is not None:
            model.set_theta(self.best_theta)
