"""Tiny random audio / video / text models (built offline from configs) and a simulated film subject for the
time-series media tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

TINY_PRE = {"resize": 32, "crop": 32, "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}
N_LAYERS = 4  # transformer layers of every tiny model (hidden states 0..4)
#: Weight init sd of the tiny audio / video models: with the usual 0.02, every layer of a 32-wide random model
#: carries the same features (linear CKA ~1.0 between layers) and no depth could be recovered; at 1.0 early layers
#: differ (CKA 0.5-0.7 between layers 1 and 2).
INIT_RANGE = 1.0


def build_wav2vec2(folder: Path, seed: int = 1) -> Path:
    """A tiny random wav2vec 2.0 (20 ms frames at 16 kHz) saved with ``save_pretrained``."""
    import torch
    import transformers

    cfg = transformers.Wav2Vec2Config(
        hidden_size=32, num_hidden_layers=N_LAYERS, num_attention_heads=2, intermediate_size=64,
        conv_dim=(16, 16, 16), conv_kernel=(10, 3, 2), conv_stride=(5, 8, 8), conv_bias=True,
        num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2, vocab_size=12, hidden_dropout=0.0,
        attention_dropout=0.0, activation_dropout=0.0, feat_proj_dropout=0.0, layerdrop=0.0,
        feat_extract_norm="layer", do_stable_layer_norm=True, initializer_range=INIT_RANGE)
    torch.manual_seed(seed)
    transformers.Wav2Vec2Model(cfg).save_pretrained(folder)
    transformers.Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True,
                                          return_attention_mask=False).save_pretrained(folder)
    return folder


def build_videomae(folder: Path, seed: int = 2) -> Path:
    """A tiny random VideoMAE (4 frames of 32x32 per clip) saved with ``save_pretrained``."""
    import torch
    import transformers

    torch.manual_seed(seed)
    cfg = transformers.VideoMAEConfig(image_size=32, patch_size=8, num_frames=4, tubelet_size=2, hidden_size=32,
                                      intermediate_size=64, num_hidden_layers=N_LAYERS, num_attention_heads=2,
                                      initializer_range=INIT_RANGE)
    transformers.VideoMAEModel(cfg).save_pretrained(folder)
    return folder


def audio_entry(folder: Path, name: str = "tiny-w2v", **kw):
    from brainalign.features.audio.registry import AudioModelEntry

    return AudioModelEntry(name=name, kind="wav2vec2", model_id=str(folder), max_seconds=20.0, context_seconds=2.0,
                           **kw)


def video_entry(folder: Path, name: str = "tiny-vmae", **kw):
    from brainalign.features.video.registry import VideoModelEntry

    return VideoModelEntry(name=name, kind="videomae", model_id=str(folder), num_frames=4, fps=4.0, clip_seconds=1.0,
                           preprocess=TINY_PRE, **kw)


def word_layers(entry, words, name: str) -> list[np.ndarray]:
    """Every layer ``(n_words, d)`` of a text entry on a transcript (each word read with the text so far)."""
    from brainalign.data.stimuli import StimulusSet
    from brainalign.features.extract import extract_layers

    stim = StimulusSet(name, list(words), np.zeros(len(words), dtype=int), unit="word")
    feats = extract_layers(entry, stim, progress=False, device="cpu")
    return [feats.get(i) for i in range(feats.n_layers)]
