"""dp.fit on real data and against real peers (scikit-learn, PyTorch)."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

import dlprimer as dp
from dlprimer.data.datasets import load
from dlprimer.training import data_loss


@pytest.fixture(scope="module")
def cancer():
    d = load("breast_cancer")
    X_train, X_test, y_train, y_test = dp.data.train_test_split(d.X, d.y, 0.25, seed=0)
    scaler = dp.data.Standardizer().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def test_model_one_lbfgs_reaches_the_logistic_regression_optimum(cancer):
    X_train, X_test, y_train, y_test = cancer
    n = len(y_train)
    ref = LogisticRegression(C=1.0, tol=1e-12, max_iter=10_000).fit(X_train, y_train)
    m = dp.SigmoidModel(X_train.shape[1], dtype=np.float64)
    # sklearn minimizes ½‖w‖² + C Σ log-loss; divided by C n that is our
    # mean log-loss + (l2/2)‖w‖² with l2 = 1 / (C n): the same minimizer.
    history = dp.fit(m, X_train, y_train, optimizer=dp.optim.LBFGS(tol=1e-10), epochs=1000,
                     l2=1.0 / n, progress=False)
    ours = float(data_loss(m, X_train, y_train.astype(float), "cross_entropy", 1.0 / n).data)
    twin = dp.SigmoidModel(X_train.shape[1], dtype=np.float64)
    twin.w.data[:] = ref.coef_[0]
    twin.b0.data[...] = ref.intercept_[0]
    theirs = float(data_loss(twin, X_train, y_train.astype(float), "cross_entropy",
                             1.0 / n).data)
    assert ours <= theirs + 1e-6
    assert abs(ours - theirs) < 1e-6
    accuracy = np.mean(m.predict(X_test) == y_test)
    assert abs(accuracy - ref.score(X_test, y_test)) <= 0.01
    assert "L-BFGS" in history.stop_reason


def test_model_one_on_separable_data_without_penalty_terminates(cancer):
    # the 30 standardized features separate the classes: the unpenalized optimum is at
    # infinity. Training must stop (max iterations) with finite parameters, not crash.
    X_train, _, y_train, _ = cancer
    m = dp.SigmoidModel(X_train.shape[1], dtype=np.float64)
    history = dp.fit(m, X_train, y_train, optimizer=dp.optim.LBFGS(), epochs=200,
                     progress=False)
    assert np.all(np.isfinite(m.theta()))
    assert history.epochs <= 200
    assert np.mean(m.predict(X_train) == y_train) == 1.0
    m2 = dp.SigmoidModel(X_train.shape[1])
    dp.fit(m2, X_train, y_train, optimizer=dp.optim.GradientDescent(lr=1.0), epochs=300,
           progress=False)
    assert np.all(np.isfinite(m2.theta()))


def test_model_three_on_digits_reaches_95_percent():
    d = load("digits")
    X_train, X_test, y_train, y_test = dp.data.train_test_split(d.X, d.y, 0.25, seed=0)
    net = dp.FeedForward([64, 64, 10], activation="relu", output="softmax", seed=0)
    history = dp.fit(net, X_train, y_train, optimizer=dp.optim.Adam(lr=0.01), epochs=30,
                     batch_size=64, standardize=True, progress=False)
    assert history.loss[-1] < history.loss[0]
    assert np.mean(net.predict(X_test) == y_test) >= 0.95


def test_model_two_with_string_labels_and_dataframe():
    import pandas as pd
    d = load("iris")
    names = np.array(d.class_names)[d.y]
    frame = pd.DataFrame(d.X, columns=d.feature_names)
    m = dp.SoftmaxModel(4, 3)
    history = dp.fit(m, frame, names, optimizer=dp.optim.Adam(lr=0.05), epochs=200,
                     standardize=True, validation_split=0.2, progress=False)
    assert m.feature_names == list(d.feature_names)
    assert set(m.predict(frame)) <= set(d.class_names)
    assert np.mean(m.predict(frame) == names) > 0.93
    assert len(history.val_loss) == len(history.loss) == 200
    assert history.val_metric[-1] > 0.85


def _torch_net(net):
    layers = []
    for k, layer in enumerate(net.layers):
        linear = torch.nn.Linear(layer.in_features, layer.out_features, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(layer.W.data))
            linear.bias.copy_(torch.from_numpy(layer.b.data))
        layers.append(linear)
        if k < len(net.layers) - 1:
            layers.append(torch.nn.Tanh())
    return torch.nn.Sequential(*layers)


@pytest.mark.parametrize("flat", [True, False])
@pytest.mark.parametrize("name", ["sgd", "nesterov", "adam"])
def test_feedforward_training_matches_pytorch_step_by_step(monkeypatch, name, flat):
    # flat: θ updated as one vector (small models) or parameter by parameter (large ones).
    # On the third batch one bias gets no gradient: both skip it, as torch does.
    if not flat:
        monkeypatch.setattr(dp.optim.Optimizer, "FLAT_MAX", 0)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 5))
    y = rng.integers(0, 3, size=40)
    net = dp.FeedForward([5, 7, 3], activation="tanh", output="softmax", dtype=np.float64)
    ref = _torch_net(net)
    if name in ("sgd", "nesterov"):
        ours = dp.optim.SGD(lr=0.1, momentum=0.9, nesterov=name == "nesterov")
        theirs = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9,
                                 nesterov=name == "nesterov")
    else:
        ours = dp.optim.Adam(lr=0.01)
        theirs = torch.optim.Adam(ref.parameters(), lr=0.01)
    ours.setup(net.parameters())
    batches = [np.arange(0, 20), np.arange(20, 40), np.arange(10, 30), np.arange(0, 40),
               np.arange(5, 25)]
    for step, idx in enumerate(batches):  # the same 5 batches on both sides
        net.zero_grad()
        loss = data_loss(net, X[idx], y[idx], "cross_entropy")
        loss.backward()
        theirs.zero_grad()
        ref_loss = torch.nn.functional.cross_entropy(ref(torch.from_numpy(X[idx])),
                                                     torch.from_numpy(y[idx]))
        ref_loss.backward()
        if step == 2:
            net.layers[0].b.grad = ref[0].bias.grad = None
        ours.step()
        theirs.step()
        assert float(loss.data) == pytest.approx(ref_loss.item(), rel=1e-6)
    for layer, linear in zip(net.layers, [m for m in ref if isinstance(m, torch.nn.Linear)],
                             strict=True):
        np.testing.assert_allclose(layer.W.data, linear.weight.detach().numpy(), rtol=1e-6,
                                   atol=1e-10)
        np.testing.assert_allclose(layer.b.data, linear.bias.detach().numpy(), rtol=1e-6,
                                   atol=1e-10)


def test_gradient_descent_is_equation_31():
    m = dp.SigmoidModel(2, dtype=np.float64)
    X, y = np.array([[1.0, 2.0], [-1.0, 0.5]]), np.array([1, 0])
    theta0 = m.theta().copy()
    m.zero_grad()
    data_loss(m, X, y.astype(float), "cross_entropy").backward()
    grad = np.concatenate([m.b0.grad.ravel(), m.w.grad])
    dp.fit(m, X, y, optimizer=dp.optim.GradientDescent(lr=0.3), epochs=1, progress=False,
           standardize=False)
    np.testing.assert_allclose(m.theta(), theta0 - 0.3 * grad)  # θ¹ = θ⁰ - α ∇C(θ⁰)


def test_divergence_names_the_learning_rate_and_keeps_finite_parameters():
    d = load("diabetes")
    net = dp.FeedForward([10, 8, 1], activation="relu", output="identity")
    with pytest.raises(dp.DivergenceError, match=r"learning rate α = 1e\+06"):
        dp.fit(net, d.X * 100, d.y, optimizer=dp.optim.GradientDescent(lr=1e6), epochs=50,
               progress=False)
    assert np.all(np.isfinite(net.theta()))


def test_early_stopping_restores_the_best_epoch():
    d = load("breast_cancer")
    net = dp.FeedForward([30, 64, 1], activation="relu", seed=1)
    history = dp.fit(net, d.X, d.y, optimizer=dp.optim.Adam(lr=0.05), epochs=500,
                     validation_split=0.3, early_stopping=5, standardize=True, progress=False)
    assert history.epochs < 500
    assert "early stopping" in history.stop_reason
    best = int(np.argmin(history.val_loss))
    assert history.best_epoch == best + 1


def test_termination_on_tolerance_and_gradient_norm():
    d = load("iris")
    h = dp.fit(dp.SoftmaxModel(4, 3), d.X, d.y, optimizer=dp.optim.Adam(lr=0.1), epochs=5000,
               tol=1e-4, standardize=True, progress=False)
    assert "tol" in h.stop_reason and h.epochs < 5000
    h = dp.fit(dp.SoftmaxModel(4, 3), d.X, d.y, optimizer=dp.optim.GradientDescent(lr=0.5),
               epochs=5000, grad_tol=1e-2, standardize=True, progress=False)
    assert "grad_tol" in h.stop_reason and h.epochs < 5000


def test_regression_with_mse():
    d = load("diabetes")
    net = dp.FeedForward([10, 16, 1], activation="tanh", output="identity")
    y = (d.y - d.y.mean()) / d.y.std()
    h = dp.fit(net, d.X, y, optimizer=dp.optim.Adam(lr=0.01), epochs=300, standardize=True,
               progress=False)
    assert h.metric_name == "r2" and h.metric[-1] > 0.45
    assert net.predict(d.X[:3]).shape == (3,)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(epochs=0), ValueError, "epochs must be a positive integer"),
        (dict(batch_size=0), ValueError, "batch_size"),
        (dict(loss="hinge"), ValueError, "loss must be one of"),
        (dict(validation_split=1.5), ValueError, r"validation_split must lie in \(0, 1\)"),
        (dict(optimizer="adam"), TypeError, "dp.optim"),
    ],
)
def test_bad_fit_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        dp.fit(dp.SigmoidModel(2), np.ones((4, 2)), [0, 1, 0, 1], progress=False, **kwargs)


def test_bad_data_is_explained():
    m = dp.SigmoidModel(2)
    with pytest.raises(ValueError, match="3 rows but y has 2"):
        dp.fit(m, np.ones((3, 2)), [0, 1], progress=False)
    with pytest.raises(ValueError, match="has 3 columns but the model expects p=2"):
        dp.fit(m, np.ones((3, 3)), [0, 1, 0], progress=False)
    with pytest.raises(ValueError, match="two classes, but y has 3"):
        dp.fit(m, np.ones((3, 2)), [0, 1, 2], progress=False)
    with pytest.raises(ValueError, match="NaN"):
        dp.fit(m, np.array([[1.0, np.nan], [0.0, 1.0]]), [0, 1], progress=False)
    with pytest.raises(ValueError, match="K=2 outputs"):
        dp.fit(dp.SoftmaxModel(2, 2), np.ones((3, 2)), ["a", "b", "c"], progress=False)


@pytest.mark.parametrize("name, kwargs, message", [
    ("GradientDescent", dict(lr=0), "lr"),
    ("GradientDescent", dict(lr=-1), "lr"),
    ("SGD", dict(momentum=1.0), "momentum"),
    ("SGD", dict(nesterov=True), "nesterov"),
    ("Adam", dict(beta1=1.0), "beta1"),
    ("Adam", dict(eps=0), "eps"),
    ("LBFGS", dict(max_iter=0), "max_iter"),
])
def test_optimizer_hyperparameters_are_checked(name, kwargs, message):
    with pytest.raises(ValueError, match=message):
        getattr(dp.optim, name)(**kwargs)


def test_progress_bar_is_silent_when_not_a_terminal(capsys):
    d = load("iris")
    h = dp.fit(dp.SoftmaxModel(4, 3), d.X, d.y, epochs=3, progress=True)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""  # pytest's streams are not TTYs
    assert h.epochs == 3


def test_progress_bar_on_a_terminal(monkeypatch, capsys):
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    d = load("iris")
    dp.fit(dp.SoftmaxModel(4, 3), d.X, d.y, epochs=3, progress=True)
    err = capsys.readouterr().err
    assert "3/3" in err and "epoch" in err


def test_history_diagnoses_itself():
    d = load("iris")
    h = dp.fit(dp.SoftmaxModel(4, 3), d.X, d.y, optimizer=dp.optim.Adam(lr=0.01), epochs=20,
               standardize=True, validation_split=0.2, progress=False)
    sentences = h.diagnose()
    assert any("still falling" in s for s in sentences)


def test_optimizers_with_no_parameters_or_mixed_dtypes():
    for opt in (dp.optim.GradientDescent(0.1), dp.optim.SGD(0.1, momentum=0.5),
                dp.optim.Adam(0.1)):
        opt.setup([])
        opt.step()  # nothing to do, no error
        a = dp.Tensor(np.ones(3, np.float32), requires_grad=True)
        b = dp.Tensor(np.ones(2), requires_grad=True)  # float64: state kept per parameter
        opt.setup([a, b])
        (a.sum() + 2 * b.sum()).backward()
        opt.step()
        assert a.data.dtype == np.float32 and b.data.dtype == np.float64
        assert np.all(a.data < 1) and np.all(b.data < 1)
