"""Saving and loading models: one safe, self-describing ``.safetensors`` file.

The weights (and saved buffers, e.g. BatchNorm's running statistics) are stored as named
tensors; the metadata holds, as JSON, everything needed to rebuild the model and use it on
raw rows: its ``config()`` (the kind and sizes of every layer, through the registry of
``dlprimer.nn.module``), its task and output rule, the fitted standardizer, the class
labels, the feature names and the dlprimer version. A user-defined Module has no config:
its file is read back with ``load(path, model=MyNet())``, which fills a fresh instance
after checking the parameters' names and shapes. Loading parses
JSON and raw numbers only: no code is ever executed (no pickle anywhere). Writes are
atomic: a crash leaves the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

import dlprimer.models  # noqa: F401 (registers Models I-III for build)
import dlprimer.nn  # noqa: F401 (registers the built-in layers for build)
from dlprimer.data.files import atomic_write
from dlprimer.data.tables import Standardizer
from dlprimer.nn.module import KINDS, OUTPUTS, Module, build

__all__ = ["save", "load", "ModelFileError", "model_config"]

FORMAT = "dlprimer-model"
FORMAT_VERSION = 1


class ModelFileError(ValueError):
    """The file is not a readable dlprimer model (truncated, corrupted or foreign)."""


def model_config(model: Module) -> dict:
    """The JSON description of a model: enough to rebuild it without its weights (its
    ``config()``; for a user-defined Module, its class name), and what fit recorded."""
    from dlprimer.version import __version__

    try:
        arch = model.config()
    except TypeError:  # a user-defined Module: rebuilt by the caller, dp.load(model=...)
        arch = {"kind": None, "class": type(model).__name__}
    classes = None if model.classes_ is None else np.asarray(model.classes_)
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "dlprimer_version": __version__,
        **arch,
        "dtype": str(model.dtype),
        "parameters": [name for name, _ in model.named_parameters()],
        "buffers": [name for name, _ in model.named_buffers()],
        "output": model.output,
        "task": model.task_,
        "classes": None if classes is None else classes.tolist(),
        "classes_kind": None if classes is None else classes.dtype.kind,
        "feature_names": model.feature_names,
        "standardizer": None if model.standardizer is None else model.standardizer.to_dict(),
        "preprocessor": None if model.preprocessor is None else model.preprocessor.to_dict(),
        "converged": model.converged_,
        "provenance": model.provenance,
    }


def save(model: Module, path) -> Path:
    """Write ``model`` to ``path`` (a ``.safetensors`` file), atomically.

    >>> import tempfile, os, dlprimer as dp
    >>> m = dp.SoftmaxModel(p=3, K=2)
    >>> path = os.path.join(tempfile.mkdtemp(), "m.safetensors")
    >>> _ = dp.save(m, path)
    >>> np.array_equal(dp.load(path).W.data, m.W.data)
    True
    """
    from safetensors.numpy import save as encode

    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"cannot save to {path}: it is a directory; give a file name "
                                f"inside it, e.g. {path / 'model.safetensors'}")
    if not isinstance(model, Module):
        raise TypeError(f"save() writes a dp.nn.Module, got {type(model).__name__}")
    config = model_config(model)
    tensors = {name: np.array(p.data, order="C") for name, p in model.named_parameters()}
    tensors.update((name, np.array(b, order="C")) for name, b in model.named_buffers())
    payload = encode(tensors, metadata={"dlprimer": json.dumps(config)})
    return atomic_write(path, payload)


def _read_header(path: Path, raw: bytes) -> dict:
    """The safetensors JSON header, checked against the file's length."""
    if len(raw) < 8:
        raise ModelFileError(f"{path} is not a model file: {len(raw)} bytes is too short for "
                             "a safetensors header (truncated or empty?)")
    (size,) = struct.unpack("<Q", raw[:8])
    if size > len(raw) - 8:
        raise ModelFileError(f"{path} is truncated or not a safetensors file: its header claims "
                             f"{size} bytes but only {len(raw) - 8} follow")
    try:
        header = json.loads(raw[8:8 + size].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelFileError(f"{path} is corrupted: its header is not valid JSON ({err})") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{path} is corrupted: its header is not a JSON object")
    return header


def load(path, model: Module | None = None) -> Module:
    """Rebuild a model saved with ``save``; it predicts on raw (unstandardized) rows.

    A model made of built-in parts is rebuilt from its config (no code is executed). For
    a user-defined Module subclass, pass a fresh instance as ``model``: its parameters are
    filled after their names and shapes have been checked against the file.
    """
    from safetensors.numpy import load as decode

    path = Path(path)
    if path.is_dir():
        raise ModelFileError(f"{path} is a directory, not a model file; give the path of the "
                             "file dp.save wrote, e.g. model.safetensors inside it")
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}")
    raw = path.read_bytes()
    header = _read_header(path, raw)
    meta = header.get("__metadata__") or {}
    if "dlprimer" not in meta:
        raise ModelFileError(f"{path} is a safetensors file but not a dlprimer model (no "
                             "dlprimer metadata); save models with dp.save")
    try:
        config = json.loads(meta["dlprimer"])
        if config.get("format") != FORMAT:
            raise ValueError("unknown format")
    except (json.JSONDecodeError, ValueError, AttributeError) as err:
        raise ModelFileError(f"{path} has unreadable dlprimer metadata ({err})") from None
    version = config.get("format_version", FORMAT_VERSION)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{path} has an invalid format_version {version!r} in its "
                             "metadata (expected a positive integer); the file was edited or "
                             "corrupted, save the model again with dp.save")
    if version > FORMAT_VERSION:
        raise ModelFileError(f"{path} was written by a newer dlprimer "
                             f"({config.get('dlprimer_version')}); upgrade dlprimer to read it")
    try:
        tensors = decode(raw)
    except Exception as err:  # safetensors raises its own error type for bad layouts
        raise ModelFileError(f"{path} is corrupted: its tensors cannot be read ({err})") from None
    if model is None:
        model = _build(path, config)
    elif not isinstance(model, Module):
        raise TypeError(f"model must be a fresh dp.nn.Module to fill, got {type(model).__name__}")
    else:
        _check_names(path, config, model)
    for name, p in model.named_parameters():
        p.data[...] = _tensor(path, tensors, name, p.shape, config)
    for name, b in model.named_buffers():
        b[...] = _tensor(path, tensors, name, b.shape, config)
    output = config.get("output")
    if output is not None:
        if output not in OUTPUTS:
            raise ModelFileError(f"{path} has an invalid output {output!r} in its metadata "
                                 f"(expected one of {OUTPUTS})")
        model.output = output
    if isinstance(config.get("task"), str):
        model.task_ = config["task"]
    if config.get("classes") is not None:
        classes = _classes(path, config["classes"], model)
        kind = config.get("classes_kind")
        model.classes_ = classes.astype(bool) if kind == "b" else classes
    model.feature_names = _feature_names(path, config.get("feature_names"), model.n_features)
    if config.get("standardizer") is not None:
        model.standardizer = _standardizer(path, config["standardizer"], model.n_features)
    if config.get("preprocessor") is not None:
        model.preprocessor = _preprocessor(path, config["preprocessor"], model.n_features)
    if isinstance(config.get("converged"), bool):
        model.converged_ = config["converged"]
    if isinstance(config.get("provenance"), dict):
        model.provenance = config["provenance"]
    model.eval()
    return model


def _tensor(path: Path, tensors: dict, name: str, shape: tuple, config: dict) -> np.ndarray:
    """The file's tensor ``name``, checked: present, of the shape the model has, finite."""
    if name not in tensors:
        raise ModelFileError(f"{path} lacks the parameter {name!r} of a "
                             f"{config.get('kind') or config.get('class')}")
    if tensors[name].shape != tuple(shape):
        raise ModelFileError(f"{path}: parameter {name!r} has shape {tensors[name].shape}, "
                             f"expected {tuple(shape)} from the saved sizes")
    if not np.all(np.isfinite(tensors[name])):
        raise ModelFileError(f"{path}: parameter {name!r} holds NaN or infinite values")
    return tensors[name]


def _check_names(path: Path, config: dict, model: Module) -> None:
    """A model given to fill must have the file's parameters and buffers, by name."""
    names = [n for n, _ in model.named_parameters()] + [n for n, _ in model.named_buffers()]
    saved = list(config.get("parameters") or []) + list(config.get("buffers") or [])
    if sorted(names) != sorted(saved):
        missing = [n for n in saved if n not in names]
        extra = [n for n in names if n not in saved]
        raise ModelFileError(
            f"{path} holds a {config.get('kind') or config.get('class')} whose parameters do "
            f"not match the {type(model).__name__} given: the file has {missing[:5]} that it "
            f"lacks, and it has {extra[:5]} that the file lacks")
    if str(model.dtype) != config.get("dtype", "float32"):
        raise ModelFileError(f"{path} holds {config.get('dtype')} parameters but the "
                             f"{type(model).__name__} given is {model.dtype}; build it with "
                             f"dtype={config.get('dtype')}")


def _classes(path: Path, labels, model: Module) -> np.ndarray:
    """The saved class labels, checked against the model's outputs."""
    if not isinstance(labels, list) or not all(
            isinstance(c, (str, int, float, bool)) for c in labels):
        raise ModelFileError(f"{path}: 'classes' in its metadata must be a list of labels, "
                             f"got {labels!r}")
    # a sigmoid output separates two classes, eq. (3); a softmax output one per column, eq. (6)
    wanted = 2 if model.output == "sigmoid" else getattr(model, "n_outputs", len(labels))
    if model.output != "identity" and len(labels) != wanted:
        raise ModelFileError(f"{path} lists {len(labels)} class(es) {labels[:10]} but its "
                             f"{model.output} output needs exactly {wanted}; the file was "
                             "edited or corrupted, save the model again with dp.save")
    return np.asarray(labels)


def _feature_names(path: Path, names, p: int | None) -> list[str] | None:
    """The saved column names: None, or one string per feature."""
    if names is not None and (not isinstance(names, list) or len(names) != (p or len(names))
                              or not all(isinstance(n, str) for n in names)):
        raise ModelFileError(f"{path}: 'feature_names' in its metadata must be a list of p={p} "
                             f"column names, got {names!r}; the file was edited or corrupted")
    return names


def _standardizer(path: Path, d, p: int | None) -> Standardizer:
    """The saved standardizer, checked against the model's p features."""
    try:
        standardizer = Standardizer.from_dict(d)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise ModelFileError(f"{path} holds an invalid standardizer in its metadata ({err}); "
                             "the file was edited or corrupted, save the model again") from None
    if p is not None and standardizer.n_features_in_ != p:
        raise ModelFileError(f"{path}: its standardizer has {standardizer.n_features_in_} "
                             f"feature(s) but the model expects p={p}; the file was edited "
                             "or corrupted, save the model again with dp.save")
    return standardizer


def _preprocessor(path: Path, d, p: int | None):
    """The saved Preprocessor, checked against the model's p features."""
    from dlprimer.data.preprocess import Preprocessor

    try:
        pre = Preprocessor.from_dict(d)
    except (ValueError, TypeError, KeyError) as err:
        raise ModelFileError(f"{path} holds an invalid preprocessor in its metadata ({err}); "
                             "the file was edited or corrupted, save the model again") from None
    if p is not None and pre.n_features_out_ != p:
        raise ModelFileError(f"{path}: its preprocessor gives {pre.n_features_out_} features "
                             f"but the model takes p={p}; the file was edited or corrupted")
    return pre


def _build(path: Path, config: dict) -> Module:
    """A fresh model from the file's config, through the registry of built-in kinds."""
    dtype = config.get("dtype", "float32")
    if dtype not in ("float32", "float64"):
        raise ModelFileError(f"{path} has an invalid dtype {dtype!r} in its metadata "
                             "(expected 'float32' or 'float64')")
    kind = config.get("kind")
    if kind is None and isinstance(config.get("class"), str):
        raise ModelFileError(f"{path} holds a user-defined {config['class']}, which dlprimer "
                             "cannot rebuild by itself (no code is run from a file): load it "
                             f"with dp.load(path, model={config['class']}(...))")
    if not isinstance(kind, str) or kind not in KINDS:
        raise ModelFileError(f"{path} holds an unknown model kind {kind!r}")
    arch = {k: v for k, v in config.items() if k not in _FILE_KEYS}
    try:
        return build({**arch, "dtype": dtype})
    except (KeyError, TypeError, ValueError) as err:
        raise ModelFileError(f"{path} describes an invalid {kind}: {err}") from None


#: Metadata keys that describe the file and the fit, not the architecture.
_FILE_KEYS = {"format", "format_version", "dlprimer_version", "dtype", "parameters", "buffers",
              "output", "task", "classes", "classes_kind", "feature_names", "standardizer",
              "preprocessor", "converged", "provenance"}
