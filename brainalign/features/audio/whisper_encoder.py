"""The encoder of a Whisper model (transformers ``WhisperModel``; the decoder is dropped after loading).

Whisper reads fixed 30 s log-mel inputs (``chunk_length`` of its feature extractor): each window is zero-padded
to that length exactly as Whisper's own feature extractor pads a short clip, and only the frames of real audio
are kept. Mel frames are 10 ms apart (``hop_length`` 160 at 16 kHz, centred STFT frames), the encoder's second
convolution halves that, so frame ``i`` is centred at ``i * 20 ms``; a window of ``n`` samples gives
``ceil(n / 320)`` frames. Layers: ``emb`` (conv stem plus positions) and ``L1``..``Ln`` (the last one after the
encoder's final layer norm).
"""

from __future__ import annotations

import numpy as np

from brainalign.errors import ModelError
from brainalign.features.audio.backbone import (
    AudioBackbone,
    check_frame_rate,
    compute_dtype,
    load_config,
    load_feature_extractor,
    load_weights,
    to_rows,
)
from brainalign.features.audio.registry import AudioModelEntry


def whisper_input(entry: AudioModelEntry, fe: object, max_source_positions: int) -> tuple[int, int]:
    """``(hop, window)`` in samples: encoder frame hop (mel hop x 2) and the fixed input length; checks that the
    feature extractor's mel frames fill the encoder's positions."""
    mel_hop, n_window = int(fe.hop_length), int(fe.n_samples)  # type: ignore[attr-defined]
    if int(fe.nb_max_frames) != 2 * max_source_positions:  # type: ignore[attr-defined]
        raise ModelError(f"audio model {entry.name!r}: the feature extractor makes {fe.nb_max_frames} mel frames "  # type: ignore[attr-defined]
                         f"but the encoder expects {2 * max_source_positions}; the folder's files do not match")
    return 2 * mel_hop, n_window


def load_whisper_encoder(entry: AudioModelEntry, *, random_init: bool, seed: int, device: str) -> AudioBackbone:
    """The Whisper encoder of ``entry`` (eval mode, on ``device``)."""
    import torch
    from transformers import WhisperModel

    config = load_config(entry)
    fe = load_feature_extractor(entry)
    hop, n_window = whisper_input(entry, fe, int(config.max_source_positions))
    check_frame_rate(entry, hop)
    encoder = load_weights(entry, WhisperModel, config, random_init=random_init, seed=seed,
                         dtype=compute_dtype(entry, device)).get_encoder()
    dtype = compute_dtype(entry, device)
    encoder = encoder.to(device=device, dtype=dtype).eval()
    n_hidden = int(config.encoder_layers) + 1
    names = ["emb", *(f"L{i}" for i in range(1, n_hidden))]

    def n_frames(n: int) -> int:
        return -(-int(n) // hop)

    def run(windows: list[np.ndarray]) -> list[list[np.ndarray]]:
        feats = fe(windows, sampling_rate=entry.sample_rate, return_tensors="np")["input_features"]  # type: ignore[operator]
        with torch.inference_mode():
            x = torch.from_numpy(np.asarray(feats)).to(device=device, dtype=dtype)
            hidden = encoder(x, output_hidden_states=True).hidden_states
        keep = n_frames(len(windows[0]))
        return [[to_rows(h[b, :keep]) for h in hidden] for b in range(len(windows))]

    return AudioBackbone(layer_names=names, layer_dims=[int(config.d_model)] * n_hidden, hop=hop, offset=0.0,
                         max_window=n_window, n_frames=n_frames, run=run,
                         info={"model_type": config.model_type, "input_seconds": n_window / entry.sample_rate})
