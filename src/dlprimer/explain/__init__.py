"""Explain a model in the primer's notation, with one input's pass in numbers.

Each model or layer kind has a registered explainer (``register``); importing this
package registers the built-in ones: Models I-III (``explain.models``), the layers of a
Sequential and Sequential itself (``explain.layers``), convolution and attention.
"""

from dlprimer.explain import layers, models  # noqa: F401 (registers their explainers)
from dlprimer.explain.attention import explain_attention
from dlprimer.explain.conv import explain_conv2d
from dlprimer.explain.core import E, Explanation, explain, input_row, layer, num, register, sub, vec

__all__ = ["E", "Explanation", "explain", "explain_attention", "explain_conv2d", "input_row",
           "layer", "num", "register", "sub", "vec"]
