"""The primer's three models (Sec. 2 and 9).

Model I   ŷ = σ_Sig(b₀ + wᵀx)                         eq. (1)
Model II  ŷ = S_Softmax(b + W x)                      eq. (4)
Model III ŷ = f^[L](... f^[1](x)), f^[ℓ](u) = S^[ℓ](b^[ℓ] + W^[ℓ] u)   eqs. (7), (8)

Each model is a ``dp.nn.Module`` mapping a batch X ∈ R^{n×p} (one sample a row) to z,
its logits (``model(X)``, a Tensor); ``model.y_hat(X)`` is the equation itself, ŷ.
``predict_proba`` and ``predict`` return numpy arrays and apply, when the model carries
them, the fitted standardizer (eq. (13)) to raw rows and the original class labels to the
decision rules (3) and (6).
"""

from __future__ import annotations

import numpy as np

from dlprimer.engine.checks import as_float_array, positive_int
from dlprimer.engine.tensor import Tensor
from dlprimer.nn.dense import Dense
from dlprimer.nn.init import initialize
from dlprimer.nn.module import OUTPUTS, Module, Parameter, as_rng, register

__all__ = ["Model", "SigmoidModel", "SoftmaxModel", "FeedForward"]

ACTIVATIONS = ("sigmoid", "relu", "tanh")


def _convex_init(shape, fan_in, fan_out, seed, init, dtype) -> np.ndarray:
    """Starting weights of Models I and II: zeros, or Glorot draws from ``seed``."""
    if init == "zeros":
        return np.zeros(shape, dtype=dtype)
    return initialize(shape, fan_in, fan_out, as_rng(seed), init, dtype)


class Model(Module):
    """What the primer's three models share: they are Modules whose ``forward`` is z, the
    logits of eqs. (1), (4) and (8) before the last activation, on rows of p features.

    ``predict_proba`` applies that activation (``output``) and ``predict`` the decision
    rules, as for any Module (``dlprimer.nn.Module``); the attributes set by ``dp.fit``
    (``classes_``, ``standardizer``, ``feature_names``) are the Module's.
    """

    output = "sigmoid"  # the last activation: "sigmoid" | "softmax" | "identity"

    @property
    def n_features(self) -> int:  # pragma: no cover - each model defines it
        raise NotImplementedError

    @property
    def n_outputs(self) -> int:  # pragma: no cover
        raise NotImplementedError

    def logits(self, X) -> Tensor:
        """z, the model's output before its last activation (the same as ``forward``)."""
        return self.forward(X)

    def y_hat(self, X) -> Tensor:
        """ŷ, the equation itself: the last activation applied to the logits."""
        z = self.forward(X)
        if self.output == "sigmoid":
            return z.sigmoid()
        if self.output == "softmax":
            return z.softmax(axis=-1)
        return z

    def _input(self, X) -> Tensor:
        """X as a Tensor of this model's dtype, with p columns checked."""
        if isinstance(X, Tensor):
            data = X
        elif isinstance(X, np.ndarray) and X.dtype == self.dtype:
            data = Tensor(X)  # the training loop's batches: already checked by fit
        else:
            data = Tensor(as_float_array(X, "X", ndim=(1, 2), dtype=self.dtype))
        if data.ndim not in (1, 2) or data.shape[-1] != self.n_features:
            raise ValueError(
                f"{type(self).__name__} expects rows of p={self.n_features} features, got "
                f"shape {data.shape}"
                + (f"; the model was fit on columns {self.feature_names}"
                   if self.feature_names else "")
            )
        return data


@register
class SigmoidModel(Model):
    """Model I, the sigmoid (logistic) model: ŷ = σ_Sig(b₀ + wᵀx), eqs. (1)-(2).

    Parameters b₀ (a scalar, the bias) and w ∈ R^p (the weights); d = p + 1. They start
    at θ⁽⁰⁾ = 0 (``init="zeros"``): the loss is convex, so every start leads to the same
    optimum, and zero is the usual choice in statistics; ``init="glorot"`` draws w from
    ``seed`` instead.

    >>> m = SigmoidModel(3)
    >>> m.w.data[:] = [0.5, -1.0, 2.0]; m.b0.data[...] = 0.25
    >>> float(m.logits(np.array([[1.0, 1.0, 1.0]])).data[0])   # 0.25 + 0.5 - 1 + 2
    1.75
    """

    #: A linear model whose coefficients get standard errors: one-hot encodings leave out
    #: a reference category so that the intercept stays identifiable.
    identifiable = True
    output = "sigmoid"

    def __init__(self, p: int, seed=0, dtype=np.float32, init: str = "zeros"):
        p = positive_int(p, "p (the number of features)")
        self.b0 = Parameter(np.zeros(()), dtype)
        self.w = Parameter(_convex_init((p,), p, 1, seed, init, dtype), dtype)

    @property
    def dtype(self) -> np.dtype:
        # NOTE: read on every forward pass (``_input``); one attribute, not a walk over θ.
        return self.w.dtype

    def config(self) -> dict:
        return {"kind": "SigmoidModel", "p": self.n_features, "dtype": str(self.dtype)}

    @property
    def n_features(self) -> int:
        return self.w.shape[0]

    @property
    def n_outputs(self) -> int:
        return 1

    def forward(self, X) -> Tensor:
        """z = b₀ + wᵀx for each row: Xw + b₀ ∈ R^n."""
        return self._input(X) @ self.w + self.b0


@register
class SoftmaxModel(Model):
    """Model II, the softmax (multinomial) model: ŷ = S_Softmax(b + W x), eqs. (4)-(5).

    Parameters b ∈ R^K and W ∈ R^{K×p}; z_i = b_i + Σ_j w_{i,j} x_j. Like Model I they
    start at zero unless ``init="glorot"``.

    >>> m = SoftmaxModel(p=3, K=4)
    >>> m.W.shape, m.b.shape, m.num_parameters()    # d = K + K p
    ((4, 3), (4,), 16)
    """

    #: A linear model whose coefficients get standard errors: one-hot encodings leave out
    #: a reference category so that the intercept stays identifiable.
    identifiable = True
    output = "softmax"

    def __init__(self, p: int, K: int, seed=0, dtype=np.float32, init: str = "zeros"):
        p = positive_int(p, "p (the number of features)")
        K = positive_int(K, "K (the number of classes)")
        if K < 2:
            raise ValueError("K (the number of classes) must be at least 2; for two classes "
                             "Model I (SigmoidModel) is the usual choice")
        self.b = Parameter(np.zeros(K), dtype)
        self.W = Parameter(_convex_init((K, p), p, K, seed, init, dtype), dtype)

    @property
    def dtype(self) -> np.dtype:
        # NOTE: read on every forward pass (``_input``); one attribute, not a walk over θ.
        return self.W.dtype

    def config(self) -> dict:
        return {"kind": "SoftmaxModel", "p": self.n_features, "K": self.n_outputs,
                "dtype": str(self.dtype)}

    @property
    def n_features(self) -> int:
        return self.W.shape[1]

    @property
    def n_outputs(self) -> int:
        return self.W.shape[0]

    def forward(self, X) -> Tensor:
        """z = b + W x for each row: Z = X Wᵀ + b ∈ R^{n×K}."""
        return self._input(X) @ self.W.T + self.b


@register
class FeedForward(Model):
    """Model III, the fully connected feedforward network, eqs. (7), (8) and (33).

    ``sizes = [N_0, N_1, ..., N_L]`` gives p = N_0 inputs and the width of every layer;
    layer ℓ holds W^[ℓ] ∈ R^{N_ℓ × N_{ℓ-1}} and b^[ℓ] ∈ R^{N_ℓ} as ``layers[ℓ-1]``.
    Hidden layers apply ``activation`` element-wise; the last layer applies ``output``.

    >>> net = FeedForward([4, 4, 3, 5, 1])          # the network of Figure 3
    >>> [layer.W.shape for layer in net.layers]     # dimensions of Sec. 9
    [(4, 4), (3, 4), (5, 3), (1, 5)]
    >>> net.num_parameters()                        # d of eq. (36)
    61
    """

    def __init__(self, sizes, activation: str = "sigmoid", output: str = "sigmoid", seed=0,
                 dtype=np.float32):
        sizes = list(sizes)
        if len(sizes) < 2:
            raise ValueError(f"sizes must list at least the input and output widths, got {sizes}")
        sizes = [positive_int(n, f"sizes[{i}]") for i, n in enumerate(sizes)]
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
        rng = as_rng(seed)
        init = "he" if activation == "relu" else "glorot"
        self.sizes = sizes
        self.activation = activation
        self.output = output
        self.layers = [
            Dense(n_in, n_out, init=init if ell < len(sizes) - 1 else "glorot", seed=rng,
                  dtype=dtype)
            for ell, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), 1)
        ]

    @property
    def dtype(self) -> np.dtype:
        # NOTE: read on every forward pass (``_input``); one attribute, not a walk over θ.
        return self.layers[0].W.dtype

    def config(self) -> dict:
        return {"kind": "FeedForward", "sizes": list(self.sizes), "activation": self.activation,
                "output": self.output, "dtype": str(self.dtype)}

    @property
    def n_features(self) -> int:
        return self.sizes[0]

    @property
    def n_outputs(self) -> int:
        return self.sizes[-1]

    def forward(self, X) -> Tensor:
        """z^[L]: every layer a^[ℓ] = σ(b^[ℓ] + W^[ℓ] a^[ℓ-1]), a^[0] = x (33), then the
        last affine map without its activation."""
        a = self._input(X)
        for layer in self.layers[:-1]:
            a = layer(a, activation=self.activation)  # one fused node a = σ(b + W a)
        return self.layers[-1](a)
