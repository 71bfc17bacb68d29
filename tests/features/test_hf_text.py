"""Extraction core on tiny random models: prefix equivalence, batching, token mapping, windows, masked modes."""

import numpy as np
import pytest
import torch

from brainalign.features.hf_text import extract_contexts, tokenize_context
from brainalign.features.pooling import assign_tokens, unit_char_spans

CONTEXTS = [
    ["The", "cat", "sat", "on", "the", "mat."],
    ["She", "didn't", "know", "what", "they'd", "say;", "it", "wasn't", "clear."],
    ["Rain", "fell."],
    ["In", "1999,", "the", "old", "man's", "boat", "drifted", "42", "miles!"],
]


def _last_state_of_text(model, tok, text):
    enc = tok(text, return_tensors="pt")
    with torch.inference_mode():
        hs = model(**enc, output_hidden_states=True).hidden_states
    return torch.stack([h[0, -1] for h in hs]).numpy()


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
def test_one_pass_equals_every_prefix(tiny_loaded, kind):
    _, model, tok = tiny_loaded[kind]
    outs = extract_contexts(model, tok, CONTEXTS, " ", batch_size=4)
    for units, out in zip(CONTEXTS, outs, strict=True):
        assert out.shape == (model.config.num_hidden_layers + 1, len(units), model.config.hidden_size)
        for i in range(len(units)):
            ref = _last_state_of_text(model, tok, " ".join(units[: i + 1]))
            assert np.abs(out[:, i] - ref).max() < 1e-4


@pytest.mark.parametrize("kind", ["gpt2", "llama", "bert"])
@pytest.mark.parametrize("pooling", ["last", "mean"])
def test_batched_equals_unbatched(tiny_loaded, kind, pooling):
    _, model, tok = tiny_loaded[kind]
    mode = "prefix" if kind == "bert" else "full"
    single = extract_contexts(model, tok, CONTEXTS, " ", batch_size=1, pooling=pooling, mode=mode)
    batched = extract_contexts(model, tok, CONTEXTS, " ", batch_size=5, pooling=pooling, mode=mode)
    for a, b in zip(single, batched, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("kind", ["gpt2", "llama", "bert"])
@pytest.mark.parametrize("sep", [" ", "  ", " \n "])
def test_tokens_map_to_their_units(tiny_loaded, kind, sep):
    _, _, tok = tiny_loaded[kind]
    units = ["It's", "the", "children's", "turn,", "isn't", "it?", '"Stop"', "--", "(42)..."]
    text, spans = unit_char_spans(units, sep)
    enc = tok(text, return_offsets_mapping=True, return_special_tokens_mask=True)
    owner = assign_tokens(enc["offset_mapping"], enc["special_tokens_mask"], spans)
    assert all(owner[i] == -1 for i, s in enumerate(enc["special_tokens_mask"]) if s)
    for u in range(len(spans)):
        covered = "".join(text[s:e] for (s, e), o in zip(enc["offset_mapping"], owner, strict=True) if o == u)
        assert covered.strip().lower() == units[u].lower() or covered.replace(" ", "").lower() == units[u].lower()
    tc = tokenize_context(tok, units, sep)
    assert len(tc.units) == len(units)
    assert all(np.all(np.diff(u) == 1) for u in tc.units)


def test_mean_pooling_averages_unit_tokens(tiny_loaded):
    _, model, tok = tiny_loaded["gpt2"]
    units = ["Nobody's", "sure", "about", "children's", "stories."]
    tc = tokenize_context(tok, units, " ")
    ids = torch.tensor([tc.prefix + tc.ids + tc.suffix])
    with torch.inference_mode():
        hs = torch.stack(model(input_ids=ids, output_hidden_states=True).hidden_states)[:, 0].numpy()
    out = extract_contexts(model, tok, [units], " ", pooling="mean")[0]
    for u, idx in enumerate(tc.units):
        np.testing.assert_allclose(out[:, u], hs[:, len(tc.prefix) + idx].mean(1), atol=1e-5)


def test_masked_prefix_mode_never_sees_later_units(tiny_loaded):
    _, model, tok = tiny_loaded["bert"]
    a = [["the", "dog", "chased", "the", "ball"]]
    b = [["the", "dog", "chased", "a", "cat"]]
    pa = extract_contexts(model, tok, a, " ", mode="prefix")[0]
    pb = extract_contexts(model, tok, b, " ", mode="prefix")[0]
    np.testing.assert_allclose(pa[:, :3], pb[:, :3], atol=1e-6)
    assert np.abs(pa[:, 3:] - pb[:, 3:]).max() > 1e-3
    fa = extract_contexts(model, tok, a, " ", mode="full")[0]
    fb = extract_contexts(model, tok, b, " ", mode="full")[0]
    assert np.abs(fa[1:, :3] - fb[1:, :3]).max() > 1e-4  # full mode does see them (sanity)
    # prefix mode = running the prefix text alone
    enc = tok("the dog", return_tensors="pt")
    with torch.inference_mode():
        hs = model(**enc, output_hidden_states=True).hidden_states
    np.testing.assert_allclose(pa[:, 1], torch.stack([h[0, -2] for h in hs]).numpy(), atol=1e-5)


@pytest.mark.parametrize("kind", ["gpt2-short", "bert-short"])
def test_sliding_windows_give_each_unit_max_left_context(tiny_loaded, kind):
    _, model, tok = tiny_loaded[kind]
    window = 16
    units = ("a dog chased the ball across the park and the cat sat on the mat while rain fell on the town " * 2).split()
    tc = tokenize_context(tok, units, " ")
    assert len(tc.prefix) + len(tc.ids) + len(tc.suffix) > 2 * window
    mode = "prefix" if kind.startswith("bert") else "full"
    out = extract_contexts(model, tok, [units], " ", window=window, mode=mode, batch_size=3)[0]
    room = window - len(tc.prefix) - len(tc.suffix)
    for u, idx in enumerate(tc.units):
        e = int(idx[-1])
        start = max(0, e + 1 - room) if (mode == "prefix" or e >= room) else 0
        stop = e + 1 if (mode == "prefix" or e >= room) else min(len(tc.ids), room)
        ids = torch.tensor([tc.prefix + tc.ids[start:stop] + tc.suffix])
        with torch.inference_mode():
            hs = model(input_ids=ids, output_hidden_states=True).hidden_states
        pos = len(tc.prefix) + e - start
        ref = torch.stack([h[0, pos] for h in hs]).numpy()
        np.testing.assert_allclose(out[:, u], ref, atol=1e-5)
        if e >= room:
            assert e - start == room - 1  # the most left context that fits
