"""Several processes creating entries in one fresh activation store at once (Ray workers sharing a cache)."""

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np


def _create(root: str, key: str) -> str:
    from brainalign.cache.activations import ActivationStore

    store = ActivationStore(root)
    entry = store.create(key, config={"k": key}, layer_names=["a"], n_stimuli=3, n_contexts=3, dim=2)
    entry.write_rows(0, [np.ones((3, 2), np.float32)])
    entry.mark_done([0, 1, 2])
    entry.mark_complete()
    return key


def test_concurrent_creation_of_a_fresh_store(tmp_path: Path):
    from brainalign.cache.activations import ActivationStore

    for attempt in range(3):  # the race is timing dependent: try a few fresh stores
        root = str(tmp_path / f"store{attempt}.zarr")
        keys = [f"k{i}" for i in range(6)]
        with ProcessPoolExecutor(3) as pool:
            assert sorted(pool.map(_create, [root] * len(keys), keys)) == keys
        store = ActivationStore(root)
        for k in keys:
            entry = store.open_complete(k)
            assert entry is not None and np.all(np.asarray(entry.layer(0)[:]) == 1)
