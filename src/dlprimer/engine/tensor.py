"""Tensor: a numpy array that remembers how it was computed (primer Sec. 8).

Backpropagation is reverse-mode automatic differentiation. Every operation below
computes its output and, right beside it, its vector-Jacobian product: given ``g``,
the gradient of the final scalar with respect to the output, it returns the
gradient with respect to each input. ``Tensor.backward`` visits the graph from the
output back to the inputs in topological order and applies those rules.

>>> x = Tensor([1.0, -2.0, 3.0], requires_grad=True)
>>> loss = (x * x).sum()          # ‖x‖², whose gradient is 2x
>>> loss.backward()
>>> x.grad
array([ 2., -4.,  6.], dtype=float32)
"""

from __future__ import annotations

import contextlib
import itertools
import numbers
import operator
from collections.abc import Callable

import numpy as np

from dlprimer.engine.numerics import minus_max, stable_sigmoid, stable_softmax

__all__ = [
    "Tensor",
    "tensor",
    "no_grad",
    "is_grad_enabled",
    "unbroadcast",
]

DEFAULT_DTYPE = np.float32
_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

_grad_enabled = True
_creation_order = itertools.count()  # every Tensor's creation number, for backward's order


def is_grad_enabled() -> bool:
    """True unless inside a ``no_grad()`` block."""
    return _grad_enabled


@contextlib.contextmanager
def no_grad():
    """Context in which operations record no graph (for inference and parameter updates).

    >>> w = Tensor([1.0], requires_grad=True)
    >>> with no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """
    global _grad_enabled
    previous = _grad_enabled
    _grad_enabled = False
    try:
        yield
    finally:
        _grad_enabled = previous


def unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``g`` down to ``shape``: the backward rule of numpy broadcasting.

    When an input of shape ``shape`` was broadcast to the output's shape, each of its
    entries was used several times, so its gradient is the sum over those uses.

    >>> unbroadcast(np.ones((4, 3)), (3,))
    array([4., 4., 4.])
    >>> unbroadcast(np.ones((4, 3)), (4, 1))
    array([[3.],
           [3.],
           [3.],
           [3.]])
    """
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
    kept_ones = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if kept_ones:
        g = g.sum(axis=kept_ones, keepdims=True)
    return g


def _to_array(data, dtype=None) -> np.ndarray:
    """numpy float array: float32 unless the data is already float64 or ``dtype`` says."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        dtype = np.dtype(dtype)
        if dtype not in _FLOAT_DTYPES:
            raise TypeError(f"dtype must be float32 or float64, got {dtype}")
        return np.asarray(data, dtype=dtype)
    if isinstance(data, np.ndarray) and data.dtype in _FLOAT_DTYPES:
        return data
    if isinstance(data, np.floating) and data.dtype in _FLOAT_DTYPES:
        return np.asarray(data)
    array = np.asarray(data)
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"Tensor data must be numeric, got an array of dtype {array.dtype}; "
            "convert strings or objects to numbers first"
        )
    return array.astype(DEFAULT_DTYPE)


def _axes(axis, shape: tuple[int, ...], op: str) -> tuple[int, ...]:
    """``axis`` argument of a reduction as a tuple of distinct non-negative axes.

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


class Tensor:
    """An array with an optional gradient, the node of the computation graph.

    Parameters
    ----------
    data : array-like
        The values. Lists and integer arrays become float32; float32 and float64 numpy
        arrays keep their dtype (float32 is the default, float64 is for checks).
    requires_grad : bool
        Whether ``backward`` should compute ``self.grad``.
    dtype : {None, "float32", "float64"}
        Ask for a dtype explicitly.
    """

    __slots__ = ("data", "grad", "requires_grad", "_parents", "_backward", "_op", "_seq")
    # Make numpy hand mixed expressions (array + Tensor) to Tensor's reflected operators.
    __array_ufunc__ = None

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        self.data = _to_array(data, dtype)
        self.grad: np.ndarray | None = None
        self.requires_grad = bool(requires_grad)
        self._parents: tuple[Tensor, ...] = ()
        self._backward: Callable | None = None
        self._op = ""
        self._seq = next(_creation_order)

    @classmethod
    def from_op(cls, data: np.ndarray, parents: tuple, backward: Callable, op: str) -> Tensor:
        """Output of an operation; records the graph edge only when a gradient is needed."""
        out = cls.__new__(cls)
        out.data = data
        out.grad = None
        out._op = op
        out._seq = next(_creation_order)
        if _grad_enabled and any(p.requires_grad for p in parents):
            out.requires_grad = True
            out._parents = parents
            out._backward = backward
        else:
            out.requires_grad = False
            out._parents = ()
            out._backward = None
        return out

    def lift(self, other) -> Tensor:
        """A constant operand as a Tensor; Python numbers take this Tensor's dtype."""
        if isinstance(other, Tensor):
            return other
        if isinstance(other, numbers.Number):
            return Tensor(np.asarray(other, dtype=self.data.dtype))
        return Tensor(other)

    # ----------------------------------------------------------------- introspection
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    def __len__(self) -> int:
        return len(self.data)

    def numpy(self) -> np.ndarray:
        """The values as a numpy array (shared, not copied)."""
        return self.data

    def item(self) -> float:
        """The value of a one-element Tensor as a Python float."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a Tensor with one element, got shape {self.shape}")
        return float(self.data.reshape(()))

    def detach(self) -> Tensor:
        """The same values, cut from the graph."""
        return Tensor(self.data)

    def zero_grad(self) -> None:
        """Forget the accumulated gradient."""
        self.grad = None

    def astype(self, dtype) -> Tensor:
        """Cast to float32 or float64; the gradient is cast back."""
        source = self.data.dtype

        def backward(g):
            return (g.astype(source, copy=False),)

        return Tensor.from_op(_to_array(self.data, dtype), (self,), backward, "astype")

    def __repr__(self) -> str:
        body = np.array2string(self.data, precision=4, separator=", ", prefix="Tensor(")
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({body}, shape={self.shape}, dtype={self.dtype}{grad})"

    # -------------------------------------------------------------- backpropagation
    def backward(self, gradient=None) -> None:
        """Backpropagate: add d(self)/d(leaf) to ``leaf.grad`` for every leaf needing it.

        ``gradient`` is the incoming gradient for a non-scalar output (same shape as
        ``self``). Gradients accumulate across calls, as in the primer's sum over samples;
        call ``zero_grad`` between steps.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() called on a Tensor that does not require a gradient; "
                "create the inputs with requires_grad=True (and outside no_grad())"
            )
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() without a gradient argument needs a scalar output, got "
                    f"shape {self.shape}; reduce it first (.sum() or .mean()) or pass "
                    "gradient= with the same shape"
                )
            seed = np.ones_like(self.data)
        else:
            seed = np.asarray(gradient, dtype=self.data.dtype)
            if seed.shape != self.shape:
                raise ValueError(
                    f"gradient has shape {seed.shape} but the Tensor has shape {self.shape}"
                )

        # NOTE: keyed by the Tensors themselves (hashed by identity, as Tensor defines no
        # __eq__): no id() call per edge, on a path that runs every training step.
        grads: dict[Tensor, np.ndarray] = {self: seed}
        # Arrays we may write into: fresh results of a backward rule (no base, not the
        # incoming g, not returned twice). Anything else may be a view of someone's data.
        owned: set[Tensor] = set()
        for node in _topological_order(self):
            g = grads.pop(node, None)
            if g is None:
                continue
            if node._backward is None:  # a leaf: keep the gradient
                if node.grad is not None:
                    node.grad += g
                elif node in owned and g.dtype == node.data.dtype and g.shape == node.shape:
                    node.grad = g  # fresh and ours: adopt it without a copy
                else:
                    node.grad = np.array(g, dtype=node.data.dtype, copy=True)
                owned.discard(node)
                continue
            parent_grads = node._backward(g)
            if len(parent_grads) == 1:
                distinct = True
            else:  # no array returned twice
                present = [id(pg) for pg in parent_grads if pg is not None]
                distinct = len(set(present)) == len(present)
            for parent, parent_grad in zip(node._parents, parent_grads, strict=True):
                if parent_grad is None or not parent.requires_grad:
                    continue
                if parent not in grads:
                    grads[parent] = parent_grad
                    if (distinct and parent_grad.base is None and parent_grad is not g
                            and parent_grad.flags.writeable):
                        owned.add(parent)
                elif parent in owned:
                    grads[parent] += parent_grad
                else:
                    # NOTE: the stored array may be a view of someone else's data: never
                    # add into it in place; allocate once, then accumulate in place.
                    grads[parent] = grads[parent] + parent_grad
                    owned.add(parent)
            owned.discard(node)

    # ------------------------------------------------------------ arithmetic (Sec. 5)
    def __add__(self, other) -> Tensor:
        """x + y, element-wise with broadcasting."""
        other = self.lift(other)
        x_shape, y_shape = self.shape, other.shape
        need_x, need_y = self.requires_grad, other.requires_grad

        def backward(g):
            return (unbroadcast(g, x_shape) if need_x else None,
                    unbroadcast(g, y_shape) if need_y else None)

        return Tensor.from_op(self.data + other.data, (self, other), backward, "add")

    def __radd__(self, other) -> Tensor:
        return self.lift(other) + self

    def __sub__(self, other) -> Tensor:
        """x - y, element-wise with broadcasting."""
        other = self.lift(other)
        x_shape, y_shape = self.shape, other.shape
        need_x, need_y = self.requires_grad, other.requires_grad

        def backward(g):
            return (unbroadcast(g, x_shape) if need_x else None,
                    unbroadcast(-g, y_shape) if need_y else None)

        return Tensor.from_op(self.data - other.data, (self, other), backward, "sub")

    def __rsub__(self, other) -> Tensor:
        return self.lift(other) - self

    def __mul__(self, other) -> Tensor:
        """Element-wise (Hadamard) product x ⊙ y, Sec. 7; scalar multiplication αu, Sec. 5."""
        other = self.lift(other)
        x, y = self.data, other.data
        need_x, need_y = self.requires_grad, other.requires_grad

        def backward(g):
            # NOTE: constants (requires_grad=False) get no gradient: skipping them saves a
            # full-size product and reduction per op.
            return (unbroadcast(g * y, x.shape) if need_x else None,
                    unbroadcast(g * x, y.shape) if need_y else None)

        return Tensor.from_op(x * y, (self, other), backward, "mul")

    def __rmul__(self, other) -> Tensor:
        return self.lift(other) * self

    def __truediv__(self, other) -> Tensor:
        """Element-wise division x / y."""
        other = self.lift(other)
        x, y = self.data, other.data
        out = x / y
        need_x, need_y = self.requires_grad, other.requires_grad

        def backward(g):
            gx = g / y
            return (unbroadcast(gx, x.shape) if need_x else None,
                    unbroadcast(-gx * out, y.shape) if need_y else None)

        return Tensor.from_op(out, (self, other), backward, "div")

    def __rtruediv__(self, other) -> Tensor:
        return self.lift(other) / self

    def __neg__(self) -> Tensor:
        def backward(g):
            return (-g,)

        return Tensor.from_op(-self.data, (self,), backward, "neg")

    def __pow__(self, exponent) -> Tensor:
        """x ** c for a scalar exponent c; d/dx = c x^(c-1)."""
        if not isinstance(exponent, numbers.Real):
            raise TypeError(
                f"the exponent of ** must be a Python number, got {type(exponent).__name__}; "
                "for a Tensor exponent use (y * x.log()).exp()"
            )
        x = self.data

        def backward(g):
            return (g * exponent * x ** (exponent - 1),)

        return Tensor.from_op(x**exponent, (self,), backward, "pow")

    # ------------------------------------------------------- matrix product (Sec. 6)
    def __matmul__(self, other) -> Tensor:
        """Matrix product, eq. (28); 2-D, batched (leading axes broadcast) and 1-D.

        The (i, j) entry of AB is the inner product of row i of A and column j of B.
        With A and B of eq. (25):

        >>> A = Tensor([[2, 0, 3], [0, 1, 1], [2, 0, 0]])
        >>> B = Tensor([[4, 1, 0], [1, 0, 0], [0, 0, 3]])
        >>> (A @ B).numpy()                       # C of eq. (26)
        array([[8., 2., 9.],
               [1., 0., 3.],
               [8., 2., 0.]], dtype=float32)
        >>> (B @ A).numpy()                       # C~ of eq. (27): AB ≠ BA
        array([[ 8.,  1., 13.],
               [ 2.,  0.,  3.],
               [ 6.,  0.,  0.]], dtype=float32)
        """
        other = self.lift(other)
        a, b = self.data, other.data
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(
                f"@ needs arrays with at least one axis, got shapes {a.shape} and {b.shape}; "
                "use * to multiply by a scalar"
            )
        inner_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
        if a.shape[-1] != inner_b:
            raise ValueError(
                f"matrix product of shapes {a.shape} and {b.shape}: the columns of the left "
                f"({a.shape[-1]}) must equal the rows of the right ({inner_b})"
            )
        need_a, need_b = self.requires_grad, other.requires_grad
        if a.ndim > 2 and b.ndim == 2:
            return _rows_times_matrix(self, other, need_a, need_b)
        try:
            out = a @ b
        except ValueError as err:  # batch axes that do not broadcast
            raise ValueError(
                f"matrix product of shapes {a.shape} and {b.shape}: batch axes "
                f"{a.shape[:-2]} and {b.shape[:-2]} do not broadcast"
            ) from err

        def backward(g):
            if not (g.flags.c_contiguous or g.flags.f_contiguous):
                # NOTE: a broadcast view (zero strides, e.g. from sum's backward) would push
                # numpy off its BLAS path; one copy is far cheaper.
                g = np.ascontiguousarray(g)
            # Promote 1-D operands to matrices so one rule covers every case.
            a2 = a if a.ndim > 1 else a[None, :]  # (1, n)
            b2 = b if b.ndim > 1 else b[:, None]  # (n, 1)
            if a.ndim == 1 and b.ndim == 1:
                g2 = np.reshape(g, (1, 1))  # the inner product uᵀv is a 1×1 product
            elif a.ndim == 1:
                g2 = np.expand_dims(g, -2)
            elif b.ndim == 1:
                g2 = np.expand_dims(g, -1)
            else:
                g2 = g
            ga = gb = None
            if need_a:
                ga = g2 @ np.swapaxes(b2, -1, -2)  # dC/dA = G Bᵀ
                ga = unbroadcast(ga, a2.shape).reshape(a.shape)
            if need_b:
                gb = np.swapaxes(a2, -1, -2) @ g2  # dC/dB = Aᵀ G
                gb = unbroadcast(gb, b2.shape).reshape(b.shape)
            return ga, gb

        return Tensor.from_op(out, (self, other), backward, "matmul")

    def __rmatmul__(self, other) -> Tensor:
        return self.lift(other) @ self

    # --------------------------------------------------------- reductions (Sec. 3)
    def sum(self, axis=None, keepdims: bool = False) -> Tensor:
        """Σ over ``axis`` (all axes by default), the summation notation of eq. (11)."""
        shape = self.shape
        axes = _axes(axis, shape, "sum")

        def backward(g):
            if not keepdims:
                g = np.expand_dims(g, axes)
            return (np.broadcast_to(g, shape),)

        return Tensor.from_op(self.data.sum(axis=axes, keepdims=keepdims), (self,), backward, "sum")

    def mean(self, axis=None, keepdims: bool = False) -> Tensor:
        """Sample mean (1/n) Σ over ``axis``, eq. (10)."""
        axes = _axes(axis, self.shape, "mean")
        count = int(np.prod([self.shape[a] for a in axes])) if axes else 1
        return self.sum(axis=axes, keepdims=keepdims) * (1.0 / max(count, 1))

    def max(self, axis=None, keepdims: bool = False) -> Tensor:
        """Maximum over ``axis``; ties share the gradient equally (as torch.amax)."""
        x = self.data
        axes = _axes(axis, self.shape, "max")
        if any(self.shape[a] == 0 for a in axes):
            where = "all axes" if axis is None else f"axis {axis!r}"
            raise ValueError(f"max over {where} of a Tensor of shape {self.shape}: an axis of "
                             "length 0 has no maximum; reduce over non-empty axes only")
        top = x.max(axis=axes, keepdims=True)

        def backward(g):
            if not keepdims:
                g = np.expand_dims(g, axes)
            is_max = x == top
            return (g * is_max / is_max.sum(axis=axes, keepdims=True),)

        out = top if keepdims else np.squeeze(top, axis=axes)
        return Tensor.from_op(out, (self,), backward, "max")

    # --------------------------------------------------- element-wise functions (Sec. 7)
    def exp(self) -> Tensor:
        """e^x element-wise; its own derivative."""
        out = np.exp(self.data)

        def backward(g):
            return (g * out,)

        return Tensor.from_op(out, (self,), backward, "exp")

    def log(self) -> Tensor:
        """Natural logarithm element-wise; d/dx = 1/x."""
        x = self.data

        def backward(g):
            return (g / x,)

        return Tensor.from_op(np.log(x), (self,), backward, "log")

    def sqrt(self) -> Tensor:
        """√x element-wise; d/dx = 1 / (2√x)."""
        out = np.sqrt(self.data)

        def backward(g):
            return (g / (2 * out),)

        return Tensor.from_op(out, (self,), backward, "sqrt")

    def abs(self) -> Tensor:
        """|x| element-wise; the derivative used at 0 is 0 (as PyTorch)."""
        x = self.data

        def backward(g):
            return (g * np.sign(x),)

        return Tensor.from_op(np.abs(x), (self,), backward, "abs")

    def relu(self) -> Tensor:
        """ReLU, max(0, x) element-wise (Sec. 9); the derivative used at 0 is 0."""
        x = self.data

        def backward(g):
            return (g * (x > 0),)

        return Tensor.from_op(np.maximum(x, 0), (self,), backward, "relu")

    def sigmoid(self) -> Tensor:
        """σ_Sig(z) = 1 / (1 + e^{-z}), eq. (1); derivative σ(1 - σ)."""
        out = stable_sigmoid(self.data)

        def backward(g):
            return (g * out * (1 - out),)

        return Tensor.from_op(out, (self,), backward, "sigmoid")

    def tanh(self) -> Tensor:
        """Hyperbolic tangent element-wise (Sec. 9); derivative 1 - tanh²."""
        out = np.tanh(self.data)

        def backward(g):
            return (g * (1 - out * out),)

        return Tensor.from_op(out, (self,), backward, "tanh")

    def softmax(self, axis: int = -1) -> Tensor:
        """S_Softmax(z) = e^{z} / Σ_i e^{z_i} over ``axis``, eq. (4)."""
        out = stable_softmax(self.data, axis)

        def backward(g):
            # Jacobian diag(s) - s sᵀ applied to g, without forming it.
            return (out * (g - (g * out).sum(axis=axis, keepdims=True)),)

        return Tensor.from_op(out, (self,), backward, "softmax")

    def log_softmax(self, axis: int = -1) -> Tensor:
        """log S_Softmax(z) = z - log Σ_i e^{z_i} over ``axis``, by log-sum-exp."""
        x = self.data
        # NOTE: subtracting the max first keeps e^{z} ≤ 1, so nothing overflows, and the
        # largest term is e^0 = 1, so the log never sees 0.
        shifted = minus_max(x, axis, "log_softmax")
        out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))

        def backward(g):
            return (g - np.exp(out) * g.sum(axis=axis, keepdims=True),)

        return Tensor.from_op(out, (self,), backward, "log_softmax")

    def clip(self, low=None, high=None) -> Tensor:
        """Clamp into [low, high]; gradient passes where low ≤ x ≤ high (as torch.clamp).

        >>> Tensor([-2, 0.5, 3]).clip(0, 1).numpy()
        array([0. , 0.5, 1. ], dtype=float32)
        """
        if low is None and high is None:
            raise ValueError("clip needs low, high or both")
        a = self.data
        inside = np.ones(a.shape, dtype=bool)
        if low is not None:
            inside &= a >= low
        if high is not None:
            inside &= a <= high

        def backward(g):
            return (g * inside,)

        out = np.clip(a, low, high).astype(a.dtype, copy=False)
        return Tensor.from_op(out, (self,), backward, "clip")

    # ------------------------------------------------------------------ shape (Sec. 7)
    def reshape(self, *shape) -> Tensor:
        """Same entries, new shape (row-major order, as numpy)."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        source = self.shape

        def backward(g):
            return (g.reshape(source),)

        return Tensor.from_op(self.data.reshape(shape), (self,), backward, "reshape")

    def transpose(self, *axes) -> Tensor:
        """Permute axes (reverse them by default): the transpose Xᵀ of eq. (24)."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        axes = axes or tuple(reversed(range(self.ndim)))
        inverse = tuple(np.argsort(axes))

        def backward(g):
            return (g.transpose(inverse),)

        return Tensor.from_op(self.data.transpose(axes), (self,), backward, "transpose")

    @property
    def T(self) -> Tensor:
        """Transpose, eq. (24): reverses the axes."""
        return self.transpose()

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        """Exchange two axes (the batched transpose when they are -1 and -2)."""

        def backward(g):
            return (g.swapaxes(axis1, axis2),)

        return Tensor.from_op(self.data.swapaxes(axis1, axis2), (self,), backward, "swapaxes")

    def __getitem__(self, index) -> Tensor:
        """Indexing and slicing; the gradient is scattered back, repeated indices add up."""
        if isinstance(index, Tensor):
            index = index.data.astype(np.intp)
        elif isinstance(index, tuple):
            index = tuple(i.data.astype(np.intp) if isinstance(i, Tensor) else i for i in index)
        x = self.data
        basic = _is_basic_index(index)

        def backward(g):
            grad = np.zeros_like(x)
            if basic:  # slices never repeat an entry
                grad[index] = g
            else:
                np.add.at(grad, index, g)
            return (grad,)

        return Tensor.from_op(x[index], (self,), backward, "getitem")


def _is_basic_index(index) -> bool:
    """True for indices made of ints, slices, None and Ellipsis (no fancy indexing)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(
        isinstance(p, (numbers.Integral, slice)) or p is None or p is Ellipsis for p in parts
    )


def as_tensor(x, dtype=None) -> Tensor:
    """``x`` itself if it is a Tensor, else a constant Tensor of its values (``dtype``:
    float32 or float64, or None for the default rule of ``Tensor``)."""
    return x if isinstance(x, Tensor) else Tensor(x, dtype=dtype)


def tensor(data, requires_grad: bool = False, dtype=None) -> Tensor:
    """Build a Tensor (float32 unless the data is float64 or ``dtype`` says otherwise).

    >>> tensor([[1, 2], [3, 4]]).shape
    (2, 2)
    """
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def _rows_times_matrix(A: Tensor, B: Tensor, need_a: bool, need_b: bool) -> Tensor:
    """A @ B for A (..., k) with leading axes and a matrix B (k, m), as one product.

    NOTE: numpy would multiply each (T, k) block of A separately (a batch of small
    products) and dC/dB would need an (n, k, m) temporary summed over n; flattening A's
    leading axes makes each of the three products one large one.
    """
    a, b = A.data, B.data
    a2 = a.reshape(-1, a.shape[-1])  # (rows, k)
    out = (a2 @ b).reshape(*a.shape[:-1], b.shape[1])  # (..., m)

    def backward(g):
        g2 = np.ascontiguousarray(g).reshape(-1, b.shape[1])  # (rows, m)
        ga = (g2 @ b.T).reshape(a.shape) if need_a else None  # dC/dA = G Bᵀ
        gb = a2.T @ g2 if need_b else None  # dC/dB = Aᵀ G, summed over every row
        return ga, gb

    return Tensor.from_op(out, (A, B), backward, "matmul")


def _topological_order(root: Tensor) -> list[Tensor]:
    """Nodes needing a gradient, output first, inputs last (iterative: no recursion limit).

    A Tensor is always created after the Tensors it is computed from, so sorting the
    reachable nodes by creation number, newest first, is a topological order.
    """
    seen = {root}
    stack = [root]
    while stack:
        for parent in stack.pop()._parents:
            if parent.requires_grad and parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return sorted(seen, key=_by_creation, reverse=True)


_by_creation = operator.attrgetter("_seq")  # a Tensor's creation number
