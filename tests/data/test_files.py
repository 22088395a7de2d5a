"""atomic_write: the one file writer behind model files, figures, reports and CSVs."""

import os
import stat

import pytest

from dlprimer.data.files import atomic_write


def test_bytes_and_text_land_whole(tmp_path):
    target = tmp_path / "out.bin"
    assert atomic_write(target, b"\x00\x01") == target
    assert target.read_bytes() == b"\x00\x01"
    atomic_write(target, "σ(z) = 1/(1+e^{-z})")  # text is written as UTF-8
    assert target.read_text(encoding="utf-8") == "σ(z) = 1/(1+e^{-z})"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]  # no temporary file left


def test_a_crash_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "model.safetensors"
    atomic_write(target, b"old")

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]


def test_missing_folder_is_reported_or_made(tmp_path):
    with pytest.raises(FileNotFoundError, match="folder .*missing does not exist"):
        atomic_write(tmp_path / "missing" / "f.txt", "x")
    made = atomic_write(tmp_path / "a" / "b" / "f.txt", "x", make_parents=True)
    assert made.read_text() == "x"


def test_permissions_follow_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        path = atomic_write(tmp_path / "f.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # not mkstemp's 0600
