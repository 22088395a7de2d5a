"""The ``dlprimer`` command run as a user runs it: a fresh ``python -m dlprimer.cli``
process, its output captured."""

from __future__ import annotations

import os
import subprocess
import sys


def run(*args, cwd, check=True, env=None, timeout=120) -> subprocess.CompletedProcess:
    """``dlprimer *args`` in ``cwd`` (``env`` added to the environment); with ``check``, a
    failing exit raises an AssertionError showing both streams."""
    result = subprocess.run([sys.executable, "-m", "dlprimer.cli", *args], cwd=cwd,
                            capture_output=True, text=True, timeout=timeout,
                            env=None if env is None else {**os.environ, **env})
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result
