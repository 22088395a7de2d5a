"""The network diagrams of Figures 1-3, for any model: ``architecture`` (one entry per drawn
layer), ``model_name`` and ``network_diagram``.

Nothing here tells model classes apart: a model describes itself with ``config()`` and a
layout is registered for its kind (``LAYOUTS``). A Sequential is laid out layer by layer
(Dense layers as columns of neurons, other layers as labelled boxes, with their output
shape where it is known); a module without ``config()`` (a user-defined Module) is drawn
from its ``named_parameters()``, one box per group of parameters.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dlprimer.engine.tensor import no_grad
from dlprimer.report.figures import GREY, finish_figure, new_figure

__all__ = ["architecture", "model_name", "network_diagram", "register_layout"]

#: Activation modules folded into the Dense column before them (their lower-case name).
ACTIVATIONS = {"ReLU": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh"}

#: The primer's names of the models, filled from ``config()`` (kind → format string).
NAMES = {
    "SigmoidModel": "Model I, the sigmoid model (Figure 1)",
    "SoftmaxModel": "Model II, the softmax model (Figure 2)",
    "FeedForward": "Model III, a feedforward network {sizes} (Figure 3)",
    "Sequential": "A Sequential network of {L} layers",
}


def config_of(model) -> dict | None:
    """``model.config()``, or None for a module that has none (user-defined)."""
    try:
        config = model.config()
    except (AttributeError, TypeError):  # no config(), or the base Module's refusal
        return None
    return config if isinstance(config, dict) else None


def kinds(model) -> list[str]:
    """The names to look a layout up by: ``config()["kind"]``, then the class names of the
    method resolution order (a subclass, or a Sequential holding a user-defined layer
    whose config() fails)."""
    config = config_of(model) or {}
    found = [config["kind"]] if isinstance(config.get("kind"), str) else []
    return found + [cls.__name__ for cls in type(model).__mro__]


def model_name(model) -> str:
    """The model's name in the primer (Figures 1-3), or its kind.

    >>> from dlprimer.models import FeedForward
    >>> model_name(FeedForward([4, 4, 3, 5, 1]))
    'Model III, a feedforward network [4, 4, 3, 5, 1] (Figure 3)'
    """
    config = config_of(model) or {}
    for kind in kinds(model):
        if kind in NAMES:
            try:
                return NAMES[kind].format_map({**config, "L": len(getattr(model, "layers", ()))})
            except KeyError:  # a subclass whose config() lacks what the name shows
                return kind
    return type(model).__name__ if config else f"{type(model).__name__} (a user-defined Module)"


# ----------------------------------------------------------------------------- layouts

def neurons(n_in: int, n_out: int, activation: str, W: str | None = None,
            b: str | None = None) -> dict:
    """An entry drawn as a column of n_out neurons, fully connected to the n_in before."""
    return {"kind": "Dense", "n_in": n_in, "n_out": n_out, "activation": activation,
            "W": W, "b": b, "shape": (n_out,), "params": [("W", (n_out, n_in)), ("b", (n_out,))]}


def box(kind: str, params: list[tuple[str, tuple]], shape=None) -> dict:
    """An entry drawn as a labelled box: its kind, parameter shapes and output shape."""
    return {"kind": kind, "n_in": None, "n_out": None, "activation": None, "W": None,
            "b": None, "shape": shape, "params": params}


def leaf_box(model) -> list[dict]:
    """One box for a layer without a layout of its own."""
    params = [(name, tuple(p.shape)) for name, p in model.named_parameters()]
    return [box(kinds(model)[0], params)]


Layout = Callable[[object, dict, object], list[dict]]
LAYOUTS: dict[str, Layout] = {}


def register_layout(kind: str, fn: Layout | None = None):
    """Lay out models of ``kind`` with ``fn(model, config, input_shape) -> entries``."""
    def decorate(fn: Layout) -> Layout:
        LAYOUTS[kind] = fn
        return fn
    return decorate if fn is None else decorate(fn)


@register_layout("SigmoidModel")
def model_one(model, config: dict, input_shape=None) -> list[dict]:
    p = config["p"]
    return [neurons(p, 1, "sigmoid", rf"$w \in \mathbb{{R}}^{{{p}}}$", r"$b_0 \in \mathbb{R}$")]


@register_layout("SoftmaxModel")
def model_two(model, config: dict, input_shape=None) -> list[dict]:
    p, K = config["p"], config["K"]
    return [neurons(p, K, "softmax", rf"$W \in \mathbb{{R}}^{{{K} \times {p}}}$",
                    rf"$b \in \mathbb{{R}}^{{{K}}}$")]


@register_layout("FeedForward")
def model_three(model, config: dict, input_shape=None) -> list[dict]:
    sizes = config["sizes"]
    L = len(sizes) - 1
    return [neurons(n_in, n_out, config["output"] if ell == L else config["activation"])
            for ell, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), 1)]


@register_layout("Dense")
def dense(model, config: dict, input_shape=None) -> list[dict]:
    return [neurons(config["in_features"], config["out_features"], "identity")]


def output_shape(layer, shape):
    """The layer's output shape for one sample of ``shape``, by running it on zeros in
    evaluation mode; None where the shape is unknown or the layer refuses zeros."""
    if shape is None:
        return None
    was_training = layer.training
    layer.eval()  # BatchNorm must not learn running statistics from the zeros
    try:
        with no_grad():
            out = layer(np.zeros((1, *shape), dtype=layer.dtype))
        return tuple(out.shape[1:])
    except (ValueError, TypeError, IndexError):  # e.g. Embedding wants integer ids
        return None
    finally:
        layer.train(was_training)


@register_layout("Sequential")
def sequential(model, config: dict, input_shape=None) -> list[dict]:
    """Layer by layer; an activation module right after a Dense layer is that column's
    activation, as in Figure 3."""
    entries: list[dict] = []
    shape = input_shape
    for i, layer in enumerate(model.layers):
        part = layout(layer, shape)
        if shape is None and i == 0 and part and part[0]["n_in"] is not None:
            shape = (part[0]["n_in"],)  # a Dense first: its input is known
        shape = output_shape(layer, shape)
        kind = kinds(layer)[0]
        previous = entries[-1] if entries else None
        if (kind in ACTIVATIONS and previous is not None and previous["n_out"] is not None
                and previous["activation"] == "identity"):
            previous["activation"] = ACTIVATIONS[kind]
            continue
        if part and shape is not None:
            part[-1]["shape"] = shape
        entries.extend(part)
    return entries


def parameter_boxes(model) -> list[dict]:
    """A module without config(): one box per group of parameters (``fc1.W`` and ``fc1.b``
    are the group ``fc1``), in the order of θ; one box for a module without any."""
    groups: dict[str, list[tuple[str, tuple]]] = {}
    for name, p in model.named_parameters():
        group, _, leaf = name.rpartition(".")
        groups.setdefault(group or type(model).__name__, []).append((leaf, tuple(p.shape)))
    return [box(group, params) for group, params in groups.items()] or [
        box(type(model).__name__, [])]


def layout(model, input_shape=None) -> list[dict]:
    """The entries of ``architecture`` before the primer's symbols are filled in."""
    config = config_of(model)
    for kind in kinds(model):
        if kind in LAYOUTS:
            return LAYOUTS[kind](model, config or {}, input_shape)
    return leaf_box(model) if config is not None else parameter_boxes(model)


def architecture(model, input_shape=None) -> list[dict]:
    """One entry per drawn layer ℓ = 1..L, from the model's ``config()`` and the layout
    registered for its kind.

    Each entry has ``kind``, ``params`` ((name, shape) pairs), ``shape`` (one sample's
    output shape, or None where unknown) and, for a column of neurons, ``n_in``, ``n_out``,
    ``activation`` and the primer's symbols ``W`` and ``b`` (LaTeX); the others have None
    there. ``input_shape`` (one sample's, without the batch axis) lets a Sequential work out
    each layer's output shape when its first layer does not say (a Conv2d).

    >>> from dlprimer.models import SoftmaxModel
    >>> [(e["n_in"], e["n_out"], e["activation"]) for e in architecture(SoftmaxModel(4, 3))]
    [(4, 3, 'softmax')]
    """
    entries = layout(model, input_shape)
    for ell, entry in enumerate(entries, 1):  # the primer's symbols where a layout left none
        if entry["n_out"] is not None and entry["W"] is None:
            n, m = entry["n_out"], entry["n_in"]
            entry["W"] = rf"$W^{{[{ell}]}} \in \mathbb{{R}}^{{{n} \times {m}}}$"
            entry["b"] = rf"$b^{{[{ell}]}} \in \mathbb{{R}}^{{{n}}}$"
    return entries


def dims(shape) -> str:
    """A shape as 8×4×4 (one sample), '?' where unknown."""
    return "?" if shape is None else "×".join(str(n) for n in shape) or "1"


def box_text(entry: dict) -> str:
    lines = [entry["kind"]]
    if entry["params"]:
        lines.append(", ".join(f"{name} {dims(shape)}" for name, shape in entry["params"][:3])
                     + (" …" if len(entry["params"]) > 3 else ""))
    if entry["shape"] is not None:
        lines.append(f"→ {dims(entry['shape'])}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- drawing

def _shown(n: int, most: int) -> list[int | None]:
    """The neuron indices drawn for a layer of n: all, or the first and last few around
    None (the ellipsis) so that at most ``most`` slots are used."""
    if n <= most:
        return list(range(n))
    top = (most - 1) // 2 + (most - 1) % 2
    bottom = most - 1 - top
    return list(range(top)) + [None] + list(range(n - bottom, n))


RADIUS, DX, BOX_W, BOX_H = 0.28, 2.6, 2.1, 1.5


def _columns(entries: list[dict], input_shape, max_neurons: int) -> list[dict]:
    """What each column draws: the input, then one per entry; neurons or a box."""
    first = entries[0]
    if first["n_in"] is not None:
        columns = [{"n": first["n_in"], "slots": _shown(first["n_in"], max_neurons)}]
    else:
        columns = [{"text": "input x" + (f"\n{dims(input_shape)}" if input_shape else "")}]
    for entry in entries:
        if entry["n_out"] is not None:
            columns.append({"n": entry["n_out"], "slots": _shown(entry["n_out"], max_neurons)})
        else:
            columns.append({"text": box_text(entry)})
    for col, column in enumerate(columns):
        column["x"] = col * DX
        slots = column.get("slots")
        column["ys"] = [(len(slots) - 1) / 2 - i for i in range(len(slots))] if slots else [0.0]
    return columns


def _ports(column: dict, side: int) -> list[tuple[float, float]]:
    """Where arrows meet a column: its neurons' edges, or the middle of a box's side."""
    if "slots" not in column:
        return [(column["x"] + side * BOX_W / 2, 0.0)]
    return [(column["x"], y) for y, s in zip(column["ys"], column["slots"], strict=True)
            if s is not None]


def _arrows(ax, left: dict, right: dict) -> None:
    from matplotlib.patches import FancyArrowPatch

    for start in _ports(left, +1):
        for end in _ports(right, -1):
            start_, end_ = np.array(start), np.array(end)
            unit = (end_ - start_) / np.linalg.norm(end_ - start_)
            a = start_ + (RADIUS * unit if "slots" in left else 0)
            b = end_ - (RADIUS * unit if "slots" in right else 0)
            ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=6,
                                         linewidth=0.5, color="#9a9a9a", zorder=1))


def _draw_column(ax, column: dict, is_input: bool, names=None) -> None:
    """One column of neurons (or a box); an input column names its features, if known."""
    from matplotlib.patches import Circle, FancyBboxPatch

    x = column["x"]
    if "slots" not in column:
        ax.add_patch(FancyBboxPatch((x - BOX_W / 2, -BOX_H / 2), BOX_W, BOX_H,
                                    boxstyle="round,pad=0.05", facecolor="#fdf0d5" if not
                                    is_input else "white", edgecolor="#b36b00", zorder=2))
        ax.text(x, 0, column["text"], ha="center", va="center", fontsize="x-small", zorder=3)
        return
    for y, neuron in zip(column["ys"], column["slots"], strict=True):
        if neuron is None:
            ax.text(x, y, r"$\vdots$", ha="center", va="center", fontsize=14)
            ax.text(x + RADIUS + 0.08, y, f"{column['n']} in all", ha="left", va="center",
                    fontsize="x-small", color=GREY, zorder=3,
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
        elif is_input:
            ax.add_patch(Circle((x, y), RADIUS, facecolor="white", edgecolor="black",
                                linewidth=1, zorder=2))
            ax.text(x, y, f"$x_{{{neuron + 1}}}$", ha="center", va="center",
                    fontsize="small", zorder=3)
            if names is not None and neuron < len(names):
                ax.text(x - RADIUS - 0.08, y, _short(names[neuron]), ha="right",
                        va="center", fontsize="x-small", color=GREY, zorder=3)
        else:
            ax.add_patch(Circle((x, y), RADIUS, facecolor="#6baed6", edgecolor="#08519c",
                                linewidth=1, zorder=2))


def _outputs(ax, column: dict) -> None:
    """The arrows out of the last column, to ŷ."""
    if "slots" not in column:
        x = column["x"] + BOX_W / 2
        ax.annotate("", xy=(x + 0.55, 0), xytext=(x, 0),
                    arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 0.8})
        ax.text(x + 0.65, 0, r"$\hat{y}$", ha="left", va="center")
        return
    for y, neuron in zip(column["ys"], column["slots"], strict=True):
        if neuron is None:
            continue
        label = r"$\hat{y}$" if column["n"] == 1 else rf"$\hat{{y}}_{{{neuron + 1}}}$"
        x = column["x"] + RADIUS
        ax.annotate("", xy=(x + 0.55, y), xytext=(x, y),
                    arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 0.8})
        ax.text(x + 0.65, y, label, ha="left", va="center")


def _short(name, width: int = 18) -> str:
    """A feature name cut to ``width``, its $ escaped (matplotlib reads $…$ as math)."""
    name = str(name)
    name = name if len(name) <= width else name[: width - 1] + "…"
    return name.replace("$", r"\$")


def network_diagram(model, path=None, max_neurons: int = 10, input_shape=None):
    """The model drawn as in the primer's Figures 1-3: inputs x₁…x_p, each layer's neurons
    as circles, an arrow for every weight, and the dimensions W[ℓ] ∈ R^{N_ℓ×N_{ℓ-1}} and
    b[ℓ] ∈ R^{N_ℓ} under each layer.

    Any model: a Sequential layer by layer (layers other than Dense as boxes with their
    kind, parameter shapes and output shape, known from ``input_shape`` (one sample's) or a
    Dense first layer), a user-defined Module as boxes of its parameters. Layers wider than
    ``max_neurons`` show their first and last neurons around a ⋮ marker with the width.
    """
    if max_neurons < 3:
        raise ValueError(f"max_neurons must be at least 3, got {max_neurons}")
    entries = architecture(model, input_shape)
    if not entries:
        entries = [box(type(model).__name__, [])]  # an empty Sequential
    columns = _columns(entries, input_shape, max_neurons)
    L = len(entries)
    tallest = max(max(len(c.get("slots", ())) for c in columns), 3)
    fig = new_figure(max(2.0 + 1.9 * L, 5.2), 1.9 + 0.52 * tallest)
    ax = fig.subplots()
    ax.set_axis_off()
    ax.set_aspect("equal")
    for left, right in zip(columns[:-1], columns[1:], strict=True):
        _arrows(ax, left, right)  # arrows first, so that circles cover their ends
    names = getattr(model, "feature_names", None)
    names = list(names) if names and "slots" in columns[0] else None
    for col, column in enumerate(columns):
        _draw_column(ax, column, col == 0, names if col == 0 else None)
    _outputs(ax, columns[-1])
    top = (tallest - 1) / 2 + RADIUS + 0.25
    bottom = -(tallest - 1) / 2 - RADIUS - 0.25
    if "slots" in columns[0]:
        ax.text(0, top, rf"input $x \in \mathbb{{R}}^{{{columns[0]['n']}}}$", ha="center",
                va="bottom", fontsize="small")
    for ell, entry in enumerate(entries, 1):
        x = ell * DX
        name = "output layer" if ell == L else f"layer {ell}"
        below = f"\n{entry['activation']}" if entry["activation"] else ""
        ax.text(x, top, name + below, ha="center", va="bottom", fontsize="small")
        if entry["W"] is not None:
            ax.text(x - DX / 2, bottom, f"{entry['W']}\n{entry['b']}", ha="center", va="top",
                    fontsize="small")
    room = 0.0 if names is None else 0.075 * max(len(_short(n)) for n in names)
    ax.set_xlim(-BOX_W / 2 - 0.5 - room, L * DX + BOX_W / 2 + 1.3)
    ax.set_ylim(bottom - 1.0, top + 0.75)
    d = model.num_parameters()
    ax.set_title(f"{model_name(model)}: d = {d} parameters", fontsize="medium")
    return finish_figure(fig, path)
