"""The playground's settings, checked once where they enter (the JSON API), and the model,
preprocessor and optimizer they describe: the same ones ``dlprimer fit`` builds from the
same options, so that a run on the page and the exported command agree to the last bit.

>>> s = Settings().updated({"model": "II", "lr": 0.1})
>>> s.model, s.lr, s.hidden
('II', 0.1, [8, 4])
>>> Settings().updated({"lr": -1})
Traceback (most recent call last):
ValueError: lr (the learning rate α) must be a number in (0, 10], got -1
"""

from __future__ import annotations

import dataclasses
import math
import numbers

from dlprimer.data.preprocess import Preprocessor
from dlprimer.models import FeedForward, SigmoidModel, SoftmaxModel
from dlprimer.optim import NAMES, by_name

__all__ = ["ACTIVATIONS", "MODELS", "OPTIMIZERS", "Settings", "VIEW_KEYS"]

#: the primer's three models: key → (dlprimer fit's --model, the name shown)
MODELS = {"I": ("sigmoid", "Model I, the sigmoid model ŷ = σ(b₀ + wᵀx)"),
          "II": ("softmax", "Model II, the softmax model ŷ = S_Softmax(b + W x)"),
          "III": ("feedforward", "Model III, a feedforward network")}
ACTIVATIONS = ("relu", "tanh", "sigmoid")
OPTIMIZERS = tuple(NAMES)
#: settings that change what is shown, not what is trained: changing them keeps the run
VIEW_KEYS = ("plane", "speed")
MAX_LAYERS, MAX_WIDTH = 8, 512


def _number(value, name: str, what: str, low: float, high: float,
            low_open: bool = False) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) \
        and math.isfinite(value) and (value > low if low_open else value >= low) \
        and value <= high
    if not ok:
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}]"
        raise ValueError(f"{name} ({what}) must be a number in {interval}, got {value!r}")
    return float(value)


def _integer(value, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
            or not low <= value <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    return int(value)


def _hidden(value) -> list[int]:
    if isinstance(value, str):  # "8,4" as typed on the page or in a URL
        try:
            value = [int(v) for v in value.replace(" ", "").split(",") if v]
        except ValueError:
            raise ValueError(f"hidden must be widths separated by commas, like 8,4; got "
                             f"{value!r}") from None
    if not isinstance(value, (list, tuple)) or not 1 <= len(value) <= MAX_LAYERS:
        raise ValueError(f"hidden must list 1 to {MAX_LAYERS} layer widths, like [8, 4]; got "
                         f"{value!r}")
    return [_integer(v, "each hidden width", 1, MAX_WIDTH) for v in value]


def _plane(value):
    if value in ("auto", "pca"):
        return value
    if isinstance(value, (list, tuple)) and len(value) == 2 \
            and all(isinstance(v, str) for v in value):
        return list(value)
    raise ValueError(f'plane must be "auto", "pca" or two column names [x, y], got {value!r}')


@dataclasses.dataclass(frozen=True)
class Settings:
    """What a run is: the model (I, II, III), Model III's hidden widths and activation,
    the optimizer and its learning rate α, the batch size (None: full batch, eq. (31)),
    the L2 penalty, the seed of weights, split and shuffling, the validation share; and
    two view settings, the plane of the pictures and the speed (epochs per second, 0: as
    fast as it goes)."""

    model: str = "III"
    hidden: list = dataclasses.field(default_factory=lambda: [8, 4])
    activation: str = "tanh"
    optimizer: str = "adam"
    lr: float | None = 0.03
    batch_size: int | None = 16
    l2: float = 0.0
    seed: int = 0
    validation: float = 0.2
    plane: object = "auto"
    speed: float = 30.0

    def updated(self, changes: dict) -> Settings:
        """A copy with ``changes`` applied, each checked; unknown keys are refused."""
        if not isinstance(changes, dict):
            raise ValueError(f"settings must be a JSON object, got {type(changes).__name__}")
        names = [f.name for f in dataclasses.fields(self)]
        unknown = sorted(set(changes) - set(names))
        if unknown:
            raise ValueError(f"unknown setting(s) {unknown}; known: {names}")
        checks = {
            "model": lambda v: _choice(v, tuple(MODELS), "model"),
            "hidden": _hidden,
            "activation": lambda v: _choice(v, ACTIVATIONS, "activation"),
            "optimizer": lambda v: _choice(v, OPTIMIZERS, "optimizer"),
            "lr": lambda v: None if v is None else _number(v, "lr", "the learning rate α", 0,
                                                           10, low_open=True),
            "batch_size": lambda v: None if v in (None, 0) else _integer(v, "batch_size", 1,
                                                                         10**7),
            "l2": lambda v: _number(v, "l2", "the L2 penalty", 0, 100),
            "seed": lambda v: _integer(v, "seed", 0, 2**31 - 1),
            "validation": lambda v: _validation(v),
            "plane": _plane,
            "speed": lambda v: _number(v, "speed", "epochs per second; 0 is no limit", 0, 1e6),
        }
        new = {k: checks[k](v) for k, v in changes.items()}
        out = dataclasses.replace(self, **new)
        if out.optimizer == "lbfgs":
            out = dataclasses.replace(out, lr=None)
        elif out.lr is None:
            out = dataclasses.replace(out, lr=by_name(out.optimizer).lr)
        return out

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    # ------------------------------------------------------------------ what they build
    def check_task(self, task: str, K: int) -> None:
        """Refuse a model that cannot learn this task, saying which one can."""
        if self.model == "I" and task != "binary":
            raise ValueError(f"Model I (the sigmoid model) is for two classes; this data is "
                             f"{_task_words(task, K)}: choose Model II or III")
        if self.model == "II" and task == "regression":
            raise ValueError("Model II (the softmax model) is for classes; this data is a "
                             "regression: choose Model III")

    def preprocessor(self) -> Preprocessor:
        """``dlprimer fit``'s Preprocessor: eq. (13) on the fit rows; Models I and II
        one-hot against a reference category."""
        return Preprocessor(standardize=True, drop_first=self.model in ("I", "II"))

    def build(self, task: str, p: int, K: int):
        """The model, from ``seed``, as ``dlprimer fit`` builds it."""
        self.check_task(task, K)
        if self.model == "I":
            return SigmoidModel(p, seed=self.seed)
        if self.model == "II":
            return SoftmaxModel(p, max(K, 2), seed=self.seed)
        output = {"regression": "identity", "binary": "sigmoid"}.get(task, "softmax")
        return FeedForward(self.sizes(task, p, K), activation=self.activation, output=output,
                           seed=self.seed)

    def sizes(self, task: str, p: int, K: int) -> list[int]:
        """N_0 = p, the hidden widths (Model III), N_L."""
        if self.model == "I":
            return [p, 1]
        if self.model == "II":
            return [p, K]
        return [p, *self.hidden, K if task == "multiclass" else 1]

    def make_optimizer(self):
        return by_name(self.optimizer, self.lr)


def _choice(value, choices: tuple, name: str) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


def _validation(value) -> float:
    return _number(value, "validation", "the share of rows held out", 0, 0.9)


def _task_words(task: str, K: int) -> str:
    return {"multiclass": f"multiclass ({K} classes)", "regression": "a regression"}.get(
        task, task)
