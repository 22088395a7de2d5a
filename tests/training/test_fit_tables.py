"""dp.fit on tables as they come: a DataFrame with text, dates and gaps goes through the
Preprocessor; raw-scale features are standardized by default, and warned about when not."""

import json

import numpy as np
import pandas as pd
import pytest

import dlprimer as dp
from dlprimer.training.diagnose import diagnose


def raw_scale(n=400, seed=0):
    """Body mass in grams (s.d. 600) and a dose in grams (s.d. 0.1): what a scientist has."""
    rng = np.random.default_rng(seed)
    grams, dose = rng.normal(3000, 600, n), rng.uniform(0.1, 0.5, n)
    logit = 0.004 * (grams - 3000) + 20 * (dose - 0.3)
    return np.column_stack([grams, dose]), (rng.random(n) < 1 / (1 + np.exp(-logit))) * 1


def test_defaults_standardize_a_table_so_raw_scales_train():
    X, y = raw_scale()
    m = dp.SigmoidModel(2)
    dp.fit(m, X, y, epochs=200, optimizer=dp.optim.Adam(lr=0.05), progress=False)
    assert m.standardizer is not None
    assert (m.predict(X) == y).mean() > 0.75  # the model learns; chance is about 0.5


def test_standardize_false_on_raw_scales_warns_once_and_diagnose_says_standardize():
    X, y = raw_scale()
    ratio = X.std(axis=0).max() / X.std(axis=0).min()
    with pytest.warns(UserWarning, match="standardize=True") as record:
        history = dp.fit(dp.SigmoidModel(2), X, y, epochs=20, progress=False,
                         standardize=False)
    assert len(record) == 1
    assert history.feature_scale_ratio == pytest.approx(ratio)
    advice = " ".join(diagnose(history))
    assert "standardize=True" in advice
    calm = dp.fit(dp.SigmoidModel(2), X / X.std(axis=0), y, epochs=20, progress=False,
                  standardize=False)  # comparable scales: no warning, no advice
    assert "standardize" not in " ".join(diagnose(calm))


def frame(n=300, seed=1):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"plot": [f"P{i:03d}" for i in range(n)],
                       "soil": rng.choice(["clay", "sand", "loam"], n),
                       "rain_mm": rng.normal(800, 150, n),
                       "irrigated": rng.choice([True, False], n),
                       "sown": pd.Timestamp("2020-01-01")
                       + pd.to_timedelta(rng.integers(0, 300, n), unit="D")})
    df.loc[rng.choice(n, 12, replace=False), "rain_mm"] = np.nan
    df.loc[rng.choice(n, 5, replace=False), "soil"] = None
    score = 0.01 * (df["rain_mm"].fillna(800) - 800) + (df["soil"] == "loam") * 1.5
    y = np.where(score + rng.normal(0, 1, n) > 0.3, "high", "low")
    return df, y


def test_a_dataframe_with_text_dates_and_gaps_trains_saves_and_predicts(tmp_path, capsys):
    df, y = frame()
    pre = dp.data.Preprocessor().fit(df)
    assert "plot" not in " ".join(pre.feature_names_)  # unique per row: an identifier
    net = dp.FeedForward([pre.n_features_out_, 8, 1], activation="relu")
    dp.fit(net, df, y, epochs=50, optimizer=dp.optim.Adam(lr=0.01), progress=True)
    shown = capsys.readouterr().out
    assert "soil" in shown and "categorical" in shown and "identifier" in shown
    assert net.preprocessor is not None and net.feature_names == pre.feature_names_
    assert (net.predict(df) == y).mean() > 0.7

    path = dp.save(net, tmp_path / "net.safetensors")
    back = dp.load(path)
    np.testing.assert_array_equal(back.predict_proba(df), net.predict_proba(df))
    rows = df.iloc[:3].copy()
    rows.loc[rows.index[0], "rain_mm"] = np.nan  # a gap at predict time is imputed
    assert np.isfinite(back.predict_proba(rows)).all()
    meta = json.loads(path.read_bytes()[8:8 + int.from_bytes(path.read_bytes()[:8],
                                                              "little")])["__metadata__"]
    assert json.loads(meta["dlprimer"])["preprocessor"]["columns"][1]["role"] == "categorical"


def test_a_model_of_the_wrong_width_is_told_the_encoded_width():
    df, y = frame()
    with pytest.raises(ValueError, match=r"after preprocessing .*soil=.* build it with \d+ "
                                         r"inputs"):
        dp.fit(dp.SigmoidModel(5), df, y, progress=False)


def test_models_one_and_two_one_hot_against_a_reference_category():
    df, y = frame()
    width = dp.data.Preprocessor(drop_first=True).fit(df).n_features_out_
    m = dp.SigmoidModel(width, dtype=np.float64)
    dp.fit(m, df, y, optimizer=dp.optim.LBFGS(), epochs=300, progress=False)
    soils = [name for name in m.feature_names if name.startswith("soil=")]
    assert len(soils) == 3  # clay, loam, sand and (missing): one of the four is the reference
    assert m.summary(df, y).table[0]["term"] == "intercept"


def test_numeric_dataframes_are_unchanged_and_preprocessor_false_is_respected():
    X, y = raw_scale(100)
    df = pd.DataFrame(X, columns=["grams", "dose"])
    m = dp.SigmoidModel(2)
    dp.fit(m, df, y, epochs=5, progress=False)
    assert m.preprocessor is None and m.feature_names == ["grams", "dose"]
    messy, labels = frame(60)
    with pytest.raises(ValueError):
        dp.fit(dp.SigmoidModel(4), messy, labels, progress=False, preprocessor=False)
