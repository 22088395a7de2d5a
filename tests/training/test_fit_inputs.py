"""dp.fit and predict on awkward but ordinary input: named columns in another order,
sparse matrices, values beyond float32, validation labels, numpy integers, L-BFGS with
callbacks; each either works right or fails with a message that says what to do."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import dlprimer as dp

rng = np.random.default_rng(0)
X = rng.normal(size=(60, 3))
y = (X[:, 0] > 0).astype(int)


def fitted(**kwargs):
    m = dp.SigmoidModel(3)
    dp.fit(m, pd.DataFrame(X, columns=list("abc")), y, progress=False, epochs=200,
           optimizer=dp.optim.Adam(lr=0.1), **kwargs)
    return m


@pytest.mark.parametrize("standardize", [False, True])
def test_dataframe_columns_are_taken_by_name(standardize):
    m = fitted(standardize=standardize)
    df = pd.DataFrame(X, columns=list("abc"))
    shuffled = df[["c", "a", "b"]].assign(extra=1.0)  # another order, one column more
    np.testing.assert_array_equal(m.predict_proba(shuffled), m.predict_proba(df))
    np.testing.assert_array_equal(m.predict_proba(X), m.predict_proba(df))  # arrays: order
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['c'\]"):
        m.predict(df.rename(columns={"c": "C"}))


def test_sparse_input_is_refused_with_the_fix():
    m = fitted()
    with pytest.raises(ValueError, match=r"sparse .*toarray\(\)"):
        m.predict(sp.csr_matrix(X[:2]))
    with pytest.raises(ValueError, match=r"sparse .*toarray\(\)"):
        dp.fit(dp.SigmoidModel(3), sp.csr_matrix(X), y, progress=False)
    with pytest.raises(ValueError, match="sparse"):
        dp.fit(dp.SigmoidModel(3), X, sp.csr_matrix(y[:, None]), progress=False)


def test_values_beyond_float32_are_refused_not_turned_into_nan():
    m = fitted()
    with pytest.raises(ValueError, match="beyond what float32 holds.*float64"):
        m.predict_proba(np.full((1, 3), 1e39))
    with pytest.raises(ValueError, match="beyond what float32 holds"):
        dp.fit(dp.SigmoidModel(3), X * 1e39, y, progress=False, standardize=False)
    wide = dp.SigmoidModel(3, dtype=np.float64)  # float64 holds them
    dp.fit(wide, X * 1e39, y, progress=False, epochs=2, standardize=False)
    assert np.isfinite(wide.predict_proba(X * 1e39)).all()
    big = dp.SigmoidModel(3)  # standardized first (the default for a table), they fit
    dp.fit(big, X * 1e39, y, progress=False, epochs=2)
    assert np.isfinite(big.predict_proba(X * 1e39)).all()


def test_validation_labels_may_be_a_subset_of_the_training_classes():
    labels = np.array(["a", "b"])[y]
    history = dp.fit(dp.SigmoidModel(3), X, labels, validation_data=(X[:5], ["a"] * 5),
                     progress=False, epochs=3)
    assert len(history.val_loss) == 3
    three = np.array(["a", "b", "c"])[np.arange(60) % 3]
    history = dp.fit(dp.SoftmaxModel(3, 3), X, three, progress=False, epochs=2,
                     validation_data=(X[:4], np.array(list("abab"))))
    assert np.isfinite(history.val_loss).all()
    with pytest.raises(ValueError, match=r"validation y holds labels \['z'\] that are not among"):
        dp.fit(dp.SigmoidModel(3), X, labels, validation_data=(X[:2], ["a", "z"]),
               progress=False)
    with pytest.raises(ValueError, match="X_val has 5 rows but y_val has 4"):
        dp.fit(dp.SigmoidModel(3), X, y, validation_data=(X[:5], y[:4]), progress=False)
    with pytest.raises(ValueError, match=r"validation_data must be a pair \(X_val, y_val\)"):
        dp.fit(dp.SigmoidModel(3), X, y, validation_data=X, progress=False)


def test_numpy_integers_are_integers():
    history = dp.fit(dp.SigmoidModel(3), X, y, epochs=np.int64(3), batch_size=np.int32(16),
                     early_stopping=np.int64(2), seed=np.int64(1), progress=False)
    assert history.epochs == 3
    dp.training.EarlyStopping(patience=np.int64(3))
    for bad in (0, 2.5, True, "3"):
        with pytest.raises(ValueError, match="epochs must be a positive integer"):
            dp.fit(dp.SigmoidModel(3), X, y, epochs=bad, progress=False)


@pytest.mark.parametrize("kwargs, message", [
    ({"l2": float("nan")}, r"l2 \(the weight .*\) must be a finite number >= 0"),
    ({"l2": -1.0}, "l2 .* >= 0"),
    ({"l2": "a"}, "l2 .* finite number"),
    ({"validation_split": "0.2"}, "validation_split .* finite number"),
    ({"seed": "a"}, "seed must be a non-negative integer"),
    ({"seed": -1}, "seed must be a non-negative integer"),
])
def test_bad_settings_say_what_is_wrong(kwargs, message):
    with pytest.raises(ValueError, match=message):
        dp.fit(dp.SigmoidModel(3), X, y, progress=False, **kwargs)


def test_regression_targets_must_be_finite():
    net = dp.FeedForward([3, 4, 1], output="identity")
    for bad, called in ((np.nan, "NaN"), (np.inf, "infinite")):
        target = np.r_[bad, X[1:, 0]]
        with pytest.raises(ValueError, match=rf"y contains 1 {called} value.* row\(s\) 0"):
            dp.fit(net, X, target, progress=False)
    with pytest.raises(ValueError, match="validation y contains 60 NaN"):
        dp.fit(net, X, X[:, 0], validation_data=(X, np.full(60, np.nan)), progress=False)


def test_decision_threshold_is_checked():
    m = fitted()
    for bad in ("0.5", 2, float("nan")):
        with pytest.raises(ValueError, match="tau"):
            m.predict(X, tau=bad)
    assert (m.predict(X, tau=0.0) == 1).all()  # ŷ > 0 for every finite z


def test_sigmoid_output_with_several_outputs_says_how_to_build_it():
    with pytest.raises(ValueError, match=r"q=2 outputs; end it with 1 output"):
        dp.fit(dp.FeedForward([3, 4, 2], output="sigmoid"), X, y, progress=False)


def test_lbfgs_runs_callbacks_and_early_stopping():
    calls = []

    class Stop(dp.training.Callback):
        def on_epoch_end(self, epoch, logs, model):
            calls.append(epoch)
            return epoch == 3  # stop after the third iteration

    history = dp.fit(dp.SigmoidModel(3), X, y, optimizer=dp.optim.LBFGS(), callbacks=[Stop()],
                     progress=False, epochs=50)
    assert calls == [1, 2, 3] and history.epochs == 3
    noisy = np.where(rng.random(60) < 0.3, 1 - y, y)  # overlapping classes: a real optimum
    history = dp.fit(dp.SigmoidModel(3, dtype=np.float64), X, noisy, progress=False,
                     optimizer=dp.optim.LBFGS(), validation_split=0.3, early_stopping=1,
                     epochs=100)
    assert history.stop_reason.startswith("early stopping") or history.epochs < 100


def test_inputs_numbers_cannot_stand_for_are_refused():
    masked = np.ma.masked_array(X, mask=np.zeros_like(X, bool))
    masked[0, 0] = np.ma.masked
    with pytest.raises(ValueError, match=r"masked array with 1 masked entries"):
        dp.fit(dp.SigmoidModel(3), masked, y, progress=False)
    with pytest.raises(ValueError, match="complex numbers"):
        dp.fit(dp.SigmoidModel(3), X + 1j, y, progress=False)
    dates = np.array(["2020-01-01", "2020-01-02"] * 30, dtype="datetime64[D]")
    with pytest.raises(ValueError, match=r"datetime64\[D\] values; .*astype\(str\)"):
        dp.fit(dp.SigmoidModel(3), X, dates, progress=False)


def test_softmax_needs_two_classes():
    with pytest.raises(ValueError, match="K .* must be at least 2"):
        dp.SoftmaxModel(3, K=1)
    with pytest.raises(ValueError, match=r"y holds a single class \('a'\)"):
        dp.fit(dp.SoftmaxModel(3, 2), X, ["a"] * 60, progress=False)


@pytest.mark.parametrize("dtype", [np.float16, np.int32, "complex128"])
def test_models_refuse_dtypes_other_than_float32_and_float64(dtype):
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        dp.SigmoidModel(3, dtype=dtype)
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        dp.FeedForward([3, 2, 1], dtype=dtype)
