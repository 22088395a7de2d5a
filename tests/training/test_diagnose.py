"""dlprimer.training.diagnose: each rule on synthetic loss curves, its advice named for the
audience (Python arguments or CLI flags), and no two sentences that contradict each other."""

import itertools
import re

import numpy as np
import pytest

import dlprimer as dp
from dlprimer.training import History
from dlprimer.training.diagnose import diagnose

AUDIENCES = ["python", "cli"]

# --- synthetic curves -------------------------------------------------------------------
EPOCHS = np.arange(1, 61)
FALLING = list(1.0 / EPOCHS)                                   # 1/t: still falling at the end
LEVEL = list(0.1 + np.exp(-np.arange(200) / 5.0))              # flat after ~50 epochs
RISING_VAL = list(0.5 + 0.002 * (EPOCHS - 20) ** 2)            # lowest 0.5 at epoch 20, 3.7 at 60
HEALTHY_VAL = list(np.exp(-EPOCHS / 15) + 0.05)                # lowest at the last epoch
ZIGZAG = list(1.0 + 0.5 * np.exp(-np.arange(80) / 40) + 0.2 * (-1.0) ** np.arange(80))
DIVERGED = [1.0, 0.8, 0.9, 3.0, 40.0, float("inf")]


def numbers_in(sentence: str) -> list[str]:
    return re.findall(r"\d+(?:\.\d+)?", sentence)


def is_overfitting(sentence: str) -> bool:
    return sentence.startswith("Overfitting")


def says_more_epochs(sentence: str) -> bool:
    """Advice to train longer, in either audience's words."""
    return bool(re.search(r"more epochs|train longer|epochs=|--epochs", sentence))


def says_trend(sentence: str) -> bool:
    return sentence.startswith("The training loss is still falling") or \
        sentence.startswith("The training loss has levelled") or \
        sentence.startswith("The training loss rose")


# --- each rule, both audiences ------------------------------------------------------------

@pytest.mark.parametrize("audience, knob", [("python", "epochs=200"), ("cli", "--epochs 200")])
def test_still_falling_advises_more_epochs(audience, knob):
    h = History(loss=list(1.0 / np.arange(1, 101)))  # 1/t: 10% lower over epochs 90..100
    notes = diagnose(h, audience=audience)
    assert "still falling" in notes[0] and knob in notes[0]
    assert "10 epochs" in notes[0] and "epoch 90" in notes[0] and "epoch 100" in notes[0]
    assert "does not oscillate" in notes[-1]


def test_levelled_off_gives_no_advice():
    for audience in AUDIENCES:
        notes = diagnose(History(loss=LEVEL), audience=audience)
        assert "levelled off" in notes[0]
        assert not any(says_more_epochs(n) for n in notes)


@pytest.mark.parametrize("audience, early, l2", [
    ("python", "early_stopping=6", "l2=1e-3"), ("cli", "--early-stopping 6", "--l2 1e-3")])
def test_overfitting_comes_first_and_names_the_knobs(audience, early, l2):
    notes = diagnose(History(loss=list(np.exp(-EPOCHS / 15)), val_loss=RISING_VAL),
                     audience=audience)
    assert is_overfitting(notes[0]) and sum(map(is_overfitting, notes)) == 1
    assert "epoch 20" in notes[0] and "0.5" in notes[0] and "3.7" in notes[0]
    assert "640%" in notes[0]  # (3.7 - 0.5) / 0.5
    assert early in notes[0] and l2 in notes[0]
    assert not any(says_more_epochs(n) for n in notes)
    healthy = diagnose(History(loss=list(np.exp(-EPOCHS / 15)), val_loss=HEALTHY_VAL),
                       audience=audience)
    assert any(n.startswith("No sign of overfitting") for n in healthy)


def test_overfitting_after_early_stopping_does_not_advise_early_stopping():
    h = History(loss=list(np.exp(-EPOCHS / 15)), val_loss=RISING_VAL, best_epoch=20,
                stop_reason="early stopping: val_loss did not improve for 40 epochs")
    for audience, absent, present in [("python", "early_stopping=", "l2="),
                                      ("cli", "--early-stopping", "--l2")]:
        notes = diagnose(h, audience=audience)
        assert is_overfitting(notes[0]) and "restored the parameters of epoch 20" in notes[0]
        assert absent not in notes[0] and present in notes[0]
        assert notes[-1].startswith("Training stopped after 60 epochs: early stopping")


@pytest.mark.parametrize("audience, lr, batch", [
    ("python", "lr=", "batch_size="), ("cli", "--lr", "--batch-size")])
def test_oscillation_names_the_learning_rate(audience, lr, batch):
    notes = diagnose(History(loss=ZIGZAG), audience=audience)
    wobble = [n for n in notes if "oscillates" in n]
    assert len(wobble) == 1 and notes[0] == wobble[0]
    assert "78 times in 79 steps" in wobble[0] and lr in wobble[0] and batch in wobble[0]
    assert not any(says_more_epochs(n) for n in notes)


@pytest.mark.parametrize("audience, lr", [("python", "lr="), ("cli", "--lr")])
def test_divergence_says_nothing_about_the_trend(audience, lr):
    notes = diagnose(History(loss=DIVERGED, stop_reason="the loss diverged"), audience=audience)
    assert "epoch 6" in notes[0] and "diverged" in notes[0] and lr in notes[0]
    assert not any(says_trend(n) or "oscillat" in n or says_more_epochs(n) for n in notes)
    assert notes[-1].startswith("Training stopped after 6 epochs")


@pytest.mark.parametrize("audience, lr", [("python", "lr="), ("cli", "--lr")])
def test_rising_training_loss_blames_the_learning_rate(audience, lr):
    notes = diagnose(History(loss=[1.0, 0.9, 0.8, 0.7, 0.9, 1.2]), audience=audience)
    rose = [n for n in notes if n.startswith("The training loss rose")]
    assert len(rose) == 1 and lr in rose[0]


def test_short_runs_and_no_epochs():
    assert "too few" in diagnose(History(loss=[1.0]))[0]
    assert "No epochs" in diagnose(History())[0]
    assert "No epochs" in diagnose(History(), audience="cli")[0]


def test_feature_scales_far_apart_say_standardize_in_python_only():
    h = History(loss=FALLING, feature_scale_ratio=15000.0)
    notes = diagnose(h)
    scale = [n for n in notes if "standardization" in n]
    assert len(scale) == 1 and "15,000" in scale[0] and "standardize=True" in scale[0]
    assert notes[0] == scale[0]  # nothing worse was found, so it comes first
    # the CLI always standardizes: never advise it there
    assert not any("standardiz" in n.lower() for n in diagnose(h, audience="cli"))
    # below the threshold, or standardized (None): nothing said
    for ratio in (None, 999.0):
        assert not any("standardiz" in n.lower()
                       for n in diagnose(History(loss=FALLING, feature_scale_ratio=ratio)))
    # also beside a divergence and a short run
    assert any("15,000" in n for n in diagnose(History(loss=DIVERGED, feature_scale_ratio=2e4
                                                       - 5000)))
    assert any("standardize=True" in n
               for n in diagnose(History(loss=[1.0], feature_scale_ratio=1e4)))


def test_bad_audience_names_both():
    with pytest.raises(ValueError, match='"python" or "cli"'):
        diagnose(History(loss=FALLING), audience="notebook")


def test_history_diagnose_passes_the_audience():
    h = History(loss=FALLING)
    assert h.diagnose() == diagnose(h)
    assert h.diagnose(audience="cli") == diagnose(h, audience="cli")
    assert any("--epochs" in n for n in h.diagnose(audience="cli"))


# --- never contradict -------------------------------------------------------------------

def _curves():
    """(name, History kwargs): rising val + falling train, oscillating, diverged, still
    falling, levelled; with and without a healthy validation curve and early stopping."""
    t = np.arange(1, 61)
    falling = np.exp(-t / 15) + 0.01
    shapes = {
        "overfit": dict(loss=list(falling), val_loss=RISING_VAL),
        "overfit-mild": dict(loss=list(falling), val_loss=list(0.5 + 0.0002 * (t - 40) ** 2)),
        "oscillating": dict(loss=ZIGZAG),
        "oscillating-with-val": dict(loss=ZIGZAG, val_loss=list(np.asarray(ZIGZAG) + 0.1)),
        "diverged": dict(loss=DIVERGED),
        "diverged-with-val": dict(loss=DIVERGED, val_loss=[1.0, 0.9, 1.0, 2.0, 30.0, np.nan]),
        "still-falling": dict(loss=FALLING),
        "still-falling-healthy-val": dict(loss=FALLING, val_loss=HEALTHY_VAL),
        "still-falling-stalled-val": dict(loss=FALLING, val_loss=list(0.5 + 0.0001 * (t - 50)
                                                                      ** 2)),
        "levelled": dict(loss=LEVEL),
    }
    for (name, kwargs), early, ratio in itertools.product(shapes.items(), [None, 20],
                                                          [None, 5e4]):
        yield f"{name}-early{early}-ratio{ratio}", dict(kwargs, best_epoch=early,
                                                         feature_scale_ratio=ratio)


@pytest.mark.parametrize("audience", AUDIENCES)
def test_no_grid_curve_gets_contradicting_advice(audience):
    for name, kwargs in _curves():
        notes = diagnose(History(**kwargs), audience=audience)
        overfit = any(map(is_overfitting, notes))
        more = any(map(says_more_epochs, notes))
        assert not (overfit and more), (name, notes)
        if "diverged" in name:
            assert not any(says_trend(n) for n in notes), (name, notes)
        if "oscillating" in name or kwargs["best_epoch"] is not None or "stalled" in name:
            assert not more, (name, notes)
        if name.startswith("overfit"):
            assert is_overfitting(notes[0]), (name, notes)
        if name.startswith("still-falling-early") or name.startswith("still-falling-healthy"
                                                                      "-val-earlyNone"):
            assert more == (kwargs["best_epoch"] is None), (name, notes)
        # advice in the other audience's words never leaks in
        text = " ".join(notes)
        if audience == "cli":
            assert "=" not in re.sub(r"R² = |d = |α = ", "", text), (name, notes)
            assert "standardiz" not in text.lower(), (name, notes)
        else:
            assert "--" not in text, (name, notes)


def test_a_real_fit():
    ds = dp.datasets.load("iris")
    X, y = ds.X[:, 2:], np.array(ds.class_names)[ds.y]
    history = dp.fit(dp.SoftmaxModel(2, 3), X, y, optimizer=dp.optim.Adam(lr=0.05), epochs=40,
                     validation_split=0.2, standardize=True, progress=False)
    for audience in AUDIENCES:
        notes = diagnose(history, audience=audience)
        assert len(notes) == 4 and all(numbers_in(n) for n in notes)
        assert notes[-1].startswith("Training stopped after 40 epochs")
