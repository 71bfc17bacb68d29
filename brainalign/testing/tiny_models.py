"""Tiny random GPT-2 / Llama / BERT HF folders with offline tokenizers, for tests.

Each folder holds ``config.json``, safetensors weights and a fast tokenizer (``tokenizer.json``) trained
on a small built-in corpus, so ``from_pretrained(folder)`` and ``return_offsets_mapping`` work offline.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from brainalign.features.specs import ModelEntry, register_model_entry, unregister_model_entry

TinyKind = Literal["gpt2", "llama", "bert"]

CORPUS = [
    "The cat sat on the mat.",
    "A dog chased the ball across the park, barking loudly!",
    "She didn't know what they'd say; it wasn't clear.",
    "Brains read words one at a time, and each word builds on the last.",
    "Why do people remember stories better than lists? Nobody's sure.",
    "In 1999, the old man's boat drifted 42 miles out to sea.",
    "Language models predict the next token from the context so far.",
    "He said: \"Stop it,\" and she laughed -- then walked away.",
    "Rain fell quietly on the roofs of the sleeping town.",
    "It's the children's turn to pick the game, isn't it?",
    "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 .,;:!?'\"-()[]",
]


def _byte_level_bpe(bos: str | None, vocab_size: int) -> object:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<|endoftext|>"] + ([bos] if bos else [])
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(CORPUS * 5, trainer=trainer)
    byte_level = processors.ByteLevel(trim_offsets=False)
    if bos:
        template = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, tok.token_to_id(bos))]
        )
        tok.post_processor = processors.Sequence([byte_level, template])
    else:
        tok.post_processor = byte_level
    return tok


def _wordpiece(vocab_size: int) -> object:
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=specials)
    tok.train_from_iterator(CORPUS * 5, trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))],
    )
    return tok


def build_tiny_tokenizer(kind: TinyKind, vocab_size: int = 400):
    """A ``PreTrainedTokenizerFast`` for ``kind`` (GPT-2: no BOS; Llama: BOS; BERT: [CLS] .. [SEP])."""
    from transformers import PreTrainedTokenizerFast

    if kind == "gpt2":
        raw = _byte_level_bpe(None, vocab_size)
        return PreTrainedTokenizerFast(
            tokenizer_object=raw, bos_token="<|endoftext|>", eos_token="<|endoftext|>", unk_token="<|endoftext|>"
        )
    if kind == "llama":
        raw = _byte_level_bpe("<|begin_of_text|>", vocab_size)
        return PreTrainedTokenizerFast(tokenizer_object=raw, bos_token="<|begin_of_text|>", eos_token="<|endoftext|>")
    raw = _wordpiece(vocab_size)
    return PreTrainedTokenizerFast(
        tokenizer_object=raw,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )


def build_tiny_model(kind: TinyKind, dest: str | Path, *, max_positions: int = 64, n_layers: int = 2, seed: int = 1234) -> Path:
    """Write a tiny random ``kind`` model + tokenizer to ``dest`` (created); returns ``dest``.

    Hidden size 32, ``n_layers`` layers, ``max_positions`` positions; weights from ``torch.manual_seed(seed)``.
    """
    import torch
    from transformers import AutoModelForCausalLM, BertConfig, BertModel, GPT2Config, LlamaConfig

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    tok = build_tiny_tokenizer(kind)
    vocab = len(tok)
    torch.manual_seed(seed)
    if kind == "gpt2":
        cfg = GPT2Config(vocab_size=vocab, n_positions=max_positions, n_embd=32, n_layer=n_layers, n_head=4,
                         bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
        model = AutoModelForCausalLM.from_config(cfg)
    elif kind == "llama":
        cfg = LlamaConfig(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=n_layers,
                          num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=max_positions,
                          bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
        model = AutoModelForCausalLM.from_config(cfg)
    else:
        cfg = BertConfig(vocab_size=vocab, hidden_size=32, num_hidden_layers=n_layers, num_attention_heads=4,
                         intermediate_size=64, max_position_embeddings=max_positions, pad_token_id=tok.pad_token_id)
        model = BertModel(cfg)
    model.save_pretrained(dest)
    tok.save_pretrained(dest)
    return dest


def tiny_entry(kind: TinyKind, folder: str | Path, name: str | None = None, *, max_context_tokens: int | None = None) -> ModelEntry:
    """A ``ModelEntry`` (kind ``hf``, ``hf_id`` = local folder) for a tiny model built by :func:`build_tiny_model`."""
    import json

    cfg = json.loads((Path(folder) / "config.json").read_text())
    max_pos = cfg.get("n_positions") or cfg.get("max_position_embeddings")
    return ModelEntry(
        name=name or f"tiny-{kind}",
        kind="hf",
        hf_id=str(Path(folder).resolve()),
        revision="local",
        arch="masked" if kind == "bert" else "causal",
        dtype="float32",
        n_params=0,
        family=f"tiny-{kind}",
        instruct=False,
        max_context_tokens=max_context_tokens or int(max_pos),
    )


@contextlib.contextmanager
def registered(entry: ModelEntry) -> Iterator[ModelEntry]:
    """Make ``entry`` resolvable by :func:`~brainalign.features.specs.get_model_entry` inside the block."""
    register_model_entry(entry)
    try:
        yield entry
    finally:
        unregister_model_entry(entry.name)
