"""Class labels: one label per row, checked, spelled one way, and mapped to the indices
0, ..., K-1 of a model's outputs and back.

The labels rule: labels that are all numbers stay numbers (1 and 1.0 are one class);
labels with any text are text, each number among them spelled by its value
(``canonical_label``): ``[1, 1.0, "cat"]`` has the two classes "1" and "cat". fit, predict
and evaluate all go through ``label_vector`` and ``index_labels``, so the rule holds at
each of them alike.

>>> encode_labels([1, 1.0, "cat"])[1].tolist(), encode_labels([1, 1.0])[1].tolist()
(['1', 'cat'], [1.0])
"""

from __future__ import annotations

import math
import numbers
import re

import numpy as np

from dlprimer.engine.checks import reject_sparse, values_of
from dlprimer.engine.validate import shape_of

__all__ = ["MAX_CLASSES", "canonical_label", "decode_labels", "encode_labels", "index_labels",
           "infer_task", "label_vector"]

#: Integer targets with at most this many distinct values are read as class labels.
MAX_CLASSES = 20


def label_vector(y, name: str = "y") -> np.ndarray:
    """The targets y as a 1-D array, one entry a row, by the labels rule (``canonical_label``):
    numbers stay numbers, labels with any text become text; an (n, 1) column is flattened.
    Refused, naming ``name``: other shapes, ragged lists, dates, complex numbers, missing
    labels in an object array.

    >>> label_vector([1, 1.0, "cat"]).tolist()
    ['1', '1', 'cat']
    """
    reject_sparse(y, name)
    shape_of(values_of(y), name)  # a ragged list: the error that says where
    y = np.asarray(values_of(y))
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one label per sample), got shape {y.shape}")
    if y.dtype.kind in "mMV":
        raise ValueError(f"{name} holds {y.dtype} values; targets must be numbers or class "
                         f"labels (strings): convert them first, e.g. {name}.astype(str)")
    if y.dtype.kind == "c":
        raise ValueError(f"{name} holds complex numbers; targets must be real numbers or class "
                         f"labels: pass the real part ({name}.real) or the magnitude")
    if y.dtype.kind == "O":
        return _objects_as_labels(y, name)
    if y.dtype.kind == "U":
        return _canonical_text(y)
    return y


#: A number written as text: decimal digits with an optional fraction and exponent; a
#: leading zero before another digit ("007", a code) is text, not a number.
_NUMBER = re.compile(r"[+-]?(?!0\d)(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def canonical_label(value) -> str:
    """The one spelling of a class label among text labels: a number (or text that reads
    as one) by its value, so 1, 1.0, "1.0" and "+1" are all "1", and 0.5 and "0.50" are
    "0.5"; other text as it is.

    The labels rule: labels that are all numbers stay numbers (1 and 1.0 are one class);
    labels with any text are text, each spelled by ``canonical_label``; so ``[1, 1.0,
    "cat"]`` has the two classes "1" and "cat", at fit and at predict or evaluate alike.

    >>> [canonical_label(v) for v in (1, 1.0, "1.0", "+1", 0.5, "0.50", "007", "cat")]
    ['1', '1', '1', '1', '0.5', '0.5', '007', 'cat']
    """
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        v = float(value)
        return str(int(v)) if v.is_integer() else repr(v)  # repr: the shortest exact form
    text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
    if _NUMBER.fullmatch(text):
        if text.lstrip("+-").isdigit():
            return str(int(text))  # exact, however many digits (IDs)
        v = float(text)
        if math.isfinite(v):
            return canonical_label(v)
    return text


def _canonical_text(y: np.ndarray) -> np.ndarray:
    """Text labels with numbers spelled one way (``canonical_label``), by distinct value."""
    distinct, inverse = np.unique(y, return_inverse=True)
    spelled = [canonical_label(v) for v in distinct.tolist()]
    if spelled == distinct.tolist():
        return y
    return np.asarray(spelled)[inverse.reshape(-1)]


def _objects_as_labels(y: np.ndarray, name: str) -> np.ndarray:
    """An object array of labels (a pandas column, a mixed list) by the labels rule of
    ``canonical_label``: numbers only → a numeric array, booleans only → booleans, any
    text → text; missing labels (None, NaN, pandas' NA) are refused, naming the row."""
    values = y.tolist()
    kinds = set()
    for i, v in enumerate(values):
        if v is None or type(v).__name__ == "NAType" or (
                isinstance(v, numbers.Real) and not math.isfinite(v)):
            count = sum(1 for w in values if w is None or type(w).__name__ == "NAType"
                        or (isinstance(w, numbers.Real) and not math.isfinite(w)))
            raise ValueError(f"{name} has {count} missing label(s) (None, NaN or NA), first at "
                             f"row {i}; drop the unlabelled rows first")
        kinds.add("bool" if isinstance(v, (bool, np.bool_)) else
                  "number" if isinstance(v, numbers.Real) else
                  "text" if isinstance(v, (str, bytes)) else "other")
    if "other" in kinds or not kinds:
        return y  # e.g. tuples: left to np.unique, which names what it cannot sort
    if kinds == {"number"} or kinds == {"bool"}:
        return np.asarray(values)
    return np.asarray([canonical_label(v) for v in values])


def encode_labels(y) -> tuple[np.ndarray, np.ndarray]:
    """Class labels of any kind mapped to 0, ..., K-1 in sorted order (as np.unique sorts).

    Returns
    -------
    indices : ndarray (n,), int64
        ``classes[indices]`` gives back ``y``.
    classes : ndarray (K,)
        The distinct labels, sorted.

    >>> indices, classes = encode_labels(["cat", "dog", "cat", "bird"])
    >>> indices, classes
    (array([1, 2, 1, 0]), array(['bird', 'cat', 'dog'], dtype='<U4'))
    >>> decode_labels(indices, classes).tolist()
    ['cat', 'dog', 'cat', 'bird']
    """
    y = label_vector(y)
    if y.dtype.kind == "f" and np.isnan(y).any():
        raise ValueError(
            f"y contains {int(np.isnan(y).sum())} NaN label(s), first at row "
            f"{int(np.flatnonzero(np.isnan(y))[0])}; drop the unlabelled rows first"
        )
    if y.dtype.kind in "iub" and y.size:
        # NOTE: integer labels in a modest range are counted in O(n) instead of sorted.
        low = int(y.min())
        span = int(y.max()) - low + 1
        if span <= max(1024, 4 * y.size):
            shifted = y.astype(np.int64) - low
            present = np.bincount(shifted, minlength=span) > 0
            classes = (np.flatnonzero(present) + low).astype(y.dtype)
            lookup = np.cumsum(present) - 1  # shifted label -> its rank among classes
            return lookup[shifted].astype(np.int64), classes
    try:
        classes, indices = np.unique(y, return_inverse=True)
    except TypeError as err:  # e.g. None mixed with strings cannot be sorted
        raise ValueError(
            f"the labels in y cannot be sorted ({err}); give labels of one kind "
            "(all numbers or all strings) and no missing values"
        ) from None
    return indices.reshape(-1).astype(np.int64), classes


def index_labels(y, classes, name: str = "y") -> np.ndarray:
    """The index of each label of ``y`` in ``classes`` (the order of a model's outputs):
    the one label → index lookup, refusing labels that ``classes`` lacks.

    >>> index_labels(["dog", "cat"], np.array(["bird", "cat", "dog"])).tolist()
    [2, 1]
    """
    y = label_vector(y, name)
    known = np.asarray(classes).tolist()
    lookup = {}
    for i, c in enumerate(known):
        lookup.setdefault(c, i)
    # NOTE: by the labels rule (canonical_label) "1.0" and 1 name the class "1", and 1
    # names the class 1.0, so each class is also found by its canonical spelling.
    for i, c in enumerate(known):
        lookup.setdefault(canonical_label(c), i)
    index = {}
    for v in np.unique(y).tolist():
        index[v] = lookup.get(v, lookup.get(canonical_label(v)))
    unknown = [v for v, i in index.items() if i is None]
    if unknown:
        raise ValueError(f"{name} holds labels {unknown[:5]} that are not among the classes "
                         f"{known[:10]} the model was trained on")
    return np.array([index[v] for v in y.tolist()], dtype=np.int64)


def decode_labels(indices, classes) -> np.ndarray:
    """The labels ``classes[indices]``: the inverse of ``encode_labels``.

    >>> decode_labels([0, 2], ["setosa", "versicolor", "virginica"]).tolist()
    ['setosa', 'virginica']
    """
    classes = np.asarray(classes)
    indices = np.asarray(values_of(indices))
    if indices.dtype.kind == "f" and np.all(indices == np.round(indices)):
        indices = indices.astype(np.int64)
    if indices.dtype.kind not in "iu":
        raise ValueError(
            f"indices must be integers 0..K-1, got dtype {indices.dtype}; "
            "pass class indices, e.g. the output of model.predict"
        )
    if indices.size and (indices.min() < 0 or indices.max() >= len(classes)):
        raise ValueError(
            f"indices must lie in 0..{len(classes) - 1} for {len(classes)} classes, got "
            f"values from {int(indices.min())} to {int(indices.max())}"
        )
    return classes[indices]


def infer_task(y) -> str:
    """"binary", "multiclass" or "regression", read off the targets y.

    Labels that are strings, booleans or integers (integer-valued floats included) with at
    most ``MAX_CLASSES`` = 20 distinct values are classes; any other numbers are a regression
    target. Two classes or fewer make the task binary.

    >>> infer_task(["a", "b", "a"]), infer_task([0, 1, 2, 1]), infer_task([0.5, 1.7])
    ('binary', 'multiclass', 'regression')
    """
    y = label_vector(y)
    if y.dtype.kind in "fiu":
        values = y.astype(np.float64)
        finite = values[np.isfinite(values)]
        integral = finite.size == values.size and np.all(finite == np.round(finite))
        if not integral or np.unique(finite).size > MAX_CLASSES:
            return "regression"
    return "binary" if encode_labels(y)[1].size <= 2 else "multiclass"
