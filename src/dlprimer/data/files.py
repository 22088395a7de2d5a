"""Atomic file writes, shared by model files, figures, reports and the command line."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write"]


def atomic_write(path, data: bytes | str, make_parents: bool = False) -> Path:
    """Write ``data`` (bytes, or text written as UTF-8) to ``path`` atomically.

    A temporary file beside the target is written, flushed to disk and renamed over the
    target (rename is atomic on POSIX and Windows file systems), so a crash leaves the old
    file or the new one, never half of one. The file gets the permissions an ordinary new
    file gets under the current umask. A missing folder is created with ``make_parents``,
    else reported.

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "note.txt"
    >>> atomic_write(target, "θ ← θ - α ∇C").read_text(encoding="utf-8")
    'θ ← θ - α ∇C'
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if make_parents:
        directory.mkdir(parents=True, exist_ok=True)
    elif not directory.is_dir():
        raise FileNotFoundError(f"cannot write {path}: folder {directory} does not exist")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        # NOTE: mkstemp creates the file readable by its owner only (0600).
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
