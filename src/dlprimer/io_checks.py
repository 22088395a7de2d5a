"""The checks a model file passes before ``dp.load`` builds or allocates anything from it.

A ``.safetensors`` file is an 8-byte little-endian header length, a JSON header (each
tensor's dtype, shape and byte offsets, plus string metadata) and the tensors' bytes. Every
number in it is untrusted: a 2 KB file may claim a 100 GB layer, a header may nest brackets
100,000 deep, a length prefix may claim 2⁶⁴ bytes. So, in this order:

1. the header's length is capped and read alone (never the whole file), its JSON depth is
   bounded, and non-finite numbers are refused;
2. every tensor's entry is type-checked, its byte length must equal dtype size × shape, and
   the tensors must tile the data region exactly (no gap, no overlap, nothing past the end);
3. every metadata key has the JSON type its writer gives it;
4. the parameter shapes the config implies are derived *without building anything*, by a
   rule registered per layer kind (``SHAPES``), and must equal the file's tensors.

Only then is the model built (so it allocates about what the file holds) and each tensor read
by its offset. A kind without a rule (a user's ``@register`` layer) gets a weaker guard: no
integer in its config may exceed the largest dimension in the file.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dlprimer.nn.module import KINDS, OUTPUTS

__all__ = ["ModelFileError", "Layout", "TensorInfo", "read_layout", "check_tensor", "read_tensor",
           "parse_json", "check_metadata", "check_implied_shapes", "implied_shapes",
           "shape_rule", "SHAPES", "FORMAT", "FORMAT_VERSION", "MAX_HEADER_BYTES",
           "MAX_DEPTH", "MAX_ELEMENTS"]

FORMAT = "dlprimer-model"
FORMAT_VERSION = 1
#: The most a header may claim: a model's metadata (feature names, category lists) is far
#: smaller; a larger claim is a corrupted or hostile length prefix.
MAX_HEADER_BYTES = 100 * 2**20
#: JSON nesting depth allowed in the header and the config (a Sequential of Sequentials
#: nests 2 levels per layer; the deepest built-in config is under 10).
MAX_DEPTH = 32
#: The most elements a file may hold in all (8 GiB of float32), and the largest integer
#: allowed anywhere in an architecture's config.
MAX_ELEMENTS = 2**31
#: safetensors dtype codes → numpy (little-endian, as the format stores them).
DTYPES = {"F16": "<f2", "F32": "<f4", "F64": "<f8", "I8": "i1", "I16": "<i2", "I32": "<i4",
          "I64": "<i8", "U8": "u1", "U16": "<u2", "U32": "<u4", "U64": "<u8"}
TASKS = {"binary": "sigmoid", "multiclass": "softmax", "regression": "identity"}


class ModelFileError(ValueError):
    """The file is not a readable dlprimer model (truncated, corrupted or foreign)."""


@dataclass(frozen=True)
class TensorInfo:
    """One tensor's header entry, checked: dtype code, shape, absolute offset, byte length."""

    dtype: str
    shape: tuple[int, ...]
    start: int
    nbytes: int


@dataclass(frozen=True)
class Layout:
    """A checked header: the tensors by name, and the string metadata."""

    tensors: dict[str, TensorInfo]
    metadata: dict[str, str]


# ---------------------------------------------------------------------- the safetensors layout
def read_layout(path: Path, f, file_size: int) -> Layout:
    """The header of the open file ``f`` (``file_size`` bytes), checked against the file.

    Reads the header only; the tensors stay on disk until ``read_tensor``."""
    prefix = f.read(8)
    if len(prefix) < 8:
        raise ModelFileError(f"{path} is not a model file: {file_size} bytes is too short for "
                             "a safetensors header (truncated or empty?)")
    (size,) = struct.unpack("<Q", prefix)
    if size > MAX_HEADER_BYTES:
        raise ModelFileError(f"{path} is corrupted or not a safetensors file: its header "
                             f"claims {size} bytes, more than the {MAX_HEADER_BYTES} a model "
                             "file may have")
    if size > file_size - 8:
        raise ModelFileError(f"{path} is truncated or not a safetensors file: its header claims "
                             f"{size} bytes but only {file_size - 8} follow")
    try:
        text = f.read(size).decode("utf-8")
    except UnicodeDecodeError as err:
        raise ModelFileError(f"{path} is corrupted: its header is not valid JSON ({err})") from None
    header = parse_json(path, text, "its header")
    if not isinstance(header, dict):
        raise ModelFileError(f"{path} is corrupted: its header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ModelFileError(f"{path} is corrupted: its __metadata__ must map names to strings")
    tensors = {name: _tensor_info(path, name, entry, 8 + size) for name, entry in header.items()}
    _check_tiling(path, tensors, 8 + size, file_size)
    return Layout(tensors, metadata)


def _tensor_info(path: Path, name: str, entry, data_start: int) -> TensorInfo:
    bad = f"{path} is corrupted: the header entry of tensor {name!r}"
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise ModelFileError(f"{bad} must hold exactly dtype, shape and data_offsets, got "
                             f"{entry!r:.80}")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise ModelFileError(f"{bad} has an unsupported dtype {dtype!r} (expected one of "
                             f"{sorted(DTYPES)})")
    if not (isinstance(shape, list) and len(shape) <= 8 and all(_count(n) for n in shape)):
        raise ModelFileError(f"{bad} has an invalid shape {shape!r:.80} (expected a list of at "
                             "most 8 non-negative integers)")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_count(n) for n in offsets)
            and offsets[0] <= offsets[1]):
        raise ModelFileError(f"{bad} has invalid data_offsets {offsets!r:.80} (expected "
                             "[begin, end] with 0 <= begin <= end)")
    # NOTE: Python ints, so a product of huge dimensions cannot overflow into a small one.
    nbytes = math.prod(shape) * np.dtype(DTYPES[dtype]).itemsize
    if offsets[1] - offsets[0] != nbytes:
        raise ModelFileError(f"{bad} claims {offsets[1] - offsets[0]} bytes, but a {dtype} "
                             f"tensor of shape {tuple(shape)} takes {nbytes}")
    return TensorInfo(dtype, tuple(shape), data_start + offsets[0], nbytes)


def _check_tiling(path: Path, tensors: dict[str, TensorInfo], data_start: int,
                  file_size: int) -> None:
    """The tensors must cover the data region end to end, one after another, as
    safetensors writes them: no overlap, no gap, nothing beyond the end of the file."""
    end = data_start
    for name, info in sorted(tensors.items(), key=lambda item: (item[1].start, item[1].nbytes)):
        if info.start != end:
            what = "overlaps the tensor before it" if info.start < end else "leaves a gap"
            raise ModelFileError(f"{path} is corrupted: tensor {name!r} {what} (it starts at "
                                 f"byte {info.start}, expected {end})")
        end += info.nbytes
    if end != file_size:
        raise ModelFileError(f"{path} is truncated or corrupted: its tensors take up to byte "
                             f"{end} but the file has {file_size} bytes")
    total = sum(math.prod(info.shape) for info in tensors.values())
    if total > MAX_ELEMENTS:
        raise ModelFileError(f"{path} holds {total} numbers, more than the {MAX_ELEMENTS} a "
                             "model file may hold")


def check_tensor(path: Path, name: str, info: TensorInfo, like: np.ndarray) -> None:
    """Tensor ``name`` fits ``like``, the array it fills: same shape, same dtype (no silent
    truncation of floats to integers or back)."""
    if info.shape != like.shape:
        raise ModelFileError(f"{path}: parameter {name!r} has shape {info.shape}, expected "
                             f"{like.shape} from the saved sizes")
    dtype = np.dtype(DTYPES[info.dtype])
    if dtype.kind != like.dtype.kind or dtype.itemsize != like.dtype.itemsize:
        raise ModelFileError(f"{path}: parameter {name!r} is stored as {info.dtype} but the "
                             f"model holds it as {like.dtype}; the file was edited or corrupted")


def read_tensor(path: Path, f, name: str, info: TensorInfo, like: np.ndarray) -> np.ndarray:
    """Tensor ``name`` read from the open file ``f`` by its offset: checked against
    ``like`` (``check_tensor``) and, for floats, finite."""
    check_tensor(path, name, info, like)
    f.seek(info.start)
    raw = f.read(info.nbytes)
    if len(raw) != info.nbytes:  # the file shrank after its header was read
        raise ModelFileError(f"{path} is truncated: tensor {name!r} is cut short")
    values = np.frombuffer(raw, dtype=DTYPES[info.dtype]).reshape(info.shape)
    if values.dtype.kind == "f" and not np.all(np.isfinite(values)):
        raise ModelFileError(f"{path}: parameter {name!r} holds NaN or infinite values")
    return values


def _count(n) -> bool:
    return isinstance(n, int) and not isinstance(n, bool) and n >= 0


# ---------------------------------------------------------------------- bounded JSON
def parse_json(path: Path, text: str, what: str):
    """``text`` as JSON, refusing nesting deeper than ``MAX_DEPTH`` and NaN or infinite
    numbers (a model's metadata holds neither), always as a ModelFileError."""
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:  # json's C parser recurses once per bracket
        raise ModelFileError(f"{path} is corrupted: {what} nests brackets deeper than "
                             f"{MAX_DEPTH} levels") from None
    except ValueError as err:  # JSONDecodeError, and ints of more than 4300 digits
        raise ModelFileError(f"{path} is corrupted: {what} is not valid JSON ({err})") from None
    stack = [(value, 1)]
    while stack:  # iteratively: the depth is what is being checked
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > MAX_DEPTH:
                raise ModelFileError(f"{path} is corrupted: {what} nests brackets deeper than "
                                     f"{MAX_DEPTH} levels")
            stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict)
                                                  else item))
    return value


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number a model file holds")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} overflows a float")
    return value


# ---------------------------------------------------------------------- the metadata's types
#: key → (JSON types allowed, what the message says it must be); None allows null.
_TYPES = {
    "dlprimer_version": ((str,), "a version string"),
    "kind": ((str, None), "a layer kind name or null"),
    "class": ((str,), "a class name"),
    "parameters": ((list,), "a list of parameter names"),
    "buffers": ((list,), "a list of buffer names"),
    "output": ((str, None), f"one of {OUTPUTS} or null"),
    "task": ((str, None), f"one of {sorted(TASKS)} or null"),
    "classes": ((list, None), "a list of labels or null"),
    "classes_kind": ((str, None), "a numpy dtype kind ('b', 'i', 'u', 'f', 'U' or 'O') or null"),
    "feature_names": ((list, None), "a list of column names or null"),
    "standardizer": ((dict, None), "an object (mean, scale) or null"),
    "preprocessor": ((dict, None), "an object or null"),
    "converged": ((bool, None), "true, false or null"),
    "provenance": ((dict, None), "an object or null"),
}
_JSON = {str: "string", list: "list", dict: "object", bool: "boolean", type(None): "null",
         int: "integer", float: "number"}


def check_metadata(path: Path, config) -> None:
    """Every key that ``dp.save`` writes has the JSON type it writes, and the values that
    choose between alternatives (format, version, dtype, output, task, class labels) are
    among them."""
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelFileError(f"{path} has unreadable dlprimer metadata (it must be a JSON "
                             f"object with \"format\": \"{FORMAT}\")")
    version = config.get("format_version", FORMAT_VERSION)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{path} has an invalid format_version {version!r:.40} in its "
                             "metadata (expected a positive integer); the file was edited or "
                             "corrupted, save the model again with dp.save")
    if version > FORMAT_VERSION:
        raise ModelFileError(f"{path} was written by a newer dlprimer "
                             f"({config.get('dlprimer_version')!r:.40}); upgrade dlprimer to "
                             "read it")
    dtype = config.get("dtype", "float32")
    if dtype not in ("float32", "float64"):
        raise ModelFileError(f"{path} has an invalid dtype {dtype!r:.60} in its metadata "
                             "(expected 'float32' or 'float64')")
    for key, (types, expected) in _TYPES.items():
        if key in config and not _has_type(config[key], types):
            raise ModelFileError(
                f"{path} holds an invalid {key} ({key!r} in its metadata must be {expected}, "
                f"got {_JSON.get(type(config[key]), 'value')} {config[key]!r:.60}); the file was "
                "edited or corrupted, save the model again with dp.save")
    for key in ("parameters", "buffers"):
        if not all(isinstance(n, str) for n in config.get(key) or []):
            raise ModelFileError(f"{path}: {key!r} in its metadata must list names (strings)")
    output, task = config.get("output"), config.get("task")
    if output is not None and output not in OUTPUTS:
        raise ModelFileError(f"{path} has an invalid output {output!r:.60} in its metadata "
                             f"(expected one of {OUTPUTS})")
    if task is not None and (task not in TASKS or output not in (None, TASKS[task])):
        raise ModelFileError(f"{path} has task {task!r:.60} with output {output!r:.30} in its "
                             f"metadata (expected binary with sigmoid, multiclass with softmax "
                             "or regression with identity); the file was edited or corrupted")
    _check_labels(path, config.get("classes"), config.get("classes_kind"))


def _has_type(value, types) -> bool:
    if value is None:
        return None in types
    if isinstance(value, bool):
        return bool in types
    return any(t is not None and t is not bool and isinstance(value, t) for t in types)


#: classes_kind → the JSON type every label must have.
_LABELS = {"b": (bool,), "i": (int,), "u": (int,), "f": (int, float), "U": (str,),
           "O": (str, int, float)}


def _check_labels(path: Path, labels, kind) -> None:
    """The labels and their numpy kind agree (else ``astype(bool)`` would turn "no" and
    "yes" both into True), and no label occurs twice."""
    if labels is None:
        if kind is not None:
            raise ModelFileError(f"{path} records classes_kind {kind!r:.20} but no classes")
        return
    if kind not in _LABELS:
        raise ModelFileError(f"{path} lists classes with an invalid classes_kind {kind!r:.20} "
                             f"(expected one of {sorted(_LABELS)})")
    types = _LABELS[kind]
    if not all(_has_type(c, types) for c in labels) or (kind == "u" and any(
            c < 0 for c in labels)):
        raise ModelFileError(f"{path}: its classes {labels!r:.80} are not all of the kind "
                             f"{kind!r} it records; the file was edited or corrupted")
    if len(set(labels)) != len(labels):  # one JSON type per kind, so True == 1 cannot clash
        raise ModelFileError(f"{path} lists a class twice in {labels!r:.80}")


# ---------------------------------------------------------------------- the implied shapes
#: kind → rule(config) → {parameter or buffer name: shape}, computed without allocating.
SHAPES: dict[str, Callable[[dict], dict[str, tuple[int, ...]]]] = {}


def shape_rule(*kinds: str):
    """Register the rule giving the tensor shapes of a layer kind from its config alone."""
    def decorator(rule):
        for kind in kinds:
            SHAPES[kind] = rule
        return rule
    return decorator


def implied_shapes(config: dict) -> dict[str, tuple[int, ...]]:
    """The names and shapes of the tensors that ``build(config)`` would create; a
    LookupError for a registered kind without a rule, a ValueError for an invalid config."""
    kind = config.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        raise ValueError(f"unknown layer kind {kind!r:.40}")
    if kind not in SHAPES:
        raise LookupError(kind)
    return SHAPES[kind](config)


def check_implied_shapes(path: Path, config: dict, layout: Layout) -> None:
    """Refuse a config that implies tensors other than those in the file, before building."""
    kind = config.get("kind")
    _check_ints(path, config, MAX_ELEMENTS, "the most a model file may hold")
    try:
        implied = implied_shapes(config)
    except LookupError:  # a user-registered kind: no integer may exceed the largest dimension
        largest = max((max(i.shape, default=1) for i in layout.tensors.values()), default=1)
        _check_ints(path, config, max(largest, 64), "the largest dimension in its file")
        return
    except (KeyError, TypeError, ValueError) as err:
        raise ModelFileError(f"{path} describes an invalid {kind}: {err}") from None
    found = {name: info.shape for name, info in layout.tensors.items()}
    for name, shape in implied.items():
        if found.get(name, shape) != shape:
            raise ModelFileError(
                f"{path} describes a {kind} whose {name!r} has shape {shape}, but the file "
                f"holds {found[name]}; the file was edited or corrupted (nothing was built)")
    if set(implied) != set(found):
        raise ModelFileError(
            f"{path} describes a {kind} whose tensors do not match the file's: it needs "
            f"{sorted(set(implied) - set(found))[:5]} that the file lacks, and the file holds "
            f"{sorted(set(found) - set(implied))[:5]} that it does not use")


def _check_ints(path: Path, config: dict, limit: int, what: str) -> None:
    stack = [config]
    while stack:
        item = stack.pop()
        if isinstance(item, (dict, list)):
            stack.extend(item.values() if isinstance(item, dict) else item)
        elif isinstance(item, int) and not isinstance(item, bool) and abs(item) > limit:
            shown = str(item) if len(str(item)) <= 20 else f"a {len(str(item))}-digit number"
            raise ModelFileError(f"{path} describes a {config.get('kind')} with the size "
                                 f"{shown}, more than {what} ({limit}); the file was edited "
                                 "or corrupted (nothing was built)")


def _size(config: dict, key: str) -> int:
    return _positive(config[key], key)


def _positive(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ELEMENTS:
        raise ValueError(f"{name} must be a positive integer, got {value!r:.40}")
    return value


@shape_rule("ReLU", "Sigmoid", "Tanh", "Flatten", "MaxPool2d", "AvgPool2d", "Dropout")
def _no_parameters(config: dict) -> dict:
    return {}


@shape_rule("Dense")
def _dense(config: dict) -> dict:
    n_in, n_out = _size(config, "in_features"), _size(config, "out_features")
    return {"W": (n_out, n_in), "b": (n_out,)}  # eq. (8): W ∈ R^{out × in}


@shape_rule("FeedForward")
def _feedforward(config: dict) -> dict:
    sizes = config["sizes"]
    if not isinstance(sizes, list) or len(sizes) < 2:
        raise ValueError(f"sizes must list at least two widths, got {sizes!r:.60}")
    sizes = [_positive(n, "sizes") for n in sizes]
    out = {}
    for ell, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        out.update({f"layers.{ell}.W": (n_out, n_in), f"layers.{ell}.b": (n_out,)})
    return out


@shape_rule("SigmoidModel")
def _sigmoid_model(config: dict) -> dict:
    return {"b0": (), "w": (_size(config, "p"),)}


@shape_rule("SoftmaxModel")
def _softmax_model(config: dict) -> dict:
    p, K = _size(config, "p"), _size(config, "K")
    return {"b": (K,), "W": (K, p)}


@shape_rule("Conv2d")
def _conv2d(config: dict) -> dict:
    c_in, c_out = _size(config, "in_channels"), _size(config, "out_channels")
    k = config["kernel_size"]
    pair = k if isinstance(k, list) else [k, k]  # an int or [kh, kw], as int_pair reads it
    if len(pair) != 2:
        raise ValueError(f"kernel_size must be an int or a pair of ints, got {k!r:.40}")
    kh, kw = (_positive(v, "kernel_size") for v in pair)
    return {"W": (c_out, c_in, kh, kw), "b": (c_out,)}


@shape_rule("Embedding")
def _embedding(config: dict) -> dict:
    return {"W": (_size(config, "num_embeddings"), _size(config, "dim"))}


@shape_rule("RNN", "LSTM")
def _recurrent(config: dict) -> dict:
    n_in, H = _size(config, "input_size"), _size(config, "hidden_size")
    G = 4 * H if config["kind"] == "LSTM" else H  # the LSTM stacks its 4 gates (i, f, g, o)
    return {"W_ih": (G, n_in), "W_hh": (G, H), "b_ih": (G,), "b_hh": (G,)}


@shape_rule("MultiHeadAttention")
def _attention(config: dict) -> dict:
    d = _size(config, "d_model")
    _size(config, "num_heads")
    return {**{f"W_{x}": (d, d) for x in "qkvo"}, **{f"b_{x}": (d,) for x in "qkvo"}}


@shape_rule("LayerNorm")
def _layer_norm(config: dict) -> dict:
    d = _size(config, "d")
    return {"weight": (d,), "bias": (d,)}


@shape_rule("TransformerEncoderBlock")
def _encoder_block(config: dict) -> dict:
    d, d_ff = _size(config, "d_model"), _size(config, "d_ff")
    parts = {"attention": _attention(config), "norm1": {"weight": (d,), "bias": (d,)},
             "ff1": {"W": (d_ff, d), "b": (d_ff,)}, "ff2": {"W": (d, d_ff), "b": (d,)},
             "norm2": {"weight": (d,), "bias": (d,)}}
    return {f"{part}.{name}": shape for part, shapes in parts.items()
            for name, shape in shapes.items()}


@shape_rule("BatchNorm1d", "BatchNorm2d")
def _batch_norm(config: dict) -> dict:
    C = _size(config, "num_features" if config["kind"] == "BatchNorm1d" else "num_channels")
    affine = config.get("affine", True)
    if not isinstance(affine, bool):
        raise ValueError(f"affine must be true or false, got {affine!r:.40}")
    out = {"weight": (C,), "bias": (C,)} if affine else {}
    return {**out, "running_mean": (C,), "running_var": (C,), "num_batches_tracked": ()}


@shape_rule("Sequential")
def _sequential(config: dict) -> dict:
    layers = config["layers"]
    if not isinstance(layers, list) or not all(isinstance(c, dict) for c in layers):
        raise ValueError("a Sequential config lists its layers' configs under 'layers'")
    return {f"layers.{i}.{name}": shape for i, layer in enumerate(layers)
            for name, shape in implied_shapes(layer).items()}
