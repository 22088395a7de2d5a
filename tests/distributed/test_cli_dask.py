"""`dlprimer fit` on a glob of CSV parts with --workers: a local cluster of worker processes
trains on the parts where they are read; the saved model predicts on raw rows."""


import numpy as np
import pytest
from helpers.cli import run as run_cli

pytest.importorskip("distributed")


def run(*args, cwd):
    result = run_cli(*args, cwd=cwd, timeout=300)
    assert "Traceback" not in result.stderr
    return result.stdout


def test_fit_on_a_glob_of_csv_parts_with_two_workers(tmp_path):
    from cli.test_cli_tables import survey

    frame = survey(600, seed=4)
    (tmp_path / "parts").mkdir()
    for k in range(3):
        frame.iloc[200 * k:200 * (k + 1)].to_csv(tmp_path / "parts" / f"part{k}.csv",
                                                 index=False)
    out = run("fit", "--data", "parts/*.csv", "--target", "survived", "--id", "sample_id",
              "--model", "sigmoid", "--optimizer", "lbfgs", "--workers", "2", "--quiet",
              "--out", "m.safetensors", cwd=tmp_path)
    assert "2 workers at tcp://" in out and "3 parts" in out
    assert "on 3 chunks by 2 workers" in out
    accuracy = float(out.split("held-out test set")[1].split("accuracy")[1].split()[0])
    assert accuracy > 0.65
    predicted = run("predict", "m.safetensors", "--data", "parts/part0.csv", cwd=tmp_path)
    lines = predicted.splitlines()
    assert lines[0] == "sample_id,prediction,p(no),p(yes)" and len(lines) == 201
    assert np.isfinite([float(line.split(",")[3]) for line in lines[1:]]).all()
