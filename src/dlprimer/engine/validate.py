"""What the engine checks before numpy sees it: data turned into a float array, axis
arguments, and shapes that must broadcast.

numpy's own messages ("inhomogeneous shape", AxisError, "operands could not be broadcast")
describe numpy's internals; these say what was given, what was expected, and how to fix
it. ``Tensor`` (``tensor.py``), its mixins and ``checks.py`` all use this module, so it
imports none of them: numpy only.

>>> float_array([[1, 2], [3, 4]]).dtype
dtype('float32')
>>> float_array([[1, 2], [3]])  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: Tensor data is ragged: row 0 has 2 entries but row 1 has 1 entry; every row ...
"""

from __future__ import annotations

import datetime
import numbers

import numpy as np

__all__ = ["FLOAT_DTYPES", "NotNumericError", "axes_tuple", "axis_index", "broadcast_error",
           "float_array", "range_text", "scalar_error", "shape_of"]

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
DEFAULT_DTYPE = np.dtype(np.float32)


class NotNumericError(TypeError, ValueError):
    """Data that numbers cannot stand for: text, complex numbers, dates, other objects.

    Both a TypeError (the kind of the data is wrong) and a ValueError (the value given is
    wrong), as numpy's AxisError is both an IndexError and a ValueError: callers that
    catch either see it.
    """


def range_text(dtype) -> str:
    """The largest magnitude a float dtype holds, as the messages print it.

    >>> range_text(np.float32), range_text(np.float64)
    ('±3.4e38', '±1.8e308')
    """
    return "±" + f"{float(np.finfo(dtype).max):.2g}".replace("e+", "e")


def float_array(data, dtype=None, name: str = "Tensor data") -> np.ndarray:
    """``data`` as a float32 or float64 numpy array, or an error that says what it holds.

    With ``dtype=None``, float32 and float64 arrays keep their dtype and everything else
    (lists, integers, booleans) becomes float32. Refused with a ``NotNumericError``: text,
    complex numbers, dates and durations, other objects. Refused with a ValueError: ragged
    nesting, and values beyond what ``dtype`` holds (the integer 10**400; 1e39 in float32).
    NaN and ±inf pass: whether they are allowed is the caller's decision.
    """
    if dtype is not None:
        dtype = np.dtype(dtype)
        if dtype not in FLOAT_DTYPES:
            raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    if isinstance(data, np.ndarray) and data.dtype in FLOAT_DTYPES:
        return data if dtype is None or data.dtype == dtype else _cast(data, dtype, name)
    if dtype is None and isinstance(data, np.floating) and data.dtype in FLOAT_DTYPES:
        return np.asarray(data)
    array = _as_array(data, name)
    if array.dtype.kind == "O":
        array = _objects_as_floats(array, name)
    elif array.dtype.kind not in "biuf":
        raise NotNumericError(_kind_message(array, name))
    return _cast(array, dtype or DEFAULT_DTYPE, name)


def scalar_error(value, dtype, name: str = "the number") -> Exception:
    """The error for a Python number that a Tensor of ``dtype`` cannot take (``x + 1j``,
    ``x * 10**400``)."""
    if isinstance(value, numbers.Complex) and not isinstance(value, numbers.Real):
        return NotNumericError(
            f"{name} {value!r} is complex; Tensors hold real numbers: use its real part "
            f"({value.real!r}) or its magnitude ({abs(value)!r})")
    return ValueError(f"{name} {_short(value)} is beyond what {np.dtype(dtype).name} holds "
                      f"({range_text(dtype)}); rescale it first")


def shape_of(data, name: str) -> tuple[int, ...]:
    """``np.shape(data)``, or the ValueError that says where nested lists are ragged.

    >>> shape_of([[1, 2], [3, 4]], "X")
    (2, 2)
    """
    try:
        return np.shape(data)
    except ValueError:
        error = _ragged_error(data, name)
        if error is None:
            raise
        raise error from None


def _short(value) -> str:
    """A number as the messages print it: huge integers by their digits."""
    if isinstance(value, numbers.Integral) and abs(value) > 10**20:
        digits = len(str(abs(value)))
        return f"{str(value)[:6]}…({digits} digits)"
    return repr(value)


def _as_array(data, name: str) -> np.ndarray:
    if data is None:
        raise NotNumericError(f"{name} is None; give numbers (a number, a list or an array)")
    try:
        return np.asarray(data)
    except (ValueError, TypeError):
        error = _ragged_error(data, name)
        if error is None:
            raise NotNumericError(f"{name} ({type(data).__name__}) cannot be read as an array "
                                  "of numbers; give a number, a list of numbers or an "
                                  "array") from None
        raise error from None


def _is_sequence(item) -> bool:
    if isinstance(item, np.ndarray):
        return item.ndim > 0
    return isinstance(item, (list, tuple))


def _where(path: tuple[int, ...]) -> str:
    return f"row {path[0]}" if len(path) == 1 else "entry " + "".join(f"[{i}]" for i in path)


def _ragged_error(data, name: str) -> ValueError | None:
    """The error for nested lists that are not rectangular, or None where they are."""
    detail = _ragged(data)
    if detail is None:
        return None
    return ValueError(f"{name} is ragged: {detail}; every row must have the same length "
                      "(pad the shorter rows, or pass the pieces one at a time)")


def _ragged(data) -> str | None:
    """Where nested lists stop being rectangular, level by level, or None."""
    level = [((), data)]
    while level:
        lengths = [(path, len(item) if _is_sequence(item) else None) for path, item in level]
        first_path, first = lengths[0]
        for path, length in lengths[1:]:
            if length != first:
                def say(n):
                    return "a single number" if n is None else \
                        f"{n} entr{'y' if n == 1 else 'ies'}"
                has = "is" if first is None else "has"
                other = "is" if length is None else "has"
                return (f"{_where(first_path)} {has} {say(first)} but {_where(path)} {other} "
                        f"{say(length)}")
        level = [((*path, i), v) for path, item in level if _is_sequence(item)
                 for i, v in enumerate(item)]
    return None


def _kind_message(array: np.ndarray, name: str, example=None, where: str = "") -> str:
    """What a non-numeric array holds and how to turn it into numbers."""
    kind, dtype = array.dtype.kind, array.dtype
    at = f" at index {where}" if where else ""
    if kind == "c" or isinstance(example, complex):
        return (f"{name} must be real numbers, but it holds complex numbers{at}; dlprimer "
                "works on real numbers: pass the real part (x.real), the magnitude (abs(x)), "
                "or both as separate columns")
    if kind == "M" or isinstance(example, (datetime.date, np.datetime64)):
        what = f"dtype {dtype}" if kind == "M" else f"{type(example).__name__}{at}"
        return (f"{name} must be numeric, but it holds dates or times ({what}); convert them "
                "to numbers first, e.g. days since the first one: (x - x.min()) / "
                "np.timedelta64(1, 'D'), or pass a pandas DataFrame to dp.fit, whose "
                "Preprocessor turns date columns into days")
    if kind == "m" or isinstance(example, (datetime.timedelta, np.timedelta64)):
        what = f"dtype {dtype}" if kind == "m" else f"{type(example).__name__}{at}"
        return (f"{name} must be numeric, but it holds durations ({what}); convert them to "
                "numbers of one unit first, e.g. days: x / np.timedelta64(1, 'D')")
    if kind in "US" or isinstance(example, (str, bytes)):
        if example is None and array.size:
            example, at = array.flat[0], f" at index {_index(0, array.shape)}"
        shown = f" ({str(example)!r}{at})" if example is not None else ""
        return (f"{name} must be numeric, but it holds text{shown}; convert it to numbers "
                "first (np.asarray(x, dtype=float) where the text is numbers; "
                "pandas.get_dummies for categories), or pass a pandas DataFrame to dp.fit, "
                "whose Preprocessor encodes text columns")
    if kind == "V":
        return (f"{name} must be numeric, but it is a structured array (dtype {dtype}); pass "
                "its numeric fields as separate columns")
    return (f"{name} must be numeric, but it holds {type(example).__name__} values{at}; "
            "give numbers")


def _index(flat: int, shape: tuple[int, ...]) -> str:
    """The position of entry ``flat`` (row-major) as numpy writes an index: (0, 2)."""
    return str(tuple(int(i) for i in np.unravel_index(flat, shape))) if shape else "()"


def _missing(value) -> bool:
    """None and pandas' NA: a missing value, read as NaN (as numpy reads None)."""
    return value is None or type(value).__name__ == "NAType"


def _objects_as_floats(array: np.ndarray, name: str) -> np.ndarray:
    """An object array (mixed Python values) as float64, entry by entry, or an error
    naming the first entry that is not a real number."""
    out = np.empty(array.shape, dtype=np.float64)
    flat = out.reshape(-1)
    for i, value in enumerate(array.flat):
        if _missing(value):
            flat[i] = np.nan
            continue
        where = _index(i, array.shape)
        if isinstance(value, (bool, np.bool_)) or (isinstance(value, numbers.Real) and
                                                   not isinstance(value, np.timedelta64)):
            try:
                flat[i] = value
            except OverflowError:
                raise ValueError(f"{name} holds the integer {_short(value)} at index {where}, "
                                 f"beyond what float64 holds ({range_text(np.float64)}); "
                                 "rescale it first") from None
            continue
        if isinstance(value, (np.timedelta64, np.datetime64)):  # numpy calls them integers
            raise NotNumericError(_kind_message(array, name, example=value, where=where))
        if hasattr(value, "__float__") and not isinstance(value, (str, bytes, complex)):
            try:  # decimal.Decimal and other numbers outside numbers.Real
                flat[i] = float(value)
                continue
            except (TypeError, ValueError, OverflowError):
                pass
        raise NotNumericError(_kind_message(array, name, example=value, where=where))
    return out


def _cast(array: np.ndarray, dtype: np.dtype, name: str) -> np.ndarray:
    """``array.astype(dtype)``, or a ValueError where a finite value does not fit."""
    if array.dtype == dtype:
        return array
    if array.dtype.kind != "f" or array.dtype.itemsize <= dtype.itemsize:
        return array.astype(dtype)  # integers, booleans, float16, float32 → float64: exact
    try:
        with np.errstate(over="raise"):  # only a finite value beyond the dtype overflows
            return array.astype(dtype)
    except FloatingPointError:
        finite = np.abs(array[np.isfinite(array)])
        raise ValueError(
            f"{name} has values up to {float(finite.max()):.3g} in magnitude, beyond what "
            f"{dtype.name} holds ({range_text(dtype)}); rescale them, or use float64 "
            "(dtype=np.float64)") from None


def axis_index(axis, ndim: int, shape: tuple[int, ...], op: str) -> int:
    """One ``axis`` argument as a non-negative int < ndim, or an error naming the op.

    >>> axis_index(-1, 2, (2, 3), "softmax")
    1
    >>> axis_index(5, 2, (2, 3), "softmax")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: softmax: axis 5 is out of range for an array of shape (2, 3) (2-D, valid ...
    """
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"{op}: axis must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        valid = f"valid axes {-ndim}..{ndim - 1}" if ndim else "it has no axes"
        raise ValueError(f"{op}: axis {axis} is out of range for an array of shape {shape} "
                         f"({ndim}-D, {valid})")
    return int(axis) % ndim


def axes_tuple(axis, shape: tuple[int, ...], op: str) -> tuple[int, ...]:
    """The ``axis`` argument of a reduction as a tuple of distinct non-negative axes.

    NOTE: checked here, not left to ``a % ndim``, which would quietly reduce over the
    wrong axis (axis=5 of a 2-D Tensor) or divide by zero (a 0-D Tensor).
    """
    ndim = len(shape)
    if axis is None:
        return tuple(range(ndim))
    given = (axis,) if isinstance(axis, numbers.Integral) else axis
    given = tuple(given) if np.iterable(given) and not isinstance(given, str) else None
    if given is None or not all(isinstance(a, numbers.Integral) for a in given):
        raise TypeError(f"{op}: axis must be None, an int or a tuple of ints, got {axis!r}")
    for a in given:
        if not -ndim <= a < ndim:
            valid = f"valid axes {-ndim}..{ndim - 1}" if ndim else "no axes: use axis=None"
            raise ValueError(f"{op}: axis {a} is out of range for a Tensor of shape {shape} "
                             f"({ndim}-D, {valid})")
    axes = tuple(int(a) % ndim for a in given)  # in range now: only makes negatives positive
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: axis {axis!r} names an axis twice (Tensor of shape {shape}); "
                         "list each axis once")
    return axes


def broadcast_error(op: str, *shapes: tuple[int, ...]) -> ValueError:
    """The error for operands whose shapes do not broadcast, naming the axis that clashes.

    >>> print(broadcast_error("x + y", (2, 3), (2, 4)))  # doctest: +NORMALIZE_WHITESPACE
    x + y: shapes (2, 3) and (2, 4) do not broadcast: at axis -1 the lengths are 3 and 4;
    compared from the last axis, lengths must be equal or 1 (reshape an operand, e.g.
    x.reshape(-1, 1), to add an axis of length 1)
    """
    clash = ""
    for back in range(1, max(len(s) for s in shapes) + 1):
        lengths = {s[-back] for s in shapes if len(s) >= back} - {1}
        if len(lengths) > 1:
            found = [str(s[-back]) for s in shapes if len(s) >= back]
            clash = f": at axis {-back} the lengths are {' and '.join(found)}"
            break
    listed = " and ".join(str(tuple(s)) for s in shapes)
    return ValueError(f"{op}: shapes {listed} do not broadcast{clash}; compared from the last "
                      "axis, lengths must be equal or 1 (reshape an operand, e.g. "
                      "x.reshape(-1, 1), to add an axis of length 1)")
