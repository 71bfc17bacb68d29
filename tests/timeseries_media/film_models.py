"""Shared builders of the synthetic-film tests: tiny random multimodal models (built offline from configs, loaded
through ``from_pretrained`` like a hub folder) on top of :mod:`media_tiny`'s audio / video / text ones, and the
planted film subject (films written to disk, ROIs following one layer each, a run table).

Measured (``tests/timeseries_media/test_media_multimodal.py``'s Qwen2-Audio on a 60 s film, linear CKA between the
layers' 40 ms frames): with the default ``initializer_range=0.02`` every language-model layer is the same as the
tokens it reads (CKA 1.0 between ``lm.emb`` and ``lm.L1``..``lm.L3``, 0.98 to ``lm.L4``), so no LM depth could be
recovered; with :data:`media_tiny.INIT_RANGE` (1.0) ``lm.L1`` differs from ``lm.emb`` (CKA 0.22) and consecutive
LM layers keep CKA 0.85-0.93. Scored on the planted film, the ROI following ``lm.L2`` gets depth CI 0.71..0.71
(best_share 0.98) at 1.0 and 0.43..1.0 (best_share 0.69: any LM layer) at 0.02. The tiny GPT-2 of
:func:`build_gpt2` uses 1.0 for the same reason (per-voxel depths of a 0.02 GPT-2 scatter over all layers).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from media_tiny import INIT_RANGE, audio_entry, build_videomae, build_wav2vec2, video_entry, word_layers

__all__ = ["AUDIO_TOKENS", "INIT_RANGE", "PlantedFilm", "audio_entry", "build_gpt2", "build_qwen2_audio",
           "build_videomae", "build_wav2vec2", "plant_film", "qwen2_audio_entry", "video_entry", "word_layers"]

AUDIO_TOKENS = ["<|audio_bos|>", "<|AUDIO|>", "<|audio_eos|>"]
QWEN_AUDIO_CHUNK = 2  # seconds of audio the tiny Qwen2-Audio encoder reads per window


def _word_tokenizer(words: Sequence[str], specials: Sequence[str]) -> Any:
    """A whitespace word-level fast tokenizer (``[UNK]`` first, then ``specials``, then ``words``)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(["[UNK]", *specials, *words])}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", additional_special_tokens=list(specials))


def build_qwen2_audio(folder: Path, *, n_lm_layers: int = 4, n_audio_layers: int = 2, seed: int = 3,
                      init_range: float = INIT_RANGE) -> Path:
    """A tiny random Qwen2-Audio (Whisper-like encoder on 2 s of 16-bin log-mel, projector, 32-wide Qwen2 LM of
    ``n_lm_layers`` layers, word tokenizer with the audio tokens) saved with ``save_pretrained``.

    Its layers (all at the 40 ms audio tokens): ``audio.emb``, ``audio.L1``..``audio.L<n_audio_layers>``,
    ``lm.emb``, ``lm.L1``..``lm.L<n_lm_layers>``; ``init_range`` is the weight init sd of both towers.
    """
    import torch
    import transformers

    from brainalign.data.simulate_film import FILM_VOCAB

    tokenizer = _word_tokenizer(["Transcript:", *FILM_VOCAB], AUDIO_TOKENS)
    config = transformers.Qwen2AudioConfig(
        audio_config={"d_model": 32, "encoder_layers": n_audio_layers, "encoder_attention_heads": 2,
                      "encoder_ffn_dim": 64, "num_mel_bins": 16, "max_source_positions": 50 * QWEN_AUDIO_CHUNK,
                      "dropout": 0.0, "attention_dropout": 0.0, "activation_dropout": 0.0,
                      "initializer_range": init_range},
        text_config={"model_type": "qwen2", "hidden_size": 32, "num_hidden_layers": n_lm_layers,
                     "num_attention_heads": 2, "num_key_value_heads": 1, "intermediate_size": 64,
                     "vocab_size": len(tokenizer), "max_position_embeddings": 512, "initializer_range": init_range},
        audio_token_id=tokenizer.convert_tokens_to_ids("<|AUDIO|>"), initializer_range=init_range)
    torch.manual_seed(seed)
    transformers.Qwen2AudioForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    transformers.WhisperFeatureExtractor(feature_size=16, sampling_rate=16000, hop_length=160,
                                         chunk_length=QWEN_AUDIO_CHUNK, n_fft=400).save_pretrained(folder)
    return folder


def build_gpt2(folder: Path, *, n_layers: int = 4, max_positions: int = 64, seed: int = 5,
               init_range: float = INIT_RANGE) -> Path:
    """A tiny random GPT-2 (32 wide, ``n_layers`` layers, the tiny word tokenizer of
    :func:`brainalign.testing.tiny_models.build_tiny_tokenizer`) with weight init sd ``init_range``; load it with
    ``brainalign.testing.tiny_models.tiny_entry("gpt2", folder)``."""
    import torch
    import transformers

    from brainalign.testing.tiny_models import build_tiny_tokenizer

    tok = build_tiny_tokenizer("gpt2")
    cfg = transformers.GPT2Config(vocab_size=len(tok), n_positions=max_positions, n_embd=32, n_layer=n_layers,
                                  n_head=4, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                                  initializer_range=init_range)
    torch.manual_seed(seed)
    transformers.GPT2LMHeadModel(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def qwen2_audio_entry(folder: Path, name: str = "tiny-qwen2-audio", **kw: Any) -> Any:
    """The audio registry entry (kind ``qwen2-audio``, 40 ms frames, 2 s windows) of :func:`build_qwen2_audio`."""
    from brainalign.features.audio.registry import AudioModelEntry

    return AudioModelEntry(name=name, kind="qwen2-audio", model_id=str(folder), frame_seconds=0.04,
                           max_seconds=float(QWEN_AUDIO_CHUNK), context_seconds=0.4, **kw)


def layer_rows(entry: Any, film: Any, *, tr: float) -> Callable[[int], tuple[np.ndarray, np.ndarray]]:
    """``layer -> (times (n,), features (n, d))`` of an audio or video entry on ``film`` (cached extraction)."""
    from brainalign.features.audio.registry import AudioModelEntry

    if isinstance(entry, AudioModelEntry):
        from brainalign.features.audio.extract import extract_audio_layers

        feats = extract_audio_layers(entry, film.audio, device="cpu")
    else:
        from brainalign.features.video.extract import extract_video_layers

        feats = extract_video_layers(entry, film.video, step_seconds=tr, device="cpu")
    return lambda layer: (feats.times, feats.get(layer))


@dataclass(frozen=True)
class PlantedFilm:
    """Films watched by a simulated subject: ``table`` (run table path), ``films``, ``dataset`` (the runs)."""

    table: Path
    films: list[Any]
    dataset: Any


def plant_film(root: Path, planted: Mapping[str, tuple[Any, int]], *, n_films: int = 3, duration: float = 60.0,
               tr: float = 1.0, snr: float = 2.0, seed: int = 0) -> PlantedFilm:
    """Write ``n_films`` films under ``root / "films"`` and a subject whose ROI ``name`` follows layer ``layer`` of
    the audio / video entry of ``planted[name] = (entry, layer)`` (4 voxels per ROI), with its run table under
    ``root / "runs"``. Extraction fills the feature cache of the current ``BRAINALIGN_HOME``."""
    from brainalign.data.simulate_film import RoiDrive, simulate_film_subject, write_film, write_run_table

    films = [write_film(root / "films", f"film{k}", duration=duration, seed=k) for k in range(n_films)]
    drives: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {roi: {} for roi in planted}
    for f in films:
        for roi, (entry, layer) in planted.items():
            drives[roi][f.name] = layer_rows(entry, f, tr=tr)(layer)
    rois = {roi: RoiDrive(drives[roi], label=f"{planted[roi][0].name} layer {planted[roi][1]}") for roi in planted}
    ds = simulate_film_subject(films, rois, tr=tr, snr=snr, seed=seed)
    return PlantedFilm(write_run_table(ds, root / "runs"), films, ds)
