"""One table of differentiable ops, shared by the finite-difference and PyTorch tests.

Each case: a name, input shapes, how to make positive inputs where the op needs them,
the dlprimer function and the same function written with torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import dlprimer as dp


@dataclass(frozen=True)
class Case:
    name: str
    shapes: tuple
    dp_fn: Callable
    torch_fn: Callable
    positive: bool = False  # inputs drawn from (0.5, 2) instead of N(0, 1)

    def inputs(self, seed: int = 0) -> list[np.ndarray]:
        rng = np.random.default_rng(seed)
        if self.positive:
            return [rng.uniform(0.5, 2.0, size=s) for s in self.shapes]
        return [rng.standard_normal(size=s) for s in self.shapes]


def _torch():
    import torch

    return torch


_Y_INDEX = np.array([2, 0, 1, 2, 1])
_Y_BINARY = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
_Y_REAL = np.random.default_rng(7).standard_normal((5, 3))


def _F():
    return _torch().nn.functional


CASES = [
    Case("add", ((3, 4), (3, 4)), lambda x, y: x + y, lambda x, y: x + y),
    Case("add_row_col", ((3, 1), (1, 4)), lambda x, y: x + y, lambda x, y: x + y),
    Case("add_scalar_matrix", ((), (3, 4)), lambda x, y: x + y, lambda x, y: x + y),
    Case("add_python_scalar", ((3, 4),), lambda x: 2.5 + x, lambda x: 2.5 + x),
    Case("sub_bias", ((5, 3), (3,)), lambda x, y: x - y, lambda x, y: x - y),
    Case("rsub", ((3,),), lambda x: 1 - x, lambda x: 1 - x),
    Case("mul", ((2, 3, 4), (3, 1)), lambda x, y: x * y, lambda x, y: x * y),
    Case("div", ((3, 4), (1, 4)), lambda x, y: x / y, lambda x, y: x / y, positive=True),
    Case("rdiv", ((3, 4),), lambda x: 2.0 / x, lambda x: 2.0 / x, positive=True),
    Case("neg", ((4,),), lambda x: -x, lambda x: -x),
    Case("pow", ((3, 4),), lambda x: x**3, lambda x: x**3),
    Case("pow_half", ((3, 4),), lambda x: x**0.5, lambda x: x**0.5, positive=True),
    Case("matmul_2d", ((3, 4), (4, 5)), lambda a, b: a @ b, lambda a, b: a @ b),
    Case("matmul_batched", ((2, 3, 4), (2, 4, 5)), lambda a, b: a @ b, lambda a, b: a @ b),
    Case("matmul_4d_rows_times_matrix", ((2, 3, 4, 5), (5, 2)), lambda a, b: a @ b,
         lambda a, b: a @ b),
    Case("matmul_broadcast_batch", ((2, 3, 4), (4, 5)), lambda a, b: a @ b,
         lambda a, b: a @ b),
    Case("matmul_matrix_vector", ((5, 3), (3,)), lambda a, b: a @ b, lambda a, b: a @ b),
    Case("matmul_vector_matrix", ((3,), (3, 2)), lambda a, b: a @ b, lambda a, b: a @ b),
    Case("matmul_inner", ((3,), (3,)), lambda a, b: a @ b, lambda a, b: a @ b),
    Case("affine", ((6, 3), (4, 3), (4,)), lambda X, W, b: X @ W.T + b,
         lambda X, W, b: X @ W.T + b),
    Case("affine_fused", ((6, 3), (4, 3), (4,)), lambda X, W, b: dp.nn.functional.affine(X, W, b),
         lambda X, W, b: X @ W.T + b),
    Case("affine_batched_no_bias", ((2, 5, 3), (4, 3)),
         lambda X, W: dp.nn.functional.affine(X, W), lambda X, W: X @ W.T),
    Case("affine_relu", ((6, 3), (4, 3), (4,)),
         lambda X, W, b: dp.nn.functional.affine(X, W, b, "relu"),
         lambda X, W, b: (X @ W.T + b).relu()),
    Case("affine_sigmoid", ((6, 3), (4, 3), (4,)),
         lambda X, W, b: dp.nn.functional.affine(X, W, b, "sigmoid"),
         lambda X, W, b: (X @ W.T + b).sigmoid()),
    Case("affine_tanh_batched_no_bias", ((2, 5, 3), (4, 3)),
         lambda X, W: dp.nn.functional.affine(X, W, activation="tanh"),
         lambda X, W: (X @ W.T).tanh()),
    Case("sum_all", ((3, 4),), lambda x: x.sum(), lambda x: x.sum()),
    Case("sum_axis0", ((3, 4),), lambda x: x.sum(axis=0), lambda x: x.sum(dim=0)),
    Case("sum_axis_keepdims", ((2, 3, 4),), lambda x: x.sum(axis=(0, 2), keepdims=True),
         lambda x: x.sum(dim=(0, 2), keepdim=True)),
    Case("mean_axis1", ((3, 4),), lambda x: x.mean(axis=1), lambda x: x.mean(dim=1)),
    Case("mean_all", ((2, 3, 4),), lambda x: x.mean(), lambda x: x.mean()),
    Case("max_all", ((3, 4),), lambda x: x.max(), lambda x: x.amax()),
    Case("max_axis", ((3, 4),), lambda x: x.max(axis=1), lambda x: x.amax(dim=1)),
    Case("max_axis_keepdims", ((3, 4),), lambda x: x.max(axis=0, keepdims=True),
         lambda x: x.amax(dim=0, keepdim=True)),
    Case("exp", ((3, 4),), lambda x: x.exp(), lambda x: x.exp()),
    Case("log", ((3, 4),), lambda x: x.log(), lambda x: x.log(), positive=True),
    Case("sqrt", ((3, 4),), lambda x: x.sqrt(), lambda x: x.sqrt(), positive=True),
    Case("abs", ((3, 4),), lambda x: x.abs(), lambda x: x.abs()),
    Case("relu", ((3, 4),), lambda x: x.relu(), lambda x: x.relu()),
    Case("sigmoid", ((3, 4),), lambda x: x.sigmoid(), lambda x: x.sigmoid()),
    Case("tanh", ((3, 4),), lambda x: x.tanh(), lambda x: x.tanh()),
    Case("softmax_last", ((3, 4),), lambda x: x.softmax(), lambda x: x.softmax(dim=-1)),
    Case("softmax_axis0", ((3, 4),), lambda x: x.softmax(axis=0), lambda x: x.softmax(dim=0)),
    Case("log_softmax_last", ((3, 4),), lambda x: x.log_softmax(),
         lambda x: x.log_softmax(dim=-1)),
    Case("log_softmax_axis1", ((2, 3, 4),), lambda x: x.log_softmax(axis=1),
         lambda x: x.log_softmax(dim=1)),
    Case("dp_sigmoid", ((5,),), lambda x: dp.sigmoid(x), lambda x: x.sigmoid()),
    Case("dp_softmax", ((2, 5),), lambda x: dp.softmax(x), lambda x: x.softmax(dim=-1)),
    Case("reshape", ((3, 4),), lambda x: x.reshape(2, 6) * np.arange(12).reshape(2, 6),
         lambda x: x.reshape(2, 6) * _torch().arange(12.0, dtype=x.dtype).reshape(2, 6)),
    Case("transpose_T", ((3, 4),), lambda x: x.T * np.arange(12).reshape(4, 3),
         lambda x: x.T * _torch().arange(12.0, dtype=x.dtype).reshape(4, 3)),
    Case("transpose_axes", ((2, 3, 4),), lambda x: x.transpose(1, 2, 0).reshape(3, 8),
         lambda x: x.permute(1, 2, 0).reshape(3, 8)),
    Case("swapaxes", ((2, 3, 4),), lambda x: x.swapaxes(-1, -2) @ np.ones((3, 2)),
         lambda x: x.transpose(-1, -2) @ _torch().ones(3, 2, dtype=x.dtype)),
    Case("getitem_slice", ((4, 5),), lambda x: x[1:3, ::2], lambda x: x[1:3, ::2]),
    Case("getitem_int", ((4, 5),), lambda x: x[2], lambda x: x[2]),
    Case("getitem_repeated", ((4, 3),), lambda x: x[np.array([0, 2, 0, 0])],
         lambda x: x[_torch().tensor([0, 2, 0, 0])]),
    Case("getitem_pairs", ((4, 3),), lambda x: x[np.array([0, 1, 1]), np.array([2, 0, 0])],
         lambda x: x[_torch().tensor([0, 1, 1]), _torch().tensor([2, 0, 0])]),
    Case("concatenate", ((2, 3), (4, 3)), lambda a, b: dp.concatenate([a, b], axis=0),
         lambda a, b: _torch().cat([a, b], dim=0)),
    Case("concatenate_axis1", ((2, 3), (2, 1)), lambda a, b: dp.concatenate([a, b], axis=1),
         lambda a, b: _torch().cat([a, b], dim=1)),
    Case("stack", ((2, 3), (2, 3)), lambda a, b: dp.stack([a, b], axis=1),
         lambda a, b: _torch().stack([a, b], dim=1)),
    Case("where", ((3, 4), (1, 4)),
         lambda x, y: dp.where(np.arange(12).reshape(3, 4) % 3 == 0, x, y),
         lambda x, y: _torch().where(_torch().arange(12).reshape(3, 4) % 3 == 0, x, y)),
    Case("maximum", ((3, 4), (4,)), lambda x, y: dp.maximum(x, y),
         lambda x, y: _torch().maximum(x, y)),
    Case("clip", ((3, 4),), lambda x: dp.clip(x, -0.5, 0.7),
         lambda x: _torch().clamp(x, -0.5, 0.7)),
    Case("used_twice", ((3,),), lambda x: x * x.exp() + x, lambda x: x * x.exp() + x),
    Case("mlp_chain", ((4, 3), (5, 3), (5,), (2, 5)),
         lambda X, W1, b1, W2: ((X @ W1.T + b1).tanh() @ W2.T).log_softmax(),
         lambda X, W1, b1, W2: ((X @ W1.T + b1).tanh() @ W2.T).log_softmax(dim=-1)),
    Case("cross_entropy_indices", ((5, 3),),
         lambda z: dp.nn.functional.cross_entropy(z, _Y_INDEX),
         lambda z: _F().cross_entropy(z, _torch().tensor(_Y_INDEX))),
    Case("cross_entropy_one_hot", ((5, 3),),
         lambda z: dp.nn.functional.cross_entropy(z, np.eye(3)[_Y_INDEX]),
         lambda z: _F().cross_entropy(z, _torch().tensor(np.eye(3)[_Y_INDEX]))),
    Case("binary_cross_entropy_with_logits", ((5,),),
         lambda z: dp.nn.functional.binary_cross_entropy_with_logits(z, _Y_BINARY),
         lambda z: _F().binary_cross_entropy_with_logits(z, _torch().tensor(_Y_BINARY))),
    Case("mse_loss_eq20", ((5, 3),), lambda y_hat: dp.nn.functional.mse_loss(y_hat, _Y_REAL),
         lambda y_hat: ((y_hat - _torch().tensor(_Y_REAL)) ** 2).sum() / 5),
    Case("layer_norm", ((2, 3, 5), (5,), (5,)),
         lambda x, w, b: dp.nn.functional.layer_norm(x, w, b),
         lambda x, w, b: _F().layer_norm(x, (5,), w, b)),
    Case("layer_norm_plain", ((4, 6),), lambda x: dp.nn.functional.layer_norm(x),
         lambda x: _F().layer_norm(x, (6,))),
]
