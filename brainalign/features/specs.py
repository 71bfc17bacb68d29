"""Model registry: ``pipelines/models/*.yaml`` (one file per family, each a list of entries), plus user folders
(``BRAINALIGN_REGISTRY_PATH`` roots' ``models/``; see :mod:`brainalign.registry`).

Random-init controls are not entries: they are the ``random_init`` flag at extraction time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from brainalign.errors import ConfigError
from brainalign.registry import Registry, packaged_folder

Kind = Literal["hf", "gguf-package", "gguf-assembled", "packaged-folder"]
Arch = Literal["causal", "masked"]
DType = Literal["float32", "bfloat16", "float16"]


class ModelEntry(BaseModel):
    """One model of the registry.

    Attributes:
        name: registry name (``"gpt2-medium"``).
        kind: where weights come from: ``hf`` (hub id or local folder), ``gguf-package`` (a ``.gguf`` file shipped
            in a Python package), ``gguf-assembled`` (a package whose ``assemble(path)`` writes the ``.gguf``),
            ``packaged-folder`` (a package holding an HF folder).
        hf_id: hub repository the weights come from (or a local folder for ``hf``).
        revision: pinned hub commit (``main`` where no commit was found).
        arch: ``causal`` (decoder LM) or ``masked`` (bidirectional encoder).
        dtype: compute dtype on accelerators (CPU always runs float32).
        package: Python package holding the weights (packaged kinds).
        file: ``.gguf`` file name inside ``package`` (``gguf-package``) or written by ``assemble`` (``gguf-assembled``);
            sub-folder of ``package`` for ``packaged-folder``.
        n_params: nominal parameter count.
        family: model family (``"gpt2"``, ``"smollm2"``...).
        instruct: instruction-tuned.
        base: name of the base model of an instruct model (paired comparisons).
        max_context_tokens: most tokens one forward pass may hold (longer contexts use sliding windows).
        properties: any further numeric model properties (training tokens, layers, ...) that
            ``brainalign compare`` correlates with alignment.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    kind: Kind
    hf_id: str
    revision: str = "main"
    arch: Arch
    dtype: DType = "float32"
    package: str | None = None
    file: str | None = None
    n_params: int = Field(ge=0)
    family: str
    instruct: bool = False
    base: str | None = None
    max_context_tokens: int = Field(gt=0)
    properties: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_kind_fields(self) -> ModelEntry:
        if self.kind != "hf" and not self.package:
            raise ValueError(f"kind {self.kind!r} needs 'package'")
        if self.kind in ("gguf-package", "gguf-assembled") and not (self.file or "").endswith(".gguf"):
            raise ValueError(f"kind {self.kind!r} needs 'file' naming a .gguf file")
        if self.base and not self.instruct:
            raise ValueError("'base' is only for instruct models")
        return self


def models_dir() -> Path:
    """The packaged text-model folder: ``pipelines/models`` of a checkout, ``brainalign/_registry/models`` of a
    wheel (user folders: :mod:`brainalign.registry`)."""
    return packaged_folder("models")


def _check_bases(entries: dict[str, ModelEntry]) -> None:
    for entry in entries.values():
        if entry.base and entry.base not in entries:
            raise ConfigError(f"model {entry.name!r}: base {entry.base!r} is not a registry entry; fix 'base'")


MODELS: Registry[ModelEntry] = Registry(ModelEntry, "model", "models", packaged=lambda: [models_dir()],
                                        check=_check_bases)


def load_model_entries(folder: str | Path | None = None) -> dict[str, ModelEntry]:
    """All entries by name: packaged and user registry files (or only those of ``folder``), plus registered ones."""
    if folder is None:
        return MODELS.entries()
    return {**MODELS.read([folder]), **MODELS.registered()}


def get_model_entry(name: str) -> ModelEntry:
    """The registry entry called ``name``; unknown names raise :class:`ConfigError` listing known ones."""
    return MODELS.get(name)


def register_model_entry(entry: ModelEntry) -> None:
    """Make ``entry`` resolvable by name in this process (tests, local experiments)."""
    MODELS.register(entry)


def unregister_model_entry(name: str) -> None:
    """Undo :func:`register_model_entry`."""
    MODELS.unregister(name)
