"""Video model registry (``pipelines/models/video/*.yaml``; user roots' ``video/`` folders).

Kinds (``model_id`` is a hub id, with ``revision``, or a local ``save_pretrained`` folder):
- ``videomae``, ``vivit``: transformers video encoders; every hidden state, mean over the clip's tokens.
- ``xclip``: X-CLIP's vision tower run on the clip's frames (cross-frame message tokens), every hidden state
  averaged over frames and patch tokens, plus ``mit`` (the multi-frame integration transformer's video embedding).
- ``image-per-frame``: any vision registry entry (``vision_model``) run on each frame, every layer mean-pooled
  over space, then averaged over the clip's frames.
- ``llava-next-video``, ``qwen2.5-vl``: video LLMs; the language backbone's hidden states averaged over the
  clip's frame tokens (sequence: BOS if the model has one, then the video tokens).

Fixed-frame kinds (``videomae``, ``vivit``, ``xclip``) take ``num_frames`` frames per clip, so
``clip_seconds * fps == num_frames``. ``base`` names the registry entry of the model an instruct / tuned one was
made from (instruct-vs-base comparisons).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from brainalign.errors import ConfigError
from brainalign.features.image_preprocess import ImagePreprocess
from brainalign.registry import Registry, packaged_folder

VideoKind = Literal["videomae", "vivit", "xclip", "image-per-frame", "llava-next-video", "qwen2.5-vl"]
FIXED_FRAME_KINDS = ("videomae", "vivit", "xclip")
LLM_KINDS = ("llava-next-video", "qwen2.5-vl")
HF_KINDS = (*FIXED_FRAME_KINDS, *LLM_KINDS)


class VideoModelEntry(BaseModel):
    """One video model of the registry.

    Attributes:
        name: registry name.
        kind: see the module docstring.
        model_id: hub id or local folder (every kind but ``image-per-frame``).
        revision: pinned hub commit (``main`` where none was found).
        vision_model: the vision registry entry run per frame (``image-per-frame``).
        num_frames: frames per clip (fixed-frame kinds: what the model was trained on).
        fps: default frame sampling rate (frames per second of stimulus).
        clip_seconds: default clip length in seconds (each clip ends at a step).
        preprocess: per-frame resize / crop / normalisation (HF kinds; ``image-per-frame`` uses the vision entry's).
        dtype: weights dtype on accelerators (the CPU always runs float32).
        base: registry name of the base model of an instruct / tuned model.
        family, n_params, description: metadata.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    kind: VideoKind
    model_id: str | None = None
    revision: str = "main"
    vision_model: str | None = None
    num_frames: int | None = Field(default=None, gt=0)
    fps: float = Field(gt=0)
    clip_seconds: float = Field(gt=0)
    preprocess: ImagePreprocess | None = None
    dtype: Literal["float32", "float16", "bfloat16"] = "float32"
    base: str | None = None
    family: str = ""
    n_params: int = Field(default=0, ge=0)
    description: str = ""

    @model_validator(mode="after")
    def _check_kind_fields(self) -> VideoModelEntry:
        if self.kind == "image-per-frame":
            if not self.vision_model:
                raise ValueError("kind 'image-per-frame' needs 'vision_model' (a vision registry name)")
            if self.model_id or self.preprocess:
                raise ValueError("kind 'image-per-frame' takes 'vision_model', not 'model_id' / 'preprocess'")
        else:
            if not self.model_id or self.preprocess is None:
                raise ValueError(f"kind {self.kind!r} needs 'model_id' and 'preprocess'")
            if self.vision_model:
                raise ValueError(f"'vision_model' is only for kind 'image-per-frame', not {self.kind!r}")
        if self.kind in FIXED_FRAME_KINDS:
            if self.num_frames is None:
                raise ValueError(f"kind {self.kind!r} needs 'num_frames' (frames per clip the model takes)")
            if abs(self.clip_seconds * self.fps - self.num_frames) > 1e-6:
                raise ValueError(f"clip_seconds * fps = {self.clip_seconds * self.fps:g} frames, but num_frames is "
                                 f"{self.num_frames}; make them agree")
        if self.base == self.name:
            raise ValueError("'base' names the entry itself; give the base model's registry name")
        return self


def _check_bases(entries: dict[str, VideoModelEntry]) -> None:
    for e in entries.values():
        if e.base is None:
            continue
        if e.base not in entries:
            raise ConfigError(f"video model {e.name!r}: base {e.base!r} is not in the video registry; add it or "
                              "drop 'base'")
        if entries[e.base].kind != e.kind:
            raise ConfigError(f"video model {e.name!r} ({e.kind}) has base {e.base!r} of kind "
                              f"{entries[e.base].kind!r}; a base pair must share the kind")


VIDEO: Registry[VideoModelEntry] = Registry(VideoModelEntry, "video model", "video",
                                            packaged=lambda: [packaged_folder("video")], require_files=False,
                                            check=_check_bases)


def get_video_entry(name: str) -> VideoModelEntry:
    """The video entry called ``name``; unknown names raise :class:`ConfigError` listing known ones."""
    return VIDEO.get(name)


def list_video_entries() -> list[VideoModelEntry]:
    """All video entries (packaged, user folders, registered), sorted by name."""
    return VIDEO.list()


def base_entry(entry: VideoModelEntry) -> VideoModelEntry | None:
    """The entry's ``base`` model entry (``None`` without one)."""
    return VIDEO.get(entry.base) if entry.base else None
