"""Every differentiable op beyond the engine's, forward and backward side by side.

- ``activations``: σ, softmax, log-softmax, ReLU, tanh and the affine map of eq. (8)
- ``losses``: mean squared error (20) and the fused, stable cross-entropies
- ``conv``: convolution (37)-(39), pooling, embedding lookups
- ``attention``: dot-product attention (40)-(41) and its masks
- ``norm``: layer normalization
"""

from dlprimer.nn.functional.activations import (
    affine,
    binary_cross_entropy_with_logits,
    cross_entropy,
    log_softmax,
    mse_loss,
    relu,
    sigmoid,
    softmax,
    tanh,
)
from dlprimer.nn.functional.attention import causal_mask, dot_product_attention, padding_mask
from dlprimer.nn.functional.conv import avg_pool2d, conv2d, embedding, max_pool2d
from dlprimer.nn.functional.norm import layer_norm

__all__ = [
    "affine", "avg_pool2d", "binary_cross_entropy_with_logits", "causal_mask", "conv2d",
    "cross_entropy", "dot_product_attention", "embedding", "layer_norm", "log_softmax",
    "max_pool2d", "mse_loss", "padding_mask", "relu", "sigmoid", "softmax", "tanh",
]
