"""Seeded weight initialization (Glorot for sigmoid/tanh, He for ReLU); biases start at 0."""

from __future__ import annotations

import numpy as np

__all__ = ["glorot_uniform", "he_normal", "initialize"]


def glorot_uniform(shape: tuple[int, ...], fan_in: int, fan_out: int,
                   rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
    """U(-a, a) with a = √(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010)."""
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def he_normal(shape: tuple[int, ...], fan_in: int, rng: np.random.Generator,
              dtype=np.float32) -> np.ndarray:
    """N(0, 2 / fan_in) (He et al., 2015), suited to ReLU."""
    return (rng.standard_normal(size=shape) * np.sqrt(2.0 / fan_in)).astype(dtype)


def initialize(shape: tuple[int, ...], fan_in: int, fan_out: int, rng: np.random.Generator,
               init: str = "glorot", dtype=np.float32) -> np.ndarray:
    """Weights by name: "glorot" (sigmoid, tanh, softmax) or "he" (ReLU)."""
    if init == "glorot":
        return glorot_uniform(shape, fan_in, fan_out, rng, dtype)
    if init == "he":
        return he_normal(shape, fan_in, rng, dtype)
    raise ValueError(f'init must be "glorot" or "he", got {init!r}')
