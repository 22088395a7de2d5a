"""The optional compiled kernels (``pip install dlprimer[fast]``, which installs numba): one
switch and one loader for all of them.

Two ops have compiled kernels beside their numpy code: the LSTM scan's step loops
(``lstm_compiled``, float32) and 2×2 max pooling (``pool_compiled``). A kernel is kept
only where it makes its op more than 1.3x faster than the numpy code (the speed issue's
rule; measured in benchmarks/README.md). The numpy code stays the
reference; tests check that each compiled kernel agrees with it. A kernel module is
imported on first use (numba takes about half a second to import, and compiles a kernel
once per machine into its cache). ``DLPRIMER_COMPILED=0`` in the environment keeps
everything on numpy.
"""

from __future__ import annotations

import os
import threading
import warnings

__all__ = ["compiled", "KERNELS"]

#: The compiled kernel modules, in dlprimer.nn.functional.
KERNELS = ("lstm_compiled", "pool_compiled")

_LOADED: dict[str, object] = {}  # name -> module, or None where it cannot be used
_LOCK = threading.Lock()


def compiled(name: str):
    """The compiled kernel module ``name`` (one of KERNELS), or None where numba is not
    installed, its compiler fails on this machine (with one RuntimeWarning saying so), or
    the environment sets ``DLPRIMER_COMPILED=0``."""
    if name not in KERNELS:
        raise ValueError(f"no compiled kernel {name!r}; the kernels are {KERNELS}")
    with _LOCK:
        if name not in _LOADED:
            _LOADED[name] = _load(name)
        return _LOADED[name]


def _load(name: str):
    if os.environ.get("DLPRIMER_COMPILED", "1").strip() == "0":
        return None
    try:
        return _import(name)
    except ImportError:  # numba is an optional extra
        return None
    except Exception as error:  # noqa: BLE001 - numba present but its compiler failed here
        warnings.warn(f"dlprimer: numba is installed but the compiled kernel {name} could "
                      f"not be built ({type(error).__name__}: {error}); using numpy. Set "
                      "DLPRIMER_COMPILED=0 to skip the attempt.", RuntimeWarning,
                      stacklevel=3)
        return None


def _import(name: str):
    # Plain imports (not importlib), so that the architecture test sees them.
    if name == "lstm_compiled":
        import dlprimer.nn.functional.lstm_compiled as module
    else:
        import dlprimer.nn.functional.pool_compiled as module
    return module
