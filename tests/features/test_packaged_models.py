"""Slow tier: the real packaged weights (SmolLM2 GGUF, Gemma-3 GGUF, MiniLM folder), fully offline.

GGUF conversions go to ``$BRAINALIGN_TEST_HOME/models`` when set, else to the session BRAINALIGN_HOME
(converted once per session; the second resolve must reuse it).
"""

import os
import time

import numpy as np
import pytest

from brainalign.cache.activations import ActivationStore
from brainalign.data.stimuli import StimulusSet
from brainalign.features import sources
from brainalign.features.extract import extract_layers
from brainalign.features.specs import get_model_entry

pytestmark = pytest.mark.slow

SENTENCES = ["The old man's boat drifted out to sea.", "She didn't know what they'd say, so she waited.",
             "Rain fell quietly on the roofs of the sleeping town."]
SHAPES = {"smollm2-135m-instruct-gguf": (31, 576), "gemma3-270m-gguf": (19, 640), "all-minilm-l6-v2": (7, 384)}
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="session")
def models_home(brainalign_home):
    """The session home (CI: ``.brainalign-home``), so conversions are shared with the real-data tests."""
    return os.environ.get("BRAINALIGN_TEST_HOME") or str(brainalign_home)


@pytest.fixture(autouse=True)
def _home(models_home, monkeypatch):
    monkeypatch.setenv("BRAINALIGN_HOME", models_home)


@pytest.fixture(scope="session", autouse=True)
def _report():
    yield
    if TIMINGS:
        print("\n" + "\n".join(f"TIMING {k}: {v:.1f}s" for k, v in TIMINGS.items()))


@pytest.mark.parametrize("name", list(SHAPES))
def test_packaged_model_extracts_and_caches(name, tmp_path):
    entry = get_model_entry(name)
    if entry.kind.startswith("gguf"):
        t0 = time.perf_counter()
        folder = sources.resolve_source(entry).path
        TIMINGS[f"{name} conversion (0 if reused)"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        assert sources.resolve_source(entry).path == folder  # reused, not converted again
        assert time.perf_counter() - t1 < 1.0 and sources.is_converted(entry)
    stimuli = StimulusSet.from_sentences("slow", SENTENCES)
    store = ActivationStore(tmp_path / "acts")
    t0 = time.perf_counter()
    feats = extract_layers(entry, stimuli, device="cpu", progress=False, store=store)
    TIMINGS[f"{name} load+extract ({len(stimuli)} words)"] = time.perf_counter() - t0
    n_layers, dim = SHAPES[name]
    assert feats.n_layers == n_layers and len(feats.layer_names) == n_layers
    for i in (0, n_layers // 2, n_layers - 1):
        x = feats.get(i)
        assert x.shape == (len(stimuli), dim) and x.dtype == np.float32 and np.isfinite(x).all()
    assert np.abs(feats.get(-1) - feats.get(-2)).max() > 0
    t0 = time.perf_counter()
    again = extract_layers(entry, stimuli, device="cpu", progress=False, store=store)
    TIMINGS[f"{name} cached read"] = time.perf_counter() - t0
    assert again.key == feats.key
    np.testing.assert_array_equal(again.get(3), feats.get(3))


def test_smollm2_conversion_predicts_sensibly():
    """The dequantised SmolLM2 still knows facts: 'The capital of France is' -> ' Paris'."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = sources.resolve_source(get_model_entry("smollm2-135m-instruct-gguf")).path
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    with torch.inference_mode():
        logits = model(**tok("The capital of France is", return_tensors="pt")).logits[0, -1]
    assert tok.decode(int(logits.argmax())).strip() == "Paris"
