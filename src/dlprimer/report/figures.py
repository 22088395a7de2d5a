"""The plumbing of :mod:`dlprimer.report.plots`: a Figure outside pyplot, its colours, and the
atomic PNG write."""

from __future__ import annotations

import io
from pathlib import Path

from dlprimer.data.files import atomic_write

DPI = 110
BLUE, ORANGE, GREY, RED = "#1f77b4", "#ff7f0e", "#7f7f7f", "#d62728"


def new_figure(width: float, height: float):
    """A Figure on the Agg canvas, outside pyplot (no window, no global backend change)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_png(fig, path) -> Path:
    """Write ``fig`` to ``path`` as a PNG, atomically."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return atomic_write(path, buffer.getvalue(), make_parents=True)


def finish_figure(fig, path):
    if path is not None:
        save_png(fig, path)
    return fig
