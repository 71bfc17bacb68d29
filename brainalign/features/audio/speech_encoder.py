"""wav2vec 2.0, HuBERT and WavLM: one path (transformers ``AutoModel`` with ``output_hidden_states``).

Layers: ``conv`` (the convolutional feature encoder's output, ``conv_dim[-1]`` wide, read by a forward hook),
``emb`` (the transformer's input: projected conv features plus the convolutional position embedding) and
``L1``..``Ln`` (each transformer layer's output). Frames: one per ``prod(conv_stride)`` samples (320 = 20 ms at
16 kHz); frame ``i`` reads samples ``[i * hop, i * hop + rf)`` (``rf``: the conv stack's receptive field, 400 =
25 ms) and its time is that span's centre, ``(i * hop + rf / 2) / sample_rate``.

The feature extractor's zero-mean unit-variance normalisation (``do_normalize``) is applied once over the whole
signal, before windowing, so every window sees the same scaling.
"""

from __future__ import annotations

from typing import Any

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


def conv_frames(n_samples: int, kernels: list[int], strides: list[int]) -> int:
    """Frames a conv stack (no padding) gives for ``n_samples`` samples (0 when shorter than its receptive field)."""
    n = int(n_samples)
    for k, s in zip(kernels, strides, strict=True):
        if n < k:
            return 0
        n = (n - k) // s + 1
    return n


def receptive_field(kernels: list[int], strides: list[int]) -> int:
    """Samples one output frame of the conv stack reads."""
    rf, jump = 1, 1
    for k, s in zip(kernels, strides, strict=True):
        rf += (k - 1) * jump
        jump *= s
    return rf


def normalise(x: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance (as the wav2vec 2.0 feature extractor: ``(x - mean) / sqrt(var + 1e-7)``)."""
    x64 = np.asarray(x, dtype=np.float64)
    return ((x64 - x64.mean()) / np.sqrt(x64.var() + 1e-7)).astype(np.float32)


def load_speech_encoder(entry: AudioModelEntry, *, random_init: bool, seed: int, device: str) -> AudioBackbone:
    """The wav2vec 2.0 / HuBERT / WavLM backbone of ``entry`` (eval mode, on ``device``)."""
    import torch
    from transformers import AutoModel

    config = load_config(entry)
    fe = load_feature_extractor(entry)
    kernels, strides = [int(k) for k in config.conv_kernel], [int(s) for s in config.conv_stride]
    hop, rf = int(np.prod(strides)), receptive_field(kernels, strides)
    check_frame_rate(entry, hop)
    model = load_weights(entry, AutoModel, config, random_init=random_init, seed=seed,
                         dtype=compute_dtype(entry, device))
    model = model.to(device=device, dtype=compute_dtype(entry, device)).eval()
    conv = getattr(model, "feature_extractor", None)
    if conv is None:
        raise ModelError(f"audio model {entry.name!r}: {type(model).__name__} has no conv feature encoder")
    n_hidden = int(config.num_hidden_layers) + 1
    names = ["conv", "emb", *(f"L{i}" for i in range(1, n_hidden))]
    dims = [int(config.conv_dim[-1]), *([int(config.hidden_size)] * n_hidden)]
    dtype = compute_dtype(entry, device)

    def run(windows: list[np.ndarray]) -> list[list[np.ndarray]]:
        n = len(windows[0])
        n_out = conv_frames(n, kernels, strides)
        seen: list[Any] = []
        handle = conv.register_forward_hook(lambda _m, _i, out: seen.append(out))
        try:
            with torch.inference_mode():
                x = torch.from_numpy(np.stack(windows)).to(device=device, dtype=dtype)
                hidden = model(x, output_hidden_states=True).hidden_states
        finally:
            handle.remove()
        layers = [seen[0].transpose(1, 2), *hidden]
        if any(h.shape[1] != n_out for h in layers):
            raise ModelError(f"audio model {entry.name!r} gave {layers[-1].shape[1]} frames for {n} samples, "
                             f"expected {n_out}; its conv stack differs from conv_kernel/conv_stride")
        return [[to_rows(h[b]) for h in layers] for b in range(len(windows))]

    do_norm = bool(getattr(fe, "do_normalize", False))
    return AudioBackbone(
        layer_names=names, layer_dims=dims, hop=hop, offset=rf / 2 / entry.sample_rate, max_window=None,
        min_context=-(-rf // hop) * hop, n_frames=lambda n: conv_frames(n, kernels, strides), run=run, prepare=normalise if do_norm else (lambda x: x),
        info={"model_type": config.model_type, "receptive_field": rf, "do_normalize": do_norm},
    )
