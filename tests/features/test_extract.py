"""extract_layers on tiny models: shapes, order, cache hits, key invariance, random-init controls."""

import numpy as np
import pytest

from brainalign.cache.activations import ActivationStore
from brainalign.data.stimuli import StimulusSet
from brainalign.errors import ConfigError
from brainalign.features import extract as extract_mod
from brainalign.features import sources
from brainalign.features.extract import extract_layers, resolve_context_mode, semantic_config
from brainalign.features.hf_text import extract_contexts
from brainalign.features.specs import get_model_entry
from brainalign.testing.tiny_models import registered

SENTENCES = ["The cat sat on the mat.", "She didn't know what they'd say.", "Rain fell quietly.",
             "It's the children's turn, isn't it?", "A dog chased the ball!"]


@pytest.fixture
def stimuli():
    return StimulusSet.from_sentences("tiny", SENTENCES)


def test_shapes_names_and_order(tiny_loaded, stimuli):
    entry, model, tok = tiny_loaded["gpt2"]
    feats = extract_layers(entry, stimuli, progress=False, device="cpu")
    assert feats.n_layers == 3 and feats.layer_names == ["emb", "L1", "L2"]
    np.testing.assert_allclose(feats.depth_frac, [0.0, 0.5, 1.0])
    ref = np.concatenate(extract_contexts(model, tok, stimuli.contexts(), " "), axis=1)
    for i in range(feats.n_layers):
        x = feats.get(i)
        assert x.shape == (len(stimuli), 32) and x.dtype == np.float32
        np.testing.assert_allclose(x, ref[i], atol=1e-5)
    np.testing.assert_array_equal(feats.get(-1), feats.get(2))


def test_second_call_hits_cache(tiny_loaded, stimuli, monkeypatch):
    entry = tiny_loaded["llama"][0]
    first = extract_layers(entry, stimuli, progress=False)

    def boom(*a, **k):
        raise AssertionError("model loaded although the cache is complete")

    monkeypatch.setattr(sources, "load_model", boom)
    second = extract_layers(entry, stimuli, progress=False, batch_size=2, device="cpu")
    assert second.key == first.key
    np.testing.assert_array_equal(second.get(1), first.get(1))


def test_key_ignores_device_and_batch_size(tiny_loaded, stimuli, tmp_path):
    entry = tiny_loaded["gpt2"][0]
    a = extract_layers(entry, stimuli, progress=False, device="cpu", batch_size=1, store=ActivationStore(tmp_path / "a"))
    b = extract_layers(entry, stimuli, progress=False, device="auto", batch_size=7, store=ActivationStore(tmp_path / "b"))
    assert a.key == b.key
    np.testing.assert_allclose(a.get(2), b.get(2), atol=1e-5)
    c = extract_layers(entry, stimuli, progress=False, pooling="mean", store=ActivationStore(tmp_path / "a"))
    assert c.key != a.key


def test_key_depends_on_semantics(tiny_loaded, stimuli):
    entry = tiny_loaded["gpt2"][0]
    base = dict(random_init=False, seed=0, pooling="last", context_mode="full")
    k0 = semantic_config(entry, stimuli, **base)
    assert semantic_config(entry, stimuli, **{**base, "seed": 5}) == k0  # seed only matters for random init
    assert semantic_config(entry, stimuli, **{**base, "random_init": True}) != k0
    other = StimulusSet.from_sentences("tiny", SENTENCES[:-1])
    assert semantic_config(entry, other, **base) != k0


def test_random_init_differs_but_is_seed_deterministic(tiny_loaded, stimuli):
    entry = tiny_loaded["gpt2"][0]
    trained = extract_layers(entry, stimuli, progress=False)
    r0 = extract_layers(entry, stimuli, random_init=True, seed=0, progress=False)
    r0_again_model, tok = sources.load_model(entry, random_init=True, seed=0)
    r1 = extract_layers(entry, stimuli, random_init=True, seed=1, progress=False)
    assert len({trained.key, r0.key, r1.key}) == 3
    assert np.abs(trained.get(2) - r0.get(2)).max() > 1e-3
    assert np.abs(r0.get(2) - r1.get(2)).max() > 1e-3
    again = np.concatenate(extract_contexts(r0_again_model, tok, stimuli.contexts(), " "), axis=1)
    np.testing.assert_allclose(again[2], r0.get(2), atol=1e-6)


def test_masked_default_mode_is_prefix(tiny_loaded, stimuli):
    entry = tiny_loaded["bert"][0]
    assert resolve_context_mode(entry, None) == "prefix"
    assert resolve_context_mode(tiny_loaded["gpt2"][0], "prefix") == "full"
    with pytest.raises(ConfigError):
        resolve_context_mode(entry, "sideways")
    feats = extract_layers(entry, stimuli, progress=False)
    assert feats.config["context_mode"] == "prefix"
    assert np.isfinite(feats.get(0)).all()


def test_registered_entry_and_unknown_model(tiny_loaded):
    entry = tiny_loaded["gpt2"][0]
    with registered(entry):
        assert get_model_entry(entry.name) == entry
    with pytest.raises(ConfigError, match="unknown model"):
        get_model_entry(entry.name)


def test_bad_pooling_is_config_error(tiny_loaded, stimuli):
    with pytest.raises(ConfigError, match="pooling"):
        extract_layers(tiny_loaded["gpt2"][0], stimuli, pooling="max", progress=False)


def test_offline_hub_model_gives_model_error(monkeypatch):
    from brainalign.errors import ModelError

    monkeypatch.setenv("HF_HUB_CACHE", "/nonexistent-hub-cache")
    with pytest.raises(ModelError, match="offline"):
        sources.load_model(get_model_entry("gpt2-xl"))


assert extract_mod.EXTRACTOR_VERSION >= 1
