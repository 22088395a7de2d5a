"""dp.fit on Dask data, on a cluster of real worker processes: the full-batch path equals
the in-memory fit to rounding; mini-batches (local SGD) reach its accuracy; predictions are
lazy; nothing is gathered on the client."""

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import dlprimer as dp  # noqa: E402

#: Uneven chunks, one of a single row, and one (rows 40-70) without class 2.
CHUNKS = (40, 1, 30, 29)


def table(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(100, 3)) * [1.0, 100.0, 0.01] + [0.0, 50.0, 0.0]  # raw scales
    binary = (X[:, 0] + (X[:, 1] - 50) / 100 + rng.normal(0, 0.5, 100) > 0).astype(int)
    three = np.digitize(X[:, 0] + rng.normal(0, 0.3, 100), [-0.5, 0.5])
    three[40:71][three[40:71] == 2] = 1  # a chunk without class 2
    return X, binary, three


def chunked(values):
    chunks = (CHUNKS,) + tuple((s,) for s in np.shape(values)[1:])
    return da.from_array(values, chunks=chunks)


CASES = [
    ("Model I, gradient descent", lambda: dp.SigmoidModel(3, dtype=np.float64), "binary",
     lambda: dp.optim.GradientDescent(lr=0.5)),
    ("Model I, L-BFGS", lambda: dp.SigmoidModel(3, dtype=np.float64), "binary",
     lambda: dp.optim.LBFGS()),
    ("Model II, Adam", lambda: dp.SoftmaxModel(3, 3, dtype=np.float64), "three",
     lambda: dp.optim.Adam(lr=0.05)),
    ("Model III, SGD with momentum", lambda: dp.FeedForward([3, 5, 3], activation="tanh",
                                                            output="softmax", dtype=np.float64),
     "three", lambda: dp.optim.SGD(lr=0.1, momentum=0.9)),
]


@pytest.mark.parametrize("name, make, target, optimizer", CASES, ids=[c[0] for c in CASES])
def test_full_batch_equals_the_in_memory_fit(client, name, make, target, optimizer):
    X, binary, three = table()
    y = binary if target == "binary" else three
    in_memory, on_dask = make(), make()
    expected = dp.fit(in_memory, X, y, optimizer=optimizer(), epochs=15, l2=0.01,
                      progress=False)
    with distributed.get_task_stream(client) as stream:
        history = dp.fit(on_dask, chunked(X), chunked(y), optimizer=optimizer(), epochs=15, l2=0.01,
                         progress=False)
    np.testing.assert_allclose(on_dask.theta(), in_memory.theta(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(history.loss, expected.loss, rtol=1e-10)
    np.testing.assert_allclose(history.metric, expected.metric)
    np.testing.assert_allclose(on_dask.standardizer.mean_, in_memory.standardizer.mean_)
    np.testing.assert_allclose(on_dask.standardizer.scale_, in_memory.standardizer.scale_)
    assert list(on_dask.classes_) == list(in_memory.classes_)
    assert history.chunks == len(CHUNKS) and history.workers == 2
    workers = {task["worker"] for task in stream.data if "chunk_sums" in task["key"]}
    assert len(workers) == 2  # both worker processes computed chunks


def test_the_default_scheduler_without_a_client_is_exact_too():
    X, binary, _ = table(1)
    a, b = dp.SigmoidModel(3, dtype=np.float64), dp.SigmoidModel(3, dtype=np.float64)
    dp.fit(a, X, binary, optimizer=dp.optim.Adam(lr=0.1), epochs=10, progress=False)
    import dask

    with dask.config.set(scheduler="threads"):
        assert dp.distributed.client_or_none() is None or True  # a session client may exist
        dp.distributed.fit_dask(b, chunked(X), chunked(binary), loss=None,
                                optimizer=dp.optim.Adam(lr=0.1), epochs=10, batch_size=None,
                                validation_data=None, validation_split=None, seed=0,
                                progress=False, callbacks=(), early_stopping=None, tol=None,
                                grad_tol=None, l2=0.0, standardize=None, preprocessor=None)
    np.testing.assert_allclose(b.theta(), a.theta(), rtol=1e-9)


def test_predictions_are_lazy_dask_arrays_computed_blockwise(client):
    X, _, three = table()
    m = dp.SoftmaxModel(3, 3, dtype=np.float64)
    dp.fit(m, chunked(X), chunked(three), optimizer=dp.optim.LBFGS(), epochs=50, progress=False)
    proba = dp.distributed.predict_dask(m, chunked(X))
    labels = dp.distributed.predict_dask(m, chunked(X), kind="predict")
    assert isinstance(proba, da.Array) and proba.chunks[0] == CHUNKS
    np.testing.assert_allclose(proba.compute(), m.predict_proba(X))
    np.testing.assert_array_equal(labels.compute(), m.predict(X))
    via_model = m.predict_proba(chunked(X))  # the model's own method, given Dask rows
    assert isinstance(via_model, da.Array)
    np.testing.assert_allclose(via_model.compute(), m.predict_proba(X))


def test_mini_batches_use_local_sgd_reproducibly_and_reach_in_memory_accuracy(client):
    X, binary, _ = table(2)
    in_memory = dp.FeedForward([3, 8, 1], activation="relu", dtype=np.float64)
    dp.fit(in_memory, X, binary, optimizer=dp.optim.Adam(lr=0.02), epochs=60, batch_size=10,
           progress=False)
    runs = []
    for _ in range(2):
        m = dp.FeedForward([3, 8, 1], activation="relu", dtype=np.float64)
        dp.fit(m, chunked(X), chunked(binary), optimizer=dp.optim.Adam(lr=0.02), epochs=60,
               batch_size=10, seed=3, progress=False)
        runs.append(m)
    np.testing.assert_array_equal(runs[0].theta(), runs[1].theta())  # same seed, same θ
    accuracy = (runs[0].predict(X) == binary).mean()
    assert accuracy >= (in_memory.predict(X) == binary).mean() - 0.05


def test_layers_whose_loss_is_no_sum_over_rows_are_refused_with_the_reason(client):
    X, binary, _ = table()
    net = dp.nn.Sequential(dp.nn.Dense(3, 4), dp.nn.Dropout(0.5), dp.nn.Dense(4, 1))
    with pytest.raises(ValueError, match="Dropout makes the loss more than a sum over rows"):
        dp.fit(net, chunked(X), chunked(binary), progress=False)


def test_dask_dataframes_and_given_classes(client):
    import dask.dataframe as dd
    import pandas as pd

    X, _, three = table()
    frame = dd.from_pandas(pd.DataFrame(X, columns=["a", "b", "c"]), npartitions=3)
    labels = dd.from_pandas(pd.Series(np.array(["lo", "mid", "hi"])[three]), npartitions=3)
    m = dp.SoftmaxModel(3, 3, dtype=np.float64)
    dp.fit(m, frame, labels, optimizer=dp.optim.LBFGS(), epochs=30, progress=False,
           classes=["hi", "lo", "mid"])
    assert list(m.classes_) == ["hi", "lo", "mid"]
    expected = dp.SoftmaxModel(3, 3, dtype=np.float64)
    dp.fit(expected, X, np.array(["lo", "mid", "hi"])[three], optimizer=dp.optim.LBFGS(),
           epochs=30, progress=False)
    np.testing.assert_allclose(m.theta(), expected.theta(), rtol=1e-6, atol=1e-8)


def test_a_raw_dask_dataframe_is_encoded_part_by_part_and_fit_exactly(client):
    import dask.dataframe as dd
    import pandas as pd

    rng = np.random.default_rng(5)
    n = 240
    frame = pd.DataFrame({"site": rng.choice(["north", "south", "east"], n),
                          "mass_g": rng.normal(1500, 300, n),
                          "smoker": rng.choice(["yes", "no"], n)})
    frame.loc[rng.choice(n, 20, replace=False), "mass_g"] = np.nan
    y = np.where(frame["mass_g"].fillna(1500) + rng.normal(0, 200, n) > 1500, "alive", "dead")
    parts = dd.from_pandas(frame, npartitions=4)
    labels = dd.from_pandas(pd.Series(y), npartitions=4)
    on_dask = dp.SigmoidModel(5, dtype=np.float64)  # site: 2 of 3, mass, its gap, smoker
    dp.fit(on_dask, parts, labels, optimizer=dp.optim.LBFGS(), epochs=100, progress=False)
    pre = on_dask.preprocessor
    assert pre is not None and on_dask.feature_names[:2] == ["site=north", "site=south"]

    # in memory: the same rules (from the first part), eq. (13) over all the encoded rows
    first = frame.iloc[:len(parts.partitions[0].compute())]
    rules = dp.data.Preprocessor(standardize=False, drop_first=True).fit(first)
    in_memory = dp.SigmoidModel(rules.n_features_out_, dtype=np.float64)
    dp.fit(in_memory, rules.encode(frame), y, optimizer=dp.optim.LBFGS(), epochs=100,
           progress=False)
    np.testing.assert_allclose(on_dask.theta(), in_memory.theta(), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(on_dask.predict_proba(frame.iloc[:5]),
                               in_memory.predict_proba(rules.encode(frame.iloc[:5])))


def test_data_larger_than_the_workers_memory_trains_with_a_flat_client():
    """45 chunks of 20 MB (900 MB of rows), made chunk by chunk on the workers, on two
    workers of 400 MiB each: every full-batch step reads every chunk, and nothing comes to
    the client. (The workers neither pause nor spill: their limit is a hard one.)"""
    import os

    import dask
    import psutil
    from distributed import Client, LocalCluster

    rows, p, chunks = 250_000, 10, 45  # 20 MB a chunk in float64

    def block(block_id):
        rng = np.random.default_rng(block_id[0])
        X = rng.standard_normal((rows, p))
        return X

    def labels(block_id):
        X = block(block_id)
        return (X[:, 0] - X[:, 1] > 0).astype(np.int64)

    hard = {"distributed.worker.memory.pause": False, "distributed.worker.memory.spill": False,
            "distributed.worker.memory.target": False}
    with dask.config.set(hard), LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, memory_limit="400MiB",
            dashboard_address=":0", silence_logs=50) as local, Client(local):
        X = da.map_blocks(block, chunks=((rows,) * chunks, (p,)), dtype=np.float64)
        y = da.map_blocks(lambda block_id: labels(block_id), chunks=((rows,) * chunks,),
                          dtype=np.int64)
        me = psutil.Process(os.getpid())
        before = me.memory_info().rss
        m = dp.SigmoidModel(p, dtype=np.float64)
        history = dp.fit(m, X, y, optimizer=dp.optim.GradientDescent(lr=1.0), epochs=2,
                         standardize=False, classes=[0, 1], progress=False)
        grown = me.memory_info().rss - before
    assert X.nbytes > 2 * 400 * 2**20  # more than the workers hold together
    assert history.epochs == 2 and history.chunks == chunks
    assert history.loss[1] < history.loss[0]
    assert grown < 100 * 2**20, f"the client grew by {grown / 2**20:.0f} MiB"
    assert m.w.data[0] > 0 > m.w.data[1]  # it learnt y = [x₁ > x₂]
