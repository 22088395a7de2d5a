"""Saving and loading models: one safe, self-describing ``.safetensors`` file.

The weights (and saved buffers, e.g. BatchNorm's running statistics) are stored as named
tensors; the metadata holds, as JSON, everything needed to rebuild the model and use it on
raw rows: its ``config()`` (the kind and sizes of every layer, through the registry of
``dlprimer.nn.module``), its task and output rule, the fitted standardizer, the class
labels, the feature names and the dlprimer version. A user-defined Module has no config:
its file is read back with ``load(path, model=MyNet())``, which fills a fresh instance
after checking the parameters' names and shapes. Loading parses JSON and raw numbers
only: no code is ever executed (no pickle anywhere). A file is untrusted input: the checks
of ``dlprimer.io_checks`` run before anything is built, so loading takes about the file's
size in memory whatever it claims. Writes are atomic (``dlprimer.data.files``): a crash
leaves the old file or the new one, never half of one; weights that are not finite are
never written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

import dlprimer.models  # noqa: F401 (registers Models I-III for build)
import dlprimer.nn  # noqa: F401 (registers the built-in layers for build)
from dlprimer.data.files import atomic_write
from dlprimer.data.tables import Standardizer
from dlprimer.engine.tensor import Tensor, no_grad
from dlprimer.io_checks import (
    FORMAT,
    FORMAT_VERSION,
    ModelFileError,
    check_implied_shapes,
    check_metadata,
    check_tensor,
    parse_json,
    read_layout,
    read_tensor,
)
from dlprimer.nn.module import KINDS, Module, build

__all__ = ["save", "load", "ModelFileError", "model_config"]


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

    Weights and buffers must be finite: a model whose fit diverged is refused (a
    ValueError naming the parameter) and nothing is written, so a good file is never
    replaced by one that ``load`` would refuse.

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
    tensors = {name: np.array(p.data, order="C") for name, p in model.named_parameters()}
    tensors.update((name, np.array(b, order="C")) for name, b in model.named_buffers())
    for name, values in tensors.items():
        if values.dtype.kind in "fc" and not np.all(np.isfinite(values)):
            bad = int(values.size - np.count_nonzero(np.isfinite(values)))
            raise ValueError(
                f"cannot save {path}: {name!r} holds {bad} NaN or infinite value(s) of "
                f"{values.size} (did the fit diverge? try a smaller learning rate); nothing "
                "was written, an existing file is left as it was")
    config = model_config(model)
    payload = encode(tensors, metadata={"dlprimer": json.dumps(config)})
    return atomic_write(path, payload)


def load(path, model: Module | None = None) -> Module:
    """Rebuild a model saved with ``save``; it predicts on raw (unstandardized) rows.

    A model made of built-in parts is rebuilt from its config (no code is executed). For
    a user-defined Module subclass, pass a fresh instance as ``model``: its parameters are
    filled after their names and shapes have been checked against the file.

    Nothing is built before the header, the metadata's types and the shapes that the config
    implies have been checked against the file (``dlprimer.io_checks``); the tensors are
    then read one at a time by their offsets, so loading takes about the file's size in
    memory, whatever the file claims.
    """
    path = Path(path)
    if path.is_dir():
        raise ModelFileError(f"{path} is a directory, not a model file; give the path of the "
                             "file dp.save wrote, e.g. model.safetensors inside it")
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}")
    with open(path, "rb") as f:
        layout = read_layout(path, f, os.fstat(f.fileno()).st_size)
        if "dlprimer" not in layout.metadata:
            raise ModelFileError(f"{path} is a safetensors file but not a dlprimer model (no "
                                 "dlprimer metadata); save models with dp.save")
        config = parse_json(path, layout.metadata["dlprimer"], "its dlprimer metadata")
        check_metadata(path, config)
        saved = list(config.get("parameters") or []) + list(config.get("buffers") or [])
        if sorted(saved) != sorted(layout.tensors):
            raise ModelFileError(f"{path} is corrupted: its metadata names the tensors "
                                 f"{sorted(saved)[:5]} but the file holds "
                                 f"{sorted(layout.tensors)[:5]}")
        if model is None:
            model = _build(path, config, layout)
        elif not isinstance(model, Module):
            raise TypeError(f"model must be a fresh dp.nn.Module to fill, got "
                            f"{type(model).__name__}")
        else:
            _check_names(path, config, model)
        arrays = [(n, p.data) for n, p in model.named_parameters()] + model.named_buffers()
        for name, array in arrays:
            if name not in layout.tensors:
                raise ModelFileError(f"{path} lacks the parameter {name!r} of a "
                                     f"{config.get('kind') or config.get('class')}")
            check_tensor(path, name, layout.tensors[name], array)  # all, before filling any
        for name, array in arrays:
            array[...] = read_tensor(path, f, name, layout.tensors[name], array)
    model.eval()  # before _n_outputs' forward pass, which must not touch BatchNorm's buffers
    _restore_fitted_state(path, config, model)
    return model


def _restore_fitted_state(path: Path, config: dict, model: Module) -> None:
    """What fit recorded (output rule, task, labels, preprocessing), checked against the
    rebuilt model; ``check_metadata`` has checked the JSON types already."""
    if config.get("output") is not None:
        model.output = config["output"]
    if config.get("task") is not None:
        model.task_ = config["task"]
    model.feature_names = _feature_names(path, config.get("feature_names"), model.n_features)
    if config.get("standardizer") is not None:
        model.standardizer = _standardizer(path, config["standardizer"], model.n_features)
    if config.get("preprocessor") is not None:
        model.preprocessor = _preprocessor(path, config["preprocessor"], model.n_features)
    if config.get("converged") is not None:
        model.converged_ = config["converged"]
    if config.get("provenance") is not None:
        model.provenance = config["provenance"]
    K = _n_outputs(path, model)
    if model.output == "sigmoid" and K not in (None, 1):
        raise ModelFileError(f"{path} records a sigmoid output, which needs one output, but "
                             f"the model gives {K}; the file was edited or corrupted")
    if config.get("classes") is not None:
        classes = _classes(path, config["classes"], model.output, K)
        model.classes_ = classes.astype(bool) if config["classes_kind"] == "b" else classes


def _n_outputs(path: Path, model: Module) -> int | None:
    """The model's number of outputs: its own ``n_outputs``, else read off one row of zeros
    through it where the metadata says how many features a row has (that also checks
    that the standardizer, feature names or preprocessor fit the model's first layer)."""
    if getattr(model, "n_outputs", None) is not None:
        return model.n_outputs
    widths = {len(model.feature_names)} if model.feature_names is not None else set()
    if model.standardizer is not None:
        widths.add(model.standardizer.n_features_in_)
    if model.preprocessor is not None:
        widths.add(model.preprocessor.n_features_out_)
    if len(widths) > 1:
        raise ModelFileError(f"{path}: its feature names, standardizer and preprocessor "
                             f"disagree on the number of features ({sorted(widths)}); the file "
                             "was edited or corrupted")
    if not widths:  # images, sequences: the row shape is not recorded
        return None
    (p,) = widths
    try:
        with no_grad():
            z = model(Tensor(np.zeros((1, p), dtype=model.dtype)))
    except (ValueError, TypeError, IndexError) as err:
        raise ModelFileError(f"{path}: its metadata describes rows of {p} features, which "
                             f"the model does not take ({err}); the file was edited or "
                             "corrupted") from None
    return int(np.prod(z.shape[1:]))


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


def _classes(path: Path, labels: list, output: str | None, K: int | None) -> np.ndarray:
    """The saved class labels (their kind checked by ``check_metadata``), checked against
    the model's K outputs."""
    # a sigmoid output separates two classes, eq. (3); a softmax output one per column, eq. (6)
    wanted = 2 if output == "sigmoid" else K
    if output in ("sigmoid", "softmax") and len(labels) != (wanted or max(len(labels), 2)):
        raise ModelFileError(f"{path} lists {len(labels)} class(es) {labels[:10]} but its "
                             f"{output} output needs exactly {wanted or 'at least 2'}; the "
                             "file was edited or corrupted, save the model again with dp.save")
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
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as err:
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
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as err:
        raise ModelFileError(f"{path} holds an invalid preprocessor in its metadata ({err}); "
                             "the file was edited or corrupted, save the model again") from None
    if p is not None and pre.n_features_out_ != p:
        raise ModelFileError(f"{path}: its preprocessor gives {pre.n_features_out_} features "
                             f"but the model takes p={p}; the file was edited or corrupted")
    return pre


def _build(path: Path, config: dict, layout) -> Module:
    """A fresh model from the file's config, through the registry of built-in kinds, once
    the shapes it implies have been found in the file."""
    kind = config.get("kind")
    if kind is None and isinstance(config.get("class"), str):
        raise ModelFileError(f"{path} holds a user-defined {config['class']}, which dlprimer "
                             "cannot rebuild by itself (no code is run from a file): load it "
                             f"with dp.load(path, model={config['class']}(...))")
    if not isinstance(kind, str) or kind not in KINDS:
        raise ModelFileError(f"{path} holds an unknown model kind {kind!r:.60}")
    arch = {k: v for k, v in config.items() if k not in _FILE_KEYS}
    check_implied_shapes(path, arch, layout)
    try:
        return build({**arch, "dtype": config.get("dtype", "float32")})
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError) as err:
        # NOTE: the constructors check their arguments; these are the ways JSON of the
        # wrong type or range can fail in them.
        raise ModelFileError(f"{path} describes an invalid {kind}: {err}") from None


#: Metadata keys that describe the file and the fit, not the architecture.
_FILE_KEYS = {"format", "format_version", "dlprimer_version", "dtype", "parameters", "buffers",
              "output", "task", "classes", "classes_kind", "feature_names", "standardizer",
              "preprocessor", "converged", "provenance"}
