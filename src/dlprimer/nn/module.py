"""Module: a layer or model that holds parameters and calls differentiable ops.

Parameters are Tensors with ``requires_grad=True`` stored as attributes; child modules
are attributes too, or lists of modules. Their order is the order of assignment in
``__init__``, and that order is the order of θ in Sec. 8.

The model protocol (DESIGN.md): any Module is a model. ``forward(X)`` returns the output
before the final activation (logits, or regression values); ``dp.fit`` records the task,
the classes and the preprocessing on the module, after which ``predict_proba`` applies the
final activation (σ of eq. (1), or the softmax of eq. (4)) and ``predict`` the decision
rules (3) and (6), returning the original labels. Built-in layers describe themselves with
``config()`` and are rebuilt by ``build(config)`` from a registry, so a model file never
holds code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from dlprimer.engine.checks import (
    as_float_array,
    as_matrix,
    in_dtype,
    is_dask,
    non_finite_count,
    real_number,
)
from dlprimer.engine.numerics import stable_sigmoid, stable_softmax
from dlprimer.engine.tensor import Tensor, no_grad
from dlprimer.engine.validate import range_text

__all__ = ["Module", "Parameter", "as_rng", "build", "register", "require_finite_outputs",
           "FRONT_ENDS", "OUTPUTS"]

#: The final activations: σ for one output of two classes (eq. (1)), softmax for K classes
#: (eq. (4)), none (identity) for regression.
OUTPUTS = ("sigmoid", "softmax", "identity")

#: kind → Module subclass, for ``build``; filled by ``@register``.
KINDS: dict[str, type] = {}

#: Front ends that sit above nn (explain, inference) and that ``model.explain()`` and
#: ``model.summary()`` call. NOTE: nn never imports a front end (imports only go down);
#: the package root, which imports everything, installs them here.
FRONT_ENDS: dict[str, Callable] = {}


def as_rng(seed) -> np.random.Generator:
    """A numpy Generator from an int seed or a Generator (never numpy's global state)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int or a numpy Generator, got {type(seed).__name__}")
    return np.random.default_rng(seed)


def Parameter(values, dtype=np.float32) -> Tensor:  # noqa: N802 (reads like a type)
    """A trainable Tensor: float values with ``requires_grad=True``; ``dtype`` is float32
    or float64 (anything else is refused, not silently changed)."""
    return Tensor(values, requires_grad=True, dtype=dtype)


def register(cls: type) -> type:
    """Class decorator: make a built-in layer or model rebuildable by ``build`` under its
    class name (its ``config()["kind"]``)."""
    KINDS[cls.__name__] = cls
    return cls


def build(config: dict) -> Module:
    """A fresh module from ``config()``'s output, with no code executed: the kind is looked
    up in the registry and its ``from_config`` called on the plain JSON values.

    >>> from dlprimer.nn import Dense
    >>> build(Dense(3, 2).config()).W.shape
    (2, 3)
    """
    if not isinstance(config, dict):
        raise ValueError(f"a layer's config must be a JSON object, got {type(config).__name__}")
    kind = config.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        raise ValueError(f"unknown layer kind {kind!r}; known: {sorted(KINDS)}")
    return KINDS[kind].from_config(config)


def require_finite_outputs(model: Module, z: np.ndarray, name: str = "X",
                           max_shown: int = 5) -> None:
    """A ValueError, naming the rows, where the output z of ``model`` on the rows of
    ``name`` is NaN or infinite: finite inputs can still overflow inside a model (3e38
    times a weight of 2 in float32), and NaN must never be read as a class."""
    if z.size == 0 or np.isfinite(z).all():
        return
    bad = ~np.isfinite(z)
    rows = np.flatnonzero(bad.reshape(len(z), -1).any(axis=1)) if z.ndim else np.array([0])
    shown = ", ".join(str(int(r)) for r in rows[:max_shown])
    more = f" and {len(rows) - max_shown} more" if len(rows) > max_shown else ""
    if not all(np.isfinite(p.data).all() for p in model.parameters()):
        cause = ("the model's parameters hold NaN or inf (did its fit diverge?): train it "
                 "again, with a smaller learning rate")
    else:
        cause = (f"the inputs are finite but overflow inside the model ({model.dtype.name} "
                 f"holds {range_text(model.dtype)}): standardize the inputs (standardize=True "
                 "in fit), rescale them, or use a float64 model (dtype=np.float64)")
    raise ValueError(f"the model's output has {non_finite_count(z[bad])} in {len(rows)} row(s) "
                     f"of {name}, first at row(s) {shown}{more}: {cause}")


class Module:
    """Base of layers and models: parameters in a fixed order, train/eval mode, the fitted
    state of the model protocol, and the decision rules.

    Attributes set by ``dp.fit`` (None until then): ``task_`` ("binary", "multiclass" or
    "regression"), ``output`` (the final activation, one of ``OUTPUTS``), ``classes_`` (the
    original labels, in the order of the outputs), ``standardizer`` (applied to raw rows by
    ``predict*``), ``preprocessor`` (a fitted ``dp.data.Preprocessor`` when fit on a table
    of raw columns: it encodes and standardizes raw rows), ``feature_names``, ``converged_``
    (False when the optimizer hit its iteration cap before its convergence test).
    """

    training = True
    output: str | None = None
    task_: str | None = None
    classes_: np.ndarray | None = None
    standardizer = None
    preprocessor = None
    feature_names: list[str] | None = None
    converged_: bool | None = None
    #: Where the training rows came from (file, hash, rows, split), set by ``dlprimer fit``.
    provenance: dict | None = None

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):  # pragma: no cover - each subclass defines it
        raise NotImplementedError

    # ------------------------------------------------------------------ structure
    def children(self) -> Iterator[tuple[str, object]]:
        """(name, value) of the public attributes; a list of modules as ``name.i``."""
        for name, value in vars(self).items():
            if name.startswith("_"):
                continue
            if isinstance(value, (list, tuple)) and value and all(
                isinstance(v, Module) for v in value
            ):
                for i, v in enumerate(value):
                    yield f"{name}.{i}", v
            else:
                yield name, value

    def modules(self) -> Iterator[Module]:
        """This module and every module inside it, depth first in assignment order."""
        yield self
        for _, value in self.children():
            if isinstance(value, Module):
                yield from value.modules()

    def named_parameters(self) -> list[tuple[str, Tensor]]:
        """(name, Tensor) pairs in assignment order; nested names are dotted (``layers.0.W``)."""
        out: list[tuple[str, Tensor]] = []
        for name, value in self.children():
            if isinstance(value, Tensor) and value.requires_grad:
                out.append((name, value))
            elif isinstance(value, Module):
                out.extend((f"{name}.{sub}", p) for sub, p in value.named_parameters())
        return out

    #: Names of the non-trainable arrays a layer keeps and saves (BatchNorm's running
    #: statistics).
    BUFFERS: tuple[str, ...] = ()

    def named_buffers(self) -> list[tuple[str, np.ndarray]]:
        """(name, array) of the saved non-trainable state, dotted as ``named_parameters``."""
        out = [(name, getattr(self, name)) for name in self.BUFFERS]
        for name, value in self.children():
            if isinstance(value, Module):
                out.extend((f"{name}.{sub}", b) for sub, b in value.named_buffers())
        return out

    def parameters(self) -> list[Tensor]:
        """The trainable Tensors, in the fixed order of ``named_parameters``."""
        return [p for _, p in self.named_parameters()]

    def num_parameters(self) -> int:
        """d, the number of scalar parameters (the length of θ, eq. (36))."""
        return sum(p.size for p in self.parameters())

    @property
    def dtype(self) -> np.dtype:
        """The parameters' dtype (float32 or float64; float32 for a module without any)."""
        params = self.parameters()
        return params[0].dtype if params else np.dtype(np.float32)

    def zero_grad(self) -> None:
        """Forget every parameter's accumulated gradient."""
        for p in self.parameters():
            p.grad = None

    def theta(self) -> np.ndarray:
        """All parameters as one vector θ ∈ R^d (Sec. 8), in ``named_parameters`` order."""
        params = self.parameters()
        if not params:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate([p.data.ravel() for p in params])

    def set_theta(self, theta) -> None:
        """Write a vector θ ∈ R^d back into the parameters (inverse of ``theta``)."""
        theta = np.asarray(theta)
        d = self.num_parameters()
        if theta.shape != (d,):
            raise ValueError(f"theta must have shape ({d},) for this model, got {theta.shape}")
        start = 0
        for p in self.parameters():
            p.data[...] = theta[start:start + p.size].reshape(p.shape)
            start += p.size

    # ------------------------------------------------------------------ modes
    def train(self, mode: bool = True) -> Module:
        """Training mode (Dropout drops, BatchNorm uses batch statistics) for this module
        and everything inside it; ``train(False)`` is ``eval()``."""
        for m in self.modules():
            m.training = bool(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: Dropout passes inputs through, BatchNorm uses its running
        statistics."""
        return self.train(False)

    # ------------------------------------------------------------------ config
    def config(self) -> dict:
        """A JSON description from which ``build`` makes the same architecture (the
        weights travel separately). Built-in layers and models define it."""
        raise TypeError(
            f"{type(self).__name__} is not a built-in dlprimer layer, so it has no config(); "
            f"save it with dp.save and load it with dp.load(path, model={type(self).__name__}"
            "(...)), which fills a fresh instance after checking names and shapes")

    @classmethod
    def from_config(cls, config: dict) -> Module:
        """The module that ``config`` describes: the constructor called on its arguments."""
        arguments = {k: v for k, v in config.items() if k != "kind"}
        return cls(**arguments)

    # ------------------------------------------------------------------ the model protocol
    @property
    def n_features(self) -> int | None:
        """p, the number of input features, where the module knows it (else None)."""
        return None

    @property
    def input_scaler(self):
        """The eq. (13) step the model's inputs take: the Preprocessor's standardizer
        where there is a Preprocessor, else ``standardizer`` (None: no standardization)."""
        return self.standardizer if self.preprocessor is None else self.preprocessor.standardizer

    def prepare(self, X) -> np.ndarray:
        """Raw rows → the model's input: through the fitted Preprocessor where there is one;
        else checked, columns of a DataFrame taken by name where the names it was fit on
        are known, standardized (eq. (13)) if fit so."""
        if self.preprocessor is not None:  # raw columns: encoded, then eq. (13)
            return in_dtype(self.preprocessor.transform(X), self.dtype, "X")
        if hasattr(X, "columns") and hasattr(X, "iloc"):  # a pandas DataFrame
            X = as_matrix(self._columns(X), "X")[0]
        X = as_float_array(X, "X", allow_nan=False)
        if X.ndim == 1 and self.n_features is not None:
            X = X[None, :]  # one sample
        if self.standardizer is not None:
            X = self.standardizer.transform(X)
        return in_dtype(X, self.dtype, "X")

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
        """ŷ for raw rows, as numpy, computed in eval mode: σ(z) (n,) for one sigmoid
        output, S_Softmax(z) (n, K) for a softmax output, the values for regression.
        For a Dask array X, a lazy Dask array computed blockwise (``dlprimer[dask]``)."""
        if is_dask(X):
            return FRONT_ENDS["dask"](self, X, "predict_proba")
        X = self.prepare(X)
        was_training = self.training
        self.eval()
        try:
            with no_grad(), np.errstate(over="ignore", invalid="ignore"):  # checked below
                z = self.forward(Tensor(X)).data
        finally:
            self.train(was_training)
        require_finite_outputs(self, z)
        output = self.output or ("sigmoid" if z.ndim == 1 or z.shape[-1] == 1 else "softmax")
        if output == "softmax":
            return stable_softmax(z, axis=-1)
        if z.ndim == 2 and z.shape[1] == 1:
            z = z[:, 0]
        return stable_sigmoid(z) if output == "sigmoid" else z

    def predict(self, X, tau: float = 0.5) -> np.ndarray:
        """Decision rule (3) with threshold τ for sigmoid outputs, (6) argmax for softmax;
        the values for regression. Returns the original labels when known."""
        if is_dask(X):
            return FRONT_ENDS["dask"](self, X, "predict")
        return self.decide(self.predict_proba(X), tau)

    def decide(self, y_hat: np.ndarray, tau: float = 0.5) -> np.ndarray:
        """The decision for outputs ŷ of ``predict_proba``: rule (3) or (6), as labels."""
        if self.output == "identity":
            return y_hat
        if self.output == "sigmoid" or (self.output is None and y_hat.ndim == 1):
            tau = real_number(tau, "tau", "the decision threshold of rule (3)", low=0.0)
            if tau > 1:
                raise ValueError(f"tau (the decision threshold of rule (3)) must lie in "
                                 f"[0, 1], got {tau}")
            index = (y_hat > tau).astype(np.int64)  # eq. (3): ŷ ≤ τ → 0, ŷ > τ → 1
        else:
            index = np.argmax(y_hat, axis=-1)  # eq. (6)
        return self.classes_[index] if self.classes_ is not None else index

    def explain(self, x=None, digits: int = 4, **options):
        """The model in the primer's notation with its dimensions; with one input ``x``
        (raw, as for ``predict``), every step of the forward pass with numbers.

        Returns an Explanation: ``str()`` is plain text; Jupyter shows its LaTeX or HTML.
        """
        return FRONT_ENDS["explain"](self, x, digits, **options)

    def summary(self, X, y):
        """Statistical inference for Models I and II: per coefficient the estimate, its
        standard error, z, p-value and 95% confidence interval (odds ratios for Model I)."""
        return FRONT_ENDS["summary"](self, X, y)

    def _repr_html_(self) -> str:
        """Jupyter's view of the model: its layers, parameters, task and features."""
        return FRONT_ENDS["html"](self)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}("]
        for name, value in vars(self).items():
            if name.startswith("_"):
                continue
            if isinstance(value, Tensor):
                lines.append(f"  {name}: {value.shape} {value.dtype}")
            elif isinstance(value, Module):
                inner = repr(value).replace("\n", "\n  ")
                lines.append(f"  {name}: {inner}")
            elif isinstance(value, (list, tuple)) and value and all(
                isinstance(v, Module) for v in value
            ):
                for i, v in enumerate(value):
                    inner = repr(v).replace("\n", "\n  ")
                    lines.append(f"  {name}[{i}]: {inner}")
        if len(lines) == 1:
            return f"{type(self).__name__}()"
        return "\n".join(lines) + "\n)"
