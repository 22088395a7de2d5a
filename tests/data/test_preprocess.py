"""Tests for dlprimer.data.preprocess: raw columns (text, booleans, dates, IDs, gaps) to X̃,
on messy tables read from files, checked against pandas and numpy directly."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from helpers.messy import (
    dummies_frame,
    european_export,
    field_survey,
    parquet_frame,
    survey_rows,
    write_rows,
    write_text,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlprimer.data import PreprocessingWarning, Preprocessor, ReadWarning, read_csv
from dlprimer.data.preprocess import needs_preprocessor

SURVEY_ROLES = {
    "Unnamed: 0": "identifier", "sample_id": "identifier", "site": "categorical",
    "collected": "date", "mass_g": "numeric", "age_years": "numeric", "treated": "boolean",
    "smoker": "boolean", "notes": "text", "protocol": "constant", "comments": "empty",
}


@pytest.fixture
def survey(tmp_path):
    path, _ = field_survey(tmp_path)
    return read_csv(path)


@pytest.fixture
def european(tmp_path):
    path, expected = european_export(tmp_path)
    with pytest.warns(ReadWarning):
        return read_csv(path), expected


def roles(pre: Preprocessor) -> dict:
    return {plan["column"]: plan["role"] for plan in pre.columns_}


def quiet_transform(pre, X):
    """transform, failing on any warning (the tests run with warnings as errors anyway)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return pre.transform(X)


# ---------------------------------------------------------------- roles

def test_survey_roles_are_found_and_described(survey):
    pre = Preprocessor().fit(survey.X)
    assert roles(pre) == SURVEY_ROLES
    lines = pre.describe().splitlines()
    assert lines[0].split() == ["column", "role", "what", "was", "done"]
    assert len(lines) == 1 + len(SURVEY_ROLES)
    for line, (column, role) in zip(lines[1:], SURVEY_ROLES.items(), strict=True):
        assert line.startswith(column) and line[len(column):].split()[0] == role
    assert pre.used_columns == ["site", "collected", "mass_g", "age_years", "treated", "smoker"]
    assert pre.n_features_out_ == len(pre.feature_names_) == pre.transform(survey.X).shape[1]


def test_identifiers_are_never_features(survey):
    pre = Preprocessor(id="sample_id").fit(survey.X)
    assert roles(pre)["sample_id"] == "identifier"
    assert not any(name.startswith(("sample_id", "Unnamed", "notes"))
                   for name in pre.feature_names_)
    other = survey.X.assign(sample_id=[f"Z{i}" for i in range(len(survey.X))],
                            **{"Unnamed: 0": 7})
    np.testing.assert_array_equal(pre.transform(other), pre.transform(survey.X))
    without = survey.X.drop(columns=["sample_id", "Unnamed: 0", "notes", "comments"])
    np.testing.assert_array_equal(pre.transform(without), pre.transform(survey.X))


def test_a_row_counter_is_an_identifier_even_with_gaps_or_shuffled():
    n = 150
    rng = np.random.default_rng(3)
    kept = np.sort(rng.choice(200, n, replace=False))      # the fit rows of a 75/25 split
    frame = pd.DataFrame({"row": kept, "index": rng.permutation(n),
                          "weight": rng.normal(70, 10, n), "year": np.arange(n) * 2 + 1950})
    assert roles(Preprocessor().fit(frame)) == {
        "row": "identifier", "index": "identifier", "weight": "numeric", "year": "numeric"}


def test_european_export_decimal_commas_and_day_first_dates(european):
    table, expected = european
    pre = Preprocessor(standardize=False).fit(table.X)
    assert roles(pre) == {"Ort": "categorical", "Gewicht_kg": "numeric",
                          "Temperatur": "numeric", "Datum": "date", "Bio": "categorical"}
    Z = pre.encode(table.X)
    mass = np.array(expected["Gewicht_kg"])
    filled = np.where(np.isnan(mass), np.nanmedian(mass), mass)
    np.testing.assert_array_equal(Z[:, pre.feature_names_.index("Gewicht_kg")], filled)
    days = (pd.to_datetime(table.X["Datum"], format="%d.%m.%Y")
            - pd.Timestamp("1970-01-01")).dt.days.to_numpy(dtype=float, na_value=np.nan)
    got = Z[:, pre.feature_names_.index("Datum")]
    np.testing.assert_array_equal(got[~np.isnan(days)], days[~np.isnan(days)])
    # one row alone (01.02.2024) cannot show that the day comes first: the fit rule says so
    row = pre.steps(table.X.iloc[[1]])
    assert dict((f, e) for f, _, e, _ in row)["Datum"] == days[1]
    assert pd.Timestamp("1970-01-01") + pd.Timedelta(days=days[1]) == pd.Timestamp("2024-02-01")


def test_iso_dates_are_days_since_1970_as_pandas_counts_them(survey):
    pre = Preprocessor(standardize=False).fit(survey.X)
    dates = pd.to_datetime(survey.X["collected"], format="%Y-%m-%d")
    days = ((dates - pd.Timestamp("1970-01-01")).dt.total_seconds() / 86400).to_numpy(
        dtype=float, na_value=np.nan)
    j = pre.feature_names_.index("collected")
    Z = pre.encode(survey.X)
    gap = np.isnan(days)
    np.testing.assert_array_equal(Z[~gap, j], days[~gap])
    np.testing.assert_array_equal(Z[gap, j], np.nanmedian(days))
    np.testing.assert_array_equal(Z[:, j + 1], gap)
    times = pd.DataFrame({"t": ["2024-01-01 06:00", "2024-01-02 18:00", "2024-01-03 00:00"]})
    assert Preprocessor(standardize=False).fit(times).encode(times)[:, 0].tolist() == [
        19723.25, 19724.75, 19725.0]


def test_get_dummies_booleans_and_pandas_dtypes():
    frame = dummies_frame().drop(columns="label")
    pre = Preprocessor(standardize=False).fit(frame)
    assert set(roles(pre).values()) == {"numeric", "boolean"}
    np.testing.assert_array_equal(pre.encode(frame), frame.to_numpy(dtype=float))
    typed = parquet_frame().drop(columns="y")
    pre = Preprocessor(standardize=False).fit(typed)
    assert roles(pre) == {"when": "date", "count": "numeric", "flag": "boolean",
                          "grade": "categorical", "name": "identifier"}
    Z = pre.encode(typed)
    flag = pre.feature_names_.index("flag")
    assert Z[:4, flag].tolist() == [1.0, 0.0, 1.0, 1.0] and Z[:4, flag + 1].tolist() == [0, 0, 1, 0]
    assert pre.feature_names_[:2] == ["when", "when missing"]


def test_one_letter_is_a_category_not_a_boolean():
    frame = pd.DataFrame({"zone": ["N", None, "N", "N"], "sex": ["F", "F", None, "F"],
                          "ok": ["yes", None, "yes", "yes"], "x": [1.0, 2.0, 3.0, 4.0]})
    pre = Preprocessor(standardize=False).fit(frame)
    assert roles(pre) == {"zone": "categorical", "sex": "categorical", "ok": "boolean",
                          "x": "numeric"}
    with pytest.warns(PreprocessingWarning, match=r"'zone': \['S'\]"):
        pre.encode(pd.DataFrame({"zone": ["S"], "sex": ["F"], "ok": ["no"], "x": [0.0]}))


# ---------------------------------------------------------------- predicting

def test_unseen_categories_are_zeros_with_one_warning(survey):
    pre = Preprocessor().fit(survey.X)
    rows = survey.X.iloc[:3].copy()
    rows["site"] = ["Elsewhere", "Ashby", "Nowhere"]
    rows["smoker"] = ["no", "yes", "no"]
    with pytest.warns(PreprocessingWarning) as record:
        Z = pre.encode(rows)
    assert len(record) == 1
    message = str(record[0].message)
    assert "'site'" in message and "'Elsewhere'" in message and "'Nowhere'" in message
    site = [j for j, f in enumerate(pre.feature_names_) if f.startswith("site=")]
    assert Z[0, site].tolist() == Z[2, site].tolist() == [0.0] * len(site)
    assert Z[1, site].tolist() == [float(f == "site=Ashby") for f in pre.feature_names_
                                   if f.startswith("site=")]


def test_rows_with_gaps_are_imputed_with_the_fit_median(survey):
    pre = Preprocessor(standardize=False).fit(survey.X)
    row = survey.X.iloc[[0]].copy()
    row[["mass_g", "age_years", "collected", "site"]] = [np.nan, np.nan, None, None]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        steps = {f: (raw, e) for f, raw, e, _ in pre.steps(row)}
    assert steps["mass_g"][1] == np.nanmedian(survey.X["mass_g"])
    assert steps["mass_g missing"][1] == 1.0 and steps["age_years missing"][1] == 1.0
    assert steps["age_years"][1] == np.nanmedian(survey.X["age_years"])
    assert steps["site=(missing)"][1] == 1.0 and np.isnan(steps["mass_g"][0])
    assert np.all(np.isfinite(pre.transform(row)))


def test_a_predict_file_whose_columns_pandas_reads_as_other_dtypes(survey, tmp_path):
    pre = Preprocessor().fit(survey.X)
    rows = survey_rows(3, seed=5)
    for row, treated in zip(rows, ["True", "", "False"], strict=True):
        row.update(site="", collected="", treated=treated)
        del row["survived"]
    table = read_csv(write_rows(tmp_path / "new.csv", rows), require_target=False)
    assert table.X["site"].dtype == table.X["collected"].dtype == np.float64  # all gaps
    assert table.X["treated"].dtype == object                                 # True, gap
    encoded = dict(zip(pre.feature_names_, pre.encode(table.X).T, strict=True))
    assert encoded["site=(missing)"].tolist() == [1.0, 1.0, 1.0]
    assert encoded["collected missing"].tolist() == [1.0, 1.0, 1.0]
    assert encoded["collected"].tolist() == [pre.columns_[3]["median"]] * 3
    assert encoded["treated"].tolist() == [1.0, np.median(survey.X["treated"]), 0.0]


def test_column_order_and_extra_columns_do_not_matter(survey):
    pre = Preprocessor().fit(survey.X)
    reordered = survey.X[survey.X.columns[::-1]].assign(extra="x", more=1.5)
    np.testing.assert_array_equal(quiet_transform(pre, reordered), pre.transform(survey.X))
    backwards = survey.X.iloc[::-1]  # an index that is not 0, 1, 2, ...
    np.testing.assert_array_equal(pre.transform(backwards), pre.transform(survey.X)[::-1])
    refit = Preprocessor().fit(backwards)
    np.testing.assert_allclose(refit.transform(survey.X), pre.transform(survey.X), atol=1e-12)
    one = survey.X.iloc[4]  # one row as a Series (object dtype), and as a dict
    np.testing.assert_array_equal(pre.transform(one), pre.transform(survey.X.iloc[[4]]))
    np.testing.assert_array_equal(pre.transform(one.to_dict()), pre.transform(survey.X.iloc[[4]]))


def test_a_missing_or_repeated_column_is_named(survey):
    pre = Preprocessor().fit(survey.X)
    with pytest.raises(ValueError, match=r"X lacks the column\(s\) \['mass_g', 'smoker'\]"):
        pre.transform(survey.X.drop(columns=["mass_g", "smoker"]))
    twice = pd.concat([survey.X, survey.X[["site"]]], axis=1)
    with pytest.raises(ValueError, match=r"X has the column\(s\) \['site'\] more than once"):
        pre.transform(twice)


def test_stray_text_in_a_numeric_column_is_named(tmp_path):
    rows = "\n".join(f"{i % 7},{1000 + 13 * i}.5,{i % 2}" for i in range(40))
    text = "a,mass_g,y\n" + rows.replace("1091.5", "unknown").replace("1104.5", '"12,5kg"') + "\n"
    table = read_csv(write_text(tmp_path, text))
    with pytest.raises(ValueError, match=r"column 'mass_g' holds numbers but also "
                                         r"\['12,5kg', 'unknown'\]"):
        Preprocessor().fit(table.X)
    pre = Preprocessor().fit(table.X.assign(mass_g=np.arange(40.0)[::-1] * 2.5))
    with pytest.raises(ValueError, match=r"column 'mass_g' was numeric at fit time but holds "
                                         r"\['12,5kg', 'unknown'\]"):
        pre.transform(table.X)
    comma = pd.DataFrame({"w": ["1,5"] * 3 + ["2,25"] * 3})
    with pytest.raises(ValueError, match=r"'w' holds numbers but also \['1,5', '2,25'\] "
                                         r"\(a decimal comma\?"):
        Preprocessor().fit(comma)


def test_a_date_column_names_its_bad_cell_at_predict(survey):
    pre = Preprocessor().fit(survey.X)
    rows = survey.X.iloc[:2].assign(collected=["2022-01-05", "soon"])
    with pytest.raises(ValueError, match=r"column 'collected' was a date at fit time but "
                                         r"holds \['soon'\]"):
        pre.transform(rows)


# ---------------------------------------------------------------- options

def test_drop_first_leaves_the_first_category_out(survey):
    full = Preprocessor(standardize=False).fit(survey.X)
    reduced = Preprocessor(standardize=False, drop_first=True).fit(survey.X)
    site = [f for f in full.feature_names_ if f.startswith("site=")]
    assert [f for f in reduced.feature_names_ if f.startswith("site=")] == site[1:]
    assert reduced.n_features_out_ == full.n_features_out_ - 1
    keep = [full.feature_names_.index(f) for f in reduced.feature_names_]
    np.testing.assert_array_equal(reduced.encode(survey.X), full.encode(survey.X)[:, keep])


def test_unknown_option_names_are_listed_in_one_error(survey):
    pre = Preprocessor(drop=["mass", "site"], id="ID", features=["age", "smoker"])
    with pytest.raises(ValueError, match=r"no such column\(s\): drop 'mass', features 'age', "
                                         r"id 'ID'; the table has \['Unnamed: 0', "):
        pre.fit(survey.X)


def test_drop_id_and_features_are_honoured(survey):
    pre = Preprocessor(drop=["site"], id="Unnamed: 0",
                       features=["site", "mass_g", "smoker"]).fit(survey.X)
    assert roles(pre)["site"] == "dropped" and roles(pre)["age_years"] == "not selected"
    assert pre.feature_names_ == ["mass_g", "mass_g missing", "smoker"]


def test_standardizer_statistics_are_those_of_the_encoded_matrix(survey):
    pre = Preprocessor().fit(survey.X)
    Z = pre.encode(survey.X)
    np.testing.assert_allclose(pre.standardizer.mean_, Z.mean(axis=0), rtol=1e-12)
    std = Z.std(axis=0)
    np.testing.assert_allclose(pre.standardizer.scale_, np.where(std > 0, std, 1.0),
                               rtol=1e-12)
    X_tilde = pre.transform(survey.X)
    np.testing.assert_allclose(X_tilde.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(X_tilde.std(axis=0), 1, rtol=1e-12)


# ---------------------------------------------------------------- saving

@pytest.mark.parametrize("options", [{}, {"drop_first": True, "standardize": False},
                                     {"id": "sample_id", "drop": ["age_years"]}])
def test_to_dict_json_from_dict_round_trip(survey, options):
    pre = Preprocessor(**options).fit(survey.X)
    again = Preprocessor.from_dict(json.loads(json.dumps(pre.to_dict())))
    np.testing.assert_array_equal(again.transform(survey.X), pre.transform(survey.X))
    assert again.feature_names_ == pre.feature_names_ and again.describe() == pre.describe()
    saved = pre.to_dict()
    saved["columns"][2]["categories"].append("tampered")
    assert pre.columns_[2]["categories"][-1] != "tampered"  # to_dict gives a copy


def tampered(d):
    """(change to a saved Preprocessor, message it must raise) pairs."""
    site = next(i for i, c in enumerate(d["columns"]) if c["column"] == "site")
    mass = next(i for i, c in enumerate(d["columns"]) if c["column"] == "mass_g")

    def column(i, **change):
        return lambda d: d["columns"][i].update(change)

    return [
        (lambda d: d.update(columns="all"), r"needs the dict that to_dict\(\) returned"),
        (lambda d: d.update(drop="mass_g"), r"'drop' must be column name\(s\) or None"),
        (lambda d: d.update(id=3), r"'id' must be column name\(s\) or None"),
        (lambda d: d.update(standardize="yes"), r"must be True or False"),
        (lambda d: d["columns"].append(7), r"malformed column rule 7"),
        (column(site, categories="abc"), r"'site': categories must be a list of distinct"),
        (column(site, categories=["a", "a"]), r"categories must be a list of distinct"),
        (column(site, outputs=["site=x"]), r"'site': outputs \['site=x'\] do not follow"),
        (column(mass, median="1200"), r"'mass_g': its rule needs a finite median"),
        (column(mass, median=float("nan")), r"'mass_g': its rule needs a finite median"),
        (column(mass, indicator=None), r"'mass_g': 'indicator' .* must be True or False"),
        (column(mass, indicator=False), r"outputs \['mass_g', 'mass_g missing'\] do not"),
        (column(mass, role="magic"), r"role 'magic' gives no features"),
        (column(mass, outputs="mass_g"), r"malformed column rule"),
        (lambda d: d["columns"].append(dict(d["columns"][mass])), r"a column has two rules"),
        (lambda d: d.update(standardizer=None), r"standardize=True but the standardizer"),
        (lambda d: d.update(standardizer=[1.0]), r"the standardizer must be a dict"),
        (lambda d: d["standardizer"].update(mean=d["standardizer"]["mean"][:-1]),
         r"mean and scale must be non-empty lists of the same length"),
        (lambda d: d["standardizer"].update(mean=["a"] * len(d["standardizer"]["mean"])),
         r"the standardizer: mean must be numeric"),
        (lambda d: d["standardizer"].update(
            mean=d["standardizer"]["mean"][:-1], scale=d["standardizer"]["scale"][:-1],
            feature_names=None), r"the standardizer has 12 features but the rules give 13"),
    ]


@pytest.mark.parametrize("case", range(20))
def test_from_dict_refuses_a_tampered_dict_clearly(survey, case):
    pre = Preprocessor().fit(survey.X)
    cases = tampered(pre.to_dict())
    assert len(cases) == 20
    change, match = cases[case]
    d = json.loads(json.dumps(pre.to_dict()))
    change(d)
    with pytest.raises(ValueError, match=match):
        Preprocessor.from_dict(d)


def test_unfitted_preprocessor_says_so():
    pre = Preprocessor()
    for call in (pre.describe, pre.to_dict, lambda: pre.steps({"a": 1}),
                 lambda: pre.transform(pd.DataFrame({"a": [1]}))):
        with pytest.raises(ValueError, match=r"not fitted yet; call fit\(X_train\) first"):
            call()


def test_needs_preprocessor():
    assert not needs_preprocessor(pd.DataFrame({"a": [1.0, 2.0], "b": [True, False]}))
    assert needs_preprocessor(pd.DataFrame({"a": [1.0, None]}))
    assert needs_preprocessor(pd.DataFrame({"a": ["x", "y"]}))
    assert not needs_preprocessor(np.array([[1.0, np.nan]]))


# ---------------------------------------------------------------- any small table

_cells = {
    "float": st.one_of(st.floats(-1e6, 1e6), st.just(np.nan)),
    "huge": st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.just(np.nan)),
    "int": st.integers(-5, 5),
    "bool": st.one_of(st.booleans(), st.none()),
    "word": st.one_of(st.sampled_from(["a", "b", "yes", "no", " c ", "N", "1", "2.5", "x,5"]),
                      st.none()),
    "date": st.one_of(st.sampled_from(["2024-01-31", "2023-12-01", "13/02/2020", "bad"]),
                      st.none()),
    "mixed": st.one_of(st.floats(allow_nan=True, allow_infinity=False, width=32),
                       st.text(max_size=3), st.booleans(), st.none()),
}


@st.composite
def small_frames(draw):
    n = draw(st.integers(1, 14))
    kinds = draw(st.lists(st.sampled_from(sorted(_cells)), min_size=1, max_size=5))
    frame = pd.DataFrame({f"c{j}_{kind}": draw(st.lists(_cells[kind], min_size=n, max_size=n))
                          for j, kind in enumerate(kinds)})
    for column in frame.columns:  # as pandas holds them after a row, a file or a Parquet
        typed = {"int": "Int64", "float": "Float64", "huge": "Float64", "bool": "boolean"}
        dtype = draw(st.sampled_from([None, object, "str", typed.get(column.split("_")[1])]))
        if dtype is not None:
            frame[column] = frame[column].astype(dtype)
    return frame, draw(st.booleans()), draw(st.booleans())


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_frames())
def test_any_small_table_fits_or_says_why(case):
    frame, standardize, drop_first = case
    try:
        pre = Preprocessor(standardize=standardize, drop_first=drop_first).fit(frame)
    except ValueError as err:
        assert str(err)
        return
    X_tilde = pre.transform(frame)
    assert X_tilde.dtype == np.float64 and X_tilde.shape == (len(frame), pre.n_features_out_)
    assert np.all(np.isfinite(X_tilde))
    again = Preprocessor.from_dict(json.loads(json.dumps(pre.to_dict())))
    np.testing.assert_array_equal(again.transform(frame), X_tilde)
    gaps = pd.DataFrame({c: [None, np.nan] for c in frame.columns})  # rows with nothing in
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PreprocessingWarning)  # a "(missing)" not seen at fit
        assert np.all(np.isfinite(pre.transform(gaps)))
