"""Registry of image generators (:class:`GeneratorEntry`): ``pipelines/models/generators/*.yaml``, user folders
(``BRAINALIGN_REGISTRY_PATH`` roots' ``generators/``; see :mod:`brainalign.registry`) and entries registered at
run time; see :mod:`brainalign.decoders.generators` for the kinds and how they are run.

Kinds conditioned on decoded embeddings: ``stable-unclip``, ``kandinsky22``, ``ip-adapter-*`` (one pooled image
embedding). Kinds conditioned on several decoded inputs (Takagi & Nishimoto): ``sd-img2img`` (a Stable Diffusion
VAE latent and text conditioning, :mod:`brainalign.decoders.sd_img2img`) and ``sd-controlnet-depth`` (the same
plus a depth map through a depth ControlNet, :mod:`brainalign.decoders.sd_controlnet_depth`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from brainalign.registry import Registry, packaged_folder

GeneratorKind = Literal["stable-unclip", "kandinsky22", "ip-adapter-sd15", "ip-adapter-sdxl", "sd-img2img",
                        "sd-controlnet-depth"]
DTypeName = Literal["float32", "float16", "bfloat16"]
IP_ADAPTER_KINDS = ("ip-adapter-sd15", "ip-adapter-sdxl")
#: Kinds fed decoded VAE latents / text conditioning / depth instead of one image embedding.
MULTI_INPUT_KINDS = ("sd-img2img", "sd-controlnet-depth")


class GeneratorEntry(BaseModel):
    """One image generator of the registry.

    Attributes:
        name: registry name.
        kind: see the module docstring.
        model_id: Hugging Face hub id or a local pipeline folder (``model_index.json`` inside).
        revision: hub revision (branch, tag or commit); ignored for local folders.
        embed_dim: dimension of the image embeddings the generator takes (``None``: read from the model).
        clip_space: the embedding space in words (which CLIP model's image embeddings), for error messages.
        steps, guidance, height, width: default denoising steps, guidance scale and output size.
        strength: default img2img strength when ``init_images`` are given (1 = ignore them).
        noise_level: ``stable-unclip`` only: noise added to the image embeddings (0..999).
        prompt: text prompt (IP-Adapter kinds; the text conditioning of ``stable-unclip``).
        dtype: weights dtype on accelerators (CPU always runs float32 unless asked otherwise).
        adapter_id, adapter_revision, adapter_subfolder, adapter_weight, adapter_scale: the IP-Adapter weights
            (hub id or local folder, sub-folder and file name) and their scale.
        controlnet_id, controlnet_revision, controlnet_scale: ``sd-controlnet-depth`` only: the depth ControlNet
            (hub id or a local ``ControlNetModel`` folder) and its conditioning scale.
        description: free text.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    kind: GeneratorKind
    model_id: str = Field(min_length=1)
    revision: str = "main"
    embed_dim: int | None = Field(default=None, gt=0)
    clip_space: str = ""
    steps: int = Field(default=30, ge=1)
    guidance: float = Field(default=5.0, ge=0)
    height: int = Field(default=512, ge=8)
    width: int = Field(default=512, ge=8)
    strength: float = Field(default=0.75, gt=0, le=1)
    noise_level: int = Field(default=0, ge=0, le=999)
    prompt: str = ""
    dtype: DTypeName = "float16"
    adapter_id: str | None = None
    adapter_revision: str = "main"
    adapter_subfolder: str = ""
    adapter_weight: str | None = None
    adapter_scale: float = Field(default=1.0, ge=0)
    controlnet_id: str | None = None
    controlnet_revision: str = "main"
    controlnet_scale: float = Field(default=1.0, ge=0)
    description: str = ""

    @model_validator(mode="after")
    def _check_kind_fields(self) -> GeneratorEntry:
        if self.kind in IP_ADAPTER_KINDS:
            if not (self.adapter_id and self.adapter_weight):
                raise ValueError(f"kind {self.kind!r} needs 'adapter_id' and 'adapter_weight' (the IP-Adapter file)")
        elif self.adapter_id or self.adapter_weight:
            raise ValueError(f"'adapter_id' / 'adapter_weight' are only for IP-Adapter kinds, not {self.kind!r}")
        if self.kind == "sd-controlnet-depth" and not self.controlnet_id:
            raise ValueError("kind 'sd-controlnet-depth' needs 'controlnet_id' (a depth ControlNet)")
        if self.kind != "sd-controlnet-depth" and self.controlnet_id:
            raise ValueError(f"'controlnet_id' is only for kind 'sd-controlnet-depth', not {self.kind!r}")
        if self.kind in MULTI_INPUT_KINDS and self.embed_dim is not None:
            raise ValueError(f"kind {self.kind!r} takes decoded latents and text conditioning, not image embeddings; "
                             "remove 'embed_dim'")
        if self.kind == "kandinsky22" and self.prompt:
            raise ValueError("kind 'kandinsky22' takes no text prompt; remove 'prompt'")
        if self.height % 8 or self.width % 8:
            raise ValueError(f"height and width must be multiples of 8, got {self.height}x{self.width}")
        return self


def generators_dir() -> Path:
    """The packaged generator folder: ``pipelines/models/generators`` of a checkout, ``brainalign/_registry/
    generators`` of a wheel (user folders: :mod:`brainalign.registry`)."""
    return packaged_folder("generators")


GENERATORS: Registry[GeneratorEntry] = Registry(
    GeneratorEntry, "generator", "generators", packaged=lambda: [generators_dir()],
    hint=" (or pass a GeneratorEntry whose model_id is a local pipeline folder)")


def load_generator_entries(folder: str | Path | None = None) -> dict[str, GeneratorEntry]:
    """All generator entries by name: packaged and user registry files (or only ``folder``'s), plus registered
    ones."""
    if folder is None:
        return GENERATORS.entries()
    return {**GENERATORS.read([folder]), **GENERATORS.registered()}


def get_generator_entry(name: str) -> GeneratorEntry:
    """The generator called ``name``; unknown names raise :class:`ConfigError` listing the known ones."""
    return GENERATORS.get(name)


def register_generator_entry(entry: GeneratorEntry) -> None:
    """Make ``entry`` resolvable by name in this process (tests, local experiments)."""
    GENERATORS.register(entry)


def unregister_generator_entry(name: str) -> None:
    """Undo :func:`register_generator_entry`."""
    GENERATORS.unregister(name)
