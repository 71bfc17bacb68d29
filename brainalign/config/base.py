"""The base of every config model: unknown keys are errors (``extra="forbid"``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """A config section: unknown keys are refused, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", frozen=False)



def path_safe(name: str, what: str) -> str:
    """``name`` unchanged if it can become one path component, else a ValueError: ``/``, ``\\``, NUL, ``..``,
    empty and leading-dot names are refused so no name can write outside its folder."""
    if not name or name.startswith(".") or any(c in name for c in "/\\\0"):
        raise ValueError(f"{what} {name!r} cannot be used as a file name (no '/', '\\', '..' or leading '.'); "
                         "rename it")
    return name
