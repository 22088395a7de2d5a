"""Training that goes wrong: a divergence on the very last step is caught (every optimizer,
full batch and mini-batch), the model keeps finite parameters and buffers, the message
blames what overflowed (l2, the inputs, or the steps); and the one rule for labels that
mix numbers and text holds at fit, predict and evaluate alike.
"""

import numpy as np
import pytest

import dlprimer as dp
from dlprimer.data import tables

OPTIMIZERS = {"gd": dp.optim.GradientDescent, "sgd": dp.optim.SGD, "adam": dp.optim.Adam}

rng = np.random.default_rng(0)
X = rng.normal(size=(64, 3))
y = (X[:, 0] + X[:, 1] > 0).astype(int)


def explode_on_step(cls, last: int, factor: float = 1e39, **options):
    """An optimizer of class ``cls`` whose ``last``-th step multiplies θ by ``factor``
    after its update: a divergence on exactly that step."""

    class Exploding(cls):
        def step(self):
            super().step()
            if self.t == last:
                for p in self.params:
                    p.data *= factor

    return Exploding(**options)


def all_finite(model) -> bool:
    return np.isfinite(model.theta()).all() and all(
        np.isfinite(b).all() for _, b in model.named_buffers())


# ------------------------------------------------------------- the last step is checked
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_one_huge_full_batch_step_is_caught_after_the_last_step(name):
    model = dp.FeedForward([3, 4, 1])  # float32: θ - 1e300 ∇C is inf
    theta0 = model.theta().copy()
    with pytest.raises(dp.DivergenceError) as info:
        dp.fit(model, X, y, optimizer=OPTIMIZERS[name](lr=1e300), epochs=1, progress=False)
    message = str(info.value)
    assert "the last step (step 1, epoch 1) made layers.0.W NaN or infinite" in message
    assert "learning rate α = 1e+300: the steps are too large" in message
    assert "keeps the parameters of step 1" in message
    np.testing.assert_array_equal(model.theta(), theta0)  # θ⁽⁰⁾, where the loss was finite


@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize("batch_size, steps", [(None, 3), (16, 8)])
def test_a_divergence_on_exactly_the_last_step_raises_and_restores(name, batch_size, steps):
    epochs = 3 if batch_size is None else 2  # 3 full-batch steps, or 2 epochs of 4 batches
    lr = {"gd": 0.1, "sgd": 0.05, "adam": 0.01}[name]
    reference = dp.FeedForward([3, 4, 1], activation="relu")
    model = dp.FeedForward([3, 4, 1], activation="relu")
    # the same fit, one step short: its θ is the checkpoint the full batch run keeps
    dp.fit(reference, X, y, optimizer=OPTIMIZERS[name](lr=lr), epochs=epochs - 1,
           batch_size=batch_size, progress=False)
    with pytest.raises(dp.DivergenceError, match=rf"the last step \(step {steps}, epoch "
                                                 rf"{epochs}\) made .* NaN or infinite"):
        dp.fit(model, X, y, optimizer=explode_on_step(OPTIMIZERS[name], steps, lr=lr),
               epochs=epochs, batch_size=batch_size, progress=False)
    assert all_finite(model)
    if batch_size is None:  # a checkpoint every step: θ after step 2
        np.testing.assert_allclose(model.theta(), reference.theta(), rtol=1e-6)


def test_finite_but_overflowing_parameters_are_caught_by_the_final_loss():
    # float64 θ times 1e200 stays finite, but the output (1e200)² · x does not
    model = dp.FeedForward([3, 4, 1], activation="relu", output="identity", dtype=np.float64)
    target = X[:, 0] * 2.0
    with pytest.raises(dp.DivergenceError, match=r"the last step \(step 2, epoch 2\) made the "
                                                 r"loss (inf|nan) on the training rows"):
        dp.fit(model, X, target, epochs=2, progress=False,
               optimizer=explode_on_step(dp.optim.Adam, 2, factor=1e200, lr=0.01))
    assert all_finite(model)


def test_a_mid_run_divergence_also_restores_batchnorm_buffers():
    model = dp.nn.Sequential(dp.nn.Dense(3, 8), dp.nn.BatchNorm1d(8), dp.nn.ReLU(),
                             dp.nn.Dense(8, 1))
    with pytest.raises(dp.DivergenceError, match=r"step 2\) with learning rate α = 1e\+300"):
        dp.fit(model, X, y, optimizer=dp.optim.SGD(lr=1e300), epochs=3, batch_size=16,
               progress=False)
    assert all_finite(model)  # θ and the running statistics of the checkpoint


def test_lbfgs_checks_its_final_iterate():
    class BrokenLBFGS(dp.optim.LBFGS):
        def minimize(self, *args, **kwargs):
            result = super().minimize(*args, **kwargs)
            result.x = result.x * np.inf  # a final iterate that is not finite
            return result

    model = dp.SigmoidModel(3, dtype=np.float64)
    with pytest.raises(dp.DivergenceError) as info:
        dp.fit(model, X, y, optimizer=BrokenLBFGS(), epochs=20, progress=False)
    assert "L-BFGS ended with non-finite parameters (first b0)" in str(info.value)
    assert "the parameters of its last evaluation with a finite loss" in str(info.value)
    assert all_finite(model)
    assert np.abs(model.theta()).max() > 0.1  # a trained θ was kept, not θ⁽⁰⁾ = 0


# --------------------------------------------------------------- what overflowed, named
@pytest.mark.parametrize("optimizer", ["gd", "adam", "lbfgs"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_an_overflowing_l2_penalty_is_named_and_the_learning_rate_is_not(optimizer, dtype):
    opt = dp.optim.LBFGS() if optimizer == "lbfgs" else OPTIMIZERS[optimizer](lr=0.1)
    model = dp.FeedForward([3, 4, 1], dtype=dtype)
    theta0 = model.theta().copy()
    with pytest.raises(dp.DivergenceError) as info:
        dp.fit(model, X, y, l2=1e308, optimizer=opt, epochs=3, progress=False)
    message = str(info.value)
    if dtype == np.float32:
        assert "l2 = 1e+308 is beyond what float32 holds (±3.4e38)" in message
    else:
        assert ("the L2 penalty (l2 / 2) Σ ‖W‖² = inf (l2 = 1e+308, Σ ‖W‖² = "
                in message and "at the initial parameters θ⁽⁰⁾, before any step" in message)
    assert "The penalty overflowed, not the steps: lower l2" in message
    assert "learning rate" not in message and "α =" not in message
    assert "The model keeps its initial parameters θ⁽⁰⁾" in message
    np.testing.assert_array_equal(model.theta(), theta0)


def test_a_penalty_that_makes_gradient_descent_unstable_names_l2_and_alpha():
    # W ← (1 - α·l2) W with α·l2 = 30: every step multiplies the weights by -29
    model = dp.FeedForward([3, 4, 1], dtype=np.float64)
    with pytest.raises(dp.DivergenceError) as info:
        dp.fit(model, X, y, l2=30.0, optimizer=dp.optim.GradientDescent(lr=1.0), epochs=1000,
               progress=False)
    message = str(info.value)
    assert "learning rate α = 1 and l2 = 30, each step scales the weights by" in message
    assert "(1 - α·l2) = -29" in message and "Lower l2 below 2/α = 2" in message
    assert all_finite(model)


@pytest.mark.parametrize("optimizer", ["gd", "adam", "lbfgs"])
def test_a_loss_already_inf_at_theta0_is_not_blamed_on_the_learning_rate(optimizer):
    # finite inputs (≤ 1e38) that overflow float32 in the first layer's sum of 20 terms
    big = np.abs(rng.normal(size=(40, 20)))
    big = big / big.max() * 1e38
    labels = (big[:, 0] > np.median(big[:, 0])).astype(int)
    model = dp.FeedForward([20, 4, 1], activation="relu")
    model.layers[0].W.data[...] = 1.0
    opt = dp.optim.LBFGS() if optimizer == "lbfgs" else OPTIMIZERS[optimizer](lr=0.1)
    with pytest.raises(dp.DivergenceError) as info:
        dp.fit(model, big, labels, optimizer=opt, epochs=3, progress=False, standardize=False)
    message = str(info.value)
    assert "at the initial parameters θ⁽⁰⁾, before any step, so not because of the learning " \
           "rate: the inputs overflow inside the model (float32 holds ±3.4e38)" in message
    assert "Lower the learning rate" not in message
    assert all_finite(model)


def test_non_finite_initial_parameters_are_named():
    model = dp.SigmoidModel(3)
    model.w.data[1] = np.nan
    with pytest.raises(dp.DivergenceError, match=r"the model's w held NaN or inf before "
                                                 r"training began"):
        dp.fit(model, X, y, progress=False, epochs=2)


def test_the_cli_catches_a_divergence_as_a_floating_point_error():
    assert issubclass(dp.DivergenceError, FloatingPointError)


# ------------------------------------------------------- labels mixing numbers and text
MIXED = [1, 1.0, "cat", 1, "cat", 1.0] * 10


def test_one_and_one_point_zero_are_one_class_with_or_without_text():
    assert tables.encode_labels([1, 1.0])[1].tolist() == [1.0]
    for labels in ([1, 1.0, "cat"], ["1", "1.0", "cat"], ["+1", "1.00", "cat"],
                   np.array([1, 1.0, "cat"], dtype=object), np.array([1, "cat", 1.0])):
        indices, classes = tables.encode_labels(labels)
        assert classes.tolist() == ["1", "cat"], labels
        assert indices.tolist() == [0, 0, 1] or indices.tolist() == [0, 1, 0]
        assert tables.infer_task(labels) == "binary"


def test_numbers_among_text_are_spelled_by_their_value():
    labels = [0.5, "0.50", 2, "2.0", 1e20, "100000000000000000000", "cat"]
    classes = tables.encode_labels(labels)[1].tolist()
    assert classes == ["0.5", "100000000000000000000", "2", "cat"]
    # codes are text: a leading zero keeps "007" apart from 7; long IDs stay exact
    ids = ["007", 7, "123456789012345678901", "123456789012345678902", "x"]
    assert len(tables.encode_labels(ids)[1]) == 5
    assert tables.encode_labels(["nan", 1, "inf"])[1].tolist() == ["1", "inf", "nan"]


def test_fit_predict_and_evaluate_agree_on_mixed_labels():
    features = rng.normal(size=(len(MIXED), 2))
    features[[i for i, v in enumerate(MIXED) if v == "cat"], 0] += 4
    model = dp.SigmoidModel(2)
    dp.fit(model, features, MIXED, epochs=200, optimizer=dp.optim.GradientDescent(lr=0.5),
           progress=False, validation_data=(features[:6], [1.0, "1", "cat", 1, "cat", "1.0"]))
    assert model.classes_.tolist() == ["1", "cat"]
    predicted = model.predict(features)
    assert set(predicted.tolist()) <= {"1", "cat"}
    truth = tables.index_labels(MIXED, model.classes_)  # the evaluate / score lookup
    assert truth.tolist() == [1 if v == "cat" else 0 for v in MIXED]
    assert (tables.index_labels(predicted, model.classes_) == truth).mean() > 0.9


def test_the_lookup_at_evaluate_spells_labels_like_fit():
    classes = tables.encode_labels([1, 1.0, "cat"])[1]
    assert tables.index_labels(["1.0", 1, "cat", 1.0, "+1"], classes).tolist() == [0, 0, 1, 0, 0]
    numeric = tables.encode_labels([0, 1, 1])[1]
    assert tables.index_labels(["0", "1.0", 1.0], numeric).tolist() == [0, 1, 1]
    with pytest.raises(ValueError, match=r"labels \['dog'\] that are not among the classes"):
        tables.index_labels(["dog", 1], classes)


def test_missing_labels_are_refused_by_row():
    with pytest.raises(ValueError, match=r"2 missing label\(s\) \(None, NaN or NA\), first at "
                                         r"row 1"):
        tables.encode_labels(np.array([1, None, "a", np.nan], dtype=object))
    import pandas as pd
    with pytest.raises(ValueError, match=r"1 missing label\(s\).*row 2"):
        dp.fit(dp.SigmoidModel(1), np.zeros((3, 1)), pd.Series(["a", "b", pd.NA]),
               progress=False)


def test_a_pandas_column_of_mixed_labels_follows_the_same_rule():
    import pandas as pd
    series = pd.Series([1, "cat", 1.0, "cat"], dtype=object)
    assert tables.encode_labels(series)[1].tolist() == ["1", "cat"]
    numbers = pd.Series([1, 2.5, 3], dtype=object)  # numbers only: numbers (regression)
    assert tables.label_vector(numbers).dtype == np.float64
    assert tables.infer_task(numbers) == "regression"
