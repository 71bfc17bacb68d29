"""What every audio source kind loads: :class:`AudioBackbone` (frame grid + a batch runner), and the HF loading
helpers they share (hub id + revision or local folder, offline errors, seeded random init)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from brainalign.errors import ModelError
from brainalign.features.audio.registry import AudioModelEntry

T = TypeVar("T")

MODEL_TYPES: dict[str, tuple[str, ...]] = {
    "wav2vec2": ("wav2vec2",),
    "hubert": ("hubert",),
    "wavlm": ("wavlm",),
    "whisper-encoder": ("whisper",),
    "qwen2-audio": ("qwen2_audio",),
}


@dataclass
class AudioBackbone:
    """A loaded audio model that maps windows of samples to every layer's frames.

    Attributes:
        layer_names: names in depth order.
        layer_dims: feature size of each layer.
        hop: samples between frames (frame ``i`` starts at sample ``i * hop``).
        offset: seconds from ``i * hop / sample_rate`` to the time frame ``i`` describes (its centre).
        max_window: most samples one window may hold (the model's input limit; ``None``: no limit).
        n_frames: ``n_samples -> `` frames the model gives for that many samples.
        min_context: fewest samples of context a window needs each side (a conv stack's receptive field).
        prepare: whole-signal preprocessing done once before windowing (``(n,) -> (n,)``, e.g. wav2vec 2.0's
            zero-mean unit-variance normalisation over the whole file).
        run: a batch of equal-length windows ``[(n,)]`` -> per window, per layer ``(n_frames(n), d)`` float32.
        info: what the source read from the model (for reports).
    """

    layer_names: list[str]
    layer_dims: list[int]
    hop: int
    offset: float
    max_window: int | None
    n_frames: Callable[[int], int]
    run: Callable[[list[np.ndarray]], list[list[np.ndarray]]]
    min_context: int = 0
    prepare: Callable[[np.ndarray], np.ndarray] = lambda x: x
    info: dict[str, Any] = field(default_factory=dict)


def hf_path(entry: AudioModelEntry) -> tuple[str, dict[str, Any]]:
    """``(path, from_pretrained kwargs)``: a local folder as is, a hub id with its revision (offline: cache only)."""
    from brainalign import settings

    local = Path(entry.model_id).expanduser()
    if local.is_dir():
        return str(local), {}
    return entry.model_id, {"revision": entry.revision, "local_files_only": settings.offline()}


def hf_call(entry: AudioModelEntry, what: str, load: Callable[[str, dict[str, Any]], T]) -> T:
    """Run ``load(path, kwargs)`` quietly; a missing or unreadable model is one :class:`ModelError` line."""
    from transformers.utils import logging as hf_logging

    from brainalign import settings

    path, kwargs = hf_path(entry)
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        return load(path, kwargs)
    except (OSError, ValueError, KeyError) as exc:
        where = path if not kwargs else f"{path}@{entry.revision}"
        if kwargs and settings.offline():
            raise ModelError(f"audio model {entry.name!r} ({where}) is not in the local HF cache and offline mode "
                             "is on; download it once online (unset HF_HUB_OFFLINE/BRAINALIGN_OFFLINE)") from None
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"cannot load the {what} of audio model {entry.name!r} from {where}: {first}") from None
    finally:
        hf_logging.set_verbosity(verbosity)


def load_config(entry: AudioModelEntry) -> Any:
    """The model's transformers config, checked to be the architecture ``entry.kind`` names."""
    from transformers import AutoConfig

    config = hf_call(entry, "config", lambda p, kw: AutoConfig.from_pretrained(p, **kw))
    wanted = MODEL_TYPES[entry.kind]
    if config.model_type not in wanted:
        raise ModelError(f"audio model {entry.name!r} is kind {entry.kind!r} but {entry.model_id} is a "
                         f"{config.model_type!r} model; fix 'kind' or 'model_id' in the audio registry entry")
    return config


def load_weights(entry: AudioModelEntry, cls: Any, config: Any, *, random_init: bool, seed: int,
                 dtype: Any = None) -> Any:
    """``cls.from_pretrained`` in ``dtype`` (default float32; a 7B model is read straight into bfloat16), or for
    ``random_init`` the same architecture from ``config`` with ``torch.manual_seed(seed)`` then transformers' own
    initialisation in float32 (no weights read; the seed gives the same weights on every device)."""
    import torch

    if random_init:
        torch.manual_seed(seed)
        make = cls.from_config if hasattr(cls, "from_config") else cls._from_config  # Auto* / model classes
        return make(config, dtype=torch.float32)
    dtype = torch.float32 if dtype is None else dtype
    return hf_call(entry, "weights", lambda p, kw: cls.from_pretrained(p, dtype=dtype, **kw))


def load_feature_extractor(entry: AudioModelEntry) -> Any:
    """The model's feature extractor (``preprocessor_config.json``), its rate checked against the entry."""
    from transformers import AutoFeatureExtractor

    fe = hf_call(entry, "feature extractor (preprocessor_config.json)",
                 lambda p, kw: AutoFeatureExtractor.from_pretrained(p, **kw))
    rate = int(getattr(fe, "sampling_rate", entry.sample_rate))
    if rate != entry.sample_rate:
        raise ModelError(f"audio model {entry.name!r} expects {rate} Hz audio but its entry says sample_rate "
                         f"{entry.sample_rate}; fix 'sample_rate' in the audio registry entry")
    return fe


def check_frame_rate(entry: AudioModelEntry, hop: int) -> None:
    """The model's hop must match the entry's ``frame_seconds`` (the registry documents the frame rate)."""
    seconds = hop / entry.sample_rate
    if abs(seconds - entry.frame_seconds) > 1e-6:
        raise ModelError(f"audio model {entry.name!r} has {seconds * 1000:g} ms frames but its entry says "
                         f"frame_seconds {entry.frame_seconds}; fix 'frame_seconds' in the audio registry entry")


def compute_dtype(entry: AudioModelEntry, device: str) -> Any:
    """float32 on the CPU, the entry's dtype on accelerators."""
    import torch

    return torch.float32 if device == "cpu" else getattr(torch, entry.dtype)


def to_rows(t: Any) -> np.ndarray:
    """A ``(n, d)`` tensor as contiguous float32 numpy rows."""
    return np.ascontiguousarray(t.detach().float().cpu().numpy(), dtype=np.float32)
