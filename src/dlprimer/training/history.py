"""What happened during ``fit``: one value per epoch, and why training stopped."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["History"]


@dataclass
class History:
    """What happened during ``fit``: one value per epoch, and why training stopped."""

    loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    metric: list[float] = field(default_factory=list)
    val_metric: list[float] = field(default_factory=list)
    metric_name: str = "accuracy"
    stop_reason: str = ""
    best_epoch: int | None = None
    #: max_j s_j / min_j s_j of the training features when fit without standardization
    #: (None when standardized, or not a table): above 1000, diagnose says to standardize.
    feature_scale_ratio: float | None = None

    @property
    def epochs(self) -> int:
        return len(self.loss)

    def diagnose(self) -> list[str]:
        """Plain-language convergence diagnostics with their numbers: is the loss still
        falling, did validation loss rise (overfitting), does the loss oscillate."""
        from dlprimer.training.diagnose import diagnose

        return diagnose(self)

    def __repr__(self) -> str:
        last = f"loss {self.loss[-1]:.4g}" if self.loss else "no epochs"
        if self.val_loss:
            last += f", val_loss {self.val_loss[-1]:.4g}"
        return f"History({self.epochs} epochs, {last}; stopped: {self.stop_reason})"
