"""save/load: identical predictions, safe parsing, atomic writes, clear errors."""

import json
import os
import struct

import numpy as np
import pytest

import dlprimer as dp
from dlprimer.data.datasets import load


@pytest.fixture(scope="module")
def trained():
    d = load("iris")
    names = np.array(d.class_names)[d.y]
    net = dp.FeedForward([4, 8, 3], activation="relu", output="softmax")
    dp.fit(net, d.X, names, optimizer=dp.optim.Adam(lr=0.05), epochs=50, standardize=True,
           progress=False)
    return net, d.X


def test_save_load_gives_identical_predictions(tmp_path, trained):
    net, X = trained
    path = dp.save(net, tmp_path / "iris.safetensors")
    back = dp.load(path)
    np.testing.assert_array_equal(back.predict_proba(X), net.predict_proba(X))
    np.testing.assert_array_equal(back.predict(X), net.predict(X))
    assert back.classes_.tolist() == net.classes_.tolist()
    assert back.sizes == net.sizes and back.activation == "relu"
    assert back.standardizer is not None


@pytest.mark.parametrize("model", [dp.SigmoidModel(3), dp.SoftmaxModel(3, 4),
                                   dp.FeedForward([3, 2, 1], output="identity",
                                                  dtype=np.float64)])
def test_every_model_kind_round_trips(tmp_path, model):
    path = dp.save(model, tmp_path / "m.safetensors")
    back = dp.load(path)
    assert type(back) is type(model)
    np.testing.assert_array_equal(back.theta(), model.theta())
    assert back.dtype == model.dtype


def test_the_file_is_plain_safetensors_with_json_metadata(tmp_path, trained):
    from safetensors.numpy import load_file

    net, _ = trained
    path = dp.save(net, tmp_path / "m.safetensors")
    tensors = load_file(str(path))
    assert set(tensors) == {"layers.0.W", "layers.0.b", "layers.1.W", "layers.1.b"}
    raw = path.read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    meta = json.loads(json.loads(raw[8:8 + size])["__metadata__"]["dlprimer"])
    assert meta["kind"] == "FeedForward" and meta["dlprimer_version"] == dp.__version__
    assert meta["classes"] == ["setosa", "versicolor", "virginica"]
    assert b"pickle" not in raw


def test_truncated_file_raises_a_clear_error(tmp_path, trained):
    net, _ = trained
    path = dp.save(net, tmp_path / "m.safetensors")
    raw = path.read_bytes()
    for cut in (4, 20, len(raw) // 2, len(raw) - 3):
        bad = tmp_path / f"cut{cut}.safetensors"
        bad.write_bytes(raw[:cut])
        with pytest.raises(dp.ModelFileError, match=str(bad.name)):
            dp.load(bad)


def test_corrupted_and_foreign_files_raise_clear_errors(tmp_path, trained):
    net, _ = trained
    path = dp.save(net, tmp_path / "m.safetensors")
    raw = bytearray(path.read_bytes())
    raw[10:20] = b"\xff" * 10  # garble the JSON header
    bad = tmp_path / "garbled.safetensors"
    bad.write_bytes(bytes(raw))
    with pytest.raises(dp.ModelFileError, match="garbled.safetensors"):
        dp.load(bad)
    text = tmp_path / "notes.safetensors"
    text.write_text("hello, this is not a model at all")
    with pytest.raises(dp.ModelFileError, match="notes.safetensors"):
        dp.load(text)
    from safetensors.numpy import save_file

    foreign = tmp_path / "foreign.safetensors"
    save_file({"x": np.zeros(3, dtype=np.float32)}, str(foreign))
    with pytest.raises(dp.ModelFileError, match="not a dlprimer model"):
        dp.load(foreign)
    with pytest.raises(FileNotFoundError, match="no model file"):
        dp.load(tmp_path / "missing.safetensors")


def test_write_is_atomic(tmp_path, trained, monkeypatch):
    net, X = trained
    path = dp.save(net, tmp_path / "m.safetensors")
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        dp.save(dp.SigmoidModel(2), path)
    assert path.read_bytes() == before  # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]  # no temp left behind


def _with_metadata(tmp_path, model, **changes):
    """A model file whose dlprimer metadata has ``changes`` applied, as an editor would."""
    from safetensors.numpy import load as decode
    from safetensors.numpy import save as encode

    raw = dp.save(model, tmp_path / "m.safetensors").read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    metadata = json.loads(raw[8:8 + size])["__metadata__"]
    config = json.loads(metadata["dlprimer"])
    config.update(changes)
    edited = tmp_path / "edited.safetensors"
    edited.write_bytes(encode(decode(raw), metadata={"dlprimer": json.dumps(config)}))
    return edited


@pytest.fixture(scope="module")
def binary():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    y = np.array(["no", "yes"])[(X[:, 0] > 0).astype(int)]
    model = dp.SigmoidModel(3)
    dp.fit(model, X, y, epochs=5, standardize=True, progress=False)
    return model


@pytest.mark.parametrize("changes, match", [
    ({"format_version": "2"}, "invalid format_version '2'"),
    ({"format_version": 1.5}, "invalid format_version"),
    ({"dtype": "bogus"}, "invalid dtype 'bogus'.*'float32' or 'float64'"),
    ({"dtype": "int64"}, "invalid dtype 'int64'"),
    ({"classes": ["no", "yes", "maybe"]}, "3 class.*sigmoid output needs exactly 2"),
    ({"classes": ["no"]}, "1 class.*sigmoid output needs exactly 2"),
    ({"classes": "no,yes"}, "'classes' .* must be a list"),
    ({"standardizer": {"mean": [0.0, 0.0, 0.0]}}, "invalid standardizer.*missing \\['scale'\\]"),
    ({"standardizer": [1, 2]}, "invalid standardizer"),
    ({"standardizer": {"mean": [0.0, 0.0], "scale": [1.0, 1.0]}},
     "standardizer has 2 feature.*expects p=3"),
    ({"feature_names": ["a", "b"]}, "'feature_names' .* list of p=3"),
])
def test_edited_metadata_raises_a_clear_error_at_load(tmp_path, binary, changes, match):
    with pytest.raises(dp.ModelFileError, match=match):
        dp.load(_with_metadata(tmp_path, binary, **changes))


def test_softmax_classes_must_match_the_outputs(tmp_path):
    model = dp.SoftmaxModel(2, 3)
    dp.fit(model, [[0, 1], [1, 0], [1, 1]], ["a", "b", "c"], epochs=1, progress=False)
    with pytest.raises(dp.ModelFileError, match="2 class.*softmax output needs exactly 3"):
        dp.load(_with_metadata(tmp_path, model, classes=["a", "b"]))
    assert dp.load(_with_metadata(tmp_path, model)).classes_.tolist() == ["a", "b", "c"]


def test_a_directory_is_named_as_such(tmp_path, binary):
    with pytest.raises(dp.ModelFileError, match="is a directory"):
        dp.load(tmp_path)
    with pytest.raises(IsADirectoryError, match="is a directory.*model.safetensors"):
        dp.save(binary, tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing written, no temp file left
