"""Every differentiable op beyond the engine's, forward and backward side by side.

- ``activations``: σ, softmax, log-softmax, ReLU, tanh and the affine map of eq. (8)
- ``losses``: mean squared error (20) and the fused, stable cross-entropies
- ``conv``: convolution (37)-(39), pooling, embedding lookups
- ``attention``: dot-product attention (40)-(41) and its masks
- ``norm``: layer normalization; ``batchnorm``: batch normalization; ``dropout``
- ``recurrent``: the RNN and LSTM scans over a sequence (Sec. 10)

Where an op is fused for speed (its backward written out), its plain composite in Tensor
primitives stands beside it as the specification, named ``<op>_composite``
(``conv_composite`` holds the convolution's); a test checks that the two agree.
"""

from dlprimer.nn.functional.activations import (
    affine,
    log_softmax,
    relu,
    sigmoid,
    softmax,
    tanh,
)
from dlprimer.nn.functional.attention import (
    causal_mask,
    dot_product_attention,
    dot_product_attention_composite,
    multi_head_attention,
    multi_head_attention_composite,
    padding_mask,
)
from dlprimer.nn.functional.batchnorm import batch_norm, batch_norm_composite
from dlprimer.nn.functional.conv import avg_pool2d, conv2d, embedding, max_pool2d
from dlprimer.nn.functional.conv_composite import conv2d_composite
from dlprimer.nn.functional.dropout import dropout
from dlprimer.nn.functional.losses import binary_cross_entropy_with_logits, cross_entropy, mse_loss
from dlprimer.nn.functional.norm import layer_norm, layer_norm_composite
from dlprimer.nn.functional.recurrent import (
    lstm_scan,
    lstm_scan_composite,
    rnn_scan,
    rnn_scan_composite,
)

__all__ = [
    "batch_norm", "batch_norm_composite", "dropout",
    "affine", "avg_pool2d", "binary_cross_entropy_with_logits", "causal_mask", "conv2d",
    "conv2d_composite", "cross_entropy", "dot_product_attention",
    "dot_product_attention_composite", "embedding", "layer_norm", "layer_norm_composite",
    "log_softmax", "lstm_scan", "lstm_scan_composite", "max_pool2d", "mse_loss",
    "multi_head_attention", "multi_head_attention_composite", "padding_mask", "relu",
    "rnn_scan", "rnn_scan_composite", "sigmoid", "softmax", "tanh",
]
