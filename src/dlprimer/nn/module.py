"""Module: a layer or model that holds parameters and calls differentiable ops.

Parameters are Tensors with ``requires_grad=True`` stored as attributes; child modules
are attributes too, or lists of modules. Their order is the order of assignment in
``__init__``, and that order is the order of θ in Sec. 8.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from dlprimer.engine.tensor import Tensor

__all__ = ["Module", "Parameter", "as_rng"]


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


class Module:
    """Base of layers and models: parameters in a fixed order, ``zero_grad``, a shape repr."""

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):  # pragma: no cover - each subclass defines it
        raise NotImplementedError

    def _children(self) -> Iterator[tuple[str, object]]:
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

    def named_parameters(self) -> list[tuple[str, Tensor]]:
        """(name, Tensor) pairs in assignment order; nested names are dotted (``layers.0.W``)."""
        out: list[tuple[str, Tensor]] = []
        for name, value in self._children():
            if isinstance(value, Tensor) and value.requires_grad:
                out.append((name, value))
            elif isinstance(value, Module):
                out.extend((f"{name}.{sub}", p) for sub, p in value.named_parameters())
        return out

    def parameters(self) -> list[Tensor]:
        """The trainable Tensors, in the fixed order of ``named_parameters``."""
        return [p for _, p in self.named_parameters()]

    def num_parameters(self) -> int:
        """d, the number of scalar parameters (the length of θ, eq. (36))."""
        return sum(p.size for p in self.parameters())

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
