"""Runner test fixtures: one local Ray session (2 CPUs, loopback only) shared by the session, a planted dataset."""

from __future__ import annotations

import time

import numpy as np
import pytest

from brainalign.data.dataset import NeuralDataset
from brainalign.data.stimuli import StimulusSet

WORDS = ["a", "dog", "house", "elephant", "ran", "quickly", "to", "the", "extraordinary", "mat", "sat", "blue"]


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
    rng = np.random.default_rng(0)
    stim = StimulusSet.from_sentences("planted", [" ".join(rng.choice(WORDS, size=5)) for _ in range(30)])
    length = np.array([len(w) for w in stim.text], dtype=float)
    sig = (length - length.mean()) / length.std()
    y = np.column_stack([sig[:, None] + rng.standard_normal((len(stim), 3)), rng.standard_normal((len(stim), 2))])
    return NeuralDataset("planted", stim, y, subjects=["A"] * 3 + ["B"] * 2, target_ids=[f"e{i}" for i in range(5)],
                         groups=stim.context_id, group_kind="sentence")
