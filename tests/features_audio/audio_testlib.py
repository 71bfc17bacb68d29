"""Tiny random audio models (saved like hub folders, loaded through ``from_pretrained``) and synthetic sounds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SR = 16000


@pytest.fixture(autouse=True)
def _isolated(isolated_home):
    return isolated_home


def tone(seconds: float, rate: int = SR, freq: float = 220.0, amp: float = 0.3) -> np.ndarray:
    """``(n,)`` float32 sine."""
    t = np.arange(int(round(seconds * rate))) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def with_click(x: np.ndarray, at: float, rate: int = SR, amp: float = 0.9, width: int = 16) -> np.ndarray:
    """``x`` with a short click (a burst of ``width`` alternating samples) starting at ``at`` seconds."""
    y = x.copy()
    i = int(round(at * rate))
    y[i : i + width] += amp * np.where(np.arange(width) % 2 == 0, 1.0, -1.0).astype(np.float32)
    return y


def write_wav(path: Path, x: np.ndarray, rate: int = SR, subtype: str = "FLOAT") -> Path:
    import soundfile as sf

    sf.write(str(path), x, rate, subtype=subtype)
    return path


def _speech_config(kind: str):
    import transformers

    common = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                  conv_dim=(16, 16, 16), conv_kernel=(10, 3, 2), conv_stride=(5, 8, 8), conv_bias=True,
                  num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2, vocab_size=12,
                  hidden_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, feat_proj_dropout=0.0,
                  layerdrop=0.0)
    if kind == "wav2vec2":
        # layer-normed conv stack: each conv frame depends only on its own samples (exact stitching check)
        return transformers.Wav2Vec2Config(feat_extract_norm="layer", do_stable_layer_norm=True, **common)
    if kind == "hubert":
        return transformers.HubertConfig(feat_extract_norm="group", **common)
    return transformers.WavLMConfig(feat_extract_norm="group", num_buckets=16, max_bucket_distance=64, **common)


def build_speech(kind: str, folder: Path) -> Path:
    """A tiny random wav2vec2 / hubert / wavlm folder (config, weights, feature extractor)."""
    import torch
    import transformers

    torch.manual_seed(1)
    model = transformers.AutoModel.from_config(_speech_config(kind))
    model.save_pretrained(folder)
    transformers.Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=SR, padding_value=0.0, do_normalize=True,
                                          return_attention_mask=False).save_pretrained(folder)
    return folder


def _whisper_fe(chunk: int):
    import transformers

    return transformers.WhisperFeatureExtractor(feature_size=16, sampling_rate=SR, hop_length=160,
                                                chunk_length=chunk, n_fft=400)


def build_whisper(folder: Path, chunk: int = 2) -> Path:
    """A tiny random Whisper folder whose encoder reads ``chunk``-second inputs (100 positions per 2 s)."""
    import torch
    import transformers

    config = transformers.WhisperConfig(
        vocab_size=64, num_mel_bins=16, d_model=32, encoder_layers=2, encoder_attention_heads=2,
        decoder_layers=1, decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64,
        max_source_positions=50 * chunk, max_target_positions=16, pad_token_id=0, bos_token_id=1,
        eos_token_id=2, decoder_start_token_id=1, begin_suppress_tokens=None, suppress_tokens=None,
        dropout=0.0, attention_dropout=0.0, activation_dropout=0.0)
    torch.manual_seed(2)
    transformers.WhisperModel(config).save_pretrained(folder)
    _whisper_fe(chunk).save_pretrained(folder)
    return folder


def _word_tokenizer(words: list[str], specials: list[str]):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(["[UNK]", *specials, *words])}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", additional_special_tokens=specials)


def build_qwen2_audio(folder: Path, chunk: int = 2) -> Path:
    """A tiny random Qwen2-Audio folder (audio encoder, projector, Qwen2 LM, word tokenizer with the audio
    tokens, Whisper-style feature extractor of ``chunk`` seconds)."""
    import torch
    import transformers

    specials = ["<|audio_bos|>", "<|AUDIO|>", "<|audio_eos|>"]
    tokenizer = _word_tokenizer(["Transcript:", "the", "cat", "sat", "on", "mat", "a", "dog"], specials)
    config = transformers.Qwen2AudioConfig(
        audio_config={"d_model": 32, "encoder_layers": 2, "encoder_attention_heads": 2, "encoder_ffn_dim": 64,
                      "num_mel_bins": 16, "max_source_positions": 50 * chunk, "dropout": 0.0,
                      "attention_dropout": 0.0, "activation_dropout": 0.0},
        text_config={"model_type": "qwen2", "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
                     "num_key_value_heads": 1, "intermediate_size": 64, "vocab_size": len(tokenizer),
                     "max_position_embeddings": 512},
        audio_token_id=tokenizer.convert_tokens_to_ids("<|AUDIO|>"))
    torch.manual_seed(3)
    transformers.Qwen2AudioForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    _whisper_fe(chunk).save_pretrained(folder)
    return folder


class _LazyDirs(dict):
    """``{kind: folder}`` built on first use (each test pays only for the models it reads)."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root

    def __missing__(self, kind: str) -> Path:
        if kind in ("wav2vec2", "hubert", "wavlm"):
            folder = build_speech(kind, self.root / kind)
        elif kind == "whisper-encoder":
            folder = build_whisper(self.root / "whisper")
        else:
            folder = build_qwen2_audio(self.root / "qwen2audio")
        self[kind] = folder
        return folder


@pytest.fixture(scope="session")
def audio_dirs(tmp_path_factory) -> dict[str, Path]:
    """``{kind: folder}`` of tiny random models for every audio kind (built lazily, once per session)."""
    return _LazyDirs(tmp_path_factory.mktemp("tiny_audio"))


def tiny_entry(kind: str, folder: Path, **kw):
    from brainalign.features.audio.registry import AudioModelEntry

    defaults = {"wav2vec2": (0.02, 3.0, 0.5), "hubert": (0.02, 3.0, 0.5), "wavlm": (0.02, 3.0, 0.5),
                "whisper-encoder": (0.02, 2.0, 0.4), "qwen2-audio": (0.04, 2.0, 0.4)}[kind]
    fields = {"frame_seconds": defaults[0], "max_seconds": defaults[1], "context_seconds": defaults[2], **kw}
    return AudioModelEntry(name=f"tiny-{kind}", kind=kind, model_id=str(folder), **fields)
