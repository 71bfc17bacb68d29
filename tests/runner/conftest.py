"""Runner test fixtures: one local Ray session (2 CPUs, loopback only) shared by the session, a planted dataset."""

from __future__ import annotations

import time

import pytest

from brainalign.data.dataset import NeuralDataset
from brainalign.testing.planted import planted_word_dataset


@pytest.fixture(scope="session")
def ray_session():
    """``ray`` initialised once for the session (start-up time printed); shut down at the end."""
    ray = pytest.importorskip("ray", reason="ray is not installed; pip install 'brainalign[ray]'")
    t0 = time.perf_counter()
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             _node_ip_address="127.0.0.1")
    print(f"\nray start-up: {time.perf_counter() - t0:.1f} s")
    yield ray
    ray.shutdown()


@pytest.fixture
def planted() -> NeuralDataset:
    """Word length drives subject A's three targets; subject B's two are noise."""
    return planted_word_dataset()
