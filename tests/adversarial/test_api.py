"""Bad calls into the public API: each raises a dlprimer error that says what was wrong
and how to fix it, never numpy's own message (ragged lists, AxisError, broadcasting).

The table lists (call, exception type, fragment of the message); one test runs them all
and also checks that no message leaks numpy's internal phrases.
"""

import datetime
import functools

import numpy as np
import pytest

import dlprimer as dp
from dlprimer.engine.checks import as_float_array, as_matrix
from dlprimer.nn import functional as F

nn = dp.nn

#: Phrases of numpy's own messages that must never reach a user.
NUMPY_PHRASES = ("inhomogeneous", "AxisError", "could not broadcast", "operands could not",
                 "setting an array element with a sequence", "zero-size array",
                 "cannot reshape array", "int too large to convert", "float() argument",
                 "out of bounds for array", "could not convert string")


def T(*shape):  # noqa: N802 (a Tensor of zeros, float64)
    return dp.tensor(np.zeros(shape), dtype=np.float64)


def ones(*shape):  # float32, the default dtype
    return dp.tensor(np.ones(shape, dtype=np.float32))


CASES = [
    # ---------------------------------------------------------------- building a Tensor
    ("ragged rows", lambda: dp.tensor([[1, 2], [3]]), ValueError,
     "ragged: row 0 has 2 entries but row 1 has 1 entry"),
    ("ragged deeper", lambda: dp.tensor([[[1], [2]], [[3], [4, 5]]]), ValueError,
     "entry [0][0] has 1 entry but entry [1][1] has 2 entries"),
    ("row or number", lambda: dp.tensor([[1, 2], 3]), ValueError,
     "row 0 has 2 entries but row 1 is a single number"),
    ("ragged with dtype", lambda: dp.Tensor([[1.0], [1.0, 2.0]], dtype=np.float64),
     ValueError, "every row must have the same length"),
    ("10**400 in a list", lambda: dp.tensor([1.0, 10**400]), ValueError,
     "integer 100000…(401 digits) at index (1,), beyond what float64 holds (±1.8e308)"),
    ("1e39 in float32", lambda: dp.tensor([1e39]), ValueError,
     "up to 1e+39 in magnitude, beyond what float32 holds (±3.4e38)"),
    ("float64 to float32 overflow", lambda: dp.Tensor(np.array([-1e300]), dtype=np.float32),
     ValueError, "beyond what float32 holds"),
    ("astype overflow", lambda: dp.Tensor(np.array([1e300])).astype(np.float32), ValueError,
     "beyond what float32 holds"),
    ("text", lambda: dp.tensor(["a", "b"]), TypeError, "must be numeric, but it holds text ('a'"),
    ("numbers as text", lambda: dp.tensor(np.array(["1.5"])), TypeError,
     "np.asarray(x, dtype=float)"),
    ("complex array", lambda: dp.tensor(np.array([1 + 2j])), TypeError, "complex numbers"),
    ("complex in a list", lambda: dp.tensor([1.0, 2j]), TypeError, "complex numbers"),
    ("datetime64", lambda: dp.tensor(np.array(["2020-01-01"], dtype="datetime64[D]")),
     TypeError, "dates or times (dtype datetime64[D])"),
    ("timedelta64", lambda: dp.tensor(np.array([5], dtype="timedelta64[s]")), TypeError,
     "durations (dtype timedelta64[s])"),
    ("datetime objects", lambda: dp.tensor(np.array([datetime.date(2020, 1, 1)], dtype=object)),
     TypeError, "dates or times (date at index (0,))"),
    ("objects", lambda: dp.tensor(np.array([1.0, object()], dtype=object)), TypeError,
     "holds object values at index (1,)"),
    ("a dict", lambda: dp.tensor({"a": 1}), TypeError, "holds dict values"),
    ("None", lambda: dp.tensor(None), TypeError, "is None"),
    ("structured", lambda: dp.tensor(np.zeros(2, dtype=[("a", "f8"), ("b", "i4")])),
     TypeError, "structured array"),
    ("integer dtype", lambda: dp.Tensor([1, 2], dtype="int32"), TypeError,
     "dtype must be float32 or float64"),
    ("complex dtype", lambda: dp.Tensor([1, 2], dtype=complex), TypeError,
     "dtype must be float32 or float64"),
    # ---------------------------------------------------------------- operands
    ("Tensor + 1j", lambda: ones(2) + 1j, TypeError, "the operand 1j is complex"),
    ("1j * Tensor", lambda: 1j * ones(2), TypeError, "complex"),
    ("Tensor * 10**400", lambda: ones(2) * 10**400, ValueError,
     "beyond what float32 holds (±3.4e38)"),
    ("Tensor + text", lambda: ones(2) + "a", TypeError, "the operand must be numeric"),
    ("Tensor + ragged", lambda: ones(2) + [[1, 2], [3]], ValueError, "the operand is ragged"),
    ("Tensor @ complex", lambda: ones(2) @ np.array([1j, 2]), TypeError, "complex numbers"),
    # ---------------------------------------------------------------- axes
    *[(f"{op} axis {axis}", lambda op=op, axis=axis: getattr(T(2, 3), op)(axis=axis),
       ValueError, f"{op}: axis {axis} is out of range")
      for op in ("sum", "mean", "max", "softmax", "log_softmax") for axis in (5, -3, 2)],
    ("sum axis tuple out of range", lambda: T(2, 3).sum(axis=(0, 2)), ValueError,
     "axis 2 is out of range for a Tensor of shape (2, 3)"),
    ("sum axis twice", lambda: T(2, 3).sum(axis=(1, -1)), ValueError, "names an axis twice"),
    ("sum axis float", lambda: T(2, 3).sum(axis=1.5), TypeError, "axis must be None, an int"),
    ("softmax axis text", lambda: T(2, 3).softmax(axis="rows"), TypeError,
     "axis must be an int"),
    ("softmax of a 0-D Tensor", lambda: dp.tensor(1.0).softmax(), ValueError, "it has no axes"),
    ("dp.softmax axis 5", lambda: dp.softmax(np.ones((2, 3)), axis=5), ValueError,
     "softmax: axis 5 is out of range for an array of shape (2, 3)"),
    ("dp.log_softmax axis -3", lambda: dp.log_softmax(np.ones((2, 3)), axis=-3), ValueError,
     "log_softmax: axis -3 is out of range"),
    ("transpose axis out of range", lambda: T(2, 3).transpose(0, 5), ValueError,
     "transpose: axis 5 is out of range"),
    ("transpose repeated axis", lambda: T(2, 3).transpose(0, 0), ValueError,
     "must name each axis of a Tensor of shape (2, 3) once"),
    ("swapaxes out of range", lambda: T(2, 3).swapaxes(0, 5), ValueError,
     "swapaxes: axis 5 is out of range"),
    ("concatenate axis", lambda: dp.concatenate([T(2, 3), T(2, 3)], axis=5), ValueError,
     "concatenate: axis 5 is out of range"),
    ("stack axis", lambda: dp.stack([T(2, 3), T(2, 3)], axis=5), ValueError,
     "stack: axis 5 is out of range: tensors of shape (2, 3) stack into a 3-D result"),
    # ---------------------------------------------------------------- shapes
    *[(f"x {sym} y", lambda fn=fn: fn(T(2, 3), T(2, 4)), ValueError,
       f"x {sym} y: shapes (2, 3) and (2, 4) do not broadcast: at axis -1 the lengths are "
       "3 and 4") for sym, fn in (("+", lambda a, b: a + b), ("-", lambda a, b: a - b),
                                  ("*", lambda a, b: a * b), ("/", lambda a, b: a / b))],
    ("array + Tensor", lambda: np.ones((3, 2)) + T(3), ValueError, "do not broadcast"),
    ("list * Tensor", lambda: [1.0, 2.0, 3.0] * T(2), ValueError, "do not broadcast"),
    ("matmul inner", lambda: T(2, 3) @ T(2, 3), ValueError,
     "the columns of the left (3) must equal the rows of the right (2)"),
    ("matmul batch axes", lambda: T(2, 2, 3) @ T(3, 3, 4), ValueError,
     "batch axes (2,) and (3,) do not broadcast"),
    ("matmul scalar", lambda: T(2) @ dp.tensor(2.0), ValueError, "use * to multiply"),
    ("where", lambda: dp.where(np.ones((2, 3), bool), T(2, 3), T(2, 4)), ValueError,
     "where(condition, x, y): shapes (2, 3) and (2, 3) and (2, 4) do not broadcast"),
    ("maximum", lambda: dp.maximum(T(2, 3), T(4)), ValueError,
     "maximum(x, y): shapes (2, 3) and (4,) do not broadcast"),
    ("concatenate shapes", lambda: dp.concatenate([T(2, 3), T(2, 4)]), ValueError,
     "tensor 1 has shape (2, 4) but tensor 0 has (2, 3); every other axis must match"),
    ("concatenate ndim", lambda: dp.concatenate([T(2, 3), T(2)]), ValueError,
     "tensor 1 has shape (2,)"),
    ("stack shapes", lambda: dp.stack([T(2, 3), T(3, 2)]), ValueError,
     "stacked tensors must all have the same shape"),
    ("reshape", lambda: T(2, 3).reshape(4, 2), ValueError,
     "a Tensor of shape (2, 3) (6 entries) cannot take the shape (4, 2)"),
    ("reshape -1 of nothing", lambda: T(0, 3).reshape(0, -1), ValueError,
     "-1 cannot be inferred from 0 entries"),
    ("backward gradient shape",
     lambda: (dp.tensor([1.0, 2.0], requires_grad=True) * 2).backward(np.ones(3)), ValueError,
     "gradient has shape (3,) but the Tensor has shape (2,)"),
    ("attention batch axes", lambda: F.dot_product_attention(T(2, 3, 4), T(3, 3, 4), T(3, 3, 4)),
     ValueError, "the batch axes of q, k and v: shapes (2,) and (3,) and (3,) do not broadcast"),
    ("cross_entropy labels", lambda: F.cross_entropy(T(2, 3), [0, 3]), ValueError,
     "class indices must be integers in 0..2"),
    ("mse_loss shape", lambda: F.mse_loss(T(2, 1), np.zeros((3, 1))), ValueError,
     "must have the shape of the model output (2, 1)"),
    ("mse_loss no rows", lambda: F.mse_loss(T(0, 1), np.zeros((0, 1))), ValueError,
     "needs at least one"),
    ("bce no rows", lambda: F.binary_cross_entropy_with_logits(T(0), np.zeros(0)), ValueError,
     "needs at least one"),
    # ---------------------------------------------------------------- empty sequences
    ("attention over no tokens", lambda: nn.MultiHeadAttention(4, 2)(T(2, 0, 4)), ValueError,
     "needs sequences of at least one token (T ≥ 1)"),
    ("attention with no keys",
     lambda: nn.MultiHeadAttention(4, 2, dtype=np.float64)(T(2, 3, 4), T(2, 0, 4)),
     ValueError, "at least one token"),
    ("encoder block on no tokens", lambda: nn.TransformerEncoderBlock(4, 2, 8)(T(1, 0, 4)),
     ValueError, "at least one token"),
    ("dot_product_attention no keys",
     lambda: F.dot_product_attention(T(2, 3, 4), T(2, 0, 4), T(2, 0, 4)), ValueError,
     "attention needs at least one key"),
    ("RNN on no steps", lambda: nn.RNN(3, 4)(T(2, 0, 3)), ValueError, "T >= 1"),
    ("LSTM on no steps", lambda: nn.LSTM(3, 4)(T(2, 0, 3)), ValueError, "T >= 1"),
    ("BatchNorm on an empty batch in training", lambda: nn.BatchNorm1d(4)(T(0, 4)), ValueError,
     "needs more than 1 value per channel"),
    # ---------------------------------------------------------------- wrong inputs to layers
    ("Dense on text", lambda: nn.Dense(3, 2)(np.array([["a", "b", "c"]])), TypeError,
     "holds text"),
    ("Dense on complex", lambda: nn.Dense(3, 2)(np.array([[1j, 2, 3]])), TypeError,
     "complex numbers"),
    ("Dense on a ragged list", lambda: nn.Dense(3, 2)([[1, 2, 3], [1]]), ValueError,
     "row 0 has 3 entries but row 1 has 1 entry"),
    ("Model I on a ragged list", lambda: dp.SigmoidModel(3)([[1, 2, 3], [1]]), ValueError,
     "X is ragged"),
    ("Model III on dates", lambda: dp.FeedForward([1, 2, 1])(
        np.array([["2020-01-01"]], dtype="datetime64[D]")), TypeError, "dates or times"),
    ("Conv2d on complex", lambda: nn.Conv2d(1, 1, 1)(np.ones((1, 1, 2, 2)) * 1j), TypeError,
     "complex numbers"),
    ("Flatten of a 0-D input", lambda: nn.Flatten()(dp.tensor(1.0)), ValueError,
     "got a 0-D input"),
    # ---------------------------------------------------------------- the input checks
    ("as_matrix of datetime64", lambda: as_matrix(np.array([["2020-01-01"]], "datetime64[D]")),
     ValueError, "whose Preprocessor turns date columns into days"),
    ("as_matrix of timedelta64", lambda: as_matrix(np.array([[1]], "timedelta64[h]")),
     ValueError, "x / np.timedelta64(1, 'D')"),
    ("as_matrix of datetime objects",
     lambda: as_matrix(np.array([[datetime.datetime(2020, 1, 1)]], dtype=object)), ValueError,
     "X must be numeric, but it holds dates or times (datetime at index (0, 0))"),
    ("as_matrix of complex", lambda: as_matrix(np.ones((2, 2)) * 1j), ValueError,
     "X must be real numbers, but it holds complex numbers"),
    ("as_matrix of text", lambda: as_matrix([["1.5", "a"]]), ValueError,
     "X must be numeric, but it holds text ('1.5' at index (0, 0))"),
    ("as_matrix of objects", lambda: as_matrix(np.array([[1, "a"]], dtype=object)), ValueError,
     "holds text ('a' at index (0, 1))"),
    ("as_matrix ragged", lambda: as_matrix([[1, 2], [3]]), ValueError, "X is ragged"),
    ("as_matrix huge integer", lambda: as_matrix([[1, 10**400]]), ValueError,
     "at index (0, 1), beyond what float64 holds"),
    ("as_float_array float32 overflow",
     lambda: as_float_array([1e308], "x", dtype=np.float32), ValueError,
     "x has values up to 1e+308 in magnitude, beyond what float32 holds (±3.4e38)"),
    ("as_float_array -nan", lambda: as_float_array([1.0, -np.nan], "x", allow_nan=False),
     ValueError, "x contains 1 NaN value(s), first at index (1,)"),
    ("as_float_array inf", lambda: as_float_array([[1.0, -np.inf]], "x", allow_nan=False),
     ValueError, "x contains 1 infinite value(s) (±inf), first at index (0, 1)"),
    ("as_float_array both", lambda: as_float_array([np.nan, np.inf], "x", allow_nan=False),
     ValueError, "2 NaN or infinite value(s) (1 NaN, 1 infinite)"),
    ("as_matrix -nan rows", lambda: as_matrix(np.array([[0.0], [-np.nan]])), ValueError,
     "X contains 1 NaN value(s) in 1 row(s), first at row(s) 1"),
    ("as_matrix inf rows", lambda: as_matrix(np.array([[np.inf], [0.0], [-np.inf]])),
     ValueError, "X contains 2 infinite value(s) (±inf) in 2 row(s), first at row(s) 0, 2"),
]

@functools.cache
def fitted() -> dp.SigmoidModel:
    X = np.random.default_rng(0).normal(size=(20, 2))
    model = dp.SigmoidModel(2)
    dp.fit(model, X, (X[:, 0] > 0).astype(int), epochs=2, progress=False)
    return model


def fit(X, y):
    return dp.fit(dp.SigmoidModel(2), X, y, epochs=1, progress=False)


CASES += [
    # ---------------------------------------------------------------- fit and predict
    ("fit on a ragged X", lambda: fit([[1, 2], [3]], [0, 1]), ValueError,
     "X is ragged: row 0 has 2 entries but row 1 has 1 entry"),
    ("fit on ragged images", lambda: dp.fit(
        dp.nn.Sequential(dp.nn.Flatten(), dp.nn.Dense(4, 1)), [[[1, 2], [3, 4]], [[1], [2]]],
        [0, 1], progress=False), ValueError, "entry [0][0] has 2 entries but entry [1][0]"),
    ("fit on a ragged y", lambda: fit(np.zeros((2, 2)), [[1], 2]), ValueError, "y is ragged"),
    ("fit on complex labels", lambda: fit(np.zeros((2, 2)), [1j, 2]), ValueError,
     "y holds complex numbers"),
    ("fit on date labels", lambda: fit(np.zeros((2, 2)), np.array(["2020-01-01"] * 2, "M8[D]")),
     ValueError, "astype(str)"),
    ("fit on text X", lambda: fit(np.array([["a", "b"]] * 2), [0, 1]), ValueError,
     "whose Preprocessor encodes text columns"),
    ("fit on a huge integer", lambda: fit([[1, 10**400], [2, 3]], [0, 1]), ValueError,
     "beyond what float64 holds"),
    ("predict on a ragged X", lambda: fitted().predict([[1, 2], [3]]), ValueError,
     "X is ragged"),
    ("predict on durations", lambda: fitted().predict(
        np.array([[np.timedelta64(1, "s"), 1]], dtype=object)), ValueError, "durations"),
    ("predict on complex", lambda: fitted().predict(np.ones((2, 2)) * 1j), ValueError,
     "complex numbers"),
    ("predict on NaN", lambda: fitted().predict([[np.nan, 0.0]]), ValueError,
     "X contains 1 NaN value(s)"),
    ("predict on 1e308", lambda: fitted().predict([[1e308, 0.0]]), ValueError,
     "beyond what float32 holds (±3.4e38)"),
    ("predict with the wrong p", lambda: fitted().predict(np.zeros((2, 3))), ValueError,
     "X has 3 column(s) but the Standardizer was fitted on 2"),
]

CONSTRUCTORS = [
    ("Dense(0, 2)", lambda: nn.Dense(0, 2), "in_features must be a positive integer, got 0"),
    ("Dense(2, -1)", lambda: nn.Dense(2, -1), "out_features must be a positive integer"),
    ("Dense(2.5, 2)", lambda: nn.Dense(2.5, 2), "got 2.5"),
    ("Dense(True, 2)", lambda: nn.Dense(True, 2), "got True"),
    ("Conv2d(0, 2, 3)", lambda: nn.Conv2d(0, 2, 3), "in_channels must be a positive"),
    ("Conv2d(1, -2, 3)", lambda: nn.Conv2d(1, -2, 3), "out_channels must be a positive"),
    ("Conv2d kernel 0", lambda: nn.Conv2d(1, 2, 0), "kernel_size must be a positive int"),
    ("Conv2d kernel (3, -1)", lambda: nn.Conv2d(1, 2, (3, -1)), "kernel_size"),
    ("Conv2d stride 0", lambda: nn.Conv2d(1, 2, 3, stride=0), "stride must be a positive int"),
    ("Conv2d padding -1", lambda: nn.Conv2d(1, 2, 3, padding=-1), "padding must be a non-neg"),
    ("MaxPool2d(0)", lambda: nn.MaxPool2d(0), "k must be a positive int"),
    ("MaxPool2d(-2)", lambda: nn.MaxPool2d(-2), "k must be a positive int"),
    ("AvgPool2d stride 0", lambda: nn.AvgPool2d(2, stride=0), "stride must be a positive"),
    ("Embedding(0, 3)", lambda: nn.Embedding(0, 3), "num_embeddings must be a positive"),
    ("Embedding(3, -1)", lambda: nn.Embedding(3, -1), "dim must be a positive"),
    ("RNN(0, 3)", lambda: nn.RNN(0, 3), "input_size must be a positive"),
    ("LSTM(3, 0)", lambda: nn.LSTM(3, 0), "hidden_size must be a positive"),
    ("MultiHeadAttention(0, 1)", lambda: nn.MultiHeadAttention(0, 1), "d_model must be"),
    ("MultiHeadAttention(4, 0)", lambda: nn.MultiHeadAttention(4, 0), "num_heads must be"),
    ("MultiHeadAttention(4, 3)", lambda: nn.MultiHeadAttention(4, 3), "divisible by num_heads"),
    ("LayerNorm(0)", lambda: nn.LayerNorm(0), "d must be a positive integer"),
    ("TransformerEncoderBlock d_ff 0", lambda: nn.TransformerEncoderBlock(4, 2, 0),
     "d_ff must be a positive integer, got 0"),
    ("TransformerEncoderBlock d_model -4", lambda: nn.TransformerEncoderBlock(-4, 2, 8),
     "d_model must be a positive"),
    ("Dropout(1)", lambda: nn.Dropout(1), "must be a number in [0, 1)"),
    ("Dropout(-0.1)", lambda: nn.Dropout(-0.1), "must be a number in [0, 1)"),
    ("BatchNorm1d(0)", lambda: nn.BatchNorm1d(0), "num_features must be a positive"),
    ("BatchNorm2d(-3)", lambda: nn.BatchNorm2d(-3), "num_channels must be a positive"),
    ("SigmoidModel(0)", lambda: dp.SigmoidModel(0), "p (the number of features) must be"),
    ("SoftmaxModel(3, 0)", lambda: dp.SoftmaxModel(3, 0), "K (the number of classes) must be"),
    ("SoftmaxModel(-3, 2)", lambda: dp.SoftmaxModel(-3, 2), "must be a positive integer"),
    ("FeedForward([3, 0, 1])", lambda: dp.FeedForward([3, 0, 1]), "sizes[1] must be a positive"),
    ("FeedForward([3, -2, 1])", lambda: dp.FeedForward([3, -2, 1]), "sizes[1] must be"),
    ("FeedForward([3])", lambda: dp.FeedForward([3]), "at least the input and output widths"),
]


def _assert_clear(err: BaseException, fragment: str) -> None:
    message = str(err)
    assert fragment in message, f"{fragment!r} not in {message!r}"
    assert type(err).__module__ in ("builtins", "dlprimer.engine.validate",
                                    "dlprimer.training.divergence"), type(err)
    leaked = [p for p in NUMPY_PHRASES if p in message]
    assert not leaked, f"numpy's message leaked ({leaked}): {message}"


@pytest.mark.parametrize("label, call, kind, fragment", CASES, ids=[c[0] for c in CASES])
def test_a_bad_call_says_what_was_wrong(label, call, kind, fragment):
    with pytest.raises(kind) as info:
        call()
    _assert_clear(info.value, fragment)


@pytest.mark.parametrize("label, call, fragment", CONSTRUCTORS, ids=[c[0] for c in CONSTRUCTORS])
def test_a_bad_size_in_a_constructor_names_the_argument(label, call, fragment):
    with pytest.raises(ValueError) as info:
        call()
    _assert_clear(info.value, fragment)


def test_data_numbers_cannot_stand_for_is_both_a_type_and_a_value_error():
    # Tensor says TypeError (the kind of data is wrong), the input checks say ValueError:
    # one error class is both, as numpy's AxisError is an IndexError and a ValueError.
    for bad in (["a"], np.array([1j]), np.array(["2020-01-01"], dtype="datetime64[D]")):
        for call in (lambda b=bad: dp.tensor(b), lambda b=bad: as_float_array(b, "x")):
            with pytest.raises(TypeError) as info:
                call()
            assert isinstance(info.value, ValueError)


def test_what_is_still_allowed_stays_allowed():
    assert dp.tensor([1e39], dtype=np.float64).item() == 1e39  # fits float64
    assert dp.tensor([np.inf, np.nan]).shape == (2,)  # the engine computes with inf and NaN
    assert dp.tensor([True, False]).dtype == np.float32
    assert dp.tensor(np.array([1, 2], dtype=np.float16)).dtype == np.float32
    assert dp.tensor([10**30]).item() == pytest.approx(1e30)  # a big int that fits
    from decimal import Decimal
    from fractions import Fraction
    values = dp.tensor(np.array([Fraction(1, 4), Decimal("0.5"), None], dtype=object)).numpy()
    np.testing.assert_array_equal(values, [0.25, 0.5, np.nan])  # None is missing, as in numpy
    assert (ones(2, 3) + ones(3)).shape == (2, 3)  # broadcasting itself still works
    assert (ones(2, 1) * ones(1, 4)).shape == (2, 4)
    assert T(2, 3).sum(axis=-2).shape == (3,)
    assert dp.concatenate([T(2, 3), T(2, 1)], axis=-1).shape == (2, 4)
    assert dp.stack([T(2), T(2)], axis=-1).shape == (2, 2)
    assert T(2, 3, 4).transpose(2, 0, 1).shape == (4, 2, 3)


EMPTY_BATCHES = [
    ("Dense", lambda: nn.Dense(3, 2), (0, 3)),
    ("Conv2d", lambda: nn.Conv2d(1, 2, 3, padding=1), (0, 1, 5, 5)),
    ("MaxPool2d", lambda: nn.MaxPool2d(2), (0, 1, 4, 4)),
    ("AvgPool2d", lambda: nn.AvgPool2d(2), (0, 1, 4, 4)),
    ("Flatten", lambda: nn.Flatten(), (0, 2, 3, 3)),
    ("Embedding", lambda: nn.Embedding(5, 3), (0, 4)),
    ("RNN", lambda: nn.RNN(3, 4), (0, 5, 3)),
    ("LSTM", lambda: nn.LSTM(3, 4), (0, 5, 3)),
    ("MultiHeadAttention", lambda: nn.MultiHeadAttention(4, 2), (0, 5, 4)),
    ("LayerNorm", lambda: nn.LayerNorm(4), (0, 5, 4)),
    ("TransformerEncoderBlock", lambda: nn.TransformerEncoderBlock(4, 2, 8), (0, 5, 4)),
    ("Dropout", lambda: nn.Dropout(0.5), (0, 4)),
    ("BatchNorm1d", lambda: nn.BatchNorm1d(4).eval(), (0, 4)),
    ("BatchNorm2d", lambda: nn.BatchNorm2d(2).eval(), (0, 2, 3, 3)),
    ("ReLU", lambda: nn.ReLU(), (0, 4)),
    ("Sigmoid", lambda: nn.Sigmoid(), (0, 4)),
    ("Tanh", lambda: nn.Tanh(), (0, 4)),
    ("Sequential CNN", lambda: nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(),
                                             nn.MaxPool2d(2), nn.Flatten(),
                                             nn.Dense(2 * 2 * 2, 3)), (0, 1, 4, 4)),
    ("SigmoidModel", lambda: dp.SigmoidModel(3), (0, 3)),
    ("SoftmaxModel", lambda: dp.SoftmaxModel(3, 2), (0, 3)),
    ("FeedForward", lambda: dp.FeedForward([3, 4, 2], output="softmax"), (0, 3)),
]


@pytest.mark.parametrize("label, build, shape", EMPTY_BATCHES, ids=[c[0] for c in EMPTY_BATCHES])
def test_an_empty_batch_goes_through_every_built_in_layer(label, build, shape):
    layer = build()
    data = np.zeros(shape, dtype=np.int64 if label == "Embedding" else np.float32)
    out = layer(data)
    out = out[0] if isinstance(out, tuple) else out  # RNN, LSTM: (outputs, state)
    assert out.shape[0] == 0
    if label in ("SigmoidModel", "SoftmaxModel", "FeedForward"):
        assert layer.predict_proba(np.zeros(shape)).shape[0] == 0
