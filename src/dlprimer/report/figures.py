"""The plumbing of :mod:`dlprimer.report.plots`: a Figure outside pyplot that Jupyter shows
inline, its colours, and the atomic PNG write."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib.figure
from matplotlib.backends.backend_agg import FigureCanvasAgg

from dlprimer.data.files import atomic_write

__all__ = ["BLUE", "DPI", "GREY", "ORANGE", "RED", "Figure", "finish_figure", "new_figure",
           "png_bytes", "save_png"]

DPI = 110
BLUE, ORANGE, GREY, RED = "#1f77b4", "#ff7f0e", "#7f7f7f", "#d62728"


class Figure(matplotlib.figure.Figure):
    """A matplotlib Figure that IPython displays as a PNG, with or without
    ``%matplotlib inline``.

    A Figure made outside pyplot has no display hook of its own: IPython shows only its
    text, ``<Figure size ...>``. ``_repr_png_`` draws it through its Agg canvas instead.
    NOTE: IPython's PNG formatter looks up a printer registered for the type first (the
    inline backend registers one for every matplotlib Figure) and asks ``_repr_png_`` only
    when there is none, so a figure is rendered once either way; and as pyplot never holds
    it, the inline backend does not show it again at the end of the cell.
    """

    def _repr_png_(self) -> bytes:
        return png_bytes(self)


def new_figure(width: float, height: float) -> Figure:
    """A Figure on the Agg canvas, outside pyplot (no window, no global backend change)."""
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig) -> bytes:
    """``fig`` encoded as a PNG at the figures' resolution."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def save_png(fig, path) -> Path:
    """Write ``fig`` to ``path`` as a PNG, atomically."""
    return atomic_write(path, png_bytes(fig), make_parents=True)


def finish_figure(fig, path):
    """``fig``, written to ``path`` as a PNG first when a path is given."""
    if path is not None:
        save_png(fig, path)
    return fig
