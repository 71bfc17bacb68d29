"""Entry point for audio: every layer of an audio model over one stimulus file, frames with their true times,
cached in the activation store.

Steps: decode the file (mono, resampled to the model's rate; bad audio is a one-line DataError before any model
loads) -> cache key from its decoded content, the weights fingerprint and the settings -> a complete cached entry
is returned without loading the model; otherwise the model loads, the signal is cut into overlapping windows
(:mod:`brainalign.features.audio.windows`: ``max_seconds`` long, at most the model's input length, ``context_seconds``
of context each side) and each window's kept frames are written at their global rows (one store context per
window, so an interrupted run resumes at the next window).

The cache key hashes the model, weights fingerprint, random-init seed, decoded audio (sha256 of the mono samples
at the file's rate), model rate, resampler, window settings and transcript; never device or batch size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from brainalign.cache.activations import ActivationEntry, ActivationStore
from brainalign.data.media.audio import RESAMPLER, AudioSignal, read_audio
from brainalign.errors import ConfigError, DataError
from brainalign.features._cached import Block, EntryLayout, cached_extraction
from brainalign.features.audio.backbone import AudioBackbone
from brainalign.features.audio.registry import AudioModelEntry, audio_weights_fingerprint, get_audio_entry
from brainalign.features.audio.windows import Window, grid_samples, plan_windows
from brainalign.features.timed import TimedFeatures

AUDIO_EXTRACTOR_VERSION = 1


def resolve_audio_entry(entry: AudioModelEntry | str) -> AudioModelEntry:
    """An audio entry by name (a text or vision model's name is a one-line ConfigError saying so)."""
    if isinstance(entry, AudioModelEntry):
        return entry
    if not isinstance(entry, str):
        raise ConfigError(f"give an audio registry name or an AudioModelEntry, got {type(entry).__name__}")
    try:
        return get_audio_entry(entry)
    except ConfigError:
        from brainalign.features.specs import MODELS
        from brainalign.features.vision_sources import VISION

        for registry, what in ((VISION, "a vision (image) model"), (MODELS, "a text model")):
            try:
                found = entry in registry
            except ConfigError:
                found = False
            if found:
                raise ConfigError(f"{entry!r} is {what}, not an audio model; audio stimuli take one of the audio "
                                  "registry (brainalign.features.audio.registry.list_audio_entries())") from None
        raise


def load_audio_backbone(entry: AudioModelEntry, *, random_init: bool = False, seed: int = 0, device: str = "cpu",
                        transcript: str | None = None) -> AudioBackbone:
    """The backbone of ``entry`` (its kind's loader); ``transcript`` only for ``qwen2-audio``."""
    if transcript is not None and entry.kind != "qwen2-audio":
        raise ConfigError(f"audio model {entry.name!r} (kind {entry.kind}) reads no text; a transcript is for "
                          "kind 'qwen2-audio'")
    if entry.kind in ("wav2vec2", "hubert", "wavlm"):
        from brainalign.features.audio.speech_encoder import load_speech_encoder

        return load_speech_encoder(entry, random_init=random_init, seed=seed, device=device)
    if entry.kind == "whisper-encoder":
        from brainalign.features.audio.whisper_encoder import load_whisper_encoder

        return load_whisper_encoder(entry, random_init=random_init, seed=seed, device=device)
    from brainalign.features.audio.audio_llm import load_audio_llm

    return load_audio_llm(entry, random_init=random_init, seed=seed, device=device, transcript=transcript)


def semantic_config(entry: AudioModelEntry, audio: AudioSignal, *, random_init: bool, seed: int,
                    transcript: str | None) -> dict[str, Any]:
    """What determines the features (and the cache key); never device or batch size."""
    return {
        "extractor_version": AUDIO_EXTRACTOR_VERSION,
        "modality": "audio",
        "model": entry.name,
        "kind": entry.kind,
        "model_id": entry.model_id,
        "weights": audio_weights_fingerprint(entry),
        "random_init": bool(random_init),
        "seed": int(seed) if random_init else None,
        "audio_hash": audio.content_hash,
        "source_rate": audio.source_rate,
        "sample_rate": audio.sample_rate,
        "resampler": RESAMPLER,
        "max_seconds": entry.max_seconds,
        "context_seconds": entry.context_seconds,
        "transcript_sha256": hashlib.sha256(transcript.encode()).hexdigest() if transcript else None,
    }


class _StoredLayer:
    """One layer of a cache entry, read (checksums checked) only when used: ``np.asarray(layer)`` or
    ``layer[rows]`` give float32 arrays; ``shape``/``ndim`` without reading."""

    def __init__(self, entry: ActivationEntry, index: int, n_rows: int) -> None:
        self._entry, self._index = entry, index
        self.shape = (n_rows, *entry.layer_shapes[index])
        self.ndim = len(self.shape)
        self.dtype = np.dtype(np.float32)

    def __len__(self) -> int:
        return self.shape[0]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        a = self._entry.read(self._index)
        return a if dtype is None else a.astype(dtype)

    def __getitem__(self, key: Any) -> np.ndarray:
        return np.asarray(self)[key]


def _timed(entry: ActivationEntry, source: AudioModelEntry, audio: AudioSignal) -> TimedFeatures:
    attrs = entry.attrs
    n = int(attrs["n_stimuli"])
    timing = (attrs.get("layer_attrs") or [{}])[0]
    times = float(timing["offset_seconds"]) + float(timing["hop_seconds"]) * np.arange(n, dtype=np.float64)
    layers = [_StoredLayer(entry, i, n) for i in range(len(entry.layer_names))]
    meta = {"source": source.name, "kind": source.kind, "model_id": source.model_id, "key": entry.key,
            "path": audio.path, "sample_rate": audio.sample_rate, "source_rate": audio.source_rate,
            "duration": audio.duration, "frame_seconds": float(timing["hop_seconds"]),
            "max_seconds": source.max_seconds, "context_seconds": source.context_seconds,
            "n_windows": int(attrs["n_contexts"]), "config": dict(attrs["config"])}
    return TimedFeatures(times=times, layers=layers, layer_names=list(entry.layer_names), modality="audio",
                         meta=meta)  # type: ignore[arg-type]


def extract_audio_layers(
    entry: AudioModelEntry | str,
    audio_path: str | Path,
    *,
    random_init: bool = False,
    seed: int = 0,
    device: str = "auto",
    batch_size: int = 4,
    transcript: str | None = None,
    progress: bool = False,
    store: ActivationStore | None = None,
) -> TimedFeatures:
    """Every layer of audio model ``entry`` on the audio file ``audio_path``.

    Args:
        entry: audio registry name or entry.
        audio_path: any file soundfile (or PyAV, when installed) decodes; channels are averaged.
        random_init: same architecture, seeded fresh weights (``seed``) instead of the trained ones.
        device: ``auto`` | ``cpu`` | ``cuda[:N]`` | ``mps``; batch_size: windows per forward pass.
        transcript: text read before the audio (kind ``qwen2-audio`` only; see :mod:`.audio_llm`).
        store: activation store (default: the user cache).

    Returns:
        :class:`TimedFeatures`: ``times`` ``(n_frames,)`` seconds (each frame's centre, see the kind's module),
        per layer ``(n_frames, d)`` float32 rows read lazily from the cache (``features.get(i)``).
    """
    source = resolve_audio_entry(entry)
    if transcript is not None and source.kind != "qwen2-audio":
        raise ConfigError(f"audio model {source.name!r} (kind {source.kind}) reads no text; a transcript is for "
                          "kind 'qwen2-audio'")
    if transcript is not None and not transcript.strip():
        raise DataError("the transcript is empty; pass None for audio alone")
    audio = read_audio(audio_path, source.sample_rate)
    config = semantic_config(source, audio, random_init=random_init, seed=seed, transcript=transcript)

    def start() -> _AudioExtraction:
        return _AudioExtraction(source, audio, random_init=random_init, seed=seed, device=device,
                                batch_size=batch_size, transcript=transcript)

    _, cached = cached_extraction(store or ActivationStore(), config, start, progress=progress,
                                  desc=f"{source.name} windows", unit="win")
    return _timed(cached, source, audio)


class _AudioExtraction:
    """A loaded audio model over one signal: one store context per window, batches of equal-length windows."""

    def __init__(self, entry: AudioModelEntry, audio: AudioSignal, *, random_init: bool, seed: int, device: str,
                 batch_size: int, transcript: str | None) -> None:
        from brainalign.features.sources import resolve_device

        device = resolve_device(device)
        self.backbone = load_audio_backbone(entry, random_init=random_init, seed=seed, device=device,
                                            transcript=transcript)
        bb, sr = self.backbone, audio.sample_rate
        window = grid_samples(entry.max_seconds, sr, bb.hop)
        if bb.max_window is not None:
            window = min(window, bb.max_window // bb.hop * bb.hop)
        context = max(grid_samples(entry.context_seconds, sr, bb.hop, floor=False), bb.min_context)
        n_frames = bb.n_frames(audio.n_samples)
        if n_frames < 1:
            raise DataError(f"audio file {audio.path} is {audio.duration:.3f} s long, too short for one frame of "
                            f"audio model {entry.name!r}; give a longer stimulus")
        self.samples = bb.prepare(audio.samples)
        self.windows: list[Window] = plan_windows(audio.n_samples, n_frames, window=window, context=context,
                                                  hop=bb.hop)
        self.step = max(1, int(batch_size))
        timing = {"hop_seconds": bb.hop / sr, "offset_seconds": bb.offset}
        self.layout = EntryLayout(layer_names=list(bb.layer_names),
                                  context_rows=[(w.keep_start, w.keep_stop) for w in self.windows],
                                  layer_shapes=[(d,) for d in bb.layer_dims],
                                  layer_attrs=[dict(timing) for _ in bb.layer_names])

    def _rows(self, idx: list[int]) -> list[np.ndarray]:
        """Kept rows of windows ``idx`` (equal lengths), concatenated per layer."""
        wins = [self.windows[i] for i in idx]
        outs = self.backbone.run([self.samples[w.start : w.stop] for w in wins])
        per_layer: list[list[np.ndarray]] = [[] for _ in self.backbone.layer_names]
        for w, layers in zip(wins, outs, strict=True):
            keep = w.local_slice(self.backbone.hop)
            for i, a in enumerate(layers):
                if keep.stop > len(a):
                    raise DataError(f"window {w.start}:{w.stop} gave {len(a)} frames, fewer than the "
                                    f"{keep.stop} it must keep; report this with the model name")
                per_layer[i].append(a[keep])
        return [np.concatenate(p, axis=0) for p in per_layer]

    def blocks(self, todo: list[int]) -> Iterator[Block]:
        # consecutive unfinished windows of the same length, in batches
        group: list[int] = []
        for i in todo:
            w = self.windows[i]
            if group and (i != group[-1] + 1 or len(group) == self.step
                          or (w.stop - w.start) != (self.windows[group[0]].stop - self.windows[group[0]].start)):
                yield group, self._rows(group)
                group = []
            group.append(i)
        if group:
            yield group, self._rows(group)
