"""Registry of monocular depth models (:class:`DepthEntry`): ``pipelines/models/depth/*.yaml``, user folders
(``BRAINALIGN_REGISTRY_PATH`` roots' ``depth/``) and entries registered at run time. An entry whose
``model_id`` is a local folder (``save_pretrained`` of a transformers depth model and its image processor) works
the same way as a hub id."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from brainalign.registry import Registry


class DepthEntry(BaseModel):
    """One depth model.

    Attributes:
        name: registry name.
        kind: ``dpt`` (DPT / MiDaS) or ``depth-anything``; both load with ``AutoModelForDepthEstimation`` and
            predict relative inverse depth (larger = nearer).
        model_id: Hugging Face hub id or a local folder; revision: hub revision (ignored for folders).
        description: free text.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    kind: Literal["dpt", "depth-anything"]
    model_id: str = Field(min_length=1)
    revision: str = "main"
    description: str = ""


DEPTH_MODELS: Registry[DepthEntry] = Registry(
    DepthEntry, "depth model", "depth", hint=" (or register a DepthEntry whose model_id is a local folder)")


def get_depth_entry(name: str) -> DepthEntry:
    """The depth model called ``name``; unknown names raise :class:`ConfigError` listing the known ones."""
    return DEPTH_MODELS.get(name)


def register_depth_entry(entry: DepthEntry) -> None:
    """Make ``entry`` resolvable by name in this process (tests, local experiments)."""
    DEPTH_MODELS.register(entry)


def unregister_depth_entry(name: str) -> None:
    """Undo :func:`register_depth_entry`."""
    DEPTH_MODELS.unregister(name)
