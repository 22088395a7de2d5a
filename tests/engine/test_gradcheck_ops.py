"""Every op's backward against central finite differences in float64 (Sec. 8)."""

import numpy as np
import pytest
from helpers.op_cases import CASES

import dlprimer as dp


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_backward_matches_finite_differences(case):
    assert dp.gradcheck(case.dp_fn, case.inputs())


def test_gradcheck_reports_a_wrong_backward():
    def bad_square(x):
        out = x * x

        def backward(g):
            return (g * x.data,)  # wrong: misses the factor 2

        return dp.Tensor.from_op(out.data, (x,), backward, "bad_square")

    with pytest.raises(dp.GradcheckError, match=r"input 0 at index \(\d,\).*backward gave"):
        dp.gradcheck(lambda x: bad_square(x).sum(), [np.array([1.0, 2.0, 3.0])])


def test_gradcheck_checks_only_inputs_that_ask():
    x = dp.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    c = dp.Tensor(np.array([3.0, 4.0]))  # a constant: not checked, still used
    assert dp.gradcheck(lambda x, c: (x * c).sum(), [x, c])


def test_gradcheck_runs_in_float64_even_for_float32_inputs():
    seen = []

    def fn(x):
        seen.append(x.dtype)
        return (x**2).sum()

    dp.gradcheck(fn, [dp.Tensor([1.0, 2.0], requires_grad=True)])
    assert set(seen) == {np.dtype(np.float64)}
