"""atomic_write and check_writable against what real folders do: a 0600 file replaced, a
writer killed with SIGKILL mid-write, the temporary files such writers leave, writers
racing on one target, folders that cannot be written."""

import errno
import os
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import dlprimer as dp
from dlprimer.data import files
from dlprimer.data.files import atomic_write, check_writable, remove_stale_temporaries

FILES_PY = Path(files.__file__)
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions and signals")


def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def aged(path: Path, seconds: float) -> Path:
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


# ---------------------------------------------------------------------- permissions
@posix_only
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o444, 0o664])
def test_a_replaced_file_keeps_its_mode(tmp_path, mode):
    target = tmp_path / "model.safetensors"
    target.write_bytes(b"old")
    os.chmod(target, mode)
    old = os.umask(0o022)
    try:
        atomic_write(target, b"new")
    finally:
        os.umask(old)
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == mode


@posix_only
def test_set_id_bits_are_not_copied_and_dp_save_keeps_0600(tmp_path):
    target = tmp_path / "run.sh"
    target.write_bytes(b"old")
    os.chmod(target, 0o4755)
    atomic_write(target, b"new")
    assert stat.S_IMODE(target.stat().st_mode) == 0o755
    model = tmp_path / "private.safetensors"
    dp.save(dp.SigmoidModel(2), model)
    os.chmod(model, 0o600)
    dp.save(dp.SigmoidModel(3), model)
    assert stat.S_IMODE(model.stat().st_mode) == 0o600
    assert dp.load(model).n_features == 3


# ---------------------------------------------------------------------- stale temporaries
@posix_only
def test_stale_temporaries_of_the_target_are_removed_and_others_kept(tmp_path):
    target = tmp_path / "m.safetensors"
    gone, me = dead_pid(), os.getpid()
    keep, drop = [], []

    def temp(name, age, bucket):
        (tmp_path / name).write_bytes(b"x")
        aged(tmp_path / name, age)
        bucket.append(name)

    temp(f".m.safetensors.{gone}-abcd_123.tmp", 120, drop)  # killed writer, idle 2 min
    temp(f".m.safetensors.{gone}-zzzzzzzz.tmp", 5, keep)  # idle 5 s: maybe another host's
    temp(f".m.safetensors.{me}-livewrit.tmp", 2 * 3600, keep)  # a live writer, slow
    temp(f".m.safetensors.{me}-abandond.tmp", 25 * 3600, drop)  # untouched for a day
    temp(".m.safetensors.q1w2e3r4.tmp", 2 * 3600, drop)  # an older dlprimer's, 2 h
    temp(".m.safetensors.q1w2e3r5.tmp", 60, keep)  # an older dlprimer's, 1 min
    temp(f".other.txt.{gone}-abcdefgh.tmp", 3600, keep)  # another target's
    temp(f".m.safetensors.bak.{gone}-abcdefgh.tmp", 3600, keep)  # m.safetensors.bak's
    temp(f".m.safetensors.{gone}-abcdefgh.tmp.keep", 3600, keep)  # not a temporary
    temp(f"m.safetensors.{gone}-abcdefgh.tmp", 3600, keep)  # no leading dot: not ours
    folder = tmp_path / f".m.safetensors.{gone}-folder00.tmp"
    folder.mkdir()
    aged(folder, 3600)
    link = tmp_path / f".m.safetensors.{gone}-symlink0.tmp"
    link.symlink_to(tmp_path / "elsewhere")
    atomic_write(target, b"new")
    left = {p.name for p in tmp_path.iterdir()}
    assert left == set(keep) | {target.name, folder.name, link.name}
    assert not set(drop) & left


@posix_only
def test_a_temporary_is_named_by_its_writer_and_cleanup_never_raises(tmp_path, monkeypatch):
    target = tmp_path / "f.bin"
    seen = []

    def spy(*args, **kwargs):
        seen.extend(temporaries(tmp_path))
        return real_replace(*args, **kwargs)

    real_replace = os.replace
    monkeypatch.setattr(os, "replace", spy)
    atomic_write(target, b"x")
    assert len(seen) == 1 and seen[0].startswith(f".f.bin.{os.getpid()}-")
    monkeypatch.setattr(os, "replace", real_replace)
    assert remove_stale_temporaries(tmp_path / "missing" / "f.bin") == []


# ---------------------------------------------------------------------- racing writers
WRITER = textwrap.dedent("""
    import importlib.util, sys
    spec = importlib.util.spec_from_file_location("files", sys.argv[1])
    files = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(files)
    files.STALE_AFTER_S = 0.0  # only the writer's pid protects its temporary file
    target, tag, n = sys.argv[2], sys.argv[3].encode(), int(sys.argv[4])
    for i in range(n):
        files.atomic_write(target, tag * 50_000)
    print("done", flush=True)
""")


@posix_only
def test_concurrent_writers_never_remove_each_others_temporaries(tmp_path):
    target = tmp_path / "shared.bin"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    procs = [subprocess.Popen([sys.executable, str(script), str(FILES_PY), str(target), tag,
                               "150"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for tag in ("A", "B", "C")]
    results = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err.decode()[-2000:]
        assert out == b"done\n"
    data = target.read_bytes()
    assert data in (b"A" * 50_000, b"B" * 50_000, b"C" * 50_000)
    assert temporaries(tmp_path) == []


# ---------------------------------------------------------------------- SIGKILL mid-write
KILLED = textwrap.dedent("""
    import importlib.util, os, sys, time
    spec = importlib.util.spec_from_file_location("files", sys.argv[1])
    files = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(files)
    def stall(fd):  # the payload is written, not yet renamed: the moment to be killed
        print("writing", flush=True)
        time.sleep(60)
    files.os.fsync = stall
    files.atomic_write(sys.argv[2], b"new" * 1_000_000)
""")


@posix_only
def test_a_writer_killed_mid_write_leaves_the_old_file_and_the_next_write_cleans_up(tmp_path):
    target = tmp_path / "model.safetensors"
    atomic_write(target, b"old")
    script = tmp_path / "killed.py"
    script.write_text(KILLED)
    proc = subprocess.Popen([sys.executable, str(script), str(FILES_PY), str(target)],
                            stdout=subprocess.PIPE)
    assert proc.stdout.readline() == b"writing\n"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    assert target.read_bytes() == b"old"  # never half of the new one
    (left,) = temporaries(tmp_path)
    assert left.startswith(f".model.safetensors.{proc.pid}-")
    assert os.path.getsize(tmp_path / left) == 3_000_000
    atomic_write(target, b"newer")
    assert temporaries(tmp_path) == [left]  # too fresh: its writer may be on another host
    aged(tmp_path / left, 120)
    atomic_write(target, b"newest")
    assert temporaries(tmp_path) == [] and target.read_bytes() == b"newest"


LOOPING = textwrap.dedent("""
    import importlib.util, sys
    spec = importlib.util.spec_from_file_location("files", sys.argv[1])
    files = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(files)
    print("ready", flush=True)
    i = 0
    while True:
        files.atomic_write(sys.argv[2], (b"A" if i % 2 else b"B") * 2_000_000)
        i += 1
""")


@posix_only
def test_sigkill_at_any_moment_leaves_a_whole_file(tmp_path):
    target = tmp_path / "out.bin"
    atomic_write(target, b"A" * 2_000_000)
    script = tmp_path / "loop.py"
    script.write_text(LOOPING)
    rng = np.random.default_rng(0)
    for _ in range(4):
        proc = subprocess.Popen([sys.executable, str(script), str(FILES_PY), str(target)],
                                stdout=subprocess.PIPE)
        assert proc.stdout.readline() == b"ready\n"
        time.sleep(float(rng.uniform(0.01, 0.15)))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
        assert target.read_bytes() in (b"A" * 2_000_000, b"B" * 2_000_000)
    for name in temporaries(tmp_path):
        aged(tmp_path / name, 120)
    atomic_write(target, b"done")
    assert temporaries(tmp_path) == []


# ---------------------------------------------------------------------- unwritable folders
def _refuse(code):
    def mkstemp(*args, prefix="", suffix="", dir=None, **kwargs):
        raise OSError(code, os.strerror(code), os.path.join(dir, f"{prefix}abcdefgh{suffix}"))
    return mkstemp


@pytest.mark.parametrize("code", [errno.EACCES, errno.EPERM, errno.EROFS])
def test_an_unwritable_folder_is_named_not_the_temporary_file(tmp_path, monkeypatch, code):
    monkeypatch.setattr(tempfile, "mkstemp", _refuse(code))
    target = tmp_path / "out" / "model.safetensors"
    target.parent.mkdir()
    for attempt in (lambda: atomic_write(target, b"x"), lambda: check_writable(target),
                    lambda: dp.save(dp.SigmoidModel(2), target)):
        with pytest.raises(PermissionError) as info:
            attempt()
        message = str(info.value)
        assert f"cannot write {target}: the folder {target.parent} is not writable" in message
        assert ".tmp" not in message
    assert list(target.parent.iterdir()) == []


def test_other_write_errors_name_the_target(tmp_path, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/somewhere/.x.123-abc.tmp")

    monkeypatch.setattr(os, "fsync", full)
    target = tmp_path / "big.bin"
    with pytest.raises(OSError, match=f"cannot write {target}: No space left") as info:
        atomic_write(target, b"x")
    assert info.value.errno == errno.ENOSPC and ".tmp" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


@posix_only
@pytest.mark.skipif(os.name == "posix" and os.geteuid() == 0,
                    reason="root writes into a read-only folder")
def test_a_really_read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    os.chmod(folder, 0o500)
    try:
        with pytest.raises(PermissionError, match="ro is not writable"):
            check_writable(folder / "m.safetensors")
        with pytest.raises(PermissionError, match="ro is not writable"):
            atomic_write(folder / "m.safetensors", b"x")
    finally:
        os.chmod(folder, 0o700)


def test_check_writable_names_what_is_wrong(tmp_path):
    assert check_writable(tmp_path / "m.safetensors") == tmp_path / "m.safetensors"
    assert list(tmp_path.iterdir()) == []  # the probe is gone
    with pytest.raises(IsADirectoryError, match="it is a folder; give a file name"):
        check_writable(tmp_path)
    with pytest.raises(FileNotFoundError, match="folder .*missing does not exist"):
        check_writable(tmp_path / "missing" / "m.safetensors")
    assert check_writable(tmp_path / "a" / "b" / "m.txt", make_parents=True).name == "m.txt"
    assert not (tmp_path / "a").exists()  # checked, not created
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="file is not a folder"):
        check_writable(tmp_path / "file" / "m.txt")
    with pytest.raises(NotADirectoryError, match="file is not a folder"):
        check_writable(tmp_path / "file" / "sub" / "m.txt", make_parents=True)
    with pytest.raises(IsADirectoryError, match="it is a folder"):
        atomic_write(tmp_path, b"x")
