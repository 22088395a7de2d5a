"""Saving and loading models: one safe, self-describing ``.safetensors`` file.

The weights are stored as named tensors; the metadata holds, as JSON, everything needed to
rebuild the model and use it on raw rows: its kind and sizes, activations, the fitted
standardizer, the class labels, the feature names and the dlprimer version. Loading parses
JSON and raw numbers only: no code is ever executed (no pickle anywhere). Writes are
atomic: a crash leaves the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from dlprimer.data import Standardizer
from dlprimer.data.files import atomic_write
from dlprimer.models import FeedForward, Model, SigmoidModel, SoftmaxModel

__all__ = ["save", "load", "ModelFileError", "model_config"]

FORMAT = "dlprimer-model"
FORMAT_VERSION = 1


class ModelFileError(ValueError):
    """The file is not a readable dlprimer model (truncated, corrupted or foreign)."""


def model_config(model: Model) -> dict:
    """The JSON description of a model: enough to rebuild it without its weights."""
    from dlprimer.version import __version__

    if isinstance(model, SigmoidModel):
        arch = {"kind": "SigmoidModel", "p": model.n_features}
    elif isinstance(model, SoftmaxModel):
        arch = {"kind": "SoftmaxModel", "p": model.n_features, "K": model.n_outputs}
    elif isinstance(model, FeedForward):
        arch = {"kind": "FeedForward", "sizes": model.sizes, "activation": model.activation,
                "output": model.output}
    else:
        raise TypeError(f"save() knows SigmoidModel, SoftmaxModel and FeedForward, got "
                        f"{type(model).__name__}")
    classes = None if model.classes_ is None else np.asarray(model.classes_)
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "dlprimer_version": __version__,
        **arch,
        "dtype": str(model.dtype),
        "parameters": [name for name, _ in model.named_parameters()],
        "classes": None if classes is None else classes.tolist(),
        "classes_kind": None if classes is None else classes.dtype.kind,
        "feature_names": model.feature_names,
        "standardizer": None if model.standardizer is None else model.standardizer.to_dict(),
    }


def save(model: Model, path) -> Path:
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
    config = model_config(model)
    tensors = {name: np.array(p.data, order="C") for name, p in model.named_parameters()}
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


def load(path) -> Model:
    """Rebuild a model saved with ``save``; it predicts on raw (unstandardized) rows."""
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
    model = _build(path, config)
    for name, p in model.named_parameters():
        if name not in tensors:
            raise ModelFileError(f"{path} lacks the parameter {name!r} of a {config['kind']}")
        if tensors[name].shape != p.shape:
            raise ModelFileError(f"{path}: parameter {name!r} has shape {tensors[name].shape}, "
                                 f"expected {p.shape} from the saved sizes")
        if not np.all(np.isfinite(tensors[name])):
            raise ModelFileError(f"{path}: parameter {name!r} holds NaN or infinite values")
        p.data[...] = tensors[name]
    if config.get("classes") is not None:
        classes = _classes(path, config["classes"], model)
        kind = config.get("classes_kind")
        model.classes_ = classes.astype(bool) if kind == "b" else classes
    model.feature_names = _feature_names(path, config.get("feature_names"), model.n_features)
    if config.get("standardizer") is not None:
        model.standardizer = _standardizer(path, config["standardizer"], model.n_features)
    return model


def _classes(path: Path, labels, model: Model) -> np.ndarray:
    """The saved class labels, checked against the model's outputs."""
    if not isinstance(labels, list) or not all(
            isinstance(c, (str, int, float, bool)) for c in labels):
        raise ModelFileError(f"{path}: 'classes' in its metadata must be a list of labels, "
                             f"got {labels!r}")
    # a sigmoid output separates two classes, eq. (3); a softmax output one per column, eq. (6)
    wanted = 2 if model.output == "sigmoid" else model.n_outputs
    if model.output != "identity" and len(labels) != wanted:
        raise ModelFileError(f"{path} lists {len(labels)} class(es) {labels[:10]} but its "
                             f"{model.output} output needs exactly {wanted}; the file was "
                             "edited or corrupted, save the model again with dp.save")
    return np.asarray(labels)


def _feature_names(path: Path, names, p: int) -> list[str] | None:
    """The saved column names: None, or one string per feature."""
    if names is not None and (not isinstance(names, list) or len(names) != p
                              or not all(isinstance(n, str) for n in names)):
        raise ModelFileError(f"{path}: 'feature_names' in its metadata must be a list of p={p} "
                             f"column names, got {names!r}; the file was edited or corrupted")
    return names


def _standardizer(path: Path, d, p: int) -> Standardizer:
    """The saved standardizer, checked against the model's p features."""
    try:
        standardizer = Standardizer.from_dict(d)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise ModelFileError(f"{path} holds an invalid standardizer in its metadata ({err}); "
                             "the file was edited or corrupted, save the model again") from None
    if standardizer.n_features_in_ != p:
        raise ModelFileError(f"{path}: its standardizer has {standardizer.n_features_in_} "
                             f"feature(s) but the model expects p={p}; the file was edited "
                             "or corrupted, save the model again with dp.save")
    return standardizer


def _build(path: Path, config: dict) -> Model:
    dtype = config.get("dtype", "float32")
    if dtype not in ("float32", "float64"):
        raise ModelFileError(f"{path} has an invalid dtype {dtype!r} in its metadata "
                             "(expected 'float32' or 'float64')")
    kind = config.get("kind")
    try:
        if kind == "SigmoidModel":
            return SigmoidModel(config["p"], dtype=dtype)
        if kind == "SoftmaxModel":
            return SoftmaxModel(config["p"], config["K"], dtype=dtype)
        if kind == "FeedForward":
            return FeedForward(config["sizes"], activation=config["activation"],
                               output=config["output"], dtype=dtype)
    except (KeyError, TypeError, ValueError) as err:
        raise ModelFileError(f"{path} describes an invalid {kind}: {err}") from None
    raise ModelFileError(f"{path} holds an unknown model kind {kind!r}")
