"""Layers (primer Sec. 9 and 10). Parameters use PyTorch's layouts."""

from dlprimer.nn.dense import Dense
from dlprimer.nn.module import Module, Parameter

__all__ = ["Dense", "Module", "Parameter"]
