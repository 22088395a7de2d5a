"""The primer's three models (Sec. 2 and 9).

Model I   ŷ = σ_Sig(b₀ + wᵀx)                         eq. (1)
Model II  ŷ = S_Softmax(b + W x)                      eq. (4)
Model III ŷ = f^[L](... f^[1](x)), f^[ℓ](u) = S^[ℓ](b^[ℓ] + W^[ℓ] u)   eqs. (7), (8)

Each model maps a batch X ∈ R^{n×p} (one sample a row) to ŷ. ``model(X)`` is the
equation itself (a Tensor); ``predict_proba`` and ``predict`` return numpy arrays and
apply, when the model carries them, the fitted standardizer (eq. (13)) to raw rows and the
original class labels to the decision rules (3) and (6).
"""

from __future__ import annotations

import numpy as np

from dlprimer.data import tables as _data
from dlprimer.engine.checks import as_float_array, in_dtype, positive_int, real_number
from dlprimer.engine.tensor import Tensor, no_grad
from dlprimer.nn.dense import Dense
from dlprimer.nn.init import initialize
from dlprimer.nn.module import Module, Parameter, as_rng

__all__ = ["Model", "SigmoidModel", "SoftmaxModel", "FeedForward"]

ACTIVATIONS = ("sigmoid", "relu", "tanh")
OUTPUTS = ("sigmoid", "softmax", "identity")


def _convex_init(shape, fan_in, fan_out, seed, init, dtype) -> np.ndarray:
    """Starting weights of Models I and II: zeros, or Glorot draws from ``seed``."""
    if init == "zeros":
        return np.zeros(shape, dtype=dtype)
    return initialize(shape, fan_in, fan_out, as_rng(seed), init, dtype)


class Model(Module):
    """What every model shares: the output rule, decision rules and the data it was fit on.

    Attributes set by ``dp.fit`` (None until then): ``classes_`` (the original labels, in
    the order of the outputs), ``standardizer`` (applied to raw rows by ``predict*``),
    ``feature_names``.
    """

    output = "sigmoid"  # the last activation: "sigmoid" | "softmax" | "identity"

    def __init__(self) -> None:
        self.classes_: np.ndarray | None = None
        self.standardizer = None
        self.feature_names: list[str] | None = None

    @property
    def n_features(self) -> int:  # pragma: no cover - each model defines it
        raise NotImplementedError

    @property
    def n_outputs(self) -> int:  # pragma: no cover
        raise NotImplementedError

    def logits(self, X) -> Tensor:
        """z, the model's output before its last activation."""
        raise NotImplementedError  # pragma: no cover

    def forward(self, X) -> Tensor:
        """ŷ: the last activation applied to the logits."""
        z = self.logits(X)
        if self.output == "sigmoid":
            return z.sigmoid()
        if self.output == "softmax":
            return z.softmax(axis=-1)
        return z

    def _input(self, X) -> Tensor:
        """X as a Tensor of this model's dtype, with p columns checked."""
        if isinstance(X, Tensor):
            data = X
        elif isinstance(X, np.ndarray) and X.dtype == self._dtype:
            data = Tensor(X)  # the training loop's batches: already checked by fit
        else:
            data = Tensor(as_float_array(X, "X", ndim=(1, 2), dtype=self._dtype))
        if data.ndim not in (1, 2) or data.shape[-1] != self.n_features:
            raise ValueError(
                f"{type(self).__name__} expects rows of p={self.n_features} features, got "
                f"shape {data.shape}"
                + (f"; the model was fit on columns {self.feature_names}"
                   if self.feature_names else "")
            )
        return data

    @property
    def _dtype(self) -> np.dtype:
        """The parameters' dtype (float32 or float64)."""
        return self._first_parameter().dtype

    def _first_parameter(self) -> Tensor:
        return self.parameters()[0]

    def prepare(self, X) -> np.ndarray:
        """Raw rows → the model's input: checked, then standardized if fit so.

        A DataFrame's columns are taken by name where the model knows the names it was
        fit on (in any order; extra columns are left out), else in their order.
        """
        if _data.is_dataframe(X):
            X = _data.as_matrix(self._columns(X), "X")[0]
        X = as_float_array(X, "X", ndim=(1, 2), allow_nan=False)
        if X.ndim == 1:
            X = X[None, :]
        if self.standardizer is not None:
            X = self.standardizer.transform(X)
        return in_dtype(X, self._dtype, "X")

    def _columns(self, frame):
        """The DataFrame's feature columns in the order the model was fit on."""
        if self.feature_names is None:
            return frame
        names = [str(c) for c in frame.columns]
        missing = [c for c in self.feature_names if c not in names]
        if missing:
            raise ValueError(f"X lacks the column(s) {missing[:10]} the model was fit on; it "
                             f"has {names[:10]}{' ...' if len(names) > 10 else ''}")
        by_name = dict(zip(names, frame.columns, strict=True))
        return frame[[by_name[c] for c in self.feature_names]]

    def predict_proba(self, X) -> np.ndarray:
        """ŷ for raw rows, as numpy: (n,) for one sigmoid output, else (n, q)."""
        with no_grad():
            y_hat = self.forward(self._input(self.prepare(X))).data
        if y_hat.ndim == 2 and y_hat.shape[1] == 1 and self.output != "softmax":
            y_hat = y_hat[:, 0]
        return y_hat

    def predict(self, X, tau: float = 0.5) -> np.ndarray:
        """Decision rule (3) with threshold τ for sigmoid outputs, (6) argmax for softmax;
        the raw output for identity (regression). Returns original labels when known."""
        y_hat = self.predict_proba(X)
        if self.output == "identity":
            return y_hat
        if self.output == "sigmoid":
            tau = real_number(tau, "tau", "the decision threshold of rule (3)", low=0.0)
            if tau > 1:
                raise ValueError(f"tau (the decision threshold of rule (3)) must lie in "
                                 f"[0, 1], got {tau}")
            index = (y_hat > tau).astype(np.int64)  # eq. (3): ŷ ≤ τ → 0, ŷ > τ → 1
        else:
            index = np.argmax(y_hat, axis=-1)  # eq. (6)
        return self.classes_[index] if self.classes_ is not None else index

    def explain(self, x=None, digits: int = 4):
        """The model in the primer's notation with its dimensions and d; with one input row
        ``x`` (raw, as for ``predict``), every step of the forward pass with numbers.

        Returns an Explanation: ``str()`` is plain text; Jupyter shows its LaTeX or HTML.
        """
        from dlprimer.explain import explain

        return explain(self, x, digits)

    def summary(self, X, y):
        """Statistical inference for Models I and II: per coefficient the estimate, its
        standard error, z, p-value and 95% confidence interval (odds ratios for Model I)."""
        from dlprimer.inference import summary

        return summary(self, X, y)


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

    output = "sigmoid"

    def __init__(self, p: int, seed=0, dtype=np.float32, init: str = "zeros"):
        super().__init__()
        p = positive_int(p, "p (the number of features)")
        self.b0 = Parameter(np.zeros(()), dtype)
        self.w = Parameter(_convex_init((p,), p, 1, seed, init, dtype), dtype)

    def _first_parameter(self) -> Tensor:
        return self.w

    @property
    def n_features(self) -> int:
        return self.w.shape[0]

    @property
    def n_outputs(self) -> int:
        return 1

    def logits(self, X) -> Tensor:
        """z = b₀ + wᵀx for each row: Xw + b₀ ∈ R^n."""
        return self._input(X) @ self.w + self.b0


class SoftmaxModel(Model):
    """Model II, the softmax (multinomial) model: ŷ = S_Softmax(b + W x), eqs. (4)-(5).

    Parameters b ∈ R^K and W ∈ R^{K×p}; z_i = b_i + Σ_j w_{i,j} x_j. Like Model I they
    start at zero unless ``init="glorot"``.

    >>> m = SoftmaxModel(p=3, K=4)
    >>> m.W.shape, m.b.shape, m.num_parameters()    # d = K + K p
    ((4, 3), (4,), 16)
    """

    output = "softmax"

    def __init__(self, p: int, K: int, seed=0, dtype=np.float32, init: str = "zeros"):
        super().__init__()
        p = positive_int(p, "p (the number of features)")
        K = positive_int(K, "K (the number of classes)")
        if K < 2:
            raise ValueError("K (the number of classes) must be at least 2; for two classes "
                             "Model I (SigmoidModel) is the usual choice")
        self.b = Parameter(np.zeros(K), dtype)
        self.W = Parameter(_convex_init((K, p), p, K, seed, init, dtype), dtype)

    def _first_parameter(self) -> Tensor:
        return self.W

    @property
    def n_features(self) -> int:
        return self.W.shape[1]

    @property
    def n_outputs(self) -> int:
        return self.W.shape[0]

    def logits(self, X) -> Tensor:
        """z = b + W x for each row: Z = X Wᵀ + b ∈ R^{n×K}."""
        return self._input(X) @ self.W.T + self.b


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
        super().__init__()
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

    def _first_parameter(self) -> Tensor:
        return self.layers[0].W

    @property
    def n_features(self) -> int:
        return self.sizes[0]

    @property
    def n_outputs(self) -> int:
        return self.sizes[-1]

    def logits(self, X) -> Tensor:
        """z^[L]: every layer a^[ℓ] = σ(b^[ℓ] + W^[ℓ] a^[ℓ-1]), a^[0] = x (33), then the
        last affine map without its activation."""
        a = self._input(X)
        for layer in self.layers[:-1]:
            a = layer(a, activation=self.activation)  # one fused node a = σ(b + W a)
        return self.layers[-1](a)
