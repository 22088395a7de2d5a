"""The dlprimer command end to end, in a subprocess, as a user runs it."""

import csv

import numpy as np
import pytest
from helpers.cli import run

from dlprimer.data.datasets import load


def fails_cleanly(result, *fragments):
    """One message (a list of every bad column may follow its first line), no traceback."""
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and lines[0].startswith("dlprimer "), result.stderr
    assert all(line.startswith("  ") for line in lines[1:]), result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def iris_csv(tmp_path_factory):
    d = load("iris")
    names = np.array(d.class_names)[d.y]
    path = tmp_path_factory.mktemp("data") / "iris.csv"
    return write_csv(path, [*d.feature_names, "species"],
                     [[*map(str, row), label] for row, label in zip(d.X, names, strict=True)])


def test_main_job_fit_with_no_arguments(tmp_path):
    result = run("fit", "--quiet", cwd=tmp_path)
    out = result.stdout
    assert out.startswith("dlprimer fit\n  data         breast_cancer")  # settings first
    accuracy = float(out.split("held-out test set")[1].split("accuracy")[1].split()[0])
    assert accuracy > 0.93
    assert (tmp_path / "model.safetensors").is_file()


def test_fit_evaluate_predict_explain_on_a_csv(tmp_path, iris_csv):
    run("fit", "--data", str(iris_csv), "--target", "species", "--hidden", "8",
        "--epochs", "300", "--lr", "0.01", "--out", "iris.safetensors", "--quiet", cwd=tmp_path)
    result = run("evaluate", "iris.safetensors", "--data", str(iris_csv), cwd=tmp_path)
    assert "accuracy" in result.stdout and "confusion matrix" in result.stdout
    # the file it was fit on: only the held-out quarter is scored, and it says so
    assert "the 38 held-out test rows of" in result.stdout
    accuracy = float(result.stdout.split("accuracy")[1].split()[0])
    assert accuracy > 0.85

    # predict on rows without the target column; check against the library directly
    d = load("iris")
    features = write_csv(tmp_path / "new.csv", d.feature_names, d.X[:5].tolist())
    run("predict", "iris.safetensors", "--data", str(features), "--out", "pred.csv",
        cwd=tmp_path)
    with open(tmp_path / "pred.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 5
    assert set(rows[0]) == {"prediction", "p(setosa)", "p(versicolor)", "p(virginica)"}
    import dlprimer as dp

    model = dp.load(tmp_path / "iris.safetensors")
    assert [r["prediction"] for r in rows] == model.predict(d.X[:5]).tolist()
    p = np.array([[float(r[f"p({c})"]) for c in model.classes_] for r in rows])
    np.testing.assert_allclose(p, model.predict_proba(d.X[:5]), atol=1e-6)

    explained = run("explain", "iris.safetensors", cwd=tmp_path).stdout
    assert "W[1]" in explained or "W^[1]" in explained or "W⁽¹⁾" in explained or "W" in explained
    row = run("explain", "iris.safetensors", "--data", str(iris_csv), "--row", "0",
              cwd=tmp_path).stdout
    assert "softmax" in row.lower() or "S_Softmax" in row


def test_fit_model_one_and_regression(tmp_path):
    out = run("fit", "--model", "sigmoid", "--optimizer", "lbfgs", "--l2", "0.01",
              "--out", "m1.safetensors", cwd=tmp_path).stdout
    assert "Model I" in out and float(out.split("accuracy")[1].split()[0]) > 0.93
    out = run("fit", "--data", "diabetes", "--hidden", "8", "--epochs", "50", "--lr", "0.05",
              "--out", "reg.safetensors", cwd=tmp_path).stdout
    assert "MSE" in out and "R²" in out
    out = run("evaluate", "reg.safetensors", "--data", "diabetes", cwd=tmp_path).stdout
    assert "MSE" in out


def test_datasets_and_help():
    out = run("datasets", cwd=".").stdout
    for name in ("breast_cancer", "iris", "wine", "digits", "diabetes"):
        assert name in out
    help_text = run("fit", "--help", cwd=".").stdout
    for flag in ("--data", "--target", "--model", "--hidden", "--activation", "--optimizer",
                 "--lr", "--epochs", "--batch-size", "--validation-split", "--seed", "--out",
                 "--report"):
        assert flag in help_text
    assert "default: 200" in help_text


@pytest.fixture(scope="module")
def saved_iris(tmp_path_factory, iris_csv):
    folder = tmp_path_factory.mktemp("model")
    run("fit", "--data", str(iris_csv), "--epochs", "20", "--out", "m.safetensors",
        cwd=folder)
    return folder / "m.safetensors"


def test_bad_csvs_exit_with_one_clear_line(tmp_path, saved_iris):
    rows = [[str(i), str(i % 7), "ab"[i % 2]] for i in range(40)]
    rows[5][1] = "oops"  # a typo among numbers
    non_numeric = write_csv(tmp_path / "a.csv", ["x1", "x2", "y"], rows)
    fails_cleanly(run("fit", "--data", str(non_numeric), cwd=tmp_path, check=False),
                  "x2", "oops")
    fails_cleanly(run("fit", "--data", str(non_numeric), "--target", "label", cwd=tmp_path,
                      check=False), "label", "x1")
    fails_cleanly(run("fit", "--data", str(non_numeric), "--drop", "nope,x1", "--id", "row",
                      "--features", "x9", cwd=tmp_path, check=False),
                  "drop 'nope'", "features 'x9'", "id 'row'")  # every bad name at once
    wrong = write_csv(tmp_path / "c.csv", ["sepal length (cm)", "petal width (cm)"],
                      [["1", "2"]])
    fails_cleanly(run("predict", str(saved_iris), "--data", str(wrong), cwd=tmp_path,
                      check=False), "lacks the model's feature column")
    fails_cleanly(run("predict", "nothing.safetensors", "--data", str(wrong), cwd=tmp_path,
                      check=False), "no model file")
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00" * 3)
    fails_cleanly(run("evaluate", str(garbage), "--data", "iris", cwd=tmp_path, check=False),
                  "garbage.safetensors")
    fails_cleanly(run("fit", "--data", "missing.csv", cwd=tmp_path, check=False),
                  "missing.csv")


def test_output_in_a_missing_folder_fails_before_any_work(tmp_path, saved_iris):
    result = run("fit", "--out", "no/such/m.safetensors", cwd=tmp_path, check=False)
    fails_cleanly(result, "--out", "does not exist")
    assert "trained" not in result.stdout  # checked before training, not after
    fails_cleanly(run("predict", str(saved_iris), "--data", "iris", "--out", "no/p.csv",
                      cwd=tmp_path, check=False), "no/p.csv", "does not exist")
    assert not (tmp_path / "no").exists()
    (tmp_path / "folder").mkdir()
    result = run("fit", "--out", "folder", cwd=tmp_path, check=False)
    fails_cleanly(result, "--out folder is a folder; give a file name")
    assert "trained" not in result.stdout
    fails_cleanly(run("predict", str(saved_iris), "--data", "iris", "--out", "folder",
                      cwd=tmp_path, check=False), "is a folder")
    (tmp_path / "report").write_text("")
    fails_cleanly(run("fit", "--report", "report", cwd=tmp_path, check=False),
                  "--report report is a file")


@pytest.mark.parametrize("option, value, message", [
    ("--epochs", "abc", "argument --epochs: must be a positive integer, got 'abc'"),
    ("--validation-split", "abc", "must lie in [0, 1) (0 for none), got 'abc'"),
    ("--test-size", "1", "must lie in [0, 1) (0 for none), got '1'"),
    ("--seed", "-1", "argument --seed: must be an integer >= 0, got '-1'"),
    ("--early-stopping", "-1", "must be an integer >= 0, got '-1'"),
    ("--l2", "nan", "argument --l2: must be a finite number, got 'nan'"),
    ("--lr", "inf", "argument --lr: must be a finite number, got 'inf'"),
])
def test_bad_numbers_name_the_option(tmp_path, option, value, message):
    result = run("fit", option, value, cwd=tmp_path, check=False)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert "invalid _" not in result.stderr  # no internal function names


def test_predict_reads_only_the_model_columns_and_detects_semicolons(tmp_path, saved_iris):
    d = load("iris")
    rows = [[f"id{i}", *map(str, row), ""] for i, row in enumerate(d.X[:5])]
    path = write_csv(tmp_path / "new.csv", ["id", *d.feature_names, "species"], rows)
    out = run("predict", str(saved_iris), "--data", str(path), cwd=tmp_path).stdout
    assert len(out.splitlines()) == 6  # header + 5 rows: the id and blank labels unread
    semi = tmp_path / "semi.csv"
    semi.write_text(path.read_text().replace(",", ";"))
    assert run("predict", str(saved_iris), "--data", str(semi), cwd=tmp_path).stdout == out
    fails_cleanly(run("fit", "--data", "missing.csv", cwd=tmp_path, check=False),
                  "no such file: 'missing.csv'")


def test_debug_shows_the_traceback(tmp_path):
    result = run("--debug", "fit", "--data", "missing.csv", cwd=tmp_path, check=False)
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_fit_with_report_and_evaluate_with_summary(tmp_path):
    out = run("fit", "--data", "iris", "--epochs", "30", "--report", "rep", "--quiet",
              cwd=tmp_path).stdout
    assert "wrote the report" in out
    names = {p.name for p in (tmp_path / "rep").iterdir()}
    assert {"report.html", "loss_curves.png", "confusion_matrix.png",
            "network_diagram.png"} <= names
    html = (tmp_path / "rep" / "report.html").read_text()
    assert "data:image/png;base64" in html
    d = load("breast_cancer")
    cols = [0, 1, 4]  # a well-conditioned, non-separable subset
    path = write_csv(tmp_path / "bc3.csv", [*(d.feature_names[c] for c in cols), "y"],
                     [[*map(str, row[cols]), str(label)] for row, label in
                      zip(d.X, d.y, strict=True)])
    run("fit", "--data", str(path), "--model", "sigmoid", "--optimizer", "lbfgs",
        "--out", "m1.safetensors", "--quiet", cwd=tmp_path)
    result = run("evaluate", "m1.safetensors", "--data", str(path), "--summary", cwd=tmp_path)
    assert "std err" in result.stdout and "odds ratio" in result.stdout
    assert "mean radius" in result.stdout
    assert "Traceback" not in result.stderr


def test_task_option_overrides_the_guess(tmp_path):
    xs = np.random.default_rng(0).permutation(30)  # in row order 0, 1, ... it is a counter
    rows = [[str(x), str(2 * x + 100)] for x in xs]  # 30 distinct integers
    path = write_csv(tmp_path / "codes.csv", ["x", "code"], rows)
    guessed = run("fit", "--data", str(path), "--epochs", "2", cwd=tmp_path).stdout
    assert "regression" in guessed  # more than 20 distinct integers
    forced = run("fit", "--data", str(path), "--task", "multiclass", "--epochs", "2",
                 "--validation-split", "0.5", cwd=tmp_path, check=False)
    assert "multiclass" in forced.stdout or "class" in forced.stderr
    fails_cleanly(run("fit", "--task", "binary", cwd=tmp_path, check=False),
                  "--task applies to files")


def test_summary_of_a_network_fails_cleanly(tmp_path, saved_iris):
    # Model III has no standard errors of this kind: summary itself says so, in one line
    result = run("evaluate", str(saved_iris), "--data", "iris", "--summary", cwd=tmp_path,
                 check=False)
    fails_cleanly(result, "--summary", "Model I (SigmoidModel)", "FeedForward")
    result = run("fit", "--summary", cwd=tmp_path, check=False)
    fails_cleanly(result, "--summary", "sigmoid and softmax")


def test_describe_asks_the_model():
    import dlprimer as dp
    from dlprimer.cli.commands import describe

    line = describe(dp.FeedForward([4, 3, 1], activation="relu"))
    assert line.startswith("Model III") and "activation relu, output sigmoid" in line
    assert line.endswith("d = 19")
    assert describe(dp.SigmoidModel(3)).startswith("Model I, the sigmoid model")
    assert describe(dp.nn.Sequential(dp.nn.Dense(2, 2))).endswith("d = 6")
