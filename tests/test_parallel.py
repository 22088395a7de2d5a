"""dlprimer._parallel: the pieces of one op side by side, numpy's BLAS single-threaded
meanwhile, its thread count restored after."""

import threading
import warnings

import numpy as np
import pytest

from dlprimer import _parallel


@pytest.fixture
def two_cores(monkeypatch):
    monkeypatch.setattr(_parallel, "threads", lambda: 2)
    monkeypatch.setattr(_parallel, "MIN_FLOPS", 0)


def blas_threads():
    return _parallel._blas_function("get")()


def test_shares_cover_the_pieces_in_order_on_two_threads(two_cores):
    seen = []

    def work(share):
        seen.append((threading.get_ident(), blas_threads()))
        return share

    before = blas_threads()
    assert _parallel.run_pieces(work, range(7)) == [[0, 1, 2], [3, 4, 5, 6]]
    assert len({ident for ident, _ in seen}) == 2  # two threads ran them
    assert [count for _, count in seen] == [1, 1]  # BLAS single-threaded meanwhile
    assert blas_threads() == before  # and restored


def test_small_jobs_and_single_pieces_stay_on_this_thread(monkeypatch):
    monkeypatch.setattr(_parallel, "threads", lambda: 2)
    assert _parallel.run_pieces(list, [1, 2, 3], flops=10) == [[1, 2, 3]]
    assert _parallel.run_pieces(list, [1], flops=1e12) == [[1]]


def test_a_worker_error_is_raised_and_the_thread_count_restored(two_cores):
    before = blas_threads()

    def work(share):
        if 3 in share:
            raise ValueError("bad piece")
        return share

    with pytest.raises(ValueError, match="bad piece"):
        _parallel.run_pieces(work, [1, 2, 3, 4])
    assert blas_threads() == before
    assert _parallel.run_pieces(list, [1, 2]) == [[1], [2]]  # the lock was released


def test_workers_see_the_callers_errstate(two_cores):
    # numpy's errstate lives in the calling thread's context; the workers run in a copy.
    def work(share):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            return np.float32(share[0]) * np.float32(1e38)  # overflow: inf, no warning

    with np.errstate(over="ignore"):
        results = _parallel.run_pieces(work, [10.0, 20.0])
    assert all(np.isinf(r) for r in results)


def test_thread_count_is_a_positive_int():
    assert isinstance(_parallel.threads(), int) and _parallel.threads() >= 1
