"""The dlprimer command against what a hurried user types: outputs that name an input, a
terminal that is not UTF-8, absurd sizes and numbers, tiny files, argparse slips, folders
that cannot be written, a model fit on an unnamed matrix. Every failure is one message
(``dlprimer CMD: error: ...``, later lines indented), exit status 2, no traceback, and the
input files are byte for byte as they were."""

import csv
import hashlib
import importlib
import os
import signal
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers.cli import run as run_cli

import dlprimer as dp
from dlprimer.cli.commands import MEMORY_CAP, check_memory
from dlprimer.cli.data import UsageError, check_outputs, same_file
from dlprimer.data.datasets import load

cli_main = importlib.import_module("dlprimer.cli.main")  # not dlprimer.cli.main, a function


def run(*args, cwd, env=None, timeout=120):
    return run_cli(*args, cwd=cwd, check=False, env=env, timeout=timeout)


def ok(result):
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    return result


def refused(result, command, *fragments):
    """Exit 2, one message whose first line names the command, later lines indented."""
    assert result.returncode == 2, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and lines[0].startswith(f"dlprimer {command}: error: "), result.stderr
    assert all(line.startswith("  ") for line in lines[1:]), result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    return result


def digest(*paths) -> list[str]:
    return [hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths]


def write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A folder with iris.csv and a model trained on it (model.safetensors)."""
    folder = tmp_path_factory.mktemp("work")
    d = load("iris")
    write_csv(folder / "iris.csv", [*d.feature_names, "species"],
              [[*map(str, row), name] for row, name in
               zip(d.X, np.array(d.class_names)[d.y], strict=True)])
    ok(run("fit", "--data", "iris.csv", "--epochs", "5", "--quiet", "--out",
           "model.safetensors", cwd=folder))
    return folder


# ------------------------------------------------------------ outputs that name an input

PREDICT_COLLISIONS = [
    ("model.safetensors", "the model"),
    ("./model.safetensors", "the model"),
    ("iris.csv", "--data"),
    ("./iris.csv", "--data"),
    ("../{folder}/iris.csv", "--data"),
    ("{absolute}/iris.csv", "--data"),
    ("link_to_data.csv", "--data"),        # a symlink to the data
    ("hard_model.safetensors", "the model"),  # a hard link: the same inode
    ("link_dir/iris.csv", "--data"),       # through a symlinked folder
]


@pytest.fixture(scope="module")
def links(work):
    (work / "link_to_data.csv").symlink_to("iris.csv")
    os.link(work / "model.safetensors", work / "hard_model.safetensors")
    (work / "link_dir").symlink_to(".", target_is_directory=True)
    return work


@pytest.mark.parametrize("out, option", PREDICT_COLLISIONS)
def test_predict_refuses_an_out_that_is_an_input(links, out, option):
    out = out.format(folder=links.name, absolute=links)
    before = digest(links / "iris.csv", links / "model.safetensors")
    result = run("predict", "model.safetensors", "--data", "iris.csv", "--out", out, cwd=links)
    refused(result, "predict", f"--out {out} is {option}", "another path")
    assert digest(links / "iris.csv", links / "model.safetensors") == before
    assert (links / "link_to_data.csv").is_symlink()


@pytest.mark.parametrize("out", ["iris.csv", "./iris.csv", "link_to_data.csv",
                                 "link_dir/iris.csv", "{absolute}/iris.csv"])
def test_fit_refuses_an_out_that_is_its_data(links, out):
    out = out.format(absolute=links)
    before = digest(links / "iris.csv")
    result = refused(run("fit", "--data", "iris.csv", "--out", out, cwd=links), "fit",
                     f"--out {out} is --data")
    assert "trained" not in result.stdout and digest(links / "iris.csv") == before


def test_fit_refuses_an_out_hard_linked_to_its_data(tmp_path):
    write_csv(tmp_path / "d.csv", ["x", "y"], [[i, i % 2] for i in range(20)])
    os.link(tmp_path / "d.csv", tmp_path / "same_inode.csv")
    before = digest(tmp_path / "d.csv")
    refused(run("fit", "--data", "d.csv", "--out", "same_inode.csv", cwd=tmp_path), "fit",
            "--out same_inode.csv is --data d.csv")
    refused(run("fit", "--data", "same_inode.csv", "--out", "d.csv", cwd=tmp_path), "fit")
    assert digest(tmp_path / "d.csv", tmp_path / "same_inode.csv") == before * 2


def test_report_folder_must_not_hold_an_input_or_the_model(tmp_path):
    rep = tmp_path / "rep"
    rep.mkdir()
    write_csv(rep / "report.html", ["x", "y"], [[i, i % 2] for i in range(20)])  # odd, but
    before = digest(rep / "report.html")
    refused(run("fit", "--data", "rep/report.html", "--report", "rep", "--epochs", "1",
                cwd=tmp_path), "fit", "--report rep writes report.html", "--data")
    refused(run("fit", "--data", "rep/report.html", "--report", "./rep/", "--epochs", "1",
                cwd=tmp_path), "fit", "--data")
    (tmp_path / "replink").symlink_to("rep", target_is_directory=True)
    refused(run("fit", "--data", "rep/report.html", "--report", "replink", "--epochs", "1",
                cwd=tmp_path), "fit", "--data")
    # a figure's name in the folder that is a link to the data
    write_csv(tmp_path / "d.csv", ["x", "y"], [[i, i % 2] for i in range(20)])
    (rep / "loss_curves.png").symlink_to(tmp_path / "d.csv")
    refused(run("fit", "--data", "d.csv", "--report", "rep", "--epochs", "1", cwd=tmp_path),
            "fit", "--data d.csv")
    (rep / "loss_curves.png").unlink()
    os.link(tmp_path / "d.csv", rep / "roc_curve.png")
    refused(run("fit", "--data", "d.csv", "--report", "rep", "--epochs", "1", cwd=tmp_path),
            "fit", "--data d.csv")
    # the model itself where the report goes
    result = refused(run("fit", "--data", "iris", "--report", "rep2", "--out",
                         "rep2/report.html", "--epochs", "1", cwd=tmp_path), "fit", "--out")
    assert "trained" not in result.stdout and not (tmp_path / "rep2").exists()
    assert digest(rep / "report.html") == before
    assert digest(tmp_path / "d.csv") == digest(rep / "roc_curve.png")


def test_report_under_a_file_is_refused_before_training(tmp_path):
    (tmp_path / "f.txt").write_text("x")
    result = refused(run("fit", "--report", "f.txt/sub", "--epochs", "1", cwd=tmp_path),
                     "fit", "is a file")
    assert "trained" not in result.stdout


def test_same_file_spellings(tmp_path):
    (tmp_path / "a.csv").write_text("x\n1\n")
    (tmp_path / "sub").mkdir()
    os.link(tmp_path / "a.csv", tmp_path / "b.csv")
    (tmp_path / "c.csv").symlink_to("a.csv")
    (tmp_path / "loop").symlink_to("loop")  # a symlink loop is no file, and no crash
    for other in ("a.csv", "sub/../a.csv", "./a.csv", "b.csv", "c.csv"):
        assert same_file(tmp_path / "a.csv", tmp_path / other), other
    assert not same_file(tmp_path / "a.csv", tmp_path / "new.csv")
    assert not same_file(tmp_path / "loop", tmp_path / "a.csv")
    check_outputs({"--out": str(tmp_path / "new.csv")}, {"--data": str(tmp_path / "a.csv"),
                                                         "--other": None})
    with pytest.raises(UsageError, match="--out .* is --data"):
        check_outputs({"--out": str(tmp_path / "b.csv")}, {"--data": str(tmp_path / "a.csv")})


# ------------------------------------------------------------------ a terminal not UTF-8

ASCII = {"PYTHONIOENCODING": "ascii", "LANG": "C", "LC_ALL": "C"}


def test_ascii_terminal_keeps_the_model(tmp_path):
    rows = [[i + 0.5, "Nord" if i % 2 else "Süd", "α" if i % 3 else "β"] for i in range(30)]
    write_csv(tmp_path / "ü.csv", ["masse µg", "région", "espèce"], rows)
    result = ok(run("fit", "--data", "ü.csv", "--epochs", "3", "--out", "m.safetensors",
                    "--report", "rép", cwd=tmp_path, env=ASCII))
    assert (tmp_path / "m.safetensors").is_file() and (tmp_path / "rép" / "report.html").is_file()
    assert "\\xb5" in result.stdout or "\\u" in result.stdout  # escaped, not lost
    result = ok(run("fit", "--data", "ü.csv", "--model", "sigmoid", "--optimizer", "lbfgs",
                    "--summary", "--l2", "0.1", "--epochs", "20", "--out", "s.safetensors",
                    cwd=tmp_path, env=ASCII))
    assert (tmp_path / "s.safetensors").is_file() and "coef" in result.stdout
    for args in (["explain", "m.safetensors"], ["explain", "m.safetensors", "--data", "ü.csv",
                                                "--row", "0"],
                 ["predict", "m.safetensors", "--data", "ü.csv"],
                 ["evaluate", "m.safetensors", "--data", "ü.csv"], ["fit", "--help"]):
        ok(run(*args, cwd=tmp_path, env=ASCII))
    refused(run("fit", "--data", "ü.csv", "--target", "größe", cwd=tmp_path, env=ASCII),
            "fit", "gr\\xf6\\xdfe")


# ---------------------------------------------------------------- sizes and numbers

@pytest.mark.parametrize("hidden", ["100000,100000", "40000000", "16,8,100000,100000,8"])
def test_huge_hidden_is_refused_before_allocating(tmp_path, hidden):
    result = refused(run("fit", "--hidden", hidden, "--epochs", "1", cwd=tmp_path, timeout=60),
                     "fit", "GiB of memory", "--hidden")
    assert "trained" not in result.stdout and not (tmp_path / "model.safetensors").exists()


def test_memory_estimate():
    needed = check_memory([30, 16, 8, 1], 569, 32, 4)
    d = 31 * 16 + 17 * 8 + 9
    assert 4 * d * 4 < needed < 2**20
    with pytest.raises(UsageError, match=r"d = 10,003,300,001 parameters"):
        check_memory([30, 100000, 100000, 1], 569, 32, 4)
    with pytest.raises(UsageError, match="data"):  # a wide data matrix alone
        check_memory([10**6, 1], MEMORY_CAP // 10**6, 32, 4)


@pytest.mark.parametrize("option, value, message", [
    ("--l2", "1e308", "argument --l2: must be a number in [0, 1e6]"),
    ("--l2", "-1", "argument --l2: must be a number in [0, 1e6]"),
    ("--l2", "1e400", "must be a finite number, got '1e400' (beyond the float range"),
    ("--l2", "-nan", "must be a finite number, got '-nan' (not a number)"),
    ("--l2", "-inf", "must be a finite number, got '-inf'"),
    ("--lr", "1e7", "argument --lr: must be a positive number at most 1e6"),
    ("--lr", "0", "argument --lr: must be a positive number"),
    ("--lr", "-0.1", "argument --lr: must be a positive number"),
    ("--lr", "nan", "argument --lr: must be a finite number, got 'nan' (not a number)"),
    ("--epochs", "0", "argument --epochs: must be a positive integer"),
    ("--epochs", "1e3", "argument --epochs: must be a positive integer, got '1e3'"),
    ("--batch-size", "-3", "argument --batch-size: must be a positive integer"),
    ("--test-size", "nan", "argument --test-size: must lie in [0, 1)"),
    ("--validation-split", "-0.1", "argument --validation-split: must lie in [0, 1)"),
    ("--hidden", "16,,8", "--hidden takes widths separated by commas"),
    ("--hidden", "0,5", "hidden widths must be positive"),
    ("--seed", "1.5", "argument --seed: must be an integer >= 0"),
])
def test_absurd_numbers_name_the_option(tmp_path, option, value, message):
    result = run("fit", f"{option}={value}", cwd=tmp_path)
    refused(result, "fit", message)
    assert result.stderr.splitlines() == [result.stderr.splitlines()[0],
                                          "  (see dlprimer fit --help)"]


def test_huge_but_valid_integers_work(tmp_path):
    ok(run("fit", "--data", "iris", "--epochs", "2", "--seed", "9" * 30, "--batch-size",
           "9" * 30, "--quiet", cwd=tmp_path))


# ------------------------------------------------------------------ argparse, one line

@pytest.mark.parametrize("args, prog", [
    ([], "dlprimer"),
    (["fitt"], "dlprimer"),
    (["fit", "--bogus", "1"], "dlprimer fit"),
    (["fit", "extra"], "dlprimer fit"),
    (["fit", "--model", "tree"], "dlprimer fit"),
    (["fit", "--lr"], "dlprimer fit"),
    (["predict"], "dlprimer predict"),
    (["predict", "m.safetensors"], "dlprimer predict"),
    (["evaluate", "m.safetensors", "--data"], "dlprimer evaluate"),
    (["explain", "m.safetensors", "--row", "x"], "dlprimer explain"),
    (["datasets", "more"], "dlprimer datasets"),
])
def test_argparse_errors_are_one_line_and_a_hint(tmp_path, args, prog):
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 2 and "usage:" not in result.stderr, result.stderr
    first, hint = result.stderr.splitlines()
    assert first.startswith(f"{prog}: error: ") and hint == f"  (see {prog} --help)"


def test_help_is_unchanged(tmp_path):
    result = ok(run("fit", "--help", cwd=tmp_path))
    assert result.stdout.startswith("usage: dlprimer fit [-h]") and "--hidden HIDDEN" in \
        result.stdout
    assert ok(run("--help", cwd=tmp_path)).stdout.startswith("usage: dlprimer")


# ------------------------------------------------------------ folders that cannot be written

@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a 0555 folder anyway")
def test_read_only_folder_fails_before_training(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        result = refused(run("fit", "--out", "locked/m.safetensors", cwd=tmp_path), "fit",
                         "not writable")
        assert "trained" not in result.stdout
        refused(run("fit", "--report", "locked/rep", cwd=tmp_path), "fit", "not writable")
    finally:
        locked.chmod(0o755)


def call_main(monkeypatch, capsys, *argv):
    """main() in this process; its warning hook is put back afterwards."""
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)
    status = cli_main.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_read_only_folder_seen_by_the_probe(tmp_path, monkeypatch, capsys):
    # as root (this sandbox) a 0555 folder is writable, so the failing probe file (the
    # check writes one and removes it) is faked here: mkstemp in that folder is refused
    import tempfile

    locked = tmp_path / "locked"
    locked.mkdir()
    real = tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):
        if dir is not None and os.path.samefile(dir, locked):
            raise PermissionError(13, "Permission denied", str(Path(dir) / ".probe.tmp"))
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    status, out, err = call_main(monkeypatch, capsys, "fit", "--out",
                                 str(locked / "m.safetensors"))
    assert status == 2 and "trained" not in out and ".probe" not in err
    assert err.startswith("dlprimer fit: error: --out: cannot write ") and "not writable" in err
    assert len(err.splitlines()) == 1
    status, out, err = call_main(monkeypatch, capsys, "fit", "--out",
                                 str(tmp_path / "m.safetensors"), "--report",
                                 str(locked / "new" / "rep"))
    assert status == 2 and err.startswith("dlprimer fit: error: --report: ")
    assert "not writable" in err and not (locked / "new").exists()
    status, _, err = call_main(monkeypatch, capsys, "predict", "m.safetensors", "--data",
                               "iris", "--out", str(locked / "p.csv"))
    assert status == 2 and "not writable" in err
    assert list(locked.iterdir()) == [] and not (tmp_path / "m.safetensors").exists()


# --------------------------------------------------------------------------- tiny files

@pytest.mark.parametrize("rows", [
    [[1, "a"]],
    [[1, "a"], [2, "b"]],
    [[1, "a"], [2, "a"]],
    [[1, 0.5], [2, 1.5]],
    [[1, "a"], [2, "a"], [3, "b"]],
    [[1, "a"], [2, "b"], [3, "c"]],
    [[1, "a"], [2, "a"], [3, "a"], [4, "a"], [5, "b"]],
    [[1, 0.5], [2, 1.5], [3, 2.5], [4, 0.1], [5, 9.0]],
], ids=["1", "2-two-classes", "2-one-class", "2-regression", "3-singleton-class",
        "3-three-singletons", "5-singleton-class", "5-regression"])
def test_tiny_files_train_or_say_how(tmp_path, rows):
    path = write_csv(tmp_path / "tiny.csv", ["x", "y"], rows)
    before = digest(path)
    result = run("fit", "--data", "tiny.csv", "--epochs", "3", "--quiet", cwd=tmp_path)
    if result.returncode == 0:
        assert (tmp_path / "model.safetensors").is_file()
        if "no test rows were held out" in result.stdout:
            assert "--test-size 0)" not in result.stdout  # it was not 0: say why instead
    else:
        refused(result, "fit")
        assert "must have at least one row" not in result.stderr
        if "too few to split" in result.stderr:
            assert f"{len(rows)} row(s)" in result.stderr
            assert "--test-size 0 --validation-split 0" in result.stderr
    everything = run("fit", "--data", "tiny.csv", "--epochs", "3", "--quiet", "--test-size",
                     "0", "--validation-split", "0", cwd=tmp_path)
    if everything.returncode != 0:  # a single row or class: named, not a split problem
        refused(everything, "fit")
        assert "split" not in everything.stderr
    assert digest(path) == before


# ------------------------------------------------------- a model fit on an unnamed matrix

@pytest.fixture(scope="module")
def unnamed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("unnamed")
    d = load("iris")
    model = dp.FeedForward([4, 8, 3], output="softmax", seed=0)
    dp.fit(model, d.X, d.y, epochs=3)  # a plain matrix: no column names, no Preprocessor
    assert model.feature_names is None and model.preprocessor is None
    dp.save(model, folder / "plain.safetensors")
    model.provenance = {"target": "label"}
    dp.save(model, folder / "traced.safetensors")
    write_csv(folder / "p.csv", list("abcd"), d.X[:6].tolist())
    write_csv(folder / "p_and_label.csv", [*"abcd", "label"],
              [[*row, c] for row, c in zip(d.X[:6].tolist(), d.y[:6], strict=True)])
    write_csv(folder / "label_first.csv", ["label", *"abcd"],
              [[c, *row] for row, c in zip(d.X[:6].tolist(), d.y[:6], strict=True)])
    write_csv(folder / "three.csv", list("abc"), d.X[:6, :3].tolist())
    return folder


def test_unnamed_model_never_reads_the_label_as_a_feature(unnamed):
    expected = ok(run("predict", "plain.safetensors", "--data", "p.csv", cwd=unnamed)).stdout
    assert len(expected.splitlines()) == 7
    for data in ("p_and_label.csv", "label_first.csv"):
        for command in (["predict"], ["explain"]):
            extra = ["--row", "0"] if command == ["explain"] else []
            refused(run(*command, "plain.safetensors", "--data", data, *extra, cwd=unnamed),
                    command[0], "unnamed matrix of 4 column(s)", "has 5",
                    "is one of them the target?")
    refused(run("predict", "plain.safetensors", "--data", "three.csv", cwd=unnamed),
            "predict", "has 3")
    # the target it was fit with, where the provenance names it, is set aside by name
    traced = ok(run("predict", "traced.safetensors", "--data", "p_and_label.csv",
                    cwd=unnamed)).stdout
    assert traced == expected
    ok(run("predict", "traced.safetensors", "--data", "label_first.csv", cwd=unnamed))
    # evaluate splits the target off first (the last column, or --target)
    ok(run("evaluate", "plain.safetensors", "--data", "p_and_label.csv", cwd=unnamed))
    ok(run("evaluate", "plain.safetensors", "--data", "label_first.csv", "--target", "label",
           cwd=unnamed))


# ------------------------------------------------------------ bad files and odd failures

def test_bad_files_are_one_line(tmp_path, work):
    (tmp_path / "folder.csv").mkdir()
    os.mkfifo(tmp_path / "pipe.csv")
    (tmp_path / "utf16.csv").write_bytes("x,y\n1,0\n2,1\n".encode("utf-16")[:-1])
    (tmp_path / "random.csv").write_bytes(bytes(range(256)) * 20)
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "junk.safetensors").write_bytes(b"\xff" * 64)
    (tmp_path / "model_dir.safetensors").mkdir()
    model = str(work / "model.safetensors")
    cases = [
        (["fit", "--data", "folder.csv"], "fit", "a folder"),
        (["fit", "--data", "pipe.csv"], "fit", "a pipe"),
        (["fit", "--data", "utf16.csv"], "fit", "UTF-16"),
        (["fit", "--data", "random.csv"], "fit", "not a text file"),
        (["fit", "--data", "empty.csv"], "fit", "is empty"),
        (["predict", model, "--data", "empty.csv"], "predict", "is empty"),
        (["predict", "junk.safetensors", "--data", "iris"], "predict", "junk.safetensors"),
        (["explain", "model_dir.safetensors"], "explain", "is a folder"),
        (["evaluate", str(work / "iris.csv"), "--data", "iris"], "evaluate", "iris.csv"),
    ]
    for args, command, fragment in cases:
        refused(run(*args, cwd=tmp_path), command, fragment)


@pytest.mark.parametrize("error, fragment", [
    (MemoryError("Unable to allocate 75 GiB"), "too large for this machine"),
    (RecursionError("maximum recursion depth exceeded"), "nested too deeply"),
    (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), "encoding"),
    (csv.Error("field larger than field limit"), "field larger"),
    (PermissionError(13, "Permission denied", "out/m.safetensors"),
     "out/m.safetensors: Permission denied"),
    (IsADirectoryError(21, "Is a directory", "somewhere"), "somewhere: Is a directory"),
    (OverflowError("int too large to convert to float"), "int too large"),
    (ValueError("first\nsecond"), "first\n  second"),
    (pd.errors.ParserError("Error tokenizing data. C error: EOF"), "Error tokenizing data"),
    (RuntimeError("a bug"), "unexpected RuntimeError: a bug (run with --debug"),
])
def test_every_failure_is_one_message(monkeypatch, capsys, error, fragment):
    def fail(args):
        raise error

    monkeypatch.setattr(cli_main, "cmd_fit", fail)
    status, _, err = call_main(monkeypatch, capsys, "fit")
    assert status == 2 and err.startswith("dlprimer fit: error: ") and fragment in err, err
    assert "Traceback" not in err


def test_keyboard_interrupt_in_process(monkeypatch, capsys):
    def fail(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_main, "cmd_fit", fail)
    status, _, err = call_main(monkeypatch, capsys, "fit")
    assert status == 130 and err == "interrupted\n"


def test_ctrl_c_during_training_is_one_line(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "dlprimer.cli", "fit", "--epochs", "100000",
         "--early-stopping", "0", "--quiet"], cwd=tmp_path, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        for line in process.stdout:
            if line.startswith("columns:"):  # inside main(), about to train
                break
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130 and err.strip() == "interrupted", err
