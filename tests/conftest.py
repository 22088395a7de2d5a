"""Shared test setup. pytest puts this folder on sys.path, so every test imports the
shared helpers as ``from helpers.nn import ...``."""

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded numpy Generator, fresh for each test."""
    return np.random.default_rng(0)
