"""A playground server started in-process on a free port, and a client for it."""

import pytest
from helpers.playground import Client

from dlprimer.playground import Playground, serve
from dlprimer.playground.settings import Settings


@pytest.fixture
def server():
    s = serve(Playground(settings=Settings(speed=0.0)), port=0).start()
    yield s
    s.close()


@pytest.fixture
def client(server):
    return Client(server)
