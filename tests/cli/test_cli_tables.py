"""The command line on a table as it comes: IDs, text, booleans, dates, gaps; inference on
exactly the fit rows, checked against statsmodels; held-out rows found again."""

import csv
import re

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from helpers.cli import run

import dlprimer as dp


def survey(n=400, seed=3) -> pd.DataFrame:
    """A field survey as a spreadsheet exports it: an ID, a site (text, a few blank), a
    collection date, a mass in grams with gaps, an age in years, a yes/no and a True/False
    column, free-text notes, a constant, and the outcome (a few blank)."""
    rng = np.random.default_rng(seed)
    site = rng.choice(["north", "south", "east"], n)
    mass = rng.normal(1500, 300, n)
    age = rng.integers(1, 15, n)
    treated = rng.random(n) < 0.5
    logit = 0.004 * (mass - 1500) + 0.25 * (age - 7) + 0.9 * (site == "north") - 0.5 * treated
    alive = rng.random(n) < 1 / (1 + np.exp(-logit))
    frame = pd.DataFrame({
        "sample_id": [f"S-{i:04d}" for i in range(n)],
        "site": site,
        "collected": pd.Timestamp("2021-03-01") + pd.to_timedelta(rng.integers(0, 400, n),
                                                                  unit="D"),
        "mass_g": mass.round(1),
        "age_years": age,
        "treated": treated,
        "smoker": rng.choice(["yes", "no"], n),
        "notes": [f"plot {i} by {rng.choice(['AB', 'CD'])}" for i in range(n)],
        "protocol": "v2",
        "survived": np.where(alive, "yes", "no"),
    })
    frame["collected"] = frame["collected"].dt.strftime("%Y-%m-%d")
    frame = frame.astype(object)
    for column, count in (("mass_g", 20), ("site", 6), ("collected", 5), ("survived", 7)):
        frame.loc[rng.choice(n, count, replace=False), column] = None
    return frame


@pytest.fixture(scope="module")
def survey_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("survey") / "survey.csv"
    survey().to_csv(path, index=False)
    return path


def test_messy_csv_trains_predicts_and_explains_in_one_go(tmp_path, survey_csv):
    out = run("fit", "--data", str(survey_csv), "--target", "survived", "--id", "sample_id",
              "--epochs", "60", "--quiet", "--out", "m.safetensors", cwd=tmp_path).stdout
    assert "left out 7 row(s) whose target 'survived' is missing" in out
    roles = {line.split()[0]: line.split()[1] for line in out.split("columns:\n")[1]
             .split("trained in")[0].splitlines()[1:] if line.strip()}
    assert roles == {"sample_id": "identifier", "site": "categorical", "collected": "date",
                     "mass_g": "numeric", "age_years": "numeric", "treated": "boolean",
                     "smoker": "boolean", "notes": "identifier", "protocol": "constant"}
    assert float(out.split("held-out test set")[1].split("accuracy")[1].split()[0]) > 0.6

    new = survey(30, seed=9).drop(columns="survived")
    new.loc[0, "site"] = "west"  # a site never seen in training
    new.loc[1, "mass_g"] = None
    new.to_csv(tmp_path / "new.csv", index=False)
    result = run("predict", "m.safetensors", "--data", "new.csv", "--out", "pred.csv",
                 cwd=tmp_path)
    assert result.stderr.count("warning") == 1 and "'site': ['west']" in result.stderr
    with open(tmp_path / "pred.csv") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["sample_id", "prediction", "p(no)", "p(yes)"]
    assert [r["sample_id"] for r in rows] == new["sample_id"].tolist()
    model = dp.load(tmp_path / "m.safetensors")
    with pytest.warns(dp.data.PreprocessingWarning, match="west"):
        expected = model.predict_proba(pd.read_csv(tmp_path / "new.csv"))
    np.testing.assert_allclose([float(r["p(yes)"]) for r in rows], expected, atol=1e-6)

    shown = run("explain", "m.safetensors", "--data", "new.csv", "--row", "1",
                cwd=tmp_path).stdout
    assert "“mass_g”: missing → x" in shown and "“mass_g missing”: missing → x" in shown
    assert "“site=north”" in shown and "from the table" in shown


def test_summary_on_every_row_agrees_with_statsmodels_on_the_raw_table(tmp_path, survey_csv):
    out = run("fit", "--data", str(survey_csv), "--target", "survived", "--id", "sample_id",
              "--drop", "collected", "--model", "sigmoid", "--optimizer", "lbfgs",
              "--epochs", "500", "--test-size", "0", "--validation-split", "0", "--summary",
              "--quiet", "--out", "m1.safetensors", cwd=tmp_path).stdout
    assert "no test rows were held out" in out and "converged" in out
    frame = pd.read_csv(survey_csv)
    frame = frame[frame["survived"].notna()].reset_index(drop=True)
    n = len(frame)
    assert f"n = {n} " in out  # every row with a target, none held out

    # the same design by hand: one-hot against the first site, the median and an
    # indicator for the missing masses, booleans as 0/1
    design = pd.DataFrame({
        "site=north": (frame["site"] == "north").astype(float),
        "site=south": (frame["site"] == "south").astype(float),
        "site=(missing)": frame["site"].isna().astype(float),
        "mass_g": frame["mass_g"].fillna(frame["mass_g"].median()),
        "mass_g missing": frame["mass_g"].isna().astype(float),
        "age_years": frame["age_years"].astype(float),
        "treated": frame["treated"].astype(float),
        "smoker": (frame["smoker"] == "yes").astype(float),
    })
    model = dp.load(tmp_path / "m1.safetensors")
    assert sorted(model.feature_names) == sorted(design.columns)
    design = design[model.feature_names]
    y = (frame["survived"] == "yes").astype(float)
    reference = sm.Logit(y, sm.add_constant(design)).fit(disp=0, tol=1e-12, maxiter=200)
    summary = model.summary(frame.drop(columns="survived"), frame["survived"].to_numpy())
    estimate = [row["estimate"] for row in summary.table]
    std_err = [row["std_err"] for row in summary.table]
    np.testing.assert_allclose(estimate, reference.params.to_numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(std_err, reference.bse.to_numpy(), rtol=1e-4)
    age = [row for row in summary.table if row["term"] == "age_years"][0]
    assert f"{age['estimate']:.4f}" in out  # the table fit printed is this one

    # evaluate --summary on the same file finds the same rows again
    again = run("evaluate", "m1.safetensors", "--data", str(survey_csv), "--summary",
                cwd=tmp_path).stdout
    assert "with --test-size 0: these are its training rows" in again
    assert out.split("Model I: sigmoid")[1].split("saved the model")[0].strip() in again


def test_evaluate_scores_only_the_held_out_rows_of_the_training_file(tmp_path, survey_csv):
    run("fit", "--data", str(survey_csv), "--target", "survived", "--id", "sample_id",
        "--model", "sigmoid", "--optimizer", "lbfgs", "--test-size", "0.3", "--quiet",
        "--out", "m.safetensors", cwd=tmp_path)
    model = dp.load(tmp_path / "m.safetensors")
    origin = model.provenance
    assert origin["sha256"] == dp.data.reading.file_hash(survey_csv)
    assert origin["rows"] == {"fit": 275, "validation": 0, "test": 118}
    held_out = run("evaluate", "m.safetensors", "--data", str(survey_csv),
                   cwd=tmp_path).stdout
    assert "the 118 held-out test rows of" in held_out

    other = tmp_path / "copy.csv"  # the same rows in another file: all of them are scored
    pd.read_csv(survey_csv).iloc[:100].to_csv(other, index=False)
    scored = run("evaluate", "m.safetensors", "--data", str(other), cwd=tmp_path).stdout
    assert "copy.csv (" in scored and "held-out" not in scored
    refused = run("evaluate", "m.safetensors", "--data", str(other), "--summary",
                  cwd=tmp_path, check=False)
    assert refused.returncode == 2 and "not that data" in refused.stderr


def test_lbfgs_cap_is_a_warning_and_not_converged_in_the_summary(tmp_path, survey_csv):
    result = run("fit", "--data", str(survey_csv), "--target", "survived", "--id",
                 "sample_id", "--model", "sigmoid", "--optimizer", "lbfgs", "--epochs", "3",
                 "--summary", "--quiet", "--out", "m.safetensors", cwd=tmp_path)
    assert "cap of 3 iterations" in result.stderr
    assert "not converged" in result.stdout
    assert dp.load(tmp_path / "m.safetensors").converged_ is False


def test_decimal_commas_and_semicolons_from_a_spreadsheet(tmp_path):
    frame = survey(120).drop(columns=["collected", "notes"])
    text = frame.to_csv(index=False, sep=";").replace(".", ",")
    (tmp_path / "export.csv").write_bytes(text.replace("north", "Zürich").encode("cp1252"))
    result = run("fit", "--data", "export.csv", "--target", "survived", "--id", "sample_id",
                 "--epochs", "5", "--quiet", cwd=tmp_path)
    assert re.search(r"mass_g +numeric", result.stdout), result.stdout
    assert "not UTF-8" in result.stderr
    assert "site=Zürich" in dp.load(tmp_path / "model.safetensors").feature_names
