"""Layers (primer Sec. 9 and 10). Parameters use PyTorch's layouts."""

from dlprimer.nn import functional
from dlprimer.nn.activation import ReLU, Sigmoid, Tanh
from dlprimer.nn.attention import LayerNorm, MultiHeadAttention, TransformerEncoderBlock
from dlprimer.nn.batchnorm import BatchNorm1d, BatchNorm2d
from dlprimer.nn.conv import AvgPool2d, Conv2d, Flatten, MaxPool2d
from dlprimer.nn.dense import Dense
from dlprimer.nn.dropout import Dropout
from dlprimer.nn.embedding import Embedding, most_similar
from dlprimer.nn.module import Module, Parameter
from dlprimer.nn.recurrent import LSTM, RNN
from dlprimer.nn.sequential import Sequential

__all__ = [
    "Dense", "Module", "Parameter",
    # Sec. 10: beyond Model III
    "AvgPool2d", "Conv2d", "Embedding", "Flatten", "LSTM", "LayerNorm", "MaxPool2d",
    "MultiHeadAttention", "RNN", "TransformerEncoderBlock", "functional", "most_similar",
    # composing any layers (the model protocol, DESIGN.md)
    "BatchNorm1d", "BatchNorm2d", "Dropout", "ReLU", "Sequential", "Sigmoid", "Tanh",
]
