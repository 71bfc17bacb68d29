"""A tiny random ClipCap-style captioner written offline: a GPT-2 (1 layer, 32-d, byte-level vocabulary with no
merges) saved with its tokenizer, and a prefix MLP state dict in ClipCap's key layout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from brainalign.discovery.captioner import CaptionerEntry

PREFIX_FILE = "prefix.pt"


def build_tiny_captioner(dest: str | Path, *, embed_dim: int, prefix_length: int = 2, seed: int = 0) -> Path:
    """Write the LM + tokenizer (``dest/lm``) and ``dest/prefix.pt``; returns ``dest``."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    dest = Path(dest)
    (dest / "lm").mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    vocab = {c: i for i, c in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    vocab["<|endoftext|>"] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", bos_token="<|endoftext|>")
    fast.save_pretrained(dest / "lm")
    cfg = GPT2Config(vocab_size=len(vocab), n_positions=64, n_embd=32, n_layer=1, n_head=2,
                     bos_token_id=len(vocab) - 1, eos_token_id=len(vocab) - 1)
    GPT2LMHeadModel(cfg).save_pretrained(dest / "lm")
    hidden = 32
    state = {"clip_project.model.0.weight": torch.randn(hidden, embed_dim) / embed_dim**0.5,
             "clip_project.model.0.bias": torch.zeros(hidden),
             "clip_project.model.2.weight": torch.randn(prefix_length * 32, hidden) / hidden**0.5,
             "clip_project.model.2.bias": torch.zeros(prefix_length * 32)}
    torch.save(state, dest / PREFIX_FILE)
    return dest


def tiny_captioner_entry(folder: str | Path, *, embed_dim: int, feature_space: dict[str, Any],
                         name: str = "tiny-clipcap", prefix_length: int = 2, **over: Any) -> CaptionerEntry:
    folder = Path(folder).resolve()
    return CaptionerEntry(name=name, lm_id=str(folder / "lm"), revision="local", prefix_id=str(folder),
                          prefix_file=PREFIX_FILE, prefix_length=prefix_length, embed_dim=embed_dim,
                          feature_space=feature_space, max_tokens=8, **over)
