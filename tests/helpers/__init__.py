"""Helpers shared by the tests: PyTorch-parity and gradcheck drivers for layers
(``nn``), the table of engine ops (``op_cases``), explanation checks (``explain``), and
the package's import graph (``architecture``)."""
