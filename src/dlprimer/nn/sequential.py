"""Sequential: layers composed in order, a^[ℓ] = f_ℓ(a^[ℓ-1]) with a^[0] = x, as the
layers of Model III (eqs. (7), (33)), for any layers."""

from __future__ import annotations

from collections.abc import Iterator

from dlprimer.engine.tensor import as_tensor
from dlprimer.nn.module import Module, build, register

__all__ = ["Sequential"]


@register
class Sequential(Module):
    """The composition f_L ∘ ... ∘ f_1 of the given layers, applied in order.

    The layers are ``self.layers`` (a list), so the parameter names are ``layers.0.W``,
    ``layers.0.b``, ``layers.2.W`` ... and θ (Sec. 8) lists them layer by layer.
    ``forward`` hands its input to the first layer as it is (each layer turns arrays into
    Tensors of its own dtype) and returns the last layer's output: for a classifier, the
    logits.

    Parameters
    ----------
    *layers : Module
        Each takes the previous one's output; shapes are checked by the layers when called.

    >>> import numpy as np
    >>> from dlprimer.nn import Conv2d, Dense, Flatten, MaxPool2d, ReLU
    >>> net = Sequential(Conv2d(1, 8, 3, padding=1), ReLU(), MaxPool2d(2), Flatten(),
    ...                  Dense(8 * 4 * 4, 10))
    >>> net(np.zeros((2, 1, 8, 8))).shape          # (n, 1, 8, 8) -> (n, 10) logits
    (2, 10)
    >>> len(net), [name for name, _ in net.named_parameters()][:2]
    (5, ['layers.0.W', 'layers.0.b'])
    """

    def __init__(self, *layers: Module):
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential takes dlprimer Modules (layers), but argument {i} "
                                f"is a {type(layer).__name__}; wrap a function in a Module "
                                "subclass with a forward method")
        self.layers = list(layers)

    def forward(self, X):
        a = X if self.layers else as_tensor(X)  # an empty Sequential is the identity
        for layer in self.layers:
            a = layer(a)  # a^[ℓ] = f_ℓ(a^[ℓ-1])
        return a

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index):
        """Layer ``index``; a slice gives a Sequential of those layers (sharing them)."""
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        return self.layers[index]

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def config(self) -> dict:
        configs = []
        for i, layer in enumerate(self.layers):
            try:
                configs.append(layer.config())
            except TypeError as err:
                raise TypeError(f"Sequential layer {i} ({type(layer).__name__}) has no config(): "
                                f"{err}") from err
        return {"kind": "Sequential", "layers": configs}

    @classmethod
    def from_config(cls, config: dict) -> Sequential:
        layers = config.get("layers")
        if not isinstance(layers, list):
            raise ValueError(f"a Sequential config lists its layers under 'layers', got "
                             f"{type(layers).__name__}")
        return cls(*(build(layer) for layer in layers))
