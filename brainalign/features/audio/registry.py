"""Audio model registry (``pipelines/models/audio/*.yaml``; user folders: registry roots' ``audio/``).

Kinds (one loader each, all through transformers):
- ``wav2vec2``, ``hubert``, ``wavlm``: self-supervised speech encoders on raw 16 kHz samples (conv feature encoder,
  then a transformer); :mod:`.speech_encoder`.
- ``whisper-encoder``: the encoder of a Whisper model on 30 s log-mel windows; :mod:`.whisper_encoder`.
- ``qwen2-audio``: Qwen2-Audio (audio encoder + Qwen2 language model); the language model's layers read the audio
  tokens (and an optional transcript before them); :mod:`.audio_llm`.

``model_id`` is a hub id (with a pinned ``revision``) or a local folder (``from_pretrained`` reads both).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from brainalign.errors import ConfigError
from brainalign.registry import Registry, packaged_folder

AudioKind = Literal["wav2vec2", "hubert", "wavlm", "whisper-encoder", "qwen2-audio"]
DType = Literal["float32", "float16", "bfloat16"]


class AudioModelEntry(BaseModel):
    """One audio model of the registry.

    Attributes:
        name: registry name.
        kind: see the module docstring.
        model_id: hub id or local folder.
        revision: pinned hub commit (``main`` where none was found).
        sample_rate: the model's input rate in Hz (audio is resampled to it).
        frame_seconds: seconds between the model's frames (20 ms for wav2vec 2.0 / Whisper, 40 ms for
            Qwen2-Audio's pooled audio tokens); checked against the model's own hop when it loads.
        max_seconds: samples per analysis window (at most the model's input length: 30 s for Whisper).
        context_seconds: audio each side of the frames a window keeps (longer audio is windowed; see
            :mod:`brainalign.features.audio.windows`).
        dtype: compute dtype on accelerators (the CPU always runs float32).
        base: registry name of the base model of an instruct model (instruct-vs-base comparisons).
        instruct: instruction-tuned.
        family, n_params, description: metadata.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    kind: AudioKind
    model_id: str
    revision: str = "main"
    sample_rate: int = Field(default=16000, gt=0)
    frame_seconds: float = Field(default=0.02, gt=0)
    max_seconds: float = Field(default=30.0, gt=0)
    context_seconds: float = Field(default=5.0, ge=0)
    dtype: DType = "float32"
    base: str | None = None
    instruct: bool = False
    family: str = ""
    n_params: int = Field(default=0, ge=0)
    description: str = ""

    @model_validator(mode="after")
    def _check(self) -> AudioModelEntry:
        if 2 * self.context_seconds >= self.max_seconds:
            raise ValueError(f"context_seconds {self.context_seconds} must be under half of max_seconds "
                             f"{self.max_seconds}")
        if self.base and not self.instruct:
            raise ValueError("'base' is only for instruct models")
        return self


def audio_models_dir() -> Path:
    """The packaged audio folder (``pipelines/models/audio`` of a checkout, ``brainalign/_registry/audio`` of a wheel)."""
    return packaged_folder("audio")


def _check_bases(entries: dict[str, AudioModelEntry]) -> None:
    for entry in entries.values():
        if entry.base is None:
            continue
        base = entries.get(entry.base)
        if base is None:
            raise ConfigError(f"audio model {entry.name!r}: base {entry.base!r} is not an audio registry entry; "
                              "fix 'base'")
        if base.kind != entry.kind:
            raise ConfigError(f"audio model {entry.name!r} (kind {entry.kind}) has base {base.name!r} of kind "
                              f"{base.kind}; a base must be the same architecture")


AUDIO: Registry[AudioModelEntry] = Registry(AudioModelEntry, "audio model", "audio",
                                            packaged=lambda: [audio_models_dir()], require_files=False,
                                            check=_check_bases)


def get_audio_entry(name: str) -> AudioModelEntry:
    """The audio entry called ``name``; an unknown name is a one-line :class:`ConfigError` listing known ones."""
    return AUDIO.get(name)


def list_audio_entries() -> list[AudioModelEntry]:
    """Every audio entry (packaged, user folders, registered), sorted by name."""
    return AUDIO.list()


def register_audio_entry(entry: AudioModelEntry) -> None:
    """Make ``entry`` resolvable by name in this process (tests, local experiments)."""
    AUDIO.register(entry)


def unregister_audio_entry(name: str) -> None:
    """Undo :func:`register_audio_entry`."""
    AUDIO.unregister(name)


def base_entry(entry: AudioModelEntry) -> AudioModelEntry | None:
    """The base model of an instruct entry (``None`` when it has none)."""
    return AUDIO.get(entry.base) if entry.base else None


def audio_weights_fingerprint(entry: AudioModelEntry) -> str:
    """Identity of the weights ``entry`` loads: ``model_id@revision``, or ``local:<stamp>`` of a local folder (every
    file's relative path and size, content hashes of small files; see
    :func:`~brainalign.features.sources.path_stamp`)."""
    from brainalign.features.sources import path_stamp

    local = Path(entry.model_id).expanduser()
    return f"local:{path_stamp(local)}" if local.is_dir() else f"{entry.model_id}@{entry.revision}"
