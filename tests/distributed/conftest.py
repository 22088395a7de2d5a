"""One Dask cluster of real worker processes for the distributed tests (2 workers, 1 thread
each: what a 2-core machine holds), started once per session."""

import pytest


@pytest.fixture(scope="session")
def cluster():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      memory_limit="1GiB", silence_logs=40) as local, Client(local) as client:
        yield client


@pytest.fixture
def client(cluster):
    """The session's client, its task stream recorded from here on."""
    return cluster
