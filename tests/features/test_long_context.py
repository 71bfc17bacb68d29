"""Strided windows for stories longer than the window (``stride``): each unit equals a lone pass over its own
window, contexts that fit are unchanged, and the cost stays near one token forward per token."""

import numpy as np
import pytest
import torch

from brainalign.cache.activations import ActivationStore
from brainalign.data.stimuli import StimulusSet
from brainalign.errors import ConfigError, ModelError
from brainalign.features.extract import extract_layers, semantic_config
from brainalign.features.hf_text import (
    TokenizedContext,
    extract_contexts,
    plan_jobs,
    stride_tokens,
    tokenize_context,
    window_starts,
)
from brainalign.testing.tiny_models import CORPUS, tiny_entry

CAUSAL = ["gpt2", "llama"]
# unseen words split into several tokens by the tiny tokenizers
RARE = ["zebrafish", "quixotically", "hypnagogic", "brainwave", "xylophones"]


def story(n_words: int, seed: int = 0) -> list[str]:
    """``n_words`` words drawn from the tiny corpus plus a few multi-token rare words."""
    vocab = sorted({w for line in CORPUS[:-1] for w in line.split()}) + RARE
    rng = np.random.default_rng(seed)
    return [vocab[i] for i in rng.integers(0, len(vocab), n_words)]


def lone_window(model, tc: TokenizedContext, start: int, idx: np.ndarray, pooling: str) -> np.ndarray:
    """``(n_layers, hidden)``: one unit from a pass over ``prefix + ids[start : last + 1]`` alone (no padding)."""
    stop = int(idx[-1]) + 1
    ids = torch.tensor([tc.prefix + tc.ids[start:stop]])
    with torch.inference_mode():
        hs = model(input_ids=ids, output_hidden_states=True).hidden_states
    rows = len(tc.prefix) + idx[idx >= start] - start
    pick = rows[-1:] if pooling == "last" else rows
    return torch.stack([h[0, pick].mean(0) for h in hs]).numpy()


def count_forward_tokens(model) -> tuple[dict[str, int], object]:
    """Counts ``input_ids`` elements (with padding) and attended tokens of every model forward."""
    seen = {"ids": 0, "attended": 0}

    def hook(_module, args, kwargs):
        ids = kwargs.get("input_ids", args[0] if args else None)
        mask = kwargs.get("attention_mask")
        seen["ids"] += int(ids.numel())
        seen["attended"] += int(mask.sum()) if mask is not None else int(ids.numel())

    return seen, model.register_forward_pre_hook(hook, with_kwargs=True)


@pytest.mark.parametrize("kind", CAUSAL)
@pytest.mark.parametrize("pooling", ["last", "mean"])
@pytest.mark.parametrize(("window", "stride"), [(16, 0.75), (20, 0.5), (24, 1.0)])
def test_each_unit_equals_its_own_window(tiny_loaded, kind, pooling, window, stride):
    _, model, tok = tiny_loaded[kind]
    units = story(200, seed=window)
    tc = tokenize_context(tok, units, " ")
    room = window - len(tc.prefix) - len(tc.suffix)
    step = stride_tokens(room, stride)
    assert len(tc.ids) >= 280 and max(len(u) for u in tc.units) >= 3  # many windows, multi-token words
    out = extract_contexts(model, tok, [units], " ", window=window, stride=stride, pooling=pooling, batch_size=5)[0]
    starts = window_starts(tc.last, room, step)
    worst = 0.0
    for u, idx in enumerate(tc.units):
        e, start = int(idx[-1]), int(starts[u])
        assert start % step == 0 and (start == 0 or room - step + 1 <= e - start + 1 <= room)
        worst = max(worst, float(np.abs(out[:, u] - lone_window(model, tc, start, idx, pooling)).max()))
    print(f"{kind} {pooling} window {window} stride {stride}: max |diff| vs lone windows {worst:.2e}")
    assert worst < 1e-4, worst


@pytest.mark.parametrize("kind", CAUSAL)
@pytest.mark.parametrize("pooling", ["last", "mean"])
def test_story_inside_one_window_is_unchanged(tiny_loaded, kind, pooling):
    _, model, tok = tiny_loaded[kind]
    units = story(20)
    tc = tokenize_context(tok, units, " ")
    window = len(tc.prefix) + len(tc.ids) + 3
    assert plan_jobs(0, tc, window, "full", 0.75) == plan_jobs(0, tc, window, "full")
    plain = extract_contexts(model, tok, [units], " ", window=window, pooling=pooling)[0]
    strided = extract_contexts(model, tok, [units], " ", window=window, pooling=pooling, stride=0.75)[0]
    np.testing.assert_array_equal(strided, plain)


def _story_of(tok, n_tokens: int) -> list[str]:
    """A story of exactly ``n_tokens`` content tokens (words added greedily while they fit)."""
    units: list[str] = []
    for word in story(400, seed=3):
        n = len(tokenize_context(tok, [*units, word], " ").ids)
        if n <= n_tokens:
            units.append(word)
        if n == n_tokens:
            return units
    raise AssertionError(f"no story of exactly {n_tokens} tokens")


@pytest.mark.parametrize("kind", CAUSAL)
@pytest.mark.parametrize("extra", [0, 1, 2])
def test_story_at_the_window_boundary(tiny_loaded, kind, extra):
    _, model, tok = tiny_loaded[kind]
    window = 18
    room = window - len(tokenize_context(tok, ["cat"], " ").prefix)
    units = _story_of(tok, room + extra)
    tc = tokenize_context(tok, units, " ")
    jobs = plan_jobs(0, tc, window, "full", 0.75)
    assert len(jobs) == (1 if extra == 0 else 2)
    assert jobs[0].start == 0 and jobs[0].stop == room
    out = extract_contexts(model, tok, [units], " ", window=window, stride=0.75)[0]
    starts = window_starts(tc.last, room, stride_tokens(room, 0.75))
    for u, idx in enumerate(tc.units):
        np.testing.assert_allclose(out[:, u], lone_window(model, tc, int(starts[u]), idx, "last"), atol=1e-4)
    if extra == 0:
        np.testing.assert_array_equal(out, extract_contexts(model, tok, [units], " ", window=window)[0])


@pytest.mark.parametrize("kind", CAUSAL)
@pytest.mark.parametrize(("stride", "bound"), [(0.75, 1.5), (1.0, 1.15)])
def test_forward_tokens_per_story_token(tiny_loaded, kind, stride, bound):
    _, model, tok = tiny_loaded[kind]
    window = 24
    units = story(200, seed=7)
    tc = tokenize_context(tok, units, " ")
    story_tokens = len(tc.prefix) + len(tc.ids) + len(tc.suffix)
    seen, handle = count_forward_tokens(model)
    try:
        extract_contexts(model, tok, [units], " ", window=window, stride=stride, batch_size=8)
        strided = dict(seen)
        seen.update(ids=0, attended=0)
        extract_contexts(model, tok, [units], " ", window=window, batch_size=8)
    finally:
        handle.remove()
    ratio, padded = strided["attended"] / story_tokens, strided["ids"] / story_tokens
    print(f"{kind} window {window} stride {stride}: {ratio:.3f} (with padding {padded:.3f}) forward tokens per "
          f"story token; one window per unit: {seen['attended'] / story_tokens:.1f}")
    assert ratio <= bound and padded <= bound
    assert seen["attended"] > 3 * strided["attended"]


def test_extract_layers_keys_the_stride_only_when_set(tiny_dirs, tmp_path):
    entry = tiny_entry("gpt2", tiny_dirs["gpt2"], name="tiny-gpt2-w20", max_context_tokens=20)
    short = StimulusSet.from_sentences("short", ["The cat sat on the mat.", "Rain fell quietly."])
    base = dict(random_init=False, seed=0, pooling="last", context_mode="full")
    assert "context_stride" not in semantic_config(entry, short, **base)
    assert semantic_config(entry, short, **base, context_stride=None) == semantic_config(entry, short, **base)
    store = ActivationStore(tmp_path / "acts")
    plain = extract_layers(entry, short, progress=False, store=store)
    strided = extract_layers(entry, short, progress=False, store=store, context_stride=0.75)
    assert strided.key != plain.key and strided.config["context_stride"] == 0.75
    for i in range(plain.n_layers):
        np.testing.assert_array_equal(strided.get(i), plain.get(i))  # fits one window: same values


def test_extract_layers_long_story_matches_extract_contexts(tiny_dirs, tiny_loaded, tmp_path):
    _, model, tok = tiny_loaded["llama"]
    entry = tiny_entry("llama", tiny_dirs["llama"], name="tiny-llama-w20", max_context_tokens=20)
    units = story(150, seed=11)
    stimuli = StimulusSet.from_contexts("long", [units, units[:40]])
    feats = extract_layers(entry, stimuli, progress=False, store=ActivationStore(tmp_path / "acts"),
                           context_stride=0.75, batch_size=4)
    ref = np.concatenate(extract_contexts(model, tok, stimuli.contexts(), " ", window=20, stride=0.75), axis=1)
    for i in range(feats.n_layers):
        np.testing.assert_allclose(feats.get(i), ref[i], atol=1e-5)


def test_stride_errors(tiny_loaded, tiny_dirs):
    _, _, tok = tiny_loaded["gpt2"]
    tc = tokenize_context(tok, story(40), " ")
    with pytest.raises(ModelError, match="context stride must be in"):
        plan_jobs(0, tc, 16, "full", 0.0)
    with pytest.raises(ModelError, match="needs context mode 'full'"):
        plan_jobs(0, tc, 16, "prefix", 0.5)
    short = StimulusSet.from_sentences("short", ["The cat sat on the mat."])
    bert = tiny_loaded["bert"][0]
    with pytest.raises(ConfigError, match="needs a causal model"):
        extract_layers(bert, short, progress=False, context_stride=0.5)
    with pytest.raises(ConfigError, match=r"must be in \(0, 1\]"):
        extract_layers(tiny_loaded["gpt2"][0], short, progress=False, context_stride=1.5)
