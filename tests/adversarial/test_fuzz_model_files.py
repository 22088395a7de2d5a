"""A fuzzer for dp.load: valid model files, mutated where a corrupting disk, a truncating
copy or a hostile editor would (header bytes, the length prefix, JSON values and their
types, dtypes, shapes, offsets, nesting, truncation). Whatever it makes, dp.load returns a
model that predicts finite values on the rows it was fit on, or raises a ModelFileError
(a ValueError) naming the file; nothing else, and never more memory than 10× the file.

The tensors' bytes are left alone: finite but extreme weights (or a standardizer's extreme
but finite mean) can overflow a forward pass, which is numerics, not the file's validity;
for the same reason the numbers drawn for the metadata stay within ±1e6, besides the
non-finite ones (NaN, Infinity, 1e999), which must be refused.
"""

import functools
import json
import struct
import tracemalloc

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dlprimer as dp
from dlprimer import nn

FUZZ = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@functools.cache
def bases() -> list[tuple[bytes, object]]:
    """(file bytes, valid input) of three fitted models: a FeedForward on a matrix with a
    standardizer, a Sequential with BatchNorm (an int64 buffer), a FeedForward on a table
    with a Preprocessor."""
    import tempfile
    from pathlib import Path

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    folder = Path(tempfile.mkdtemp())
    out = []
    net = dp.FeedForward([3, 4, 1], activation="tanh")
    dp.fit(net, X, y, epochs=3, standardize=True, progress=False)
    net.feature_names = ["a", "b", "c"]
    out.append((dp.save(net, folder / "ff.safetensors").read_bytes(), X))
    seq = nn.Sequential(nn.Dense(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Dense(4, 3))
    dp.fit(seq, X, rng.integers(0, 3, 40), epochs=3, progress=False)
    out.append((dp.save(seq, folder / "seq.safetensors").read_bytes(), X))
    table = pd.DataFrame({"x": X[:, 0], "size": rng.choice(["S", "M", "L"], 40),
                          "z": X[:, 2]})
    pre = dp.FeedForward([5, 3, 1], activation="relu")
    dp.fit(pre, table, y, epochs=3, progress=False)
    out.append((dp.save(pre, folder / "table.safetensors").read_bytes(), table))
    return out


def split(raw: bytes) -> tuple[dict, dict, bytes]:
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + size])
    return header, json.loads(header["__metadata__"]["dlprimer"]), raw[8 + size:]


def join(header: dict, config, data: bytes) -> bytes:
    header = {**header, "__metadata__": {"dlprimer": json.dumps(config)}}
    body = json.dumps(header).encode()
    return struct.pack("<Q", len(body)) + body + data


NUMBERS = st.one_of(st.integers(-3, 12), st.sampled_from([0, 2**31, 2**32 + 1, 2**63, 10**30]),
                    st.integers(-2**70, 2**70), st.floats(-1e6, 1e6),
                    st.sampled_from([float("nan"), float("inf"), -float("inf")]))
WORDS = st.sampled_from(["F32", "F64", "I64", "I32", "BOOL", "float32", "float64", "sigmoid",
                         "softmax", "identity", "binary", "regression", "b", "U", "f", "O",
                         "Dense", "Sequential", "FeedForward", "ReLU", "relu", "", "yes"])
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, WORDS, st.text(max_size=6))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.one_of(WORDS, st.text(max_size=4)), inner,
                                        max_size=3), max_leaves=8)


def paths(value, prefix=()):
    """Every (path, value) inside a JSON value, the root first."""
    yield prefix, value
    items = value.items() if isinstance(value, dict) else (
        enumerate(value) if isinstance(value, list) else ())
    for key, inner in items:
        yield from paths(inner, (*prefix, key))


def replaced(root, path, new):
    if not path:
        return new
    root = json.loads(json.dumps(root))  # a deep copy
    target = root
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return root


def mutate(data, raw: bytes) -> bytes:
    header, config, tensors = split(raw)
    entries = {k: v for k, v in header.items() if k != "__metadata__"}
    names = sorted(entries)
    how = data.draw(st.sampled_from(["config", "delete", "tensor", "dtype", "shape", "offsets",
                                     "prefix", "flip", "cut", "nest", "rename"]))
    if how == "config":  # any value in the metadata, replaced by any JSON value
        path, _ = data.draw(st.sampled_from(list(paths(config))))
        return join(header, replaced(config, path, data.draw(VALUES)), tensors)
    if how == "delete":  # a key of some object in the metadata, removed
        objects = [(p, v) for p, v in paths(config) if isinstance(v, dict) and v]
        path, obj = data.draw(st.sampled_from(objects))
        key = data.draw(st.sampled_from(sorted(obj)))
        return join(header, replaced(config, path, {k: v for k, v in obj.items()
                                                    if k != key}), tensors)
    name = data.draw(st.sampled_from(names))
    if how == "tensor":  # anything in a tensor's header entry
        path, _ = data.draw(st.sampled_from(list(paths(entries[name]))))
        header[name] = replaced(entries[name], path, data.draw(VALUES))
        return join(header, config, tensors)
    if how == "dtype":
        header[name] = {**entries[name], "dtype": data.draw(WORDS)}
        return join(header, config, tensors)
    if how == "shape":
        dims = st.one_of(st.integers(0, 8), st.sampled_from([2**31, 10**12, 2**63]))
        header[name] = {**entries[name], "shape": data.draw(st.lists(dims, max_size=4))}
        return join(header, config, tensors)
    if how == "offsets":
        begin, end = entries[name]["data_offsets"]
        near = st.integers(-8, 8)
        header[name] = {**entries[name], "data_offsets": [begin + data.draw(near),
                                                          end + data.draw(near)]}
        return join(header, config, tensors)
    if how == "rename":
        header[data.draw(WORDS | st.sampled_from(names))] = header.pop(name)
        return join(header, config, tensors)
    raw = join(header, config, tensors)
    (size,) = struct.unpack("<Q", raw[:8])
    if how == "prefix":
        claim = data.draw(st.one_of(st.integers(0, 2**64 - 1), st.integers(size - 16, size + 16)
                                    .map(lambda n: max(n, 0))))
        return struct.pack("<Q", claim) + raw[8:]
    if how == "flip":  # up to 4 bytes of the prefix or the header
        out = bytearray(raw)
        for _ in range(data.draw(st.integers(1, 4))):
            out[data.draw(st.integers(0, 8 + size - 1))] = data.draw(st.integers(0, 255))
        return bytes(out)
    if how == "cut":
        return raw[:data.draw(st.integers(0, len(raw) - 1))] + data.draw(st.binary(max_size=8))
    depth = data.draw(st.integers(1, 3000))  # "nest": brackets in place of a value
    path, _ = data.draw(st.sampled_from(list(paths(config))[1:]))
    text = json.dumps(replaced(config, path, "@@"))
    nested = text.replace('"@@"', "[" * depth + "]" * depth)
    header["__metadata__"] = {"dlprimer": nested}
    body = json.dumps(header).encode()
    return struct.pack("<Q", len(body)) + body + tensors


@FUZZ
@given(data=st.data())
def test_a_mutated_file_loads_a_working_model_or_raises_a_model_file_error(tmp_path_factory,
                                                                          data):
    raw, X = data.draw(st.sampled_from(bases()))
    bad = mutate(data, raw)
    path = tmp_path_factory.getbasetemp() / "fuzzed.safetensors"
    path.write_bytes(bad)
    tracemalloc.start()
    try:
        model = dp.load(path)
    except ValueError as err:  # ModelFileError is one
        assert isinstance(err, dp.ModelFileError), repr(err)
        assert path.name in str(err)
        model = None
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < 10 * len(bad) + 2 * 2**20, peak
    if model is not None:
        if model.preprocessor is None and isinstance(X, pd.DataFrame):  # it was removed:
            X = np.zeros((3, model.n_features))  # the model now takes encoded rows
        assert np.all(np.isfinite(np.asarray(model.predict_proba(X), dtype=float)))
        model.predict(X)
