"""The model protocol: any dp.nn.Module trains through dp.fit, knows its task and labels
afterwards, and saves and loads (built-in parts from their config; a user-defined Module
into a fresh instance)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

import dlprimer as dp
from dlprimer import nn

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cnn_digits.py"


def digits(n=600):
    d = load_digits()
    X = (d.images[:n] / 16.0).astype(np.float32)[:, None]  # (n, 1, 8, 8)
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven",
                      "eight", "nine"])
    return X, names[d.target[:n]]


class TwoLayer(nn.Module):
    """A user's own Module: forward returns logits, as the protocol asks."""

    def __init__(self, p, K, seed=0):
        rng = np.random.default_rng(seed)
        self.hidden = nn.Dense(p, 16, seed=rng)
        self.out = nn.Dense(16, K, seed=rng)

    def forward(self, X):
        return self.out(self.hidden(X).tanh())


def test_a_sequential_cnn_fits_saves_loads_and_predicts_identically(tmp_path):
    X, y = digits(1000)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Dense(8 * 4 * 4, 10))
    history = dp.fit(model, X[:800], y[:800], optimizer=dp.optim.Adam(lr=3e-3), epochs=10,
                     batch_size=32, progress=False)
    assert history.loss[-1] < history.loss[0]
    assert model.task_ == "multiclass" and model.output == "softmax"
    predicted = model.predict(X[800:])
    assert set(predicted) <= set(y)                      # the original labels, rule (6)
    assert np.mean(predicted == y[800:]) > 0.85
    proba = model.predict_proba(X[800:])
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    back = dp.load(dp.save(model, tmp_path / "cnn.safetensors"))
    assert type(back) is nn.Sequential and [type(m) for m in back.layers] == \
        [type(m) for m in model.layers]
    np.testing.assert_array_equal(back.predict_proba(X[800:]), proba)
    np.testing.assert_array_equal(back.predict(X[800:]), predicted)


def test_a_user_defined_module_fits_and_loads_into_a_fresh_instance(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 4))
    y = np.where(X[:, 0] + X[:, 1] ** 2 > 1, "high", "low")
    model = TwoLayer(4, 1)
    dp.fit(model, X, y, optimizer=dp.optim.Adam(lr=2e-2), epochs=400, standardize=True,
           progress=False)
    assert model.task_ == "binary" and model.output == "sigmoid"
    assert model.predict_proba(X).shape == (300,)
    assert np.mean(model.predict(X) == y) > 0.9
    path = dp.save(model, tmp_path / "mine.safetensors")
    with pytest.raises(dp.ModelFileError, match=r"user-defined TwoLayer.*model=TwoLayer"):
        dp.load(path)
    with pytest.raises(dp.ModelFileError, match=r"'out.W' has shape \(1, 16\), expected \(2, 16\)"):
        dp.load(path, model=TwoLayer(4, 2))
    with pytest.raises(dp.ModelFileError, match=r"do not match the Sequential.*\['hidden.W'"):
        dp.load(path, model=nn.Sequential(nn.Dense(4, 16), nn.Dense(16, 1)))
    with pytest.raises(dp.ModelFileError, match="float32 parameters.*dtype=float32"):
        dp.load(path, model=_float64(TwoLayer(4, 1)))
    back = dp.load(path, model=TwoLayer(4, 1, seed=7))
    np.testing.assert_array_equal(back.predict_proba(X), model.predict_proba(X))
    assert back.predict(X[:3]).tolist() == model.predict(X[:3]).tolist()
    assert back.standardizer is not None and back.classes_.tolist() == ["high", "low"]


def _float64(module):
    for ell in (module.hidden, module.out):
        ell.W = nn.Parameter(ell.W.data, np.float64)
        ell.b = nn.Parameter(ell.b.data, np.float64)
    return module


def test_a_module_with_several_outputs_regresses_with_mse():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 3))
    Y = np.column_stack([X @ [1.0, -2.0, 0.5], X[:, 0] - X[:, 2]])
    model = TwoLayer(3, 2)
    history = dp.fit(model, X, Y, loss="mse", optimizer=dp.optim.Adam(lr=1e-2), epochs=150,
                     progress=False)
    assert model.task_ == "regression" and history.metric[-1] > 0.9   # R²
    assert model.predict(X).shape == (200, 2)


def test_fit_refuses_what_is_not_a_module_and_standardize_on_images():
    with pytest.raises(TypeError, match="dp.nn.Module"):
        dp.fit(object(), np.zeros((2, 2)), [0, 1])
    X, y = digits(40)
    with pytest.raises(ValueError, match="standardize=True standardizes the p columns"):
        dp.fit(nn.Sequential(nn.Flatten(), nn.Dense(64, 10)), X, y, standardize=True,
               progress=False)


def test_the_cnn_example_trains_with_fit_and_round_trips(capsys):
    spec = importlib.util.spec_from_file_location("cnn_digits", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    assert example.main(epochs=4) > 0.85
    assert "predicting the same" in capsys.readouterr().out
