"""Activation store: keys, completeness, and resuming an interrupted extraction."""

import numpy as np
import pytest

from brainalign.cache.activations import ActivationStore, activation_key
from brainalign.data.stimuli import StimulusSet
from brainalign.features import hf_text
from brainalign.features.extract import extract_layers


class _Crash(Exception):
    """Stands for an interruption (Ctrl-C, a crash) in the middle of an extraction."""


SENTENCES = [f"Sentence number {i} says the cat sat on the mat." for i in range(9)]


def test_key_is_stable_and_order_free():
    a = activation_key({"model": "m", "pooling": "last", "seed": None})
    assert a == activation_key({"seed": None, "pooling": "last", "model": "m"})
    assert a != activation_key({"model": "m", "pooling": "mean", "seed": None})
    assert len(a) == 24


def test_incomplete_entry_is_not_read_as_complete(tmp_path):
    store = ActivationStore(tmp_path / "s.zarr")
    act = store.create("k", config={"x": 1}, layer_names=["emb", "L1"], n_stimuli=5, n_contexts=2, dim=3)
    assert store.open_complete("k") is None
    act.write_rows(0, np.ones((2, 3, 3), dtype=np.float32))
    act.mark_done([0])
    with pytest.raises(RuntimeError):
        act.mark_complete()
    assert store.open_complete("k") is None
    again = store.create("k", config={"x": 1}, layer_names=["emb", "L1"], n_stimuli=5, n_contexts=2, dim=3)
    np.testing.assert_array_equal(again.done(), [True, False])  # resumable
    again.write_rows(3, np.zeros((2, 2, 3), dtype=np.float32))
    again.mark_done([1])
    again.mark_complete()
    done = store.open_complete("k")
    assert done is not None and done.layer(1).shape == (5, 3)
    # a different shape for the same key starts over
    fresh = store.create("k", config={"x": 1}, layer_names=["emb"], n_stimuli=5, n_contexts=2, dim=3)
    assert not fresh.done().any() and not fresh.complete


def test_interrupted_extraction_resumes(tiny_loaded, tmp_path, monkeypatch):
    entry = tiny_loaded["gpt2"][0]
    stimuli = StimulusSet.from_sentences("resume", SENTENCES)
    clean = extract_layers(entry, stimuli, batch_size=2, progress=False, store=ActivationStore(tmp_path / "clean"))

    real = hf_text.extract_contexts
    calls: list[int] = []
    crash = [True]

    def flaky(model, tok, contexts, *a, **k):
        calls.append(len(contexts))
        if crash[0] and len(calls) == 3:
            raise _Crash  # simulated interruption after two batches (4 contexts)
        return real(model, tok, contexts, *a, **k)

    monkeypatch.setattr(hf_text, "extract_contexts", flaky)
    store = ActivationStore(tmp_path / "resumed")
    with pytest.raises(_Crash):
        extract_layers(entry, stimuli, batch_size=2, progress=False, store=store)
    partial = store.open(clean.key)
    assert partial is not None and not partial.complete
    assert partial.done().sum() == 4
    assert store.open_complete(clean.key) is None

    calls.clear()
    crash[0] = False
    resumed = extract_layers(entry, stimuli, batch_size=2, progress=False, store=store)
    assert sum(calls) == len(SENTENCES) - 4  # only the missing contexts ran
    for i in range(clean.n_layers):
        np.testing.assert_allclose(resumed.get(i), clean.get(i), atol=1e-5)
        assert np.isfinite(resumed.get(i)).all()
