"""Atomic file writes, shared by model files, figures, reports and the command line."""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
import time
from pathlib import Path

__all__ = ["atomic_write", "check_writable", "remove_stale_temporaries"]

#: A temporary file whose writer is gone is left alone this long after its last change
#: (its writer may be on another machine sharing the folder, where its pid means nothing).
STALE_AFTER_S = 60.0
#: A temporary file untouched this long is stale whatever its pid says (pids are reused).
ABANDONED_AFTER_S = 24 * 3600.0
#: Temporaries of dlprimer versions that did not record the writer's pid: stale after 1 h.
UNSIGNED_AFTER_S = 3600.0

# NOTE: mkstemp's random part is 8 characters of [a-z0-9_]; the pid in front names the
# writer, so a later write can tell a killed writer's leftover from a live one's file.
_TEMP = re.compile(r"(?:(?P<pid>\d+)-)?[a-z0-9_]{8}")


def atomic_write(path, data: bytes | str, make_parents: bool = False) -> Path:
    """Write ``data`` (bytes, or text written as UTF-8) to ``path`` atomically.

    A temporary file beside the target (``.{name}.{pid}-{random}.tmp``) is written,
    flushed to disk and renamed over the target (rename is atomic on POSIX and Windows file
    systems), so a crash leaves the old file or the new one, never half of one. Temporary
    files that killed writers left for the same target are removed first (see
    ``STALE_AFTER_S``); a live writer's are never touched. A replaced file keeps its
    permission bits (a 0600 model stays 0600); a new one gets those of an ordinary new file
    under the current umask. A missing folder is created with ``make_parents``, else
    reported; errors name the target, not the temporary file.

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
    if path.is_dir():
        raise IsADirectoryError(f"cannot write {path}: it is a folder; give a file name "
                                "inside it")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    remove_stale_temporaries(path)
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode) & 0o777  # never copy setuid bits
    except OSError:
        mode = 0o666 & ~_umask()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}-", suffix=".tmp",
                                   dir=directory)
    except OSError as err:
        raise _naming_the_target(err, path) from err
    try:
        # NOTE: mkstemp creates the file readable by its owner only (0600).
        os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError) and err.errno is not None:
            raise _naming_the_target(err, path) from err
        raise
    return path


def check_writable(path, make_parents: bool = False) -> Path:
    """Check, before any work, that ``atomic_write(path)`` can write there: ``path`` is not
    a folder and its folder exists (or, with ``make_parents``, its nearest existing ancestor
    is a folder) and lets a file be created in it. Raises IsADirectoryError,
    FileNotFoundError, NotADirectoryError or PermissionError (all OSErrors) with a message
    that names ``path``; returns ``path``.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> check_writable(folder / "model.safetensors").name
    'model.safetensors'
    >>> list(folder.iterdir())  # the probe file is gone
    []
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"cannot write {path}: it is a folder; give a file name "
                                "inside it")
    directory = path.parent if str(path.parent) else Path(".")
    if make_parents:
        while not directory.exists() and directory != directory.parent:
            directory = directory.parent
    if not directory.exists():
        raise FileNotFoundError(f"cannot write {path}: folder {directory} does not exist")
    if not directory.is_dir():
        raise NotADirectoryError(f"cannot write {path}: {directory} is not a folder")
    try:  # NOTE: a real file, not os.access: root, ACLs and read-only mounts all answer here
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}-", suffix=".tmp",
                                     dir=directory)
    except OSError as err:
        raise _naming_the_target(err, path, directory) from None
    os.close(fd)
    os.unlink(probe)
    return path


def remove_stale_temporaries(path) -> list[Path]:
    """Remove the temporary files that killed writers of ``path`` left beside it; returns
    them. One is stale when its writer's pid is no running process and it has not changed
    for ``STALE_AFTER_S``, or it has not changed for ``ABANDONED_AFTER_S``; one without a
    pid (older dlprimer) after ``UNSIGNED_AFTER_S``. Never raises: cleaning up must not
    stop the write."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    prefix, removed, now = f".{path.name}.", [], time.time()
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        match = (_TEMP.fullmatch(name[len(prefix):-len(".tmp")])
                 if name.startswith(prefix) and name.endswith(".tmp") else None)
        if match is None:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        idle = now - info.st_mtime
        if match["pid"] is None:
            stale = idle > UNSIGNED_AFTER_S
        else:
            stale = idle > ABANDONED_AFTER_S or (
                idle > STALE_AFTER_S and not _running(int(match["pid"])))
        if stale and stat.S_ISREG(info.st_mode):
            try:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
            except OSError:
                pass
    return removed


def _running(pid: int) -> bool:
    """Whether ``pid`` is a running process on this machine (True when it cannot tell)."""
    if pid == os.getpid():
        return True
    if os.name == "nt":  # NOTE: os.kill(pid, 0) would terminate it there; the age rule applies
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OverflowError, ValueError):  # not a pid at all
        return False
    except OSError:  # e.g. PermissionError: it exists, owned by someone else
        return True
    return True


def _naming_the_target(err: OSError, path: Path, directory: Path | None = None) -> OSError:
    """``err`` reworded to name the file being written instead of its temporary file."""
    directory = directory or (path.parent if str(path.parent) else Path("."))
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return PermissionError(err.errno, f"cannot write {path}: the folder {directory} is "
                               f"not writable ({err.strerror}); choose another folder or "
                               "change its permissions")
    return OSError(err.errno, f"cannot write {path}: {err.strerror}")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
