"""Qwen2-Audio (transformers ``Qwen2AudioForConditionalGeneration``): audio encoder + Qwen2 language model, with
the language model's layers read at the audio tokens.

Each window is one sequence ``[transcript prompt] <|audio_bos|> <|AUDIO|> x n <|audio_eos|>`` (no chat template,
the same for base and instruct models, so paired comparisons see the same input). The ``n`` audio placeholders are
filled with the projected audio-encoder outputs by the model itself. With a ``transcript``, the prompt
``"Transcript: <text>\\n"`` comes first, so (the language model being causal) every audio token reads the whole
transcript; without one the sequence starts at ``<|audio_bos|>``.

Frames: the audio encoder is Whisper-like (30 s log-mel input, 10 ms mel hop, a stride-2 conv: 20 ms frames),
then average-pools pairs of frames: audio token ``k`` covers encoder frames ``2k, 2k + 1`` and is centred at
``k * 40 ms + 10 ms``. A window of ``n`` samples has ``m = ceil(n / 160)`` real mel frames and
``((m - 1) // 2 + 1 - 2) // 2 + 1`` tokens (the model's own count); padding frames are masked in the encoder.

Layers (all at the audio tokens, 40 ms apart): ``audio.emb`` (conv stem + positions), ``audio.L1``..``audio.Ln``
(encoder layers; pairs of 20 ms frames averaged as the model's pooler does), ``lm.emb`` (the tokens the language
model reads: pooled, normed, projected audio features) and ``lm.L1``..``lm.Lm`` (language-model layers).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from brainalign.errors import DataError, ModelError
from brainalign.features.audio.backbone import (
    AudioBackbone,
    check_frame_rate,
    compute_dtype,
    hf_call,
    load_config,
    load_feature_extractor,
    load_weights,
    to_rows,
)
from brainalign.features.audio.registry import AudioModelEntry
from brainalign.features.audio.whisper_encoder import whisper_input

AUDIO_BOS, AUDIO_EOS = "<|audio_bos|>", "<|audio_eos|>"


def qwen2_audio_supported() -> bool:
    """True when the installed transformers has ``Qwen2AudioForConditionalGeneration``."""
    import transformers

    return hasattr(transformers, "Qwen2AudioForConditionalGeneration")


def audio_token_count(n_samples: int, mel_hop: int) -> int:
    """Audio tokens Qwen2-Audio makes for ``n_samples`` samples (its own length arithmetic)."""
    mel = -(-int(n_samples) // mel_hop)
    if mel < 1:
        return 0
    return ((mel - 1) // 2 + 1 - 2) // 2 + 1


def _special_id(tokenizer: Any, token: str, entry: AudioModelEntry) -> int:
    tid = tokenizer.convert_tokens_to_ids(token)
    if tid is None or (tokenizer.unk_token_id is not None and tid == tokenizer.unk_token_id):
        raise ModelError(f"audio model {entry.name!r}: its tokenizer has no {token} token; it is not a "
                         "Qwen2-Audio tokenizer")
    return int(tid)


def load_audio_llm(entry: AudioModelEntry, *, random_init: bool, seed: int, device: str,
                   transcript: str | None = None) -> AudioBackbone:
    """The Qwen2-Audio backbone of ``entry`` (eval mode, on ``device``); ``transcript`` is read before each window."""
    if not qwen2_audio_supported():
        import transformers

        raise ModelError(f"transformers {transformers.__version__} has no Qwen2AudioForConditionalGeneration; "
                         "pip install 'transformers>=4.45' for kind 'qwen2-audio'")
    import torch
    from transformers import AutoTokenizer, Qwen2AudioForConditionalGeneration

    config = load_config(entry)
    fe = load_feature_extractor(entry)
    tokenizer = hf_call(entry, "tokenizer", lambda p, kw: AutoTokenizer.from_pretrained(p, **kw))
    audio_cfg, text_cfg = config.audio_config, config.text_config
    enc_hop, n_window = whisper_input(entry, fe, int(audio_cfg.max_source_positions))
    hop, mel_hop = 2 * enc_hop, int(fe.hop_length)
    check_frame_rate(entry, hop)
    bos, eos = _special_id(tokenizer, AUDIO_BOS, entry), _special_id(tokenizer, AUDIO_EOS, entry)
    prompt = (tokenizer(f"Transcript: {transcript}\n", add_special_tokens=False)["input_ids"]
              if transcript else [])
    full = load_weights(entry, Qwen2AudioForConditionalGeneration, config, random_init=random_init, seed=seed,
                         dtype=compute_dtype(entry, device))
    dtype = compute_dtype(entry, device)
    model = full.model.to(device=device, dtype=dtype).eval()
    del full
    tower = model.audio_tower
    n_audio, n_text = int(audio_cfg.encoder_layers), int(text_cfg.num_hidden_layers)
    names = ["audio.emb", *(f"audio.L{i}" for i in range(1, n_audio + 1)), "lm.emb",
             *(f"lm.L{i}" for i in range(1, n_text + 1))]
    dims = [int(audio_cfg.d_model)] * (n_audio + 1) + [int(text_cfg.hidden_size)] * (n_text + 1)

    def n_frames(n: int) -> int:
        return audio_token_count(n, mel_hop)

    def run(windows: list[np.ndarray]) -> list[list[np.ndarray]]:
        n_tok = n_frames(len(windows[0]))
        if n_tok < 2:
            raise DataError(f"an audio window of {len(windows[0])} samples gives {n_tok} Qwen2-Audio token(s); "
                            "give at least 0.1 s of audio")
        enc = fe(windows, sampling_rate=entry.sample_rate, return_attention_mask=True, padding="max_length",
                 return_tensors="pt")
        ids = torch.tensor([[*prompt, bos, *([int(config.audio_token_id)] * n_tok), eos]] * len(windows),
                           device=device)
        seen: list[Any] = []
        hooks = [tower.layers[0].register_forward_pre_hook(
            lambda _m, args, kwargs: seen.append(args[0] if args else kwargs["hidden_states"]), with_kwargs=True)]
        hooks += [layer.register_forward_hook(lambda _m, _i, out: seen.append(out[0] if isinstance(out, tuple)
                                                                               else out)) for layer in tower.layers]
        try:
            with torch.inference_mode():
                out = model(input_ids=ids, attention_mask=torch.ones_like(ids),
                            input_features=enc["input_features"].to(device=device, dtype=dtype),
                            feature_attention_mask=enc["attention_mask"].to(device), output_hidden_states=True)
        finally:
            for h in hooks:
                h.remove()
        if len(seen) != n_audio + 1:
            raise ModelError(f"audio model {entry.name!r}: the audio encoder ran {len(seen) - 1} layers, "
                             f"expected {n_audio}")
        pooled = [torch.nn.functional.avg_pool1d(h.transpose(1, 2), 2, 2).transpose(1, 2)[:, :n_tok] for h in seen]
        first = len(prompt) + 1
        lm = [h[:, first : first + n_tok] for h in out.hidden_states]
        return [[to_rows(h[b]) for h in (*pooled, *lm)] for b in range(len(windows))]

    return AudioBackbone(layer_names=names, layer_dims=dims, hop=hop, offset=(mel_hop / entry.sample_rate),
                         max_window=n_window, n_frames=n_frames, run=run,
                         info={"model_type": config.model_type, "input_seconds": n_window / entry.sample_rate,
                               "prompt_tokens": len(prompt)})
