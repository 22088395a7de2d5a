"""Running the independent pieces of one large op on several cores.

numpy's element-wise passes and copies run on one core, and its BLAS splits each matrix
product between its threads, so a conv2d or attention call made of many small products
and copies leaves cores idle. Where an op already works in independent pieces (chunks of
samples in conv2d, pieces of the batch in attention), ``run_pieces`` hands each core a
share of them and makes numpy's BLAS single-threaded meanwhile: each core then does
whole pieces, copies and products alike. numpy releases the GIL inside its copies,
ufuncs and BLAS calls, so Python threads run them side by side.

NOTE: the BLAS thread count is process-wide. It is lowered only for the duration of one
call and then restored, as scikit-learn does around its own parallel loops (threadpoolctl
in KMeans); a BLAS call made meanwhile by another Python thread runs single-threaded.
dlprimer never uses more cores than numpy's BLAS was given (``OPENBLAS_NUM_THREADS``,
threadpoolctl limits), and where the BLAS cannot be asked it uses one.
"""

from __future__ import annotations

import contextvars
import ctypes
import functools
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

_lock = threading.Lock()  # one parallel region at a time: they save and restore the count
_pool: tuple[int, ThreadPoolExecutor] | None = None  # (pid that made it, the pool)


@functools.cache
def _blas_function(action: str):
    """numpy's BLAS ``{action}_num_threads`` function, or None where it cannot be found."""
    try:
        from numpy._core import _multiarray_umath
    except ImportError:  # numpy < 2
        from numpy.core import _multiarray_umath
    try:  # dlsym on numpy's extension also searches the BLAS library it links
        library = ctypes.CDLL(_multiarray_umath.__file__)
    except OSError:
        return None
    for prefix in ("scipy_openblas_", "openblas_"):
        for suffix in ("64_", ""):
            function = getattr(library, f"{prefix}{action}_num_threads{suffix}", None)
            if function is not None:
                if action == "get":
                    function.restype, function.argtypes = ctypes.c_int, []
                else:
                    function.restype, function.argtypes = None, [ctypes.c_int]
                return function
    return None


def _cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def threads() -> int:
    """How many cores an op may use: numpy's BLAS thread count, capped by the CPUs this
    process may run on; 1 where the BLAS cannot be asked (the safe choice)."""
    get = _blas_function("get")
    if get is None:
        return 1
    return max(1, min(int(get()), _cpus()))


def _executor(workers: int) -> ThreadPoolExecutor:
    global _pool
    # NOTE: a pool inherited through fork() has no threads in the child: make a new one.
    if _pool is None or _pool[0] != os.getpid() or _pool[1]._max_workers < workers:
        _pool = (os.getpid(), ThreadPoolExecutor(workers, thread_name_prefix="dlprimer"))
    return _pool[1]


# NOTE: handing work to another thread and back costs tens of µs, more where the other
# core has gone idle; below this many floating-point operations it does not pay.
MIN_FLOPS = 5e7


def run_pieces(work: Callable[[list[Item]], Result], pieces: Sequence[Item],
               flops: float = float("inf")) -> list[Result]:
    """``[work(share) for share in shares]``: the pieces split into one contiguous share
    per core, the shares run side by side with numpy's BLAS single-threaded.

    ``work`` must only write to its own pieces' parts of shared arrays (or return what it
    accumulates). ``flops`` is the size of the whole job. With one core, one piece, a job
    under ``MIN_FLOPS``, a BLAS that cannot be set, or another parallel region running,
    it is one call ``[work(list(pieces))]`` on this thread.

    >>> run_pieces(sum, [1, 2, 3, 4]) in ([10], [3, 7])
    True
    """
    pieces = list(pieces)
    count = min(threads(), len(pieces))
    setter = _blas_function("set")
    if (count < 2 or flops < MIN_FLOPS or setter is None
            or not _lock.acquire(blocking=False)):
        return [work(pieces)]
    try:
        before = _blas_function("get")()
        shares = [pieces[i * len(pieces) // count:(i + 1) * len(pieces) // count]
                  for i in range(count)]
        setter(1)
        try:
            # each worker runs in a copy of this thread's context (numpy's errstate lives
            # there), so warnings and errors behave as they would on this thread
            futures = [_executor(count - 1).submit(contextvars.copy_context().run, work, share)
                       for share in shares[1:]]
            try:
                first = work(shares[0])
            finally:  # every worker done before the thread count goes back
                wait(futures)
            return [first, *(future.result() for future in futures)]  # re-raises errors
        finally:
            setter(before)
    finally:
        _lock.release()
