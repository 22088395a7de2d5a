"""What happened during ``fit``: one value per epoch, and why training stopped."""

from __future__ import annotations

import html
import math
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

    def diagnose(self, audience: str = "python") -> list[str]:
        """Plain-language convergence diagnostics with their numbers: is the loss still
        falling, did validation loss rise (overfitting), does the loss oscillate. Advice
        names Python arguments (``audience="python"``) or CLI flags (``"cli"``)."""
        from dlprimer.training.diagnose import diagnose

        return diagnose(self, audience=audience)

    def __repr__(self) -> str:
        last = f"loss {self.loss[-1]:.4g}" if self.loss else "no epochs"
        if self.val_loss:
            last += f", val_loss {self.val_loss[-1]:.4g}"
        return f"History({self.epochs} epochs, {last}; stopped: {self.stop_reason})"

    def _repr_html_(self) -> str:
        """Jupyter's view: epochs, the last losses and metrics, the best epoch, why training
        stopped, and the loss curves as a small inline SVG."""
        rows = [("epochs", str(self.epochs))]
        for name, values in (("loss", self.loss), ("validation loss", self.val_loss),
                             (self.metric_name, self.metric),
                             ("validation " + self.metric_name, self.val_metric)):
            if values:
                rows.append((f"final {name}", f"{values[-1]:.4g}"))
        curve = self.val_loss or self.loss
        finite = [(v, epoch) for epoch, v in enumerate(curve, 1) if math.isfinite(v)]
        if self.best_epoch is not None:
            rows.append(("best epoch", f"{self.best_epoch} (restored by early stopping)"))
        elif finite:
            which = "validation" if self.val_loss else "training"
            rows.append(("best epoch", f"{min(finite)[1]} (lowest {which} loss)"))
        rows.append(("stopped", self.stop_reason or "not trained"))
        table = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
                        f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
                        for k, v in rows)
        return (f"<div class='dlprimer-history'><b>History</b>"
                f"<table>{table}</table>{_sparkline(self.loss, self.val_loss)}</div>")


def _sparkline(loss: list[float], val_loss: list[float], width: int = 320,
               height: int = 90) -> str:
    """The training (blue) and validation (orange) loss per epoch as an inline SVG; a few
    hundred bytes, so the view stays cheap even for thousands of epochs."""
    values = [v for v in loss + val_loss if math.isfinite(v)]
    if len(loss) < 2 or not values:
        return ""
    lo, hi = min(values), max(values)
    log = lo > 0 and hi / lo > 100  # a loss spanning decades, drawn on a log axis
    if log:
        loss, val_loss = ([math.log10(v) if v > 0 else math.nan for v in curve]
                          for curve in (loss, val_loss))
        lo, hi = math.log10(lo), math.log10(hi)
    span = hi - lo or 1.0
    n = max(len(loss), len(val_loss))
    step = max(1, n // width)  # at most one point per pixel column

    def points(curve):
        shown = sorted({*range(0, len(curve), step), len(curve) - 1})  # keep the last epoch
        return " ".join(f"{4 + (width - 8) * i / (n - 1):.1f},"
                        f"{height - 4 - (height - 8) * (curve[i] - lo) / span:.1f}"
                        for i in shown if math.isfinite(curve[i]))

    lines = "".join(f"<polyline fill='none' stroke='{color}' stroke-width='1.5' "
                    f"points='{points(curve)}'/>"
                    for curve, color in ((loss, "#1f77b4"), (val_loss, "#ff7f0e")) if curve)
    legend = "<span style='color:#1f77b4'>training</span>"
    if val_loss:
        legend += ", <span style='color:#ff7f0e'>validation</span>"
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
            f"role='img' aria-label='loss per epoch'>{lines}</svg>"
            f"<div style='font-size:small'>loss per epoch{' (log scale)' if log else ''}: "
            f"{legend}</div>")
