"""Tensor: a numpy array that remembers how it was computed (primer Sec. 8).

Backpropagation is reverse-mode automatic differentiation. Every operation
computes its output and, right beside it, its vector-Jacobian product: given ``g``,
the gradient of the final scalar with respect to the output, it returns the
gradient with respect to each input. ``Tensor.backward`` visits the graph from the
output back to the inputs in topological order and applies those rules.

Here: the Tensor core (construction, the graph, ``backward``), arithmetic and the
matrix product. The other methods come from mixins, each with its backward rules:
reductions (``reductions.py``), element-wise functions (``math_ops.py``) and shape
operations (``shape_ops.py``). Grad mode (``no_grad``) is in ``grad_mode.py``.

>>> x = Tensor([1.0, -2.0, 3.0], requires_grad=True)
>>> loss = (x * x).sum()          # ‖x‖², whose gradient is 2x
>>> loss.backward()
>>> x.grad
array([ 2., -4.,  6.], dtype=float32)
"""

from __future__ import annotations

import itertools
import numbers
import operator
from collections.abc import Callable

import numpy as np

from dlprimer.engine.grad_mode import grad_state, is_grad_enabled, no_grad
from dlprimer.engine.math_ops import MathOps
from dlprimer.engine.reductions import ReductionOps
from dlprimer.engine.shape_ops import ShapeOps
from dlprimer.engine.validate import broadcast_error, float_array, scalar_error

__all__ = [
    "Tensor",
    "tensor",
    "no_grad",
    "is_grad_enabled",
    "unbroadcast",
]

_creation_order = itertools.count()  # every Tensor's creation number, for backward's order


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


class Tensor(ReductionOps, MathOps, ShapeOps):
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
        self.data = float_array(data.data if isinstance(data, Tensor) else data, dtype)
        self.grad: np.ndarray | None = None
        self.requires_grad = bool(requires_grad)
        self._parents: tuple[Tensor, ...] = ()
        self._backward: Callable | None = None
        self._op = ""
        self._seq = next(_creation_order)

    def __setstate__(self, state) -> None:
        """Unpickling and deep copies: the slots as saved, and a fresh creation number."""
        # NOTE: a copy made in another process (a Dask worker unpickling a model) would keep
        # the creation number of its original, which may be newer than the Tensors made
        # there; backward orders nodes by that number and would visit such a parameter
        # before the ops that use it, dropping its gradient.
        slots = state[1] if isinstance(state, tuple) else state
        for name, value in (slots or {}).items():
            setattr(self, name, value)
        self._seq = next(_creation_order)

    @classmethod
    def from_op(cls, data: np.ndarray, parents: tuple, backward: Callable, op: str) -> Tensor:
        """Output of an operation; records the graph edge only when a gradient is needed."""
        out = cls.__new__(cls)
        out.data = data
        out.grad = None
        out._op = op
        out._seq = next(_creation_order)
        # NOTE: every op comes through here. The grad mode is the calling thread's (a
        # threading.local read); the loop below is any(p.requires_grad for p in parents)
        # without the generator, which cost more than the rest of this method.
        if grad_state.enabled:
            for p in parents:
                if p.requires_grad:
                    out.requires_grad = True
                    out._parents = parents
                    out._backward = backward
                    return out
        out.requires_grad = False
        out._parents = ()
        out._backward = None
        return out

    def lift(self, other) -> Tensor:
        """A constant operand as a Tensor; Python numbers take this Tensor's dtype."""
        if isinstance(other, Tensor):
            return other
        if isinstance(other, numbers.Number):
            try:
                return Tensor(np.asarray(other, dtype=self.data.dtype))
            except (TypeError, OverflowError):  # 1j, 10**400
                raise scalar_error(other, self.data.dtype, "the operand") from None
        return Tensor(float_array(other, name="the operand"))

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

        return Tensor.from_op(float_array(self.data, dtype), (self,), backward, "astype")

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

        try:
            out = self.data + other.data
        except ValueError:  # numpy's "operands could not be broadcast"
            raise broadcast_error("x + y", self.shape, other.shape) from None
        return Tensor.from_op(out, (self, other), backward, "add")

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

        try:
            out = self.data - other.data
        except ValueError:  # numpy's "operands could not be broadcast"
            raise broadcast_error("x - y", self.shape, other.shape) from None
        return Tensor.from_op(out, (self, other), backward, "sub")

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

        try:
            out = x * y
        except ValueError:
            raise broadcast_error("x * y", x.shape, y.shape) from None
        return Tensor.from_op(out, (self, other), backward, "mul")

    def __rmul__(self, other) -> Tensor:
        return self.lift(other) * self

    def __truediv__(self, other) -> Tensor:
        """Element-wise division x / y."""
        other = self.lift(other)
        x, y = self.data, other.data
        try:
            out = x / y
        except ValueError:
            raise broadcast_error("x / y", x.shape, y.shape) from None
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
