"""Figures and reports: ``plots`` (loss curves, ROC, confusion matrix, network diagrams,
decision regions; public as ``dp.plots``), ``descent`` (Figure 4), ``html`` (report.html)."""

from dlprimer.report.html import write_report

__all__ = ["write_report"]
