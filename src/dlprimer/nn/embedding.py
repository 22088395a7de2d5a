"""Word embedding (primer Sec. 10): a table with one learned vector per token."""

from __future__ import annotations

import numpy as np

import dlprimer.nn.functional as F
from dlprimer.engine.checks import positive_int
from dlprimer.engine.tensor import Tensor
from dlprimer.nn.module import Module, Parameter, as_rng, register

__all__ = ["Embedding", "most_similar"]


@register
class Embedding(Module):
    """Token number → vector: row i of W ∈ R^{num × dim} represents token i.

    Parameters
    ----------
    num_embeddings : int
        Vocabulary size; tokens are 0..num_embeddings-1.
    dim : int
        Length of each vector.
    seed : int or numpy Generator
        W starts as N(0, 1) entries, as PyTorch's nn.Embedding.
    dtype : float32 (default) or float64

    >>> layer = Embedding(10, 4)
    >>> layer([[1, 2, 3], [3, 2, 1]]).shape      # (n, T) tokens -> (n, T, dim)
    (2, 3, 4)
    """

    def __init__(self, num_embeddings: int, dim: int, seed=0, dtype=np.float32):
        self.num_embeddings = positive_int(num_embeddings, "num_embeddings")
        self.dim = positive_int(dim, "dim")
        self.W = Parameter(as_rng(seed).standard_normal((self.num_embeddings, self.dim)), dtype)

    def config(self) -> dict:
        return {"kind": "Embedding", "num_embeddings": self.num_embeddings, "dim": self.dim,
                "dtype": str(self.dtype)}

    def forward(self, indices) -> Tensor:
        return F.embedding(indices, self.W)


def most_similar(vector, table, k: int = 5, exclude=()) -> tuple[np.ndarray, np.ndarray]:
    """The k rows of ``table`` closest to ``vector`` by cosine (17), most similar first.

    Parameters
    ----------
    vector : (dim,) array or Tensor
    table : (num, dim) array, Tensor or Embedding
    k : int
    exclude : indices to leave out (e.g. the query word itself)

    Returns (indices, cosines), each of length min(k, num - len(exclude)).
    A zero row has no direction; its cosine is reported as 0.

    The primer's example (king, queen, mean):

    >>> words = np.array([[0.41, 1.2, 3.4, -1.3], [0.39, 1.1, 3.5, 1.6], [-0.2, -3.2, 1.3, 0.8]])
    >>> index, cos = most_similar(words[0], words, k=3)
    >>> index, cos.round(3)                       # king itself, then queen, then mean
    (array([0, 1, 2]), array([ 1.   ,  0.729, -0.04 ]))
    """
    if isinstance(table, Embedding):
        table = table.W
    table = np.asarray(getattr(table, "data", table), dtype=np.float64)
    vector = np.asarray(getattr(vector, "data", vector), dtype=np.float64)
    if table.ndim != 2 or vector.shape != (table.shape[1],):
        raise ValueError(f"most_similar expects vector (dim,) and table (num, dim), got "
                         f"{vector.shape} and {table.shape}")
    norms = np.linalg.norm(table, axis=1) * np.linalg.norm(vector)  # ‖u‖ ‖v‖, eq. (16)
    dots = table @ vector  # uᵀv, eq. (15), for every row at once
    cosines = np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)
    candidates = np.setdiff1d(np.arange(len(table)), np.asarray(exclude, dtype=np.intp))
    order = candidates[np.argsort(-cosines[candidates], kind="stable")][:k]
    return order, cosines[order]
