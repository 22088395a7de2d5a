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

from dlprimer._files import atomic_write
from dlprimer.data import Standardizer
from dlprimer.models import FeedForward, Model, SigmoidModel, SoftmaxModel

__all__ = ["save", "load", "ModelFileError", "model_config"]

FORMAT = "dlprimer-model"
FORMAT_VERSION = 1


class ModelFileError(ValueError):
    """The file is not a readable dlprimer model (truncated, corrupted or foreign)."""


def model_config(model: Model) -> dict:
    """The JSON description of a model: enough to rebuild it without its weights."""
    from dlprimer import __version__

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
        "dtype": str(model._dtype),
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
    if config.get("format_version", 0) > FORMAT_VERSION:
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
        classes = np.asarray(config["classes"])
        kind = config.get("classes_kind")
        model.classes_ = classes.astype(bool) if kind == "b" else classes
    model.feature_names = config.get("feature_names")
    if config.get("standardizer") is not None:
        model.standardizer = Standardizer.from_dict(config["standardizer"])
    return model


def _build(path: Path, config: dict) -> Model:
    dtype = np.dtype(config.get("dtype", "float32"))
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
