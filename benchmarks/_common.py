"""Shared benchmark helpers: environment report, interleaved timing, medians."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable


def report_environment(threads: int) -> None:
    """Print the BLAS in use, the thread count and the OpenBLAS variables seen."""
    print(f"python {platform.python_version()}, {platform.machine()}, threads={threads}")
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        print(f"  {name}={os.environ.get(name, '(unset)')}")
    try:
        from threadpoolctl import threadpool_info

        for pool in threadpool_info():
            print(f"  {pool.get('internal_api')} {pool.get('version')} "
                  f"{pool.get('architecture', '')} threads={pool.get('num_threads')} "
                  f"({os.path.basename(pool.get('filepath', ''))})")
    except ImportError:
        print("  (threadpoolctl not installed: BLAS unknown)")


def load_every_blas() -> str:
    """Load every BLAS a run will call before its threads are limited: threadpoolctl limits
    only libraries already loaded, and the compiled LSTM loops (numba, if installed) call
    scipy's OpenBLAS, a second library beside numpy's. Returns which kernels run compiled."""
    import scipy.linalg.cython_blas  # noqa: F401

    from dlprimer.nn.functional.accelerator import KERNELS, compiled

    loaded = [name for name in KERNELS if compiled(name) is not None]
    if not loaded:
        return "numpy only (numba not installed, or DLPRIMER_COMPILED=0)"
    return f"compiled kernels (numba): {', '.join(loaded)}"


def interleaved(runs: dict[str, Callable[[], None]], repeats: int,
                warmup: int = 2) -> dict[str, float]:
    """Median seconds per call for each function, timed A B A B ... after a warm-up."""
    for _ in range(warmup):
        for fn in runs.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}
