"""dp.load against hostile or corrupted model files: sizes that claim huge layers, offsets
that overlap or run past the end, tensors of the wrong dtype, metadata of the wrong JSON
type, brackets nested 100,000 deep, absurd length prefixes, labels that disagree with their
kind. Every one is a ModelFileError naming the file, raised before anything large is
allocated; and dp.save refuses a model with non-finite weights, leaving the old file."""

import json
import struct
import tracemalloc

import numpy as np
import pytest
from safetensors.numpy import save as encode

import dlprimer as dp
from dlprimer import nn
from dlprimer.io_checks import MAX_DEPTH, SHAPES, implied_shapes
from dlprimer.nn.module import KINDS, Module, register


# ---------------------------------------------------------------------- editing a file
def split(raw: bytes) -> tuple[dict, dict, bytes]:
    """(tensor entries, dlprimer config, data bytes) of a model file."""
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + size])
    config = json.loads(header.pop("__metadata__")["dlprimer"])
    return header, config, raw[8 + size:]


def join(header: dict, config, data: bytes, metadata: str | None = None) -> bytes:
    """A file from its parts; ``metadata`` replaces the config's JSON text verbatim."""
    text = json.dumps(config) if metadata is None else metadata
    body = json.dumps({**header, "__metadata__": {"dlprimer": text}}).encode()
    return struct.pack("<Q", len(body)) + body + data


def loads_within_budget(path):
    """dp.load(path), asserting that it allocates no more than 10× the file's size + 2 MB."""
    tracemalloc.start()
    try:
        return dp.load(path)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < 10 * path.stat().st_size + 2 * 2**20, peak


def edited(tmp_path, model, name="edited.safetensors", **changes):
    raw = dp.save(model, tmp_path / "original.safetensors").read_bytes()
    header, config, data = split(raw)
    config.update(changes)
    path = tmp_path / name
    path.write_bytes(join(header, config, data))
    return path


# ---------------------------------------------------------------------- huge claimed layers
def _layers(config, **changes):
    config["layers"][0].update(changes)
    return config["layers"]


HUGE = [  # (model, the edit that claims a huge layer), one per kind that holds parameters
    (dp.FeedForward([30, 4, 1]), lambda c: {"sizes": [30, 100_000, 100_000, 1]}),
    (dp.SoftmaxModel(3, 2), lambda c: {"p": 100_000, "K": 100_000}),
    (dp.SigmoidModel(3), lambda c: {"p": 2_000_000_000}),
    (nn.Dense(3, 2), lambda c: {"in_features": 100_000, "out_features": 100_000}),
    (nn.Conv2d(1, 2, 3), lambda c: {"in_channels": 10_000, "out_channels": 10_000}),
    (nn.Conv2d(1, 2, 3), lambda c: {"kernel_size": [40_000, 40_000]}),
    (nn.Embedding(10, 4), lambda c: {"num_embeddings": 1_000_000_000}),
    (nn.Embedding(10, 4), lambda c: {"dim": 1_000_000_000}),
    (nn.LSTM(3, 4), lambda c: {"hidden_size": 100_000}),
    (nn.RNN(3, 4), lambda c: {"input_size": 1_000_000_000}),
    (nn.MultiHeadAttention(8, 2), lambda c: {"d_model": 100_000}),
    (nn.TransformerEncoderBlock(8, 2, 16), lambda c: {"d_ff": 1_000_000_000}),
    (nn.LayerNorm(8), lambda c: {"d": 1_000_000_000}),
    (nn.BatchNorm1d(4), lambda c: {"num_features": 1_000_000_000}),
    (nn.BatchNorm2d(4), lambda c: {"num_channels": 1_000_000_000}),
    (nn.Sequential(nn.Dense(3, 4), nn.ReLU(), nn.Dense(4, 1)),
     lambda c: {"layers": _layers(c, out_features=100_000)}),
    (nn.Sequential(nn.Sequential(nn.Dense(3, 4)), nn.ReLU()),
     lambda c: {"layers": [{"kind": "Sequential", "layers": [
         {"kind": "Dense", "in_features": 100_000, "out_features": 100_000}]}, {"kind": "ReLU"}]}),
    (nn.Sequential(nn.Dense(3, 4)),  # a size no file could hold at all
     lambda c: {"layers": _layers(c, out_features=10**30)}),
]


@pytest.mark.parametrize("model, edit", HUGE,
                         ids=[f"{type(m).__name__}-{i}" for i, (m, _) in enumerate(HUGE)])
def test_a_huge_claimed_layer_is_refused_before_anything_is_built(tmp_path, model, edit):
    raw = dp.save(model, tmp_path / "small.safetensors").read_bytes()
    header, config, data = split(raw)
    config.update(edit(config))
    path = tmp_path / "claims.safetensors"
    path.write_bytes(join(header, config, data))
    with pytest.raises(dp.ModelFileError, match=r"claims\.safetensors.*(nothing was built|"
                                                r"must be a positive integer)"):
        loads_within_budget(path)


def test_a_header_whose_shapes_agree_with_the_claim_is_refused_by_its_byte_lengths(tmp_path):
    raw = dp.save(dp.FeedForward([30, 4, 1]), tmp_path / "m.safetensors").read_bytes()
    header, config, data = split(raw)
    config["sizes"] = [30, 100_000, 1]
    header["layers.0.W"]["shape"] = [100_000, 30]
    header["layers.0.b"]["shape"] = [100_000]
    bad = tmp_path / "shapes.safetensors"
    bad.write_bytes(join(header, config, data))
    with pytest.raises(dp.ModelFileError, match="claims .* bytes, but a F32 tensor of shape"):
        loads_within_budget(bad)
    # ... and offsets that agree too run past the end of the 2 KB file
    start = 0
    for name in sorted(header, key=lambda n: header[n]["data_offsets"][0]):
        n = 4 * int(np.prod(header[name]["shape"]))
        header[name]["data_offsets"] = [start, start + n]
        start += n
    bad.write_bytes(join(header, config, data))
    with pytest.raises(dp.ModelFileError, match="truncated or corrupted: its tensors take up"):
        loads_within_budget(bad)


def test_a_real_model_loads_within_the_memory_budget(tmp_path):
    net = dp.FeedForward([200, 300, 10], output="softmax")
    path = dp.save(net, tmp_path / "wide.safetensors")
    back = loads_within_budget(path)  # 63,010 float32 parameters, read tensor by tensor
    np.testing.assert_array_equal(back.layers[0].W.data, net.layers[0].W.data)


def test_the_file_is_read_by_offsets_not_whole(tmp_path, monkeypatch):
    import pathlib

    path = dp.save(dp.FeedForward([3, 4, 1]), tmp_path / "m.safetensors")

    def whole(self):
        raise AssertionError("dp.load read the whole file into memory")

    monkeypatch.setattr(pathlib.Path, "read_bytes", whole)
    assert dp.load(path).sizes == [3, 4, 1]


def sample_layers():
    """One instance of every built-in kind, with non-default sizes."""
    return [
        dp.SigmoidModel(3), dp.SoftmaxModel(3, 4), dp.FeedForward([5, 4, 3, 2]),
        nn.Dense(3, 5), nn.Conv2d(2, 3, (3, 2), stride=2, padding=1), nn.Conv2d(1, 2, 4),
        nn.MaxPool2d(2), nn.AvgPool2d(3, stride=1), nn.Flatten(), nn.ReLU(), nn.Sigmoid(),
        nn.Tanh(), nn.Dropout(0.5), nn.BatchNorm1d(6, affine=False), nn.BatchNorm2d(4),
        nn.Embedding(11, 4), nn.RNN(3, 5), nn.LSTM(3, 5), nn.MultiHeadAttention(8, 4),
        nn.LayerNorm(7), nn.TransformerEncoderBlock(8, 2, 16),
        nn.Sequential(nn.Dense(4, 6), nn.Sequential(nn.BatchNorm1d(6), nn.ReLU()),
                      nn.Dense(6, 2)),
    ]


@pytest.mark.parametrize("layer", sample_layers(), ids=lambda layer: type(layer).__name__)
def test_the_shape_rule_of_every_kind_matches_what_build_makes(layer):
    config = json.loads(json.dumps(layer.config()))
    made = {name: p.shape for name, p in layer.named_parameters()}
    made.update((name, np.shape(b)) for name, b in layer.named_buffers())
    assert implied_shapes(config) == made


def test_every_built_in_kind_has_a_shape_rule_and_a_sample():
    built_in = {k for k, cls in KINDS.items() if cls.__module__.startswith("dlprimer.")}
    assert built_in - set(SHAPES) == set()  # else: add its rule to dlprimer.io_checks
    assert built_in - {type(layer).__name__ for layer in sample_layers()} == set()


class Scale(Module):
    """A user's registered layer with no shape rule: the weaker guard applies to it."""

    def __init__(self, n: int, dtype=np.float32):
        self.n = n
        self.s = dp.nn.Parameter(np.ones(n), dtype)

    def config(self):
        return {"kind": "Scale", "n": self.n, "dtype": str(self.s.dtype)}

    def forward(self, x):
        return x * self.s


def test_a_registered_kind_without_a_rule_gets_the_integer_bound(tmp_path, monkeypatch):
    monkeypatch.setitem(KINDS, "Scale", Scale)
    path = dp.save(register(Scale)(5), tmp_path / "scale.safetensors")
    assert dp.load(path).s.shape == (5,)
    with pytest.raises(dp.ModelFileError, match="size 100000000, more than the largest dimension"):
        loads_within_budget(edited(tmp_path, Scale(5), n=100_000_000))
    with pytest.raises(dp.ModelFileError, match="'s' has shape"):
        dp.load(edited(tmp_path, Scale(5), n=7))  # bounded: built, then compared
    edited_kind = edited(tmp_path, nn.Sequential(nn.Dense(2, 2)), name="unknown.safetensors")
    header, config, data = split(edited_kind.read_bytes())
    config["layers"].insert(0, {"kind": "Nope"})
    edited_kind.write_bytes(join(header, config, data))
    with pytest.raises(dp.ModelFileError, match="unknown layer kind 'Nope'"):
        dp.load(edited_kind)


# ---------------------------------------------------------------------- the byte layout
@pytest.fixture
def parts(tmp_path):
    raw = dp.save(dp.FeedForward([3, 4, 1]), tmp_path / "m.safetensors").read_bytes()
    return split(raw)


def _offsets(header, name, begin, end):
    header[name]["data_offsets"] = [begin, end]
    return header


@pytest.mark.parametrize("edit, match", [
    (lambda h: _overlap(h), "overlaps the tensor before it"),
    (lambda h: _shift(h, "layers.1.b", 4), "leaves a gap|claims"),
    (lambda h: _shift_all(h, 4), "leaves a gap"),
    (lambda h: {**h, "layers.1.b": {**h["layers.1.b"], "data_offsets": [10, 6]}},
     "invalid data_offsets"),
    (lambda h: {**h, "layers.1.b": {**h["layers.1.b"], "data_offsets": [-4, 0]}},
     "invalid data_offsets"),
    (lambda h: {**h, "layers.1.b": {**h["layers.1.b"], "data_offsets": [0]}},
     "invalid data_offsets"),
    (lambda h: {**h, "layers.1.b": {**h["layers.1.b"], "data_offsets": ["0", "4"]}},
     "invalid data_offsets"),
    (lambda h: {**h, "layers.1.b": {**h["layers.1.b"], "data_offsets": [0.0, 4.0]}},
     "invalid data_offsets"),
    (lambda h: {**h, "layers.1.b": {**h["layers.1.b"], "shape": [2]}}, "claims 4 bytes"),
    (lambda h: {**h, "layers.1.b": {**h["layers.1.b"], "shape": [True]}}, "invalid shape"),
    (lambda h: {**h, "layers.1.b": {**h["layers.1.b"], "shape": [1] * 9}}, "invalid shape"),
    (lambda h: {**h, "layers.1.b": {**h["layers.1.b"], "shape": "1"}}, "invalid shape"),
    (lambda h: {**h, "layers.1.b": [1, 2, 3]}, "must hold exactly dtype, shape"),
    (lambda h: {**h, "layers.1.b": {**h["layers.1.b"], "extra": 1}}, "must hold exactly"),
    (lambda h: {**h, "layers.1.b": {**h["layers.1.b"], "dtype": "BOOL"}}, "unsupported dtype"),
    (lambda h: {**h, "layers.1.b": {**h["layers.1.b"], "dtype": ["F32"]}}, "unsupported dtype"),
    (lambda h: {k: v for k, v in h.items() if k != "layers.1.b"}, "take up to byte"),
])
def test_bad_offsets_and_entries_are_refused(tmp_path, parts, edit, match):
    header, config, data = parts
    bad = tmp_path / "layout.safetensors"
    bad.write_bytes(join(edit(header), config, data))
    with pytest.raises(dp.ModelFileError, match=match):
        loads_within_budget(bad)


def _overlap(header):
    w = header["layers.0.W"]["data_offsets"]
    b = header["layers.0.b"]
    header["layers.0.b"] = {**b, "data_offsets": [w[0], w[0] + b["data_offsets"][1]
                                                  - b["data_offsets"][0]]}
    return header


def _shift(header, name, by):
    begin, end = header[name]["data_offsets"]
    return _offsets(header, name, begin + by, end + by)


def _shift_all(header, by):
    for name in header:
        _shift(header, name, by)
    return header


def test_truncated_and_padded_files_are_refused(tmp_path, parts):
    header, config, data = parts
    for cut in (1, 4, len(data) - 1):
        bad = tmp_path / f"cut{cut}.safetensors"
        bad.write_bytes(join(header, config, data[:-cut]))
        with pytest.raises(dp.ModelFileError, match=f"cut{cut}.safetensors.*truncated"):
            dp.load(bad)
    bad = tmp_path / "padded.safetensors"
    bad.write_bytes(join(header, config, data + b"\0" * 8))
    with pytest.raises(dp.ModelFileError, match="take up to byte"):
        dp.load(bad)


# ---------------------------------------------------------------------- wrong dtypes
@pytest.mark.parametrize("cast", [np.int32, np.int64, np.float64, np.float16, np.uint8])
def test_a_tensor_of_another_dtype_is_refused_not_truncated(tmp_path, cast):
    model = dp.FeedForward([3, 4, 1])
    raw = dp.save(model, tmp_path / "m.safetensors").read_bytes()
    tensors = {n: p.data for n, p in model.named_parameters()}
    tensors["layers.0.W"] = (tensors["layers.0.W"] * 10).astype(cast)
    bad = tmp_path / "dtype.safetensors"
    bad.write_bytes(encode(tensors, metadata={"dlprimer": json.dumps(split(raw)[1])}))
    with pytest.raises(dp.ModelFileError, match="'layers.0.W' is stored as [A-Z0-9]+ but the "
                                                "model holds it as float32"):
        dp.load(bad)


def test_a_float64_model_refuses_float32_tensors_and_int_buffers_are_kept(tmp_path):
    model = nn.Sequential(nn.Dense(3, 2, dtype=np.float64), nn.BatchNorm1d(2, dtype=np.float64))
    path = dp.save(model, tmp_path / "m.safetensors")
    assert dp.load(path).layers[1].num_batches_tracked.dtype == np.int64
    tensors = {n: p.data.astype(np.float32) for n, p in model.named_parameters()}
    tensors.update(model.named_buffers())
    bad = tmp_path / "f32.safetensors"
    bad.write_bytes(encode(tensors, metadata={"dlprimer": json.dumps(split(
        path.read_bytes())[1])}))
    with pytest.raises(dp.ModelFileError, match="stored as F32 but the model holds it as "
                                                "float64"):
        dp.load(bad)
    tensors = {n: p.data for n, p in model.named_parameters()}
    tensors.update((n, np.asarray(b, dtype=np.float64)) for n, b in model.named_buffers())
    bad.write_bytes(encode(tensors, metadata={"dlprimer": json.dumps(split(
        path.read_bytes())[1])}))
    with pytest.raises(dp.ModelFileError, match="'layers.1.num_batches_tracked' is stored as "
                                                "F64 but the model holds it as int64"):
        dp.load(bad)


def test_a_user_module_refuses_a_tensor_of_another_dtype(tmp_path):
    model = nn.Sequential(nn.Dense(3, 2))
    path = dp.save(model, tmp_path / "m.safetensors")
    tensors = {n: p.data.astype(np.float64) for n, p in model.named_parameters()}
    bad = tmp_path / "f64.safetensors"
    bad.write_bytes(encode(tensors, metadata={"dlprimer": json.dumps(split(
        path.read_bytes())[1])}))
    with pytest.raises(dp.ModelFileError, match="stored as F64"):
        dp.load(bad, model=nn.Sequential(nn.Dense(3, 2)))


# ---------------------------------------------------------------------- metadata of the wrong type
@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = np.where(X[:, 0] > 0, "yes", "no")
    net = dp.FeedForward([3, 4, 1], activation="tanh")
    dp.fit(net, X, y, epochs=3, standardize=True, progress=False)
    net.feature_names = ["a", "b", "c"]
    net.provenance = {"source": "test"}
    return net, X


WRONG = ["text", [1, [2, [3]]], {"a": {"b": {"c": 1}}}, 3.5, True, None, -1, 0, 2**40,
         [], {}, ["a", "b"], [1.5, 2.5, 3.5]]
KEYS = ["format", "format_version", "dlprimer_version", "kind", "dtype", "parameters",
        "buffers", "output", "task", "classes", "classes_kind", "feature_names",
        "standardizer", "preprocessor", "converged", "provenance", "sizes", "activation"]


@pytest.mark.parametrize("key", KEYS)
def test_every_metadata_key_of_the_wrong_type_is_a_model_file_error(tmp_path, fitted, key):
    net, X = fitted
    raw = dp.save(net, tmp_path / "m.safetensors").read_bytes()
    header, config, data = split(raw)
    for i, value in enumerate(WRONG):
        bad = tmp_path / f"{key}{i}.safetensors"
        bad.write_bytes(join(header, {**config, key: value}, data))
        try:
            back = loads_within_budget(bad)
        except dp.ModelFileError as err:
            assert bad.name in str(err)
        else:  # an accepted value must give a working model
            assert np.all(np.isfinite(back.predict_proba(X))), (key, value)


@pytest.mark.parametrize("key, value, match", [
    ("converged", "yes", "'converged' in its metadata must be true, false or null"),
    ("provenance", ["a"], "'provenance' in its metadata must be an object"),
    ("provenance", "a", "'provenance' in its metadata must be an object"),
    ("preprocessor", [1], "'preprocessor' in its metadata must be an object"),
    ("standardizer", "x", "invalid standardizer"),
    ("feature_names", {"a": 1}, "'feature_names' in its metadata must be a list"),
    ("parameters", "layers.0.W", "'parameters' in its metadata must be a list"),
    ("parameters", [1, 2], "'parameters' in its metadata must list names"),
    ("output", ["sigmoid"], "'output' in its metadata must be one of"),
    ("output", "relu", "invalid output 'relu'"),
    ("task", {"binary": 1}, "'task' in its metadata must be one of"),
    ("task", "regression", "task 'regression' with output 'sigmoid'"),
    ("kind", ["FeedForward"], "'kind' in its metadata must be a layer kind name"),
    ("dlprimer_version", 7, "'dlprimer_version' in its metadata must be a version string"),
    ("format", ["dlprimer-model"], "unreadable dlprimer metadata"),
    ("format_version", True, "invalid format_version True"),
    ("sizes", "3,4,1", "invalid FeedForward: sizes must list"),
    ("sizes", [3, [4], 1], "invalid FeedForward: sizes must be a positive integer"),
    ("activation", {"relu": 1}, "invalid FeedForward"),
])
def test_wrong_types_name_the_key(tmp_path, fitted, key, value, match):
    with pytest.raises(dp.ModelFileError, match=match):
        loads_within_budget(edited(tmp_path, fitted[0], **{key: value}))


def test_metadata_that_is_not_an_object_or_not_json(tmp_path, parts):
    header, config, data = parts
    bad = tmp_path / "meta.safetensors"
    for text, match in [("[1, 2]", "unreadable dlprimer metadata"),
                        ('"dlprimer-model"', "unreadable dlprimer metadata"),
                        ("{", "not valid JSON"), ("NaN", "not valid JSON"),
                        ('{"format": 1e999}', "not valid JSON"),
                        ('{"x": ' + "1" * 5000 + "}", "not valid JSON")]:
        bad.write_bytes(join(header, config, data, metadata=text))
        with pytest.raises(dp.ModelFileError, match=match):
            loads_within_budget(bad)
    body = json.dumps({**header, "__metadata__": {"dlprimer": 5}}).encode()
    bad.write_bytes(struct.pack("<Q", len(body)) + body + data)
    with pytest.raises(dp.ModelFileError, match="__metadata__ must map names to strings"):
        dp.load(bad)
    body = json.dumps([header]).encode()
    bad.write_bytes(struct.pack("<Q", len(body)) + body + data)
    with pytest.raises(dp.ModelFileError, match="header is not a JSON object"):
        dp.load(bad)


# ---------------------------------------------------------------------- nesting and sizes
@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 900, 100_000])
def test_deeply_nested_brackets_are_refused(tmp_path, parts, depth):
    header, config, data = parts
    bad = tmp_path / "nested.safetensors"
    nested = "[" * depth + "]" * depth
    bad.write_bytes(join(header, config, data, metadata=json.dumps(config)[:-1]
                         + f', "provenance": {nested}}}'))
    with pytest.raises(dp.ModelFileError, match=f"deeper than {MAX_DEPTH} levels"):
        loads_within_budget(bad)
    body = ('{"x": ' + nested + "}").encode()  # in the header itself
    bad.write_bytes(struct.pack("<Q", len(body)) + body)
    with pytest.raises(dp.ModelFileError, match="nests brackets deeper"):
        loads_within_budget(bad)


def test_a_sequential_nested_past_the_depth_bound_is_refused(tmp_path):
    layer = {"kind": "Dense", "in_features": 2, "out_features": 2}
    for _ in range(MAX_DEPTH):
        layer = {"kind": "Sequential", "layers": [layer]}
    with pytest.raises(dp.ModelFileError, match="deeper than"):
        dp.load(edited(tmp_path, nn.Sequential(nn.Dense(2, 2)), layers=[layer]))


@pytest.mark.parametrize("claim", [2**64 - 1, 2**63, 200 * 2**20, 100 * 2**20 + 1])
def test_an_oversized_header_claim_is_refused_without_reading(tmp_path, parts, claim):
    header, config, data = parts
    raw = join(header, config, data)
    bad = tmp_path / "claim.safetensors"
    bad.write_bytes(struct.pack("<Q", claim) + raw[8:])
    with pytest.raises(dp.ModelFileError, match=r"claim\.safetensors .*header claims "
                                                r"\d+ bytes, more than"):
        loads_within_budget(bad)


def test_a_header_claim_past_the_end_of_the_file_is_truncation(tmp_path, parts):
    raw = join(*parts)
    bad = tmp_path / "short.safetensors"
    bad.write_bytes(struct.pack("<Q", len(raw)) + raw[8:])
    with pytest.raises(dp.ModelFileError, match="truncated .* header claims"):
        loads_within_budget(bad)
    bad.write_bytes(raw[:5])
    with pytest.raises(dp.ModelFileError, match="too short"):
        dp.load(bad)


# ---------------------------------------------------------------------- classes
@pytest.mark.parametrize("changes, match", [
    ({"classes_kind": "b"}, "not all of the kind 'b'"),
    ({"classes": [1, 2], "classes_kind": "U"}, "not all of the kind 'U'"),
    ({"classes": ["1", "2"], "classes_kind": "i"}, "not all of the kind 'i'"),
    ({"classes": [True, False], "classes_kind": "i"}, "not all of the kind 'i'"),
    ({"classes": [-1, 2], "classes_kind": "u"}, "not all of the kind 'u'"),
    ({"classes": ["no", "no"]}, "a class twice"),
    ({"classes": [True, True], "classes_kind": "b"}, "a class twice"),
    ({"classes_kind": "x"}, "invalid classes_kind 'x'"),
    ({"classes_kind": None}, "invalid classes_kind None"),
    ({"classes": None}, "records classes_kind 'U' but no classes"),
    ({"classes": ["a", "b", "c"]}, "3 class.*sigmoid output needs exactly 2"),
    ({"classes": [], "classes_kind": "f"}, "0 class"),
])
def test_classes_that_disagree_with_their_kind_or_the_outputs(tmp_path, fitted, changes, match):
    with pytest.raises(dp.ModelFileError, match=match):
        dp.load(edited(tmp_path, fitted[0], **changes))


def test_a_sequential_classifier_round_trips_with_its_buffers_untouched(tmp_path, fitted):
    _, X = fitted
    model = nn.Sequential(nn.Dense(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Dense(4, 3))
    dp.fit(model, X, np.arange(40) % 3, epochs=3, progress=False)
    back = dp.load(dp.save(model, tmp_path / "seq.safetensors"))
    for (name, b), (_, b_back) in zip(model.named_buffers(), back.named_buffers(), strict=True):
        np.testing.assert_array_equal(b_back, b, err_msg=name)
    np.testing.assert_array_equal(back.predict_proba(X), model.predict_proba(X))
    assert back.classes_.tolist() == [0, 1, 2]
    for classes, match in [([0, 1], "2 class.*softmax output needs exactly 3"),
                           ([0, 1, 2, 3], "4 class"), ([0], "1 class")]:
        with pytest.raises(dp.ModelFileError, match=match):
            dp.load(edited(tmp_path, model, classes=classes))
    with pytest.raises(dp.ModelFileError, match=r"disagree on the number of features \(\[2, 3"):
        dp.load(edited(tmp_path, model, feature_names=["a", "b"]))
    with pytest.raises(dp.ModelFileError, match="rows of 2 features, which the model does not"):
        dp.load(edited(tmp_path, model, feature_names=["a", "b"], standardizer=None))
    with pytest.raises(dp.ModelFileError, match="sigmoid output, which needs one output, but "
                                                "the model gives 3"):
        dp.load(edited(tmp_path, model, output="sigmoid", task="binary", classes=[0, 1]))


def test_boolean_classes_round_trip(tmp_path, fitted):
    net, X = fitted
    model = dp.FeedForward([3, 4, 1])
    dp.fit(model, X, X[:, 0] > 0, epochs=2, progress=False)
    back = dp.load(dp.save(model, tmp_path / "b.safetensors"))
    assert back.classes_.dtype == bool and back.classes_.tolist() == [False, True]
    assert back.predict(X).tolist() == model.predict(X).tolist()


# ---------------------------------------------------------------------- non-finite weights
def test_save_refuses_non_finite_weights_and_keeps_the_old_file(tmp_path, fitted):
    net, X = fitted
    path = dp.save(net, tmp_path / "model.safetensors")
    before = path.read_bytes()
    diverged = dp.load(path)
    diverged.layers[1].W.data[0, 2] = np.nan
    with pytest.raises(ValueError, match=r"'layers.1.W' holds 1 NaN or infinite value\(s\) "
                                         r"of 4 .*nothing was written"):
        dp.save(diverged, path)
    diverged.layers[1].W.data[0, 2] = np.inf
    with pytest.raises(ValueError, match="'layers.1.W'"):
        dp.save(diverged, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors"]
    np.testing.assert_array_equal(dp.load(path).predict_proba(X), net.predict_proba(X))


def test_save_refuses_non_finite_buffers(tmp_path):
    model = nn.Sequential(nn.Dense(2, 3), nn.BatchNorm1d(3))
    model.layers[1].running_var[1] = np.inf
    with pytest.raises(ValueError, match="'layers.1.running_var' holds 1 NaN or infinite"):
        dp.save(model, tmp_path / "bn.safetensors")
    assert list(tmp_path.iterdir()) == []
