"""Activation store checksums: damaged, truncated, missing or old-format entries are named, dropped, never used."""

import json
import logging

import numpy as np
import pytest

from brainalign.cache.activations import ActivationStore, DamagedEntryError


def _complete(store: ActivationStore, key: str = "k", n: int = 6, dim: int = 3):
    act = store.create(key, config={"x": 1}, layer_names=["emb", "L1"], n_stimuli=n, n_contexts=n, dim=dim)
    act.write_rows(0, np.arange(2 * n * dim, dtype=np.float32).reshape(2, n, dim))
    act.mark_done(range(n))
    act.mark_complete()
    return act


def _chunk(store: ActivationStore, key: str = "k", layer: int = 1):
    return store.root / key / f"layer_{layer:03d}" / "c" / "0" / "0"


def _flip_bit(path, byte: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2 if byte is None else byte] ^= 0x10
    path.write_bytes(bytes(data))


def _assert_dropped(store, caplog, key, path) -> None:
    with caplog.at_level(logging.WARNING, logger="brainalign.cache.activations"):
        assert store.open_complete(key) is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and key in warnings[0] and str(path) in warnings[0]
    assert not (store.root / key).exists()


def test_intact_entry_is_read(tmp_path, caplog):
    store = ActivationStore(tmp_path / "s.zarr")
    _complete(store)
    with caplog.at_level(logging.WARNING):
        entry = store.open_complete("k")
    assert entry is not None and entry.damage() is None and not caplog.records
    np.testing.assert_array_equal(entry.read(1), np.arange(18, 36, dtype=np.float32).reshape(6, 3))
    meta = json.loads((store.root / "k" / "layer_000" / "zarr.json").read_text())
    assert [c["name"] for c in meta["codecs"]][-1] == "crc32c"


@pytest.mark.parametrize("byte", [None, 0, -1])
def test_flipped_bit_is_named_and_dropped(tmp_path, caplog, byte):
    store = ActivationStore(tmp_path / "s.zarr")
    _complete(store)
    _flip_bit(_chunk(store), byte)
    _assert_dropped(store, caplog, "k", _chunk(store))


@pytest.mark.parametrize("keep", [0, 3, -1])
def test_truncated_chunk_is_named_and_dropped(tmp_path, caplog, keep):
    store = ActivationStore(tmp_path / "s.zarr")
    _complete(store)
    path = _chunk(store, layer=0)
    data = path.read_bytes()
    path.write_bytes(data[:keep])
    _assert_dropped(store, caplog, "k", path)


def test_missing_chunk_and_garbled_metadata(tmp_path, caplog):
    store = ActivationStore(tmp_path / "s.zarr")
    _complete(store)
    _chunk(store).unlink()
    _assert_dropped(store, caplog, "k", _chunk(store))
    caplog.clear()
    _complete(store)
    meta = store.root / "k" / "layer_001" / "zarr.json"
    meta.write_text(meta.read_text()[:20])
    _assert_dropped(store, caplog, "k", store.root / "k")


def test_entry_without_checksums_is_stale(tmp_path, caplog):
    import zarr

    store = ActivationStore(tmp_path / "s.zarr")
    group = zarr.open_group(store=str(store.root), mode="a").create_group("old")
    group.create_array("layer_000", shape=(2, 3), chunks=(2, 3), dtype="float32")[:] = np.ones((2, 3))
    group.create_array("done", shape=(2,), chunks=(2,), dtype="bool")[:] = True
    group.attrs.update({"config": {}, "layer_names": ["emb"], "n_stimuli": 2, "n_contexts": 2, "dim": 3,
                        "complete": True})
    _assert_dropped(store, caplog, "old", store.root / "old")


def test_partial_entry_resume_checks_written_chunks(tmp_path, caplog):
    store = ActivationStore(tmp_path / "s.zarr")
    rows = [(0, 2), (2, 4), (4, 6)]
    shape = (512, 1024)  # 2 MiB rows -> chunks of 2 rows: one chunk per context

    def partial(key):
        act = store.create(key, config={}, layer_names=["a"], n_stimuli=6, n_contexts=3, layer_shapes=[shape])
        act.write_rows(0, [np.ones((2, *shape), np.float32)])
        act.mark_done([0])
        return act

    partial("p")
    assert store.open_resumable("p", rows) is not None  # chunks of undone contexts do not exist yet: fine
    _flip_bit(store.root / "p" / "layer_000" / "c" / "0" / "0" / "0")
    with caplog.at_level(logging.WARNING):
        assert store.open_resumable("p", rows) is None
    assert "p" in caplog.records[0].getMessage() and not (store.root / "p").exists()
    fresh = store.create("p", config={}, layer_names=["a"], n_stimuli=6, n_contexts=3, layer_shapes=[shape])
    assert not fresh.done().any()
    caplog.clear()
    partial("q").mark_done([1])  # context 1 marked done but its chunk was never written (lost)
    with caplog.at_level(logging.WARNING):
        assert store.open_resumable("q", rows) is None
    assert "missing chunk" in caplog.records[0].getMessage()


def test_damage_after_check_raises_one_line(tmp_path):
    store = ActivationStore(tmp_path / "s.zarr")
    _complete(store)
    entry = store.open_complete("k")
    _flip_bit(_chunk(store))
    with pytest.raises(DamagedEntryError, match="k at .*layer_001.*run again"):
        entry.read(1)
