"""The estimators' partial_fit (one epoch a call, the optimizer's state carried over), and
dask-ml's Incremental and ParallelPostFit driving them over Dask chunks."""

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_iris

from dlprimer.sklearn import FeedForwardClassifier, FeedForwardRegressor, SoftmaxClassifier


def test_partial_fit_calls_continue_one_fit():
    X, y = load_iris(return_X_y=True)
    streamed = SoftmaxClassifier(learning_rate=0.05, random_state=0)
    for _ in range(3):
        streamed.partial_fit(X, y, classes=[0, 1, 2])
    whole = SoftmaxClassifier(learning_rate=0.05, epochs=3, l2=1e-4, random_state=0).fit(X, y)
    # three calls on the full batch are three epochs of one fit: Adam's steps 1, 2, 3
    np.testing.assert_allclose(streamed.model_.theta(), whole.model_.theta(), rtol=1e-12)
    assert streamed.n_iter_ == 3 and len(streamed.loss_curve_) == 3


def test_partial_fit_learns_from_a_stream_and_checks_its_labels():
    X, y = load_breast_cancer(return_X_y=True)
    clf = FeedForwardClassifier(hidden_layer_sizes=(8,), batch_size=32, random_state=0)
    with pytest.raises(ValueError, match="classes must be given on the first call"):
        FeedForwardClassifier().partial_fit(X[:10], y[:10])
    for _ in range(15):
        for start in range(0, len(X), 100):
            clf.partial_fit(X[start:start + 100], y[start:start + 100], classes=[0, 1])
    assert clf.score(X, y) > 0.95
    with pytest.raises(ValueError, match=r"label\(s\) \[7\] not among classes"):
        clf.partial_fit(X[:3], np.array([0, 1, 7]))
    with pytest.raises(ValueError, match="lbfgs"):
        SoftmaxClassifier(optimizer="lbfgs").partial_fit(X, y, classes=[0, 1])
    reg = FeedForwardRegressor(hidden_layer_sizes=(8,), random_state=0)
    for _ in range(200):
        reg.partial_fit(X[:, :5], X[:, 0] * 2 + X[:, 1] / 10)
    assert reg.score(X[:, :5], X[:, 0] * 2 + X[:, 1] / 10) > 0.9


def test_dask_ml_incremental_and_parallel_post_fit(client):
    da = pytest.importorskip("dask.array")
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X, y = load_breast_cancer(return_X_y=True)
    Xd, yd = da.from_array(X, chunks=(100, 30)), da.from_array(y, chunks=100)
    model = wrappers.Incremental(FeedForwardClassifier(hidden_layer_sizes=(8,),
                                                       batch_size=32, random_state=0))
    for _ in range(10):
        model.partial_fit(Xd, yd, classes=[0, 1])
    predicted = model.predict(Xd)
    assert isinstance(predicted, da.Array)
    assert (predicted.compute() == y).mean() > 0.95
    post = wrappers.ParallelPostFit(SoftmaxClassifier(random_state=0)).fit(X, y)
    proba = post.predict_proba(Xd)
    np.testing.assert_allclose(proba.compute(), post.estimator.predict_proba(X))


def test_fit_on_dask_arrays_takes_the_exact_path(client):
    da = pytest.importorskip("dask.array")
    X, y = load_iris(return_X_y=True)
    on_dask = SoftmaxClassifier(optimizer="lbfgs", random_state=0)
    on_dask.fit(da.from_array(X, chunks=(40, 4)), da.from_array(y, chunks=40))
    in_memory = SoftmaxClassifier(optimizer="lbfgs", random_state=0).fit(X, y)
    assert on_dask.model_.standardizer is not None and on_dask.history_.chunks == 4
    np.testing.assert_allclose(on_dask.predict_proba(X), in_memory.predict_proba(X),
                               rtol=1e-6, atol=1e-8)
